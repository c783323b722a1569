"""JSON logs: one object per line with the correlation fields, exceptions as one field, and no
secret value in any of it — by shape (bot.redact) or by the process's own secret settings."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from bot.observability import correlation
from bot.observability.logs import Scrubber, configure_logging, secret_values, unconfigure_logging

BOT_TOKEN = "xoxb-1111-2222-canaryBOTtoken"
SIGNING = "canary-signing-secret-0f3c9a"
API_KEY = "canary-ibm-api-key-7d1e"
REDIS_PASSWORD = "canary-redis-pw-55aa"
ENV = {
    "SLACK_BOT_TOKEN": BOT_TOKEN,
    "SLACK_SIGNING_SECRET": SIGNING,
    "IBMCLOUD_API_KEY": API_KEY,
    "REDIS_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0",
    "CALICO_BOT_PAGERDUTY_ROUTING_KEY": "short",
    "KUBECONFIG": "/etc/calico-bot/kubeconfig",
    "LOG_LEVEL": "debug",
}


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    for handler in saved[0]:
        root.removeHandler(handler)
    handler = configure_logging(process="test", env=ENV, stream=stream)
    try:
        yield stream
    finally:
        unconfigure_logging(handler)
        for old in saved[0]:
            root.addHandler(old)
        root.setLevel(saved[1])


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_the_secret_settings_are_found_by_name() -> None:
    assert set(secret_values(ENV)) == {BOT_TOKEN, SIGNING, API_KEY, REDIS_PASSWORD}
    assert secret_values({"REDIS_URL": "redis://127.0.0.1:6379/0", "PORT": "3000"}) == ()
    assert secret_values({"REDIS_URL": "redis://[bad"}) == ()


def test_every_line_is_one_json_object_with_the_standard_fields(output: io.StringIO) -> None:
    logging.getLogger("bot.test").info("expired %d approval request(s)", 3)
    logging.getLogger("aiohttp.access").warning("multi\nline message")
    structlog.get_logger("bot.native").info("native line", cluster="c1")
    first, second, third = lines(output)
    assert first["event"] == "expired 3 approval request(s)"
    assert first["level"] == "info"
    assert first["logger"] == "bot.test"
    assert first["process"] == "test"
    assert first["ts"].endswith("Z")
    assert first["correlation_id"] is None
    assert second["event"] == "multi\nline message"
    assert (third["event"], third["cluster"], third["logger"]) == ("native line", "c1", "bot.native")


def test_lines_inside_a_request_carry_its_chain(output: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    with correlation.fresh(slack_id="1234.5678.abc"):
        log.info("acked")
        with correlation.correlated(job_id="check:1234.5678.abc"):
            log.info("job started", extra={"cluster": "c1"})
            with correlation.correlated(approval_id="apr-1"):
                structlog.get_logger("bot.native").info("approved")
    log.info("after")
    acked, job, approved, after = lines(output)
    assert acked["correlation_id"] == "1234.5678.abc"
    assert "job_id" not in acked
    assert (job["correlation_id"], job["job_id"], job["cluster"]) == (
        "1234.5678.abc",
        "check:1234.5678.abc",
        "c1",
    )
    assert approved["approval_id"] == "apr-1"
    assert approved["correlation_id"] == "1234.5678.abc"
    assert after["correlation_id"] is None


def test_an_exception_is_one_field_of_text(output: io.StringIO) -> None:
    try:
        raise ValueError(f"could not reach redis://:{REDIS_PASSWORD}@10.0.0.1:6379")
    except ValueError:
        logging.getLogger("bot.test").exception("sweep failed")
    [line] = lines(output)
    assert line["level"] == "error"
    assert "Traceback" in line["exception"]
    assert "ValueError" in line["exception"]
    assert REDIS_PASSWORD not in json.dumps(line)


def test_no_secret_value_reaches_a_line(output: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    log.warning("token is %s", BOT_TOKEN)
    log.warning("signing secret %s and key %s", SIGNING, API_KEY)
    log.warning("a token Slack never issued: xoxb-9999-8888-otherTOKENvalue")
    log.warning(
        "an extra field", extra={"headers": {"Authorization": f"Bearer {API_KEY}"}, "items": [SIGNING]}
    )
    log.warning("quoted %r", {"signing": SIGNING + '"'})
    structlog.get_logger("bot.native").warning("native", secret=SIGNING, nested={"k": [BOT_TOKEN]})
    text = output.getvalue()
    for secret in (BOT_TOKEN, SIGNING, API_KEY, "otherTOKENvalue"):
        assert secret not in text
    assert len(lines(output)) == 6
    assert "[REDACTED" in text


def test_the_finished_line_is_scrubbed_once_more_in_its_escaped_form() -> None:
    secret = 'canary"with\\quote'
    scrubber = Scrubber([secret])
    rendered = json.dumps({"event": "x", "odd": secret})
    assert secret not in scrubber.line(rendered)
    assert json.dumps(secret)[1:-1] not in scrubber.line(rendered)
    assert json.loads(scrubber.line(rendered))["odd"] == "[REDACTED]"


def test_the_level_comes_from_log_level(output: io.StringIO) -> None:
    logging.getLogger("bot.test").debug("visible at debug")
    assert lines(output)[0]["event"] == "visible at debug"
