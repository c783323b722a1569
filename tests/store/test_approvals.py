"""The approval rules (`bot.remediation.approvals`), pure: who may decide, the two-person rule, expiry, policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.remediation.approvals import (
    RULE_READ_ONLY,
    RULE_TWO_PERSON,
    ApprovalPolicy,
    PolicyError,
    may_decide,
    needs_groups,
    rule_for,
)
from bot.slack.approval_card import describe
from bot.store.records import DEFAULT_TTL, Approval, ApprovalState, check_transition
from checks.model import ActionKind

NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
REQUESTER = "U0REQ"
APPROVER = "U0APP"
MEMBER = "U0MEM"
STRANGER = "U0STR"
GROUP = "S0OPS"

POLICY = ApprovalPolicy(approver_users=frozenset({APPROVER, REQUESTER}), approver_groups=frozenset({GROUP}))
CORDON_SELF = replace(POLICY, self_approval_allowed=frozenset({ActionKind.CORDON}))
MEMBERS = frozenset({MEMBER})


def request(action: ActionKind = ActionKind.CORDON, **changes: Any) -> Approval:
    approval = Approval.new(
        cluster="prod-1",
        action=action,
        target="10.0.0.7",
        reason="calico-node not ready",
        requester=REQUESTER,
        now=NOW,
        id="a1",
    )
    return replace(approval, **changes)


# --- may_decide ------------------------------------------------------------------------------------

CASES = [
    # id, approval, user, policy, now, deny, allowed, words in the reason, rule
    (
        "configured user approves",
        request(),
        APPROVER,
        POLICY,
        NOW,
        False,
        True,
        ["configured approver"],
        RULE_TWO_PERSON,
    ),
    (
        "group member approves",
        request(),
        MEMBER,
        POLICY,
        NOW,
        False,
        True,
        ["approver group"],
        RULE_TWO_PERSON,
    ),
    (
        "stranger refused, told who may",
        request(),
        STRANGER,
        POLICY,
        NOW,
        False,
        False,
        ["cannot decide", f"<!subteam^{GROUP}>", f"<@{APPROVER}>"],
        RULE_TWO_PERSON,
    ),
    (
        "no approvers configured",
        request(),
        APPROVER,
        ApprovalPolicy(),
        NOW,
        False,
        False,
        ["nobody", "CALICO_BOT_APPROVER_USERS"],
        RULE_TWO_PERSON,
    ),
    (
        "own request refused by default",
        request(),
        REQUESTER,
        POLICY,
        NOW,
        False,
        False,
        ["two-person rule", "no action allows self-approval"],
        RULE_TWO_PERSON,
    ),
    (
        "own cordon allowed by configuration",
        request(),
        REQUESTER,
        CORDON_SELF,
        NOW,
        False,
        True,
        ["self-approval allowed for cordon"],
        "self-approval allowed for cordon by configuration",
    ),
    (
        "own reboot still refused when only cordon is relaxed",
        request(ActionKind.REBOOT_WORKER),
        REQUESTER,
        CORDON_SELF,
        NOW,
        False,
        False,
        ["two-person rule", "allowed by configuration for: cordon"],
        RULE_TWO_PERSON,
    ),
    (
        "own read-only action allowed",
        request(ActionKind.GATHER),
        REQUESTER,
        POLICY,
        NOW,
        False,
        True,
        [],
        RULE_READ_ONLY,
    ),
    (
        "one millisecond before expiry",
        request(),
        APPROVER,
        POLICY,
        NOW + DEFAULT_TTL - timedelta(milliseconds=1),
        False,
        True,
        [],
        RULE_TWO_PERSON,
    ),
    (
        "at expiry",
        request(),
        APPROVER,
        POLICY,
        NOW + DEFAULT_TTL,
        False,
        False,
        ["expired", "15 min", "nothing was done"],
        RULE_TWO_PERSON,
    ),
    (
        "already approved",
        request(state=ApprovalState.APPROVED, approver=MEMBER, decided_at=NOW),
        APPROVER,
        POLICY,
        NOW,
        False,
        False,
        ["Already approved by", f"<@{MEMBER}>", "2026-03-14 12:00 UTC"],
        RULE_TWO_PERSON,
    ),
    (
        "already denied",
        request(state=ApprovalState.DENIED, approver=MEMBER, decided_at=NOW),
        APPROVER,
        POLICY,
        NOW,
        False,
        False,
        ["Already denied by", f"<@{MEMBER}>"],
        RULE_TWO_PERSON,
    ),
    (
        "already running",
        request(state=ApprovalState.EXECUTING, approver=MEMBER, decided_at=NOW),
        APPROVER,
        POLICY,
        NOW,
        False,
        False,
        ["approved by", "now running"],
        RULE_TWO_PERSON,
    ),
    (
        "already expired",
        request(state=ApprovalState.EXPIRED, decided_at=NOW + DEFAULT_TTL),
        APPROVER,
        POLICY,
        NOW + DEFAULT_TTL,
        False,
        False,
        ["expired"],
        RULE_TWO_PERSON,
    ),
    (
        "requester may withdraw",
        request(),
        REQUESTER,
        ApprovalPolicy(),
        NOW,
        True,
        True,
        ["withdrew"],
        RULE_TWO_PERSON,
    ),
    ("approver may deny", request(), MEMBER, POLICY, NOW, True, True, [], RULE_TWO_PERSON),
    (
        "stranger may not deny",
        request(),
        STRANGER,
        POLICY,
        NOW,
        True,
        False,
        ["cannot decide"],
        RULE_TWO_PERSON,
    ),
    (
        "expired cannot be denied",
        request(),
        APPROVER,
        POLICY,
        NOW + timedelta(hours=1),
        True,
        False,
        ["expired"],
        RULE_TWO_PERSON,
    ),
]


@pytest.mark.parametrize(
    ("approval", "user", "policy", "now", "deny", "allowed", "words", "rule"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_may_decide(
    approval: Approval,
    user: str,
    policy: ApprovalPolicy,
    now: datetime,
    deny: bool,
    allowed: bool,
    words: list[str],
    rule: str,
) -> None:
    decision = may_decide(approval, user, group_members=MEMBERS, policy=policy, now=now, deny=deny)
    assert decision.allowed is allowed, decision.reason
    for word in words:
        assert word in decision.reason
    assert decision.rule == rule


def test_group_membership_is_what_the_caller_resolved() -> None:
    approval = request()
    assert not may_decide(approval, MEMBER, group_members=frozenset(), policy=POLICY, now=NOW).allowed
    assert may_decide(approval, STRANGER, group_members=frozenset({STRANGER}), policy=POLICY, now=NOW).allowed


def test_a_failed_group_lookup_refuses_only_those_it_could_not_check() -> None:
    approval = request()
    decide = partial(
        may_decide, group_members=frozenset[str](), policy=POLICY, now=NOW, groups_error="missing_scope"
    )
    listed = decide(approval, APPROVER)
    assert listed.allowed, listed.reason
    unknown = decide(approval, STRANGER)
    assert not unknown.allowed
    assert unknown.reason.startswith(
        "I could not check the approver groups (Slack said: missing_scope); ask an approver listed by user id"
    )
    assert f"<@{APPROVER}>" in unknown.reason
    assert "usergroups:read" in unknown.reason
    withdraw = decide(approval, REQUESTER, deny=True)
    assert withdraw.allowed
    done = decide(replace(approval, state=ApprovalState.DENIED), STRANGER)
    assert done.reason.startswith("Already denied")  # the record's state is said first
    groups_only = ApprovalPolicy(approver_groups=frozenset({GROUP}))
    nobody = may_decide(
        approval, STRANGER, group_members=frozenset(), policy=groups_only, now=NOW, groups_error="ratelimited"
    )
    assert "none is configured in CALICO_BOT_APPROVER_USERS" in nobody.reason


@pytest.mark.parametrize(
    ("user", "deny", "state", "policy", "needed"),
    [
        (STRANGER, False, ApprovalState.PENDING, POLICY, True),
        (MEMBER, True, ApprovalState.PENDING, POLICY, True),
        (APPROVER, False, ApprovalState.PENDING, POLICY, False),  # listed by user id: no lookup
        (REQUESTER, True, ApprovalState.PENDING, ApprovalPolicy(approver_groups=frozenset({GROUP})), False),
        (STRANGER, False, ApprovalState.APPROVED, POLICY, False),  # decided: nothing to look up
        (STRANGER, False, ApprovalState.PENDING, ApprovalPolicy(approver_users=frozenset({APPROVER})), False),
    ],
)
def test_needs_groups(
    user: str, deny: bool, state: ApprovalState, policy: ApprovalPolicy, needed: bool
) -> None:
    approval = replace(request(), state=state)
    assert needs_groups(approval, user, policy=policy, deny=deny) is needed


@pytest.mark.parametrize(
    ("action", "policy", "rule"),
    [
        (ActionKind.CORDON, POLICY, RULE_TWO_PERSON),
        (ActionKind.CORDON, CORDON_SELF, "self-approval allowed for cordon by configuration"),
        (ActionKind.REFRESH_MASTER, CORDON_SELF, RULE_TWO_PERSON),
        (ActionKind.ESCALATE, POLICY, RULE_READ_ONLY),
    ],
)
def test_rule_for(action: ActionKind, policy: ApprovalPolicy, rule: str) -> None:
    assert rule_for(action, policy) == rule


# --- the record ------------------------------------------------------------------------------------


def test_fields_round_trip() -> None:
    decided = request(state=ApprovalState.SUCCEEDED, approver=APPROVER, decided_at=NOW, result="cordoned")
    for approval in (request(), decided):
        fields = approval.to_fields()
        assert all(isinstance(v, str) for v in fields.values())
        assert Approval.from_fields(fields) == approval
    assert request().to_fields()["expires_ms"] == str(int((NOW + DEFAULT_TTL).timestamp() * 1000))


def test_new_makes_unique_ids_and_expiry() -> None:
    first = Approval.new(
        cluster="c", action=ActionKind.CORDON, target="t", reason="", requester="U1", now=NOW
    )
    second = Approval.new(
        cluster="c",
        action=ActionKind.CORDON,
        target="t",
        reason="",
        requester="U1",
        now=NOW,
        ttl=timedelta(minutes=5),
    )
    assert first.id != second.id
    assert first.state == ApprovalState.PENDING
    assert first.expires == NOW + timedelta(minutes=15)
    assert second.expires == NOW + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"created": datetime(2026, 3, 14, 12)}, "timezone-aware"),
        ({"id": "a b"}, "approval id"),
        ({"expires": NOW - timedelta(seconds=1)}, "expire before"),
    ],
)
def test_bad_records_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(request(), **change)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"action": "format-disk"}, "format-disk"),
        ({"state": "maybe"}, "maybe"),
        ({"created": "yesterday"}, "not an ISO time"),
    ],
)
def test_from_fields_refuses_garbage(change: dict[str, str], message: str) -> None:
    fields = request().to_fields() | change
    with pytest.raises(ValueError, match=message):
        Approval.from_fields(fields)
    del fields["requester"]
    with pytest.raises(ValueError, match="lacks requester"):
        Approval.from_fields(fields)


def test_times_are_kept_in_utc() -> None:
    eastern = NOW.astimezone(ZoneInfo("America/New_York"))
    approval = request(created=eastern, expires=eastern + DEFAULT_TTL)
    assert approval.created.utcoffset() == timedelta(0)
    assert Approval.from_fields(approval.to_fields()) == approval


def test_describe() -> None:
    assert describe(request()).startswith("pending until")
    withdrawn = describe(request(state=ApprovalState.WITHDRAWN, decided_at=NOW, result="card not posted"))
    assert withdrawn.startswith("withdrawn")
    assert "card not posted" in withdrawn
    assert withdrawn.endswith("nothing was done")
    done = describe(request(state=ApprovalState.FAILED, approver=MEMBER, decided_at=NOW, result="timeout"))
    assert done.startswith(f"approved by <@{MEMBER}>")
    assert done.endswith("failed: timeout")


@pytest.mark.parametrize(
    ("sources", "to_state", "ok"),
    [
        ({ApprovalState.PENDING}, ApprovalState.APPROVED, True),
        ({ApprovalState.PENDING}, ApprovalState.DENIED, True),
        ({ApprovalState.PENDING}, ApprovalState.EXPIRED, True),
        ({ApprovalState.PENDING}, ApprovalState.WITHDRAWN, True),
        ({ApprovalState.APPROVED}, ApprovalState.EXECUTING, True),
        ({ApprovalState.EXECUTING}, ApprovalState.SUCCEEDED, True),
        ({ApprovalState.EXECUTING}, ApprovalState.FAILED, True),
        ({ApprovalState.DENIED}, ApprovalState.APPROVED, False),
        ({ApprovalState.PENDING}, ApprovalState.EXECUTING, False),
        ({ApprovalState.PENDING, ApprovalState.APPROVED}, ApprovalState.EXECUTING, False),
        ({ApprovalState.SUCCEEDED}, ApprovalState.EXECUTING, False),
        ({ApprovalState.WITHDRAWN}, ApprovalState.APPROVED, False),
        ({ApprovalState.APPROVED}, ApprovalState.WITHDRAWN, False),
        (set(), ApprovalState.APPROVED, False),
    ],
)
def test_check_transition(sources: set[ApprovalState], to_state: ApprovalState, ok: bool) -> None:
    if ok:
        check_transition(sources, to_state)
    else:
        with pytest.raises(ValueError, match="transition"):
            check_transition(sources, to_state)


# --- configuration ---------------------------------------------------------------------------------


def test_policy_defaults() -> None:
    policy = ApprovalPolicy.from_env({})
    assert policy == ApprovalPolicy()
    assert policy.ttl == timedelta(minutes=15)
    assert policy.self_approval_allowed == frozenset()


def test_policy_from_env() -> None:
    policy = ApprovalPolicy.from_env(
        {
            "CALICO_BOT_APPROVER_USERS": " U01ABC, W02DEF ,",
            "CALICO_BOT_APPROVER_GROUPS": "S0123",
            "CALICO_BOT_SELF_APPROVAL": "cordon, Uncordon",
            "CALICO_BOT_APPROVAL_TTL_MINUTES": "30",
        }
    )
    assert policy.approver_users == {"U01ABC", "W02DEF"}
    assert policy.approver_groups == {"S0123"}
    assert policy.self_approval_allowed == {ActionKind.CORDON, ActionKind.UNCORDON}
    assert policy.ttl == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("env", "lines"),
    [
        ({"CALICO_BOT_APPROVER_USERS": "U01ABC,alice"}, ["CALICO_BOT_APPROVER_USERS", "alice"]),
        ({"CALICO_BOT_APPROVER_GROUPS": "U01ABC"}, ["CALICO_BOT_APPROVER_GROUPS", "U01ABC"]),
        (
            {"CALICO_BOT_SELF_APPROVAL": "cordon,reboot"},
            ["CALICO_BOT_SELF_APPROVAL", "reboot", "reboot-worker"],
        ),
        ({"CALICO_BOT_APPROVAL_TTL_MINUTES": "0"}, ["CALICO_BOT_APPROVAL_TTL_MINUTES", "'0'"]),
        ({"CALICO_BOT_APPROVAL_TTL_MINUTES": "1441"}, ["1441"]),
        ({"CALICO_BOT_APPROVAL_TTL_MINUTES": "ten"}, ["'ten'"]),
        ({"CALICO_BOT_APPROVAL_TTL_MINUTES": "-5"}, ["'-5'"]),
    ],
)
def test_policy_one_line_per_problem(env: dict[str, str], lines: list[str]) -> None:
    with pytest.raises(PolicyError) as caught:
        ApprovalPolicy.from_env(env)
    assert len(caught.value.problems) == 1
    for word in lines:
        assert word in caught.value.problems[0]


def test_policy_reports_every_problem_at_once() -> None:
    env = {
        "CALICO_BOT_APPROVER_USERS": "bob",
        "CALICO_BOT_APPROVER_GROUPS": "ops",
        "CALICO_BOT_SELF_APPROVAL": "everything",
        "CALICO_BOT_APPROVAL_TTL_MINUTES": "soon",
    }
    with pytest.raises(PolicyError) as caught:
        ApprovalPolicy.from_env(env)
    assert len(caught.value.problems) == 4
    assert str(caught.value).count("\n") == 3
