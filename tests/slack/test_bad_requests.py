"""Bad input on `/slack/events` is one clear 4xx, never a 5xx, never a traceback, and starts nothing
(issue #11 item 6). The app runs in this process (`tests.slack.inproc`), exactly as `serve` builds it:
- the request timestamp is checked before anything else: missing, non-numeric or out of range → 401;
- a signed body that cannot be what Slack sends (a `payload=` that is not JSON, or JSON of the wrong
  shape; a form body labelled JSON; an empty body) → 400 with one line saying what was wrong;
- hypothesis: random payloads, signed correctly, never get a 5xx or a traceback and start nothing;
  any text given to the command parser is a Command or a UsageError, never an exception.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from handlers.incoming import button_value
from handlers.parsing import Command, UsageError, parse, strip_mention
from tests.slack.inproc import SECRET, InProcessBot
from tests.slack.signing import (
    FORM,
    JSON,
    PLACEHOLDER_RESPONSE_URL,
    app_mention_body,
    block_actions_body,
    block_actions_payload,
    sign,
    slash_command_body,
)


@pytest.fixture(scope="module")
def bot() -> Iterator[InProcessBot]:
    with InProcessBot() as running:
        yield running


def _seen(bot: InProcessBot) -> tuple[int, int]:
    """How many Web API calls (other than auth.test) and response_url posts the bot made so far."""
    return len([c for c in bot.fake.calls() if c.method != "auth.test"]), len(bot.fake.responses)


def _nothing_happened(bot: InProcessBot, before: tuple[int, int]) -> None:
    assert bot.queue.ids == []
    assert _seen(bot) == before
    assert bot.tracebacks() == []


def _payload_body(payload: Any) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return urllib.parse.urlencode({"payload": text}).encode()


@pytest.mark.parametrize(
    "timestamp",
    ["abc", "", "12.5", "1e9", " 1700000000", "¹²³", "-1", "99999999999999999999999", None],
)
def test_a_malformed_or_missing_timestamp_is_401_before_the_signature_check(
    bot: InProcessBot, timestamp: str | None
) -> None:
    before = _seen(bot)
    body = slash_command_body("check demo")
    headers = sign(body, SECRET, content_type=FORM)
    if timestamp is None:
        del headers["X-Slack-Request-Timestamp"]
    else:
        headers["X-Slack-Request-Timestamp"] = timestamp
    status, text = bot.post(body, headers)
    assert status == 401, text
    assert "\n" not in text.strip()
    assert "timestamp" in text.lower()
    _nothing_happened(bot, before)


def test_an_old_or_future_timestamp_is_401(bot: InProcessBot) -> None:
    before = _seen(bot)
    body = slash_command_body("check demo")
    for when in (int(time.time()) - 301, int(time.time()) + 301):
        status, text = bot.post(body, sign(body, SECRET, when, content_type=FORM))
        assert status == 401, text
    _nothing_happened(bot, before)


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (b"payload=%7Bnot-json", FORM, "payload"),
        (_payload_body("[1, 2, 3]"), FORM, "object"),
        (_payload_body('"just a string"'), FORM, "object"),
        (
            _payload_body({**block_actions_payload("calico_gather:1", "{}"), "actions": "all"}),
            FORM,
            "actions",
        ),
        (_payload_body({**block_actions_payload("calico_gather:1", "{}"), "actions": [5]}), FORM, "actions"),
        (
            _payload_body(
                {k: v for k, v in block_actions_payload("calico_gather:1", "{}").items() if k != "user"}
            ),
            FORM,
            "user",
        ),
        (_payload_body({**block_actions_payload("calico_gather:1", "{}"), "user": "U1"}), FORM, "user"),
        (_payload_body({**block_actions_payload("calico_gather:1", "{}"), "channel": "C1"}), FORM, "channel"),
        (
            _payload_body({**block_actions_payload("calico_gather:1", "{}"), "enterprise": 7}),
            FORM,
            "enterprise",
        ),
        (slash_command_body("check demo"), JSON, "json"),
        (b"", FORM, "empty"),
        (b'{"type": "event_callback", "event": [1]}', JSON, "event"),
        (b"\xff\xfe not utf-8", FORM, "utf-8"),
    ],
    ids=[
        "payload-not-json",
        "payload-list",
        "payload-string",
        "actions-not-a-list",
        "actions-of-numbers",
        "no-user",
        "user-a-string",
        "channel-a-string",
        "enterprise-a-number",
        "command-labelled-json",
        "empty-body",
        "event-a-list",
        "not-utf8",
    ],
)
def test_a_signed_body_of_the_wrong_shape_is_one_line_400(
    bot: InProcessBot, body: bytes, content_type: str, words: str
) -> None:
    before = _seen(bot)
    status, text = bot.post(body, sign(body, SECRET, content_type=content_type))
    assert 400 <= status < 500, (status, text)
    assert "\n" not in text.strip()
    assert words in text.lower(), text
    _nothing_happened(bot, before)


def test_unsigned_garbage_is_401_not_a_parse_error(bot: InProcessBot) -> None:
    before = _seen(bot)
    body = b"payload=%7Bnot-json"
    status, _text = bot.post(body, sign(body, "not-the-secret", content_type=FORM))
    assert status == 401
    _nothing_happened(bot, before)


# --- hypothesis -------------------------------------------------------------------------------------

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
CLICK_KEYS = (
    "type",
    "user",
    "channel",
    "actions",
    "container",
    "team",
    "enterprise",
    "message",
    "response_url",
)
ACTION_KEYS = ("action_id", "value", "action_ts", "type", "block_id")


@st.composite
def mangled_clicks(draw: st.DrawFn) -> dict[str, Any]:
    """A realistic Approve click from an allowed channel with some fields replaced by anything.

    Without Redis an Approve click never starts a job, so "nothing started" holds for every example.
    """
    payload = block_actions_payload("calico_approve", "0123abcd", channel="C1")
    for key in draw(st.lists(st.sampled_from(CLICK_KEYS), min_size=1, max_size=3, unique=True)):
        payload[key] = draw(JSONISH)
    if (
        isinstance(payload.get("actions"), list)
        and payload["actions"]
        and isinstance(payload["actions"][0], dict)
    ):
        for key in draw(st.lists(st.sampled_from(ACTION_KEYS), max_size=2, unique=True)):
            payload["actions"][0][key] = draw(JSONISH)
    return payload


ACTION_IDS = st.sampled_from(
    [
        "calico_action:0",
        "calico_action:page",
        "calico_approve",
        "calico_deny",
        "calico_gather:1",
        "calico_escalate:2",
        "calico_runbook:3",
        "calico_escalation_link:0",
    ]
) | st.text(max_size=30)


@st.composite
def typed_clicks(draw: st.DrawFn) -> dict[str, Any]:
    """Clicks of Slack's shape with arbitrary strings in them: they reach the listeners. The value
    is never a JSON object, so no button names a cluster and nothing can start."""
    value = draw(st.text(max_size=40).filter(lambda v: not button_value(v)))
    channel = draw(st.sampled_from(["C1", "C999", ""]) | st.text(max_size=12))
    payload = block_actions_payload(draw(ACTION_IDS), value, channel=channel, user=draw(st.text(max_size=12)))
    if draw(st.booleans()):
        payload["container"] = {"message_ts": draw(st.text(max_size=20)), "channel_id": channel}
    return payload


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(JSONISH, mangled_clicks(), typed_clicks()))
def test_fuzzed_interactivity_payloads_get_no_5xx_and_start_nothing(bot: InProcessBot, payload: Any) -> None:
    if isinstance(payload, dict) and payload.get("response_url") == PLACEHOLDER_RESPONSE_URL:
        payload["response_url"] = bot.fake.response_url("fuzz")
    status, text = bot.post_form(_payload_body(payload))
    event(f"HTTP {status}")
    assert status < 500, (status, text, payload)
    assert bot.queue.ids == []
    assert bot.fake.calls("chat.postMessage") == []
    assert bot.tracebacks() == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=200), as_json=st.booleans())
def test_fuzzed_raw_bodies_get_no_5xx(bot: InProcessBot, body: bytes, as_json: bool) -> None:
    status, text = bot.post(body, sign(body, SECRET, content_type=JSON if as_json else FORM))
    event(f"HTTP {status}")
    assert status < 500, (status, text, body)
    assert bot.queue.ids == []
    assert bot.tracebacks() == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inner=JSONISH)
def test_fuzzed_events_get_no_5xx(bot: InProcessBot, inner: Any) -> None:
    envelope = json.loads(app_mention_body("help", channel="C999"))
    envelope["event"] = (
        inner if not isinstance(inner, dict) else {**envelope["event"], **inner, "channel": "C999"}
    )
    envelope["event_id"] = f"Ev{time.monotonic_ns()}"
    body = json.dumps(envelope).encode()
    status, answer = bot.post_json(body)
    event(f"HTTP {status}")
    assert status < 500, (status, answer, envelope)
    assert bot.queue.ids == []
    assert bot.tracebacks() == []


@settings(max_examples=400, deadline=None)
@given(text=st.text(max_size=300))
def test_the_command_parser_never_raises(text: str) -> None:
    for candidate in (text, strip_mention(text), f"check {text}", f"gather {text}"):
        result = parse(candidate)
        assert isinstance(result, Command | UsageError)
        if isinstance(result, UsageError):
            assert result.message


def test_good_requests_still_work_after_the_guard() -> None:
    """The guard lets Slack's real requests through: help is answered in the ack, a click is answered."""
    with InProcessBot() as bot:
        status, text = bot.post_form(slash_command_body("help"))
        assert status == 200
        assert "Usage" in text
        click = block_actions_body("calico_approve", "0123abcd", response_url=bot.fake.response_url("a"))
        status, _text = bot.post_form(click)
        assert status == 200
        bot.run(bot.fake.wait_for_responses("a"))
        assert "REDIS_URL" in bot.response_texts("a")[0]
        assert bot.tracebacks() == []


def test_a_command_bolt_would_misread_is_answered_not_dropped(bot: InProcessBot) -> None:
    """Bolt parses any form body containing `payload` as a click: such a command is said, not lost."""
    before = _seen(bot)
    status, text = bot.post_form(slash_command_body("check payload-prod"))
    assert status == 200
    assert "`payload`" in json.loads(text)["text"]
    assert "Nothing was started" in json.loads(text)["text"]
    _nothing_happened(bot, before)
