"""An approval request as Slack shows it: its card (Approve / Deny carry only the id), its state in
words, what a click was told, and the cluster's history. Built with the toolkit's blocks; the record
itself is `bot.store.records.Approval`.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.slack.blockkit import (
    Block,
    Message,
    actions,
    button,
    clip,
    escape,
    mention,
    section,
    slack_date,
)
from bot.store.records import Approval, ApprovalState, AuditRecord, TransitionOutcome, TransitionResult

APPROVE_BUTTON = "calico_approve"
DENY_BUTTON = "calico_deny"
HISTORY_MAX = 3900
"""An ephemeral answer's text (Slack takes 4,000)."""


def describe(approval: Approval) -> str:
    """The record's state in words: `approved by <@U1> <date>`, `expired <date>`, `pending`."""
    by = mention(approval.approver) or "someone"
    when = f" {slack_date(approval.decided_at)}" if approval.decided_at else ""
    state = approval.state
    if state == ApprovalState.PENDING:
        return f"pending until {slack_date(approval.expires)}"
    if state == ApprovalState.EXPIRED:
        return f"expired {slack_date(approval.expires)} without a decision; nothing was done"
    if state == ApprovalState.WITHDRAWN:
        why = f" ({approval.result})" if approval.result else ""
        return f"withdrawn{when}{why}; nothing was done"
    if state == ApprovalState.DENIED:
        return f"denied by {by}{when}"
    approved = f"approved by {by}{when}"
    if state == ApprovalState.APPROVED:
        return approved
    if state == ApprovalState.EXECUTING:
        return f"{approved}, now running"
    result = f": {approval.result}" if approval.result else ""
    return f"{approved}, {state}{result}"


def transition_message(result: TransitionResult) -> str:
    """For the user who clicked: what happened, or why nothing did."""
    if result.approval is None:
        return "This request no longer exists (it was never made here, or it expired long ago)."
    if result.outcome == TransitionOutcome.DONE:
        return f"Done: {describe(result.approval)}."
    if result.outcome == TransitionOutcome.EXPIRED:
        return f"Too late: this request {describe(result.approval)}."
    if result.outcome == TransitionOutcome.NOT_EXPIRED:
        return f"Not expired yet: {describe(result.approval)}."
    return f"Already {describe(result.approval)}."


def approval_card(approval: Approval, *, rule: str, read_only: bool) -> Message:
    """The card in the thread: what will happen, on what, who asked, the rule, the state; Approve and
    Deny while it is pending."""
    dry = " (read-only mode: a dry run)" if read_only else ""
    lines = [
        f"*Approval needed{dry}: `{approval.action.value}` on {escape(approval.cluster)}*",
        f"*What will happen:* {escape(approval.reason)}",
        f"*Target:* `{escape(approval.target)}` · *requested by* {mention(approval.requester)}",
        f"*Rule:* {rule} · *state:* {describe(approval)}",
    ]
    blocks: list[Block] = [section("\n".join(lines))]
    if approval.state == ApprovalState.PENDING:
        blocks.append(
            actions(
                [
                    button("Approve", APPROVE_BUTTON, value=approval.id, style="primary"),
                    button("Deny", DENY_BUTTON, value=approval.id, style="danger"),
                ]
            )
        )
    text = f"Approval {approval.state}: {approval.action.value} {approval.target} on {approval.cluster}"
    return Message(text=clip(escape(text), 3000), blocks=blocks)


def history_text(cluster: str, records: Sequence[AuditRecord]) -> str:
    """`/calico history <cluster>`: the latest requests, decisions, executions and results."""
    if not records:
        return f"No calico-bot action has been requested on {escape(cluster)}."
    lines = [f"*Latest calico-bot activity on {escape(cluster)}*"]
    for r in records:
        who = mention(r.actor) if r.actor.startswith(("U", "W")) else r.actor
        what = " ".join(part for part in (r.action, r.target) if part)
        detail = f" — {escape(r.detail[:150])}" if r.detail else ""
        lines.append(f"• {slack_date(r.at)} {r.kind} `{what}` by {who}: {r.outcome}{detail}")
    return clip("\n".join(lines), HISTORY_MAX)
