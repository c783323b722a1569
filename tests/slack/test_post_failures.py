"""Slack failures are never silent (issue #11 item 5). When the channel refuses the bot's first post
(`not_in_channel`, `channel_not_found`, a 5xx after the retries), the requester is told privately —
through the command's or the click's `response_url`, else `chat.postEphemeral` — what failed and what
to do (`/invite @calico-bot`), and the log has a line; a remediation request whose approval card
cannot be posted is withdrawn in Redis, audited, and the clicker is told.

The app runs in this process (`tests.slack.inproc`); the fake Slack refuses `chat.postMessage` in C1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.store.records import ApprovalState
from tests.slack.inproc import REDIS_URL, InProcessBot
from tests.slack.signing import app_mention_body, block_actions_body, slash_command_body

FAILURES = [
    (200, {"ok": False, "error": "not_in_channel"}, "not_in_channel", "/invite @calico-bot"),
    (200, {"ok": False, "error": "channel_not_found"}, "channel_not_found", "/invite @calico-bot"),
    (500, {"ok": False, "error": "internal_error"}, "internal_error", "Try again in a minute"),
    (503, "<html>upstream connect error</html>", "HTTP 503", "Try again in a minute"),
]
FAILURE_IDS = ["not_in_channel", "channel_not_found", "500", "503-html"]
COMMANDS = ["check demo", "gather demo 10.188.156.137", "escalate demo"]


@pytest.fixture
def bot() -> Iterator[InProcessBot]:
    with InProcessBot(allowed="C1,C2") as running:
        yield running


def _refuse_posts(bot: InProcessBot, status: int, body: Any) -> None:
    bot.fake.script("chat.postMessage", status=status, body=body, times=None, channel="C1")


@pytest.mark.parametrize("words", COMMANDS, ids=[w.split()[0] for w in COMMANDS])
@pytest.mark.parametrize(("status", "body", "error", "fix"), FAILURES, ids=FAILURE_IDS)
def test_a_command_whose_first_post_fails_tells_the_requester_through_the_response_url(
    bot: InProcessBot, words: str, status: int, body: Any, error: str, fix: str
) -> None:
    _refuse_posts(bot, status, body)
    answer_status, _text = bot.post_form(slash_command_body(words, response_url=bot.fake.response_url("cmd")))
    assert answer_status == 200
    bot.run(bot.fake.wait_for_responses("cmd", timeout=60), timeout=70)
    [told] = bot.fake.responses_for("cmd")
    assert told.payload["response_type"] == "ephemeral"
    assert f"Slack said: `{error}`" in told.payload["text"]
    assert fix in told.payload["text"]
    assert any(error in line for line in bot.logged("could not post"))
    bot.settle(timeout=60)
    assert bot.tracebacks() == []


def test_a_mention_falls_back_to_an_ephemeral_message(bot: InProcessBot) -> None:
    _refuse_posts(bot, 200, {"ok": False, "error": "not_in_channel"})
    status, _text = bot.post_json(app_mention_body("<@UBOT> gather demo 10.188.156.137", user="U3"))
    assert status == 200
    [ephemeral] = bot.run(bot.fake.wait_for("chat.postEphemeral", timeout=10))
    assert ephemeral.params["user"] == "U3"
    assert ephemeral.params["channel"] == "C1"
    assert "not_in_channel" in ephemeral.params["text"]
    assert "/invite @calico-bot" in ephemeral.params["text"]
    bot.settle()
    assert bot.tracebacks() == []


def test_a_gather_button_whose_first_post_fails_tells_the_clicker(bot: InProcessBot) -> None:
    _refuse_posts(bot, 200, {"ok": False, "error": "not_in_channel"})
    value = json.dumps({"kind": "gather", "cluster": "demo", "target": "10.188.156.137"})
    click = block_actions_body("calico_gather:1", value, response_url=bot.fake.response_url("g"))
    status, _text = bot.post_form(click)
    assert status == 200
    bot.run(bot.fake.wait_for_responses("g", timeout=10))
    [told] = bot.fake.responses_for("g")
    assert "/invite @calico-bot" in told.payload["text"]
    assert told.payload.get("replace_original") is False
    bot.settle()
    assert bot.tracebacks() == []


def test_other_channels_still_work_while_one_refuses(bot: InProcessBot) -> None:
    _refuse_posts(bot, 200, {"ok": False, "error": "not_in_channel"})
    status, _text = bot.post_form(
        slash_command_body(
            "gather demo 10.190.156.12", channel_id="C2", response_url=bot.fake.response_url("c2")
        )
    )
    assert status == 200
    bot.run(bot.fake.wait_for_upload(timeout=60), timeout=70)
    assert bot.fake.responses_for("c2") == []


def test_an_approval_card_that_cannot_be_posted_withdraws_the_request() -> None:
    env = {"CALICO_BOT_APPROVER_USERS": "U01REQ,U02APR"}
    with InProcessBot(allowed="C1", redis_url=REDIS_URL, env=env) as bot:
        _refuse_posts(bot, 200, {"ok": False, "error": "not_in_channel"})
        value = json.dumps({"kind": "cordon", "cluster": "sim:crashloop-one", "target": "10.188.156.137"})
        click = block_actions_body(
            "calico_action:0",
            value,
            user="U01REQ",
            message_ts="1700000005.000100",
            response_url=bot.fake.response_url("req"),
        )
        status, _text = bot.post_form(click)
        assert status == 200
        bot.run(bot.fake.wait_for_responses("req", timeout=60), timeout=70)
        [told] = bot.fake.responses_for("req")
        assert "not_in_channel" in told.payload["text"]
        assert "/invite @calico-bot" in told.payload["text"]
        assert "withdrawn" in told.payload["text"]

        assert bot.store is not None
        history = bot.run(bot.store.history("sim:crashloop-one"))
        assert [r.kind for r in history] == ["withdrawal", "request"]
        record = bot.run(bot.store.get(history[0].approval_id))
        assert record is not None
        assert record.state == ApprovalState.WITHDRAWN
        assert "not_in_channel" in record.result
        assert bot.run(bot.store.overdue(record.expires)) == []  # nothing left for the sweeper
        assert any("withdrew" in line for line in bot.logged("withdrew"))
        bot.settle()
        assert [
            job for job in bot.queue.ids if not job.startswith("click:")
        ] == []  # the click's own job only: nothing executes
        assert bot.tracebacks() == []
