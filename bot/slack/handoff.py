"""The escalation hand-off in Block Kit, for the card's thread and for a cross-post.

Drawn from the `Handoff` that `bot.escalation.handoff` builds (pure: the same reading of the
diagnosis as the terminal text, the GHE link and the PagerDuty event), with the toolkit's blocks,
inside Block Kit's limits whatever the input.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.escalation.handoff import (
    KEY_EVIDENCE_CHARS,
    KEY_EVIDENCE_LINES,
    KEY_FINDINGS,
    KUBELET_LABEL,
    NO_ACTIONS,
    PAGERDUTY_POLICY_NAME,
    SLACK_CHANNEL_NAME,
    SLACK_SITUATIONS_MAX,
    SLACK_URL_MAX,
    Handoff,
    affected_workers,
    key_evidence,
    runbook_link,
    unknown_line,
    verdict,
)
from bot.slack.blockkit import (
    FALLBACK_TEXT_MAX,
    MAX_BLOCKS,
    SECTION_ROOM,
    Block,
    Message,
    TextBudget,
    actions,
    button,
    cap_blocks,
    clip,
    context,
    escape,
    header,
    inline_code,
    is_user_id,
    mention,
    one_line,
    prose_line,
    section,
    slack_date,
    slack_len,
)
from bot.store.records import AuditEntry
from checks.model import SITUATION_TITLE, Diagnosis, Finding, Situation

SLACK_WORKERS_MAX = 40
SLACK_AUDIT_MAX = 15
SLACK_UNKNOWNS_MAX = 5
LINK_BUTTON = "calico_escalation_link"
"""URL buttons of the hand-off (`calico_escalation_link:<n>`): Slack still sends a click; only ack it."""

_SAFE_URL = re.compile(r"https://[^\s|<>]+")


def _who(user: str) -> str:
    """A Slack user id as a mention; anything else as escaped text (never a mention)."""
    user = one_line(user)
    return mention(user) if is_user_id(user) else prose_line(user, 100)


def _evidence_block(lines: Sequence[str]) -> str:
    body = "\n".join(clip(escape(one_line(line)).replace("`", "ˋ"), KEY_EVIDENCE_CHARS) for line in lines)
    return f"```\n{body}\n```"


def _link(url: str, label: str) -> str:
    """A mrkdwn link when the URL is a plain https URL; else the URL shown as code."""
    if _SAFE_URL.fullmatch(url) and len(url) <= SLACK_URL_MAX:
        return f"<{url}|{escape(label)}>"
    return f"{escape(label)}: {inline_code(url, 300)}"


def _situation_section(number: int, situation: Situation, findings: Sequence[Finding]) -> Block:
    chapter, url = runbook_link(situation.id, findings)
    link = f"📖 <{url}|Runbook: {prose_line(chapter, 200)}>" if _SAFE_URL.fullmatch(url) else ""
    text = TextBudget(SECTION_ROOM - slack_len(link))
    title = SITUATION_TITLE.get(situation.id, str(situation.id))
    text.add(f"*{number}. {escape(title)}*  {inline_code(situation.id, 100)}")
    text.add(prose_line(situation.summary, 500))
    shown = 0
    for finding in findings[:KEY_FINDINGS]:
        lines = []
        if finding.title != situation.summary:
            lines.append(f"*{prose_line(finding.title, 300)}*")
        evidence = key_evidence(finding, KEY_EVIDENCE_LINES, KEY_EVIDENCE_CHARS)
        if evidence:
            lines.append(_evidence_block(evidence))
        if not lines or not text.add("\n".join(lines)):
            if lines and shown == 0 and text.add(lines[0]):
                shown += 1
            break
        shown += 1
    if len(findings) > shown:
        text.force(f"_+{len(findings) - shown:,} more finding(s) in the card's thread_")
    if link:
        text.force(link)
    return section(text.text)


def _workers_section(diagnosis: Diagnosis) -> Block:
    affected = affected_workers(diagnosis)
    if not affected:
        return section("*Affected workers:* none named by the findings")
    text = TextBudget()
    text.add(f"*Affected workers* ({len(affected):,})")
    shown = 0
    for name, why in list(affected.items())[:SLACK_WORKERS_MAX]:
        emoji = "⚫" if why == KUBELET_LABEL else "🔴"
        if not text.add(f"{emoji} {inline_code(name, 60)} {why}"):
            break
        shown += 1
    if len(affected) > shown:
        text.force(f"_+{len(affected) - shown:,} more_")
    return section(text.text)


def _audit_section(entries: Sequence[AuditEntry]) -> Block:
    if not entries:
        return section(
            f"*Actions taken by calico-bot on this cluster*\n_{NO_ACTIONS[0].upper()}{NO_ACTIONS[1:]}._"
        )
    text = TextBudget()
    text.add(f"*Actions taken by calico-bot on this cluster* ({len(entries):,})")
    shown = 0
    for entry in entries[:SLACK_AUDIT_MAX]:
        line = (
            f"• {slack_date(entry.at)} {inline_code(entry.action, 40)} {inline_code(entry.target, 100)}: requested by "
            f"{_who(entry.requested_by) or '?'}, approved by "
            f"{_who(entry.approved_by) or '?'} → {prose_line(entry.outcome, 200) or '_no outcome recorded_'}"
        )
        if not text.add(line):
            break
        shown += 1
    if len(entries) > shown:
        text.force(f"_+{len(entries) - shown:,} more in the audit log_")
    return section(text.text)


def _link_button(label: str, index: int, url: str) -> Block | None:
    if not _SAFE_URL.fullmatch(url) or len(url) > SLACK_URL_MAX:
        return None
    return button(label, f"{LINK_BUTTON}:{index}", url=url)


def handoff_message(handoff: Handoff, diagnosis: Diagnosis, *, paging: str | None) -> Message:
    """The hand-off in Block Kit, for the card's thread (or a cross-post); `paging` is the status
    line of a PagerDuty trigger (`bot.escalation.handoff.paging_status`), when one was tried."""
    cluster = handoff.cluster or diagnosis.cluster
    links = handoff.links
    blocks: list[Block] = [header(f"Escalation: {one_line(cluster)}".strip())]

    intro = (
        f"🚨 *Hand-off to armada-network* — {escape(verdict(diagnosis))}\n*{prose_line(handoff.title, 400)}*"
    )
    if handoff.requested_by:
        intro += f"\nEscalated by {_who(handoff.requested_by)}"
    blocks.append(section(intro))

    if paging:
        failed = paging.startswith("Paging failed")
        emoji = "⚠️" if failed else "📟"
        blocks.append(section(f"{emoji} {prose_line(paging, 1500)}"))

    problems = diagnosis.problem_situations()
    for number, situation in enumerate(problems[:SLACK_SITUATIONS_MAX], start=1):
        blocks.append(_situation_section(number, situation, diagnosis.problem_findings(situation.id)))
    if len(problems) > SLACK_SITUATIONS_MAX:
        rest = problems[SLACK_SITUATIONS_MAX:]
        ids = ", ".join(inline_code(s.id, 60) for s in rest[:20])
        blocks.append(section(f"_+{len(rest):,} more situation(s) in the card's thread: {ids}_"))
    if not problems:
        blocks.append(section(f"_{escape(verdict(diagnosis))}_"))

    blocks.append(_workers_section(diagnosis))
    blocks.append(_audit_section(handoff.actions))

    if handoff.bundle_name:
        blocks.append(
            section(f"📦 *Bundle:* {inline_code(handoff.bundle_name, 200)} (attached in this thread)")
        )
    else:
        blocks.append(section("📦 *Bundle:* none gathered — use *Gather* on the card first if you can"))

    if diagnosis.unknowns:
        shown = min(len(diagnosis.unknowns), SLACK_UNKNOWNS_MAX)
        lines = [f"• {prose_line(unknown_line(diagnosis, i), 300)}" for i in range(shown)]
        more = len(diagnosis.unknowns) - shown
        blocks.append(
            context("❔ *Could not judge*\n" + "\n".join(lines) + (f"\n_+{more:,} more_" if more else ""))
        )

    shortened = handoff.body_truncated or handoff.github_button_url != handoff.github_new_issue_url
    blocks.append(
        section(
            "*Escalation links*\n"
            f"• PagerDuty: {_link(links.pagerduty_policy_url, PAGERDUTY_POLICY_NAME)}\n"
            f"• Slack: {_link(links.slack_channel_url, SLACK_CHANNEL_NAME)}\n"
            f"• GHE: {_link(links.github_issues_url, 'armada-network issues')} — *New GHE issue* opens one "
            "with the title and body prefilled from this diagnosis"
            + (" (the body is shortened: attach this thread)" if shortened else "")
        )
    )
    buttons = [
        b
        for b in (
            _link_button("PagerDuty escalation policy", 0, links.pagerduty_policy_url),
            _link_button(SLACK_CHANNEL_NAME, 1, links.slack_channel_url),
            _link_button("New GHE issue", 2, handoff.github_button_url or handoff.github_new_issue_url),
        )
        if b is not None
    ]
    if buttons:
        blocks.append(actions(buttons))

    footer = (
        f"diagnosis checked {slack_date(diagnosis.checked_at)} · source {prose_line(diagnosis.source, 100)}"
    )
    blocks.append(context(footer + " · calico-bot hand-off"))

    fallback = f"🚨 Escalation: {one_line(cluster)} — {handoff.title}"
    if paging:
        fallback += f" — {one_line(paging)}"
    return Message(
        text=clip(escape(fallback), FALLBACK_TEXT_MAX),
        blocks=cap_blocks(blocks, "_…more in the card's thread_"),
    )


def with_page_button(message: Message, *, action_id: str, value: str) -> Message:
    """The hand-off with the approval-gated *Page armada-network* button under it."""
    page = actions([button("Page armada-network", action_id, value=value, style="danger")])
    return Message(
        text=message.text, blocks=[*message.blocks[: MAX_BLOCKS - 1], page], attachments=message.attachments
    )
