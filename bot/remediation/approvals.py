"""Who may decide an approval request, and the rule that says so (ARCHITECTURE §7).

Pure: no I/O. The record itself and its state machine are `bot.store.records`; the Redis adapter
is `bot.store.redis_store`. Times are always passed in (`now`). This module decides whether a
*user* may take the first arrow (`may_decide`); the store decides whether the *record* still can.

Configuration (`ApprovalPolicy.from_env`):

| variable | meaning |
|---|---|
| `CALICO_BOT_APPROVER_USERS` | comma-separated Slack user ids (U…/W…) who may approve |
| `CALICO_BOT_APPROVER_GROUPS` | comma-separated Slack user group ids (S…) whose members may approve |
| `CALICO_BOT_SELF_APPROVAL` | comma-separated action kinds the requester may approve themselves (e.g. `cordon`); default none: the two-person rule holds for every action that changes the cluster |
| `CALICO_BOT_APPROVAL_TTL_MINUTES` | how long a request stays open (default 15, at most 1440) |
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.slack.approval_card import describe
from bot.slack.blockkit import mention, slack_date
from bot.store.records import DEFAULT_TTL, Approval, ApprovalState
from checks.model import READ_ONLY_ACTIONS, ActionKind

MAX_TTL_MINUTES = 24 * 60

ENV_APPROVER_USERS = "CALICO_BOT_APPROVER_USERS"
ENV_APPROVER_GROUPS = "CALICO_BOT_APPROVER_GROUPS"
ENV_SELF_APPROVAL = "CALICO_BOT_SELF_APPROVAL"
ENV_APPROVAL_TTL = "CALICO_BOT_APPROVAL_TTL_MINUTES"

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")
GROUP_ID = re.compile(r"^S[A-Z0-9]{2,30}$")

RULE_TWO_PERSON = "two-person rule: requester cannot approve"
RULE_READ_ONLY = "read-only action: the requester may approve"


def rule_self_allowed(action: ActionKind) -> str:
    return f"self-approval allowed for {action} by configuration"


# =================================================================================================
# Policy
# =================================================================================================


class PolicyError(ValueError):
    """Malformed approval configuration: one line per problem (`problems`)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


@dataclass(frozen=True)
class ApprovalPolicy:
    approver_users: frozenset[str] = frozenset()
    approver_groups: frozenset[str] = frozenset()
    self_approval_allowed: frozenset[ActionKind] = frozenset()
    ttl: timedelta = DEFAULT_TTL

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApprovalPolicy:
        """The policy from the environment; PolicyError lists every malformed value, one line each."""
        problems: list[str] = []

        users = _items(env.get(ENV_APPROVER_USERS, ""))
        bad = [u for u in users if not USER_ID.match(u)]
        if bad:
            problems.append(
                f"{ENV_APPROVER_USERS} has values that are not Slack user ids (U…/W…): {', '.join(bad)}"
            )

        groups = _items(env.get(ENV_APPROVER_GROUPS, ""))
        bad = [g for g in groups if not GROUP_ID.match(g)]
        if bad:
            problems.append(
                f"{ENV_APPROVER_GROUPS} has values that are not Slack user group ids (S…): {', '.join(bad)}"
            )

        kinds: set[ActionKind] = set()
        unknown: list[str] = []
        for name in _items(env.get(ENV_SELF_APPROVAL, "")):
            try:
                kinds.add(ActionKind(name.lower()))
            except ValueError:
                unknown.append(name)
        if unknown:
            problems.append(
                f"{ENV_SELF_APPROVAL} has unknown action kinds: {', '.join(unknown)} "
                f"(known: {', '.join(k.value for k in ActionKind)})"
            )

        ttl = DEFAULT_TTL
        ttl_text = env.get(ENV_APPROVAL_TTL, "").strip()
        if ttl_text:
            if ttl_text.isdigit() and 1 <= int(ttl_text) <= MAX_TTL_MINUTES:
                ttl = timedelta(minutes=int(ttl_text))
            else:
                problems.append(
                    f"{ENV_APPROVAL_TTL} {ttl_text!r} is not a whole number of minutes from 1 to {MAX_TTL_MINUTES}"
                )

        if problems:
            raise PolicyError(problems)
        return cls(
            approver_users=frozenset(users),
            approver_groups=frozenset(groups),
            self_approval_allowed=frozenset(kinds),
            ttl=ttl,
        )

    def approvers_text(self) -> str:
        """Who may approve, for a refusal: `members of <!subteam^S1> or <@U1>`."""
        who = [f"members of <!subteam^{g}>" for g in sorted(self.approver_groups)]
        who += [mention(u) for u in sorted(self.approver_users)]
        if not who:
            return f"nobody: no approvers are configured ({ENV_APPROVER_USERS}, {ENV_APPROVER_GROUPS})"
        return who[0] if len(who) == 1 else ", ".join(who[:-1]) + " or " + who[-1]

    def self_approval_text(self) -> str:
        if not self.self_approval_allowed:
            return f"no action allows self-approval ({ENV_SELF_APPROVAL} is empty)"
        kinds = ", ".join(sorted(k.value for k in self.self_approval_allowed))
        return f"self-approval is allowed by configuration for: {kinds}"


def rule_for(action: ActionKind, policy: ApprovalPolicy) -> str:
    """The rule that governs approving `action`, as the card shows it."""
    if action in READ_ONLY_ACTIONS:
        return RULE_READ_ONLY
    if action in policy.self_approval_allowed:
        return rule_self_allowed(action)
    return RULE_TWO_PERSON


# =================================================================================================
# Decisions
# =================================================================================================


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    """Why, in one or two sentences of Slack mrkdwn (shown to the clicking user)."""
    rule: str
    """The approval rule for this action (`rule_for`), shown on the card."""


def groups_unavailable(policy: ApprovalPolicy, error: str) -> str:
    """The answer to a clicker who may be in an approver group that could not be looked up."""
    listed = ", ".join(mention(u) for u in sorted(policy.approver_users))
    who = f" ({listed})" if listed else f" (none is configured in {ENV_APPROVER_USERS})"
    return (
        f"I could not check the approver groups (Slack said: {error}); ask an approver listed by user id{who}, "
        "or add usergroups:read to calico-bot's Slack app. Nothing was decided."
    )


def needs_groups(approval: Approval, user: str, *, policy: ApprovalPolicy, deny: bool) -> bool:
    """Whether deciding needs the approver groups' members (a listed approver or the requester
    withdrawing their own request does not: no lookup, so no failure)."""
    if approval.state != ApprovalState.PENDING or not policy.approver_groups or user in policy.approver_users:
        return False
    return not (deny and user == approval.requester)


def may_decide(
    approval: Approval,
    user: str,
    *,
    group_members: frozenset[str],
    policy: ApprovalPolicy,
    now: datetime,
    deny: bool = False,
    groups_error: str | None = None,
) -> Decision:
    """May `user` approve (or, with `deny=True`, deny) `approval` at `now`?

    `group_members` are the current members of `policy.approver_groups` (the caller resolves them,
    cached). `groups_error` is Slack's error when they could not be resolved: approvers listed by
    user id still decide, anyone else is told why they cannot be checked. In order: a decided
    record, an expired request, a user who is not an approver, and the two-person rule refuse. The
    requester may always withdraw (deny) their own pending request.
    """
    rule = rule_for(approval.action, policy)
    if approval.state != ApprovalState.PENDING:
        return Decision(False, f"Already {describe(approval)}.", rule)
    if approval.expired_at(now):
        minutes = round((approval.expires - approval.created).total_seconds() / 60)
        return Decision(
            False,
            f"This request expired {slack_date(approval.expires)} (requests stay open {minutes} min); "
            "nothing was done. Ask for it again if it is still needed.",
            rule,
        )
    own = user == approval.requester
    if deny and own:
        return Decision(True, "the requester withdrew the request", rule)
    if user in policy.approver_users:
        why = f"{mention(user)} is a configured approver"
    elif user in group_members:
        why = f"{mention(user)} is a member of an approver group"
    elif groups_error is not None:
        return Decision(False, groups_unavailable(policy, groups_error), rule)
    else:
        return Decision(
            False,
            f"{mention(user) or 'You'} cannot decide calico-bot actions: approvers are {policy.approvers_text()}.",
            rule,
        )
    if deny or not own or rule != RULE_TWO_PERSON:
        return Decision(True, why if not own else f"{why}; {rule}", rule)
    return Decision(
        False,
        f"You requested this `{approval.action}`: under the two-person rule someone else must approve it "
        f"({policy.self_approval_text()}).",
        rule,
    )
