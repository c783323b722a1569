"""The channel allow-list covers everything (issue #11 item 2): a slash command, a mention and every
button — remediation request, Approve, Deny, Gather, Escalate, Page, and a button calico-bot does
not know — from a channel outside `CALICO_BOT_ALLOWED_CHANNELS` is refused ephemerally, audited
(in Redis when there is a store, else in the log), and nothing is enqueued or decided.

The app runs in this process (`tests.slack.inproc`) with the real Redis, under a key prefix of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.clock import utcnow
from bot.store.records import Approval, ApprovalState
from checks.model import ActionKind
from tests.slack.inproc import REDIS_URL, InProcessBot
from tests.slack.signing import app_mention_body, block_actions_body, slash_command_body

OUTSIDE = "C999"
WORKER = "10.188.156.137"


@pytest.fixture
def bot() -> Iterator[InProcessBot]:
    env = {"CALICO_BOT_APPROVER_USERS": "U02APR"}
    with InProcessBot(allowed="C1", redis_url=REDIS_URL, env=env) as running:
        yield running


def _pending(bot: InProcessBot) -> Approval:
    approval = Approval.new(
        cluster="rem",
        action=ActionKind.CORDON,
        target=WORKER,
        reason="cordon for the test",
        requester="U01REQ",
        now=utcnow(),
    )
    assert bot.store is not None
    bot.run(bot.store.create(approval))
    return approval


def _value(kind: str, cluster: str = "rem", target: str = WORKER) -> str:
    return json.dumps({"kind": kind, "cluster": cluster, "target": target})


BUTTONS = [
    ("calico_action:0", "cordon"),
    ("calico_action:page", "page"),
    ("calico_approve", "approve"),
    ("calico_deny", "deny"),
    ("calico_gather:1", "gather"),
    ("calico_escalate:2", "escalate"),
    ("calico_mystery:7", "unknown"),
]


@pytest.mark.parametrize(("action_id", "kind"), BUTTONS, ids=[b[1] for b in BUTTONS])
def test_a_button_outside_the_allowed_channels_is_refused_audited_and_runs_nothing(
    bot: InProcessBot, action_id: str, kind: str
) -> None:
    approval = _pending(bot)
    value = approval.id if kind in ("approve", "deny") else _value(kind)
    body = block_actions_body(
        action_id,
        value,
        user="U02APR",
        channel=OUTSIDE,
        message_ts="1700000005.000100",
        response_url=bot.fake.response_url("r"),
    )
    status, _text = bot.post_form(body)
    assert status == 200
    bot.run(bot.fake.wait_for_responses("r", timeout=10))
    [answer] = bot.fake.responses_for("r")
    assert answer.payload.get("response_type") == "ephemeral"
    assert "only answers in <#C1>" in str(answer.payload.get("text"))
    assert answer.payload.get("replace_original") is False

    store = bot.store
    assert store is not None
    bot.wait_until(lambda: bool(bot.run(store.history(None))), what="the audit entry")
    [entry] = bot.run(store.history(None))
    assert entry.kind == "refusal"
    assert entry.actor == "U02APR"
    assert OUTSIDE in entry.detail
    assert entry.cluster == "rem"  # the button's value names it, whatever the button

    bot.settle()
    assert bot.queue.ids == []
    assert bot.fake.calls("chat.postMessage") == []
    assert bot.fake.calls("chat.update") == []
    record = bot.run(store.get(approval.id))
    assert record is not None
    assert record.state == ApprovalState.PENDING
    assert bot.tracebacks() == []


def test_a_command_and_a_mention_outside_are_refused_and_audited(bot: InProcessBot) -> None:
    status, text = bot.post_form(
        slash_command_body("gather rem 10.1.2.3", channel_id=OUTSIDE, response_url=bot.fake.response_url("c"))
    )
    assert status == 200
    assert "only answers in <#C1>" in text
    status, _text = bot.post_json(app_mention_body("<@UBOT> check rem", channel=OUTSIDE, user="U3"))
    assert status == 200
    [ephemeral] = bot.run(bot.fake.wait_for("chat.postEphemeral", timeout=10))
    assert ephemeral.params["user"] == "U3"
    assert "only answers in <#C1>" in ephemeral.params["text"]
    store = bot.store
    assert store is not None
    bot.wait_until(lambda: len(bot.run(store.history(None))) >= 2, what="two audit entries")
    entries = bot.run(store.history("rem"))
    assert {e.actor for e in entries} == {"U1", "U3"}
    assert all(e.kind == "refusal" and OUTSIDE in e.detail for e in entries)
    bot.settle()
    assert bot.queue.ids == []
    assert bot.fake.calls("chat.postMessage") == []


def test_inside_the_allowed_channel_the_same_button_works(bot: InProcessBot) -> None:
    body = block_actions_body(
        "calico_gather:1", _value("gather", target="rem/cluster"), response_url=bot.fake.response_url("in")
    )
    status, _text = bot.post_form(body)
    assert status == 200
    bot.run(bot.fake.wait_for_responses("in", timeout=10))
    assert "only answers" not in bot.response_texts("in")[0]
    assert "/calico gather <cluster> <worker>" in bot.response_texts("in")[0]


def test_without_redis_a_refusal_is_a_log_line() -> None:
    with InProcessBot(allowed="C1") as bot:
        body = block_actions_body(
            "calico_gather:1", _value("gather"), channel=OUTSIDE, response_url=bot.fake.response_url("r")
        )
        status, _text = bot.post_form(body)
        assert status == 200
        bot.run(bot.fake.wait_for_responses("r", timeout=10))
        assert "only answers in <#C1>" in bot.response_texts("r")[0]
        bot.wait_until(lambda: bool(bot.logged("refused")), what="the refusal in the log")
        [line] = bot.logged("refused")
        assert OUTSIDE in line
        assert "U1" in line
        assert "calico_gather:1" in line
        bot.settle()
        assert bot.queue.ids == []


def test_refusals_do_not_wait_for_a_dead_redis() -> None:
    """Redis down: the click is still refused at once; the lost audit entry is a log line."""
    with InProcessBot(allowed="C1", redis_url="redis://127.0.0.1:1/0") as bot:
        body = block_actions_body(
            "calico_gather:1", _value("gather"), channel=OUTSIDE, response_url=bot.fake.response_url("r")
        )
        started = datetime.now(UTC)
        status, _text = bot.post_form(body)
        assert status == 200
        assert (datetime.now(UTC) - started).total_seconds() < 1.5
        bot.run(bot.fake.wait_for_responses("r", timeout=10))
        bot.wait_until(lambda: bool(bot.logged("audit")), timeout=15, what="the lost audit in the log")
        assert bot.queue.ids == []
        assert bot.tracebacks() == []
