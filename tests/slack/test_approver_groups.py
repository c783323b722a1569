"""Approvals survive a broken dependency (issue #11 item 4). The approver user-group lookup
(`usergroups.users.list`) fails — `missing_scope`, `ratelimited`, Slack unreachable — and still:
- an approver listed by user id decides, without the lookup;
- anyone else is told that the groups could not be checked, with Slack's error and the fix, and
  nothing is decided;
- each button family has exactly one listener: the catch-all never answers a known button with
  "not an action calico-bot knows"; an unknown button gets its own answer and a log line.

The app runs in this process with the real Redis under a key prefix of its own; the fake Slack
answers the group lookup with the error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from bot.clock import utcnow
from bot.store.records import Approval, ApprovalState
from checks.model import ActionKind
from handlers.slack import ACTION_FAMILIES, family_of
from tests.slack.inproc import REDIS_URL, InProcessBot
from tests.slack.signing import block_actions_body

WORKER = "10.188.156.137"
GROUP_ERROR = "I could not check the approver groups (Slack said: {error}); ask an approver listed by user id"


@pytest.fixture
def bot() -> Iterator[InProcessBot]:
    env = {"CALICO_BOT_APPROVER_USERS": "U02APR", "CALICO_BOT_APPROVER_GROUPS": "S0NET"}
    with InProcessBot(allowed="C1", redis_url=REDIS_URL, env=env) as running:
        running.fake.usergroups["S0NET"] = ["U2"]
        yield running


def _pending(bot: InProcessBot) -> Approval:
    approval = Approval.new(
        cluster="rem",
        action=ActionKind.CORDON,
        target=WORKER,
        reason="test",
        requester="U01REQ",
        now=utcnow(),
    )
    assert bot.store is not None
    bot.run(bot.store.create(approval))
    return approval


def _click(bot: InProcessBot, action_id: str, value: str, *, user: str, reply: str) -> str:
    body = block_actions_body(
        action_id, value, user=user, message_ts="1700000005.000100", response_url=bot.fake.response_url(reply)
    )
    status, _text = bot.post_form(body)
    assert status == 200
    bot.run(bot.fake.wait_for_responses(reply, timeout=10))
    bot.settle()
    answers = bot.response_texts(reply)
    assert len(answers) == 1, answers
    return answers[0]


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, {"ok": False, "error": "missing_scope", "needed": "usergroups:read"}, "missing_scope"),
        (429, {"ok": False, "error": "ratelimited"}, "ratelimited"),
        (503, "<html>upstream unavailable</html>", "HTTP 503"),
    ],
    ids=["missing_scope", "ratelimited", "5xx"],
)
def test_a_failing_group_lookup_still_lets_listed_approvers_decide(
    bot: InProcessBot, status: int, body: dict[str, Any] | str, error: str
) -> None:
    bot.fake.script("usergroups.users.list", status=status, body=body, times=None)
    approval = _pending(bot)

    stranger = _click(bot, "calico_approve", approval.id, user="U03OTH", reply="u3")
    assert GROUP_ERROR.format(error=error) in stranger
    assert "usergroups:read" in stranger
    assert "not an action calico-bot knows" not in stranger
    assert bot.store is not None
    record = bot.run(bot.store.get(approval.id))
    assert record is not None
    assert record.state == ApprovalState.PENDING
    history = bot.run(bot.store.history("rem"))
    assert any(r.kind == "refusal" and "approver groups" in r.detail for r in history)

    listed = _click(bot, "calico_approve", approval.id, user="U02APR", reply="u2")
    assert "running it now" in listed
    record = bot.run(bot.store.get(approval.id))
    assert record is not None
    assert record.state != ApprovalState.PENDING
    assert record.approver == "U02APR"
    assert bot.tracebacks() == []


def test_the_requester_withdraws_without_the_lookup(bot: InProcessBot) -> None:
    bot.fake.script("usergroups.users.list", body={"ok": False, "error": "missing_scope"}, times=None)
    approval = _pending(bot)
    answer = _click(bot, "calico_deny", approval.id, user="U01REQ", reply="own")
    assert "Denied" in answer
    assert bot.fake.calls("usergroups.users.list") == []


def test_group_members_still_approve_when_the_lookup_works(bot: InProcessBot) -> None:
    approval = _pending(bot)
    answer = _click(bot, "calico_approve", approval.id, user="U2", reply="member")  # U2 is in S0NET
    assert "running it now" in answer


def test_an_unknown_button_gets_its_own_answer_and_a_log_line(bot: InProcessBot) -> None:
    answer = _click(bot, "calico_frobnicate:3", "{}", user="U1", reply="x")
    assert "not a button calico-bot knows" in answer
    assert bot.logged("calico_frobnicate:3")


KNOWN_IDS = {
    "calico_action:0": "request",
    "calico_action:11": "request",
    "calico_action:page": "request",
    "calico_approve": "decide",
    "calico_deny": "decide",
    "calico_gather:2": "gather",
    "calico_escalate:3": "escalate",
    "calico_runbook:4": "link",
    "calico_escalation_link:0": "link",
}


@pytest.mark.parametrize(("action_id", "family"), KNOWN_IDS.items())
def test_each_known_button_has_exactly_one_family(action_id: str, family: str) -> None:
    assert family_of(action_id) == family
    assert [name for name, pattern in ACTION_FAMILIES.items() if re.fullmatch(pattern, action_id)] == [family]


@pytest.mark.parametrize(
    "action_id",
    ["calico_approver", "calico_approve:1", "calico_action", "calico_gatherx", "calico_", "other:1", ""],
)
def test_anything_else_is_unknown(action_id: str) -> None:
    assert family_of(action_id) is None
