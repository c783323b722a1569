"""The hand-off to the armada-network squad (`/calico escalate`, the card's Escalate button,
`calico-bot escalate CLUSTER`), after the runbook's "Escalation Policy" section.

Pure: no I/O and no presentation. From the latest `Diagnosis`, the actions calico-bot ran on the
cluster (the audit stream, `AuditEntry`), the name of the gathered bundle and the configured links,
this module builds

- `build_handoff` -> `Handoff`: a title, a plain-text hand-off (terminal and Slack fallback) and a
  GitHub Enterprise "new issue" link whose title and body are prefilled from the diagnosis (the
  Block Kit hand-off, `bot.slack.handoff`, is drawn from it with the same reading of the diagnosis:
  `verdict`, `runbook_link`, `key_evidence`, `affected_workers`, `unknown_line`);
- `pagerduty_event`: the PagerDuty Events API v2 `trigger`, whose dedup key depends on the cluster
  only, so repeated escalations of one cluster update one incident. `bot.escalation.pagerduty` sends it.

The GitHub body is ordered so that truncation (`github_new_issue_url`, to stay within the length
GitHub accepts in a URL) eats the bulky evidence last: facts, situations, affected workers, actions
taken, bundle and unknowns come first, the evidence of each finding after them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bot.store.records import AuditEntry
from checks.common import natural_key
from checks.model import (
    RUNBOOK_URL,
    SITUATION_SECTION,
    SITUATION_TITLE,
    Diagnosis,
    Finding,
    RunbookSection,
    Severity,
    SituationId,
    runbook_url,
)

# --- the runbook's escalation links (section "Escalation Policy") --------------------------------

PAGERDUTY_POLICY_URL = "https://ibm.pagerduty.com/escalation_policies#P2MK3WQ"
PAGERDUTY_POLICY_NAME = "Alchemy - Containers Tribe - armada-network"
SLACK_CHANNEL_URL = "https://ibm-argonauts.slack.com/messages/armada-network"
SLACK_CHANNEL_NAME = "#armada-network"
GITHUB_ISSUES_URL = "https://github.ibm.com/alchemy-containers/armada-network/issues/"

ENV_PAGERDUTY_POLICY_URL = "CALICO_BOT_PAGERDUTY_POLICY_URL"
ENV_SLACK_CHANNEL_URL = "CALICO_BOT_ESCALATION_CHANNEL_URL"
ENV_GITHUB_ISSUES_URL = "CALICO_BOT_GITHUB_ISSUES_URL"

# --- limits ------------------------------------------------------------------------------------------

GITHUB_URL_MAX = 8000
"""GitHub answers 414 somewhere above 8 KB of URL; stay below with room for proxies."""
SLACK_URL_MAX = 3000
"""Block Kit: a button's `url` is at most 3,000 characters (and a link must fit a section)."""
TITLE_MAX = 256
TRUNCATION_NOTE = "…(truncated: the full diagnosis is attached in Slack / `calico-bot check --json`)"

PD_SUMMARY_MAX = 1024
PD_DEDUP_KEY_MAX = 255
PD_DEDUP_PREFIX = "calico-bot/"

NO_ACTIONS = "no action recorded by calico-bot on this cluster"

# What "key evidence" means everywhere (text, Slack, PagerDuty): the first lines of the first findings.
KEY_FINDINGS = 3
KEY_EVIDENCE_LINES = 4
KEY_EVIDENCE_CHARS = 300
# The GitHub body shows more (truncation takes care of the rest).
BODY_FINDINGS_MAX = 40
BODY_EVIDENCE_LINES = 20
BODY_EVIDENCE_CHARS = 1000
# Lists in the text and the body.
LIST_MAX = 50
SITUATIONS_MAX = 20
# Slack.
SLACK_SITUATIONS_MAX = 8

_PROBLEM = frozenset({Severity.CRITICAL, Severity.WARNING})
KUBELET_LABEL = "NotReady (kubelet)"
CALICO_LABEL = "calico-node bad"


@dataclass(frozen=True)
class EscalationLinks:
    """Where to escalate; the defaults are the runbook's. Configurable (see `from_env`)."""

    pagerduty_policy_url: str = PAGERDUTY_POLICY_URL
    slack_channel_url: str = SLACK_CHANNEL_URL
    github_issues_url: str = GITHUB_ISSUES_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EscalationLinks:
        """`CALICO_BOT_PAGERDUTY_POLICY_URL`, `CALICO_BOT_ESCALATION_CHANNEL_URL`,
        `CALICO_BOT_GITHUB_ISSUES_URL`; an unset or empty variable keeps the runbook's link."""
        return cls(
            pagerduty_policy_url=env.get(ENV_PAGERDUTY_POLICY_URL, "").strip() or PAGERDUTY_POLICY_URL,
            slack_channel_url=env.get(ENV_SLACK_CHANNEL_URL, "").strip() or SLACK_CHANNEL_URL,
            github_issues_url=env.get(ENV_GITHUB_ISSUES_URL, "").strip() or GITHUB_ISSUES_URL,
        )


@dataclass(frozen=True)
class PagingResult:
    """What came of a PagerDuty trigger (`bot.escalation.pagerduty.send_event`); never holds the routing key."""

    ok: bool
    dedup_key: str
    message: str


@dataclass(frozen=True)
class Handoff:
    title: str
    """The GitHub issue title, `calico-node: <first situation> on <cluster>` (at most 256)."""
    text: str
    """Plain text for the terminal (`calico-bot escalate`) and the Slack fallback."""
    github_new_issue_url: str
    """`<issues>/new?title=…&body=…`, at most 8,000 characters (the terminal's link)."""
    body_truncated: bool
    cluster: str = ""
    links: EscalationLinks = field(default_factory=EscalationLinks)
    actions: tuple[AuditEntry, ...] = ()
    bundle_name: str | None = None
    requested_by: str | None = None
    github_button_url: str = ""
    """The same link cut to fit a Slack button (3,000); it may be truncated where the other is not."""


# =================================================================================================
# Shared reading of the diagnosis
# =================================================================================================


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cut(text: str, limit: int) -> str:
    """Plain text of at most `limit` characters, with `…` when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _utc(when: datetime) -> str:
    moment = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _situation_title(sid: SituationId) -> str:
    return SITUATION_TITLE.get(sid, str(sid))


def runbook_link(sid: SituationId, findings: Sequence[Finding]) -> tuple[str, str]:
    """(section title, URL) of the runbook section for a situation."""
    section = next(
        (f.runbook_section for f in findings if f.runbook_section),
        SITUATION_SECTION.get(sid, RunbookSection.GATHER).value,
    )
    return section, runbook_url(section)


def key_evidence(finding: Finding, lines: int, chars: int) -> list[str]:
    return [_cut(e.rstrip(), chars) for e in finding.evidence if e.strip()][:lines]


def affected_workers(diagnosis: Diagnosis) -> dict[str, str]:
    """Worker -> why it is affected, from the problem findings' Node objects (kubelet first).

    Only what the findings name: a check that caps the Node objects it lists caps this too."""
    states: dict[str, str] = {}
    for finding in diagnosis.findings:
        if finding.severity not in _PROBLEM or finding.situation == SituationId.HEALTHY:
            continue
        label = KUBELET_LABEL if finding.situation == SituationId.WORKER_NOT_READY_KUBELET else CALICO_LABEL
        for obj in finding.objects:
            if obj.kind == "Node" and states.get(obj.name) != KUBELET_LABEL:
                states[obj.name] = label
    return {name: states[name] for name in sorted(states, key=natural_key)}


def verdict(diagnosis: Diagnosis) -> str:
    problems = diagnosis.problem_situations()
    if problems:
        count = len(problems)
        return f"problems found ({count} runbook situation{'s' if count != 1 else ''})"
    if diagnosis.healthy:
        return "healthy (calico-bot found no problem; escalated by hand)"
    count = len(diagnosis.unknowns)
    return f"unknown (calico-bot could not judge the cluster: {count} unknown{'s' if count != 1 else ''})"


def _headline(diagnosis: Diagnosis) -> str:
    problems = diagnosis.problem_situations()
    if problems:
        return _one_line(problems[0].summary) or _situation_title(problems[0].id)
    if diagnosis.healthy:
        return "no problem found by calico-bot"
    return "could not be checked by calico-bot"


def issue_title(diagnosis: Diagnosis) -> str:
    """`calico-node: <first situation summary> on <cluster>`, at most 256 characters."""
    cluster = _cut(_one_line(diagnosis.cluster), 100)
    room = TITLE_MAX - len("calico-node:  on ") - len(cluster)
    return f"calico-node: {_cut(_headline(diagnosis), room)} on {cluster}"


def _audit_line(entry: AuditEntry) -> str:
    return (
        f"{_utc(entry.at)} {_one_line(entry.action)} {_one_line(entry.target)}: "
        f"requested by {_one_line(entry.requested_by) or '?'}, approved by {_one_line(entry.approved_by) or '?'}"
        f" → {_one_line(entry.outcome) or 'no outcome recorded'}"
    )


def unknown_line(diagnosis: Diagnosis, index: int) -> str:
    unknown = diagnosis.unknowns[index]
    what = f"{unknown.check}: {unknown.what}" if unknown.what != unknown.check else unknown.check
    return _one_line(f"{what} — {unknown.reason}")


def _more(total: int, shown: int, what: str) -> list[str]:
    return [f"… and {total - shown:,} more {what}"] if total > shown else []


# =================================================================================================
# The hand-off text (terminal, Slack fallback)
# =================================================================================================


def _handoff_text(
    diagnosis: Diagnosis,
    *,
    title: str,
    links: EscalationLinks,
    actions: Sequence[AuditEntry],
    bundle_name: str | None,
    requested_by: str | None,
    new_issue_url: str,
    truncated: bool,
) -> str:
    cluster = _cut(_one_line(diagnosis.cluster), 200)
    out = [f"Escalation: {cluster} → armada-network", title]
    facts = f"Checked {_utc(diagnosis.checked_at)} · source {_one_line(diagnosis.source)}"
    if requested_by:
        facts += f" · escalated by {_one_line(requested_by)}"
    out += [facts, f"Verdict: {verdict(diagnosis)}", ""]

    problems = diagnosis.problem_situations()
    if problems:
        out.append("Situations")
        for number, situation in enumerate(problems[:SITUATIONS_MAX], start=1):
            findings = diagnosis.problem_findings(situation.id)
            _, url = runbook_link(situation.id, findings)
            out.append(f"  {number}. {_situation_title(situation.id)} [{situation.id}]")
            out.append(f"     {_cut(_one_line(situation.summary), 500)}")
            out.append(f"     Runbook: {url}")
            for finding in findings[:KEY_FINDINGS]:
                evidence = key_evidence(finding, KEY_EVIDENCE_LINES, KEY_EVIDENCE_CHARS)
                if finding.title != situation.summary:
                    out.append(f"     - {_cut(_one_line(finding.title), 300)}")
                out += [f"       | {_one_line(line)}" for line in evidence]
            out += [f"     {m}" for m in _more(len(findings), min(len(findings), KEY_FINDINGS), "findings")]
        out += _more(len(problems), min(len(problems), SITUATIONS_MAX), "situations")
        out.append("")

    affected = affected_workers(diagnosis)
    out.append(f"Affected workers ({len(affected):,})" if affected else "Affected workers: none named")
    width = max((len(n) for n in list(affected)[:LIST_MAX]), default=0)
    out += [
        f"  {_cut(name, 100):<{min(width, 100)}}  {why}" for name, why in list(affected.items())[:LIST_MAX]
    ]
    out += [f"  {m}" for m in _more(len(affected), min(len(affected), LIST_MAX), "workers")]
    out.append("")

    out.append("Actions taken by calico-bot on this cluster")
    out += [f"  - {_cut(_audit_line(a), 500)}" for a in actions[:LIST_MAX]] or [f"  {NO_ACTIONS}"]
    out += [f"  {m}" for m in _more(len(actions), min(len(actions), LIST_MAX), "actions")]
    out.append("")

    if diagnosis.actions:
        out.append("Proposed next steps (not run by calico-bot)")
        for number, action in enumerate(diagnosis.actions[:LIST_MAX], start=1):
            lock = " (needs approval)" if action.requires_approval else ""
            out.append(
                f"  {number}. {action.kind.value} {_cut(_one_line(action.target), 200)}{lock}"
                f" — {_cut(_one_line(action.reason), 200)}"
            )
        out += [
            f"  {m}" for m in _more(len(diagnosis.actions), min(len(diagnosis.actions), LIST_MAX), "steps")
        ]
        out.append("")

    if diagnosis.unknowns:
        out.append("Could not judge")
        shown = min(len(diagnosis.unknowns), LIST_MAX)
        out += [f"  - {_cut(unknown_line(diagnosis, i), 300)}" for i in range(shown)]
        out += [f"  {m}" for m in _more(len(diagnosis.unknowns), shown, "unknowns")]
        out.append("")

    out.append(f"Bundle: {_bundle_plain(bundle_name)}")
    out.append("")
    out.append("Escalation links")
    out.append(f"  PagerDuty escalation policy ({PAGERDUTY_POLICY_NAME}): {links.pagerduty_policy_url}")
    out.append(f"  Slack channel {SLACK_CHANNEL_NAME}: {links.slack_channel_url}")
    out.append(f"  GHE issues: {links.github_issues_url}")
    note = " (body truncated)" if truncated else ""
    out.append(f"  New GHE issue, title and body prefilled{note}: {new_issue_url}")
    out.append(f"  Runbook: {RUNBOOK_URL}")
    return "\n".join(out)


def _bundle_plain(bundle_name: str | None) -> str:
    if bundle_name:
        return f"{_one_line(bundle_name)} (attached in the Slack thread)"
    return "none gathered (use Gather on the card, or `/calico gather <cluster> <worker>`)"


# =================================================================================================
# The GitHub issue
# =================================================================================================


def _md_code(text: str) -> str:
    """One line as a Markdown code span, whatever backticks it holds."""
    text = _one_line(text)
    runs = [len(r) for r in re.findall(r"`+", text)]
    ticks = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or ticks != "`" else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _md_fence(lines: Sequence[str]) -> list[str]:
    """Lines as a fenced code block whose fence no line can close."""
    runs = [len(r) for line in lines for r in re.findall(r"`+", line)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return [fence, *lines, fence]


def github_issue_body(
    diagnosis: Diagnosis,
    *,
    actions: Sequence[AuditEntry],
    bundle_name: str | None,
    requested_by: str | None,
) -> str:
    """The issue body, Markdown; the evidence last (truncation cuts from the end)."""
    out = [f"## calico-bot escalation: {_md_code(diagnosis.cluster)}", ""]
    out.append(f"- **Checked:** {_utc(diagnosis.checked_at)} (source: {_md_code(diagnosis.source)})")
    out.append(f"- **Verdict:** {verdict(diagnosis)}")
    if requested_by:
        out.append(f"- **Escalated by:** {_md_code(requested_by)} (Slack)")
    out.append(f"- **Runbook:** [calico-node troubleshooting]({RUNBOOK_URL})")
    out.append("")

    problems = diagnosis.problem_situations()
    out.append("### Situations")
    out.append("")
    if problems:
        for number, situation in enumerate(problems[:SITUATIONS_MAX], start=1):
            section, url = runbook_link(situation.id, diagnosis.problem_findings(situation.id))
            out.append(
                f"{number}. **{_situation_title(situation.id)}** ({_md_code(situation.id)}): "
                f"{_cut(_one_line(situation.summary), 500)} — runbook: [{_cut(section, 120)}]({url})"
            )
        out += _more(len(problems), min(len(problems), SITUATIONS_MAX), "situations")
    else:
        out.append(verdict(diagnosis))
    out.append("")

    affected = affected_workers(diagnosis)
    out.append(f"### Affected workers ({len(affected):,})")
    out.append("")
    out += [f"- {_md_code(name)} — {why}" for name, why in list(affected.items())[:LIST_MAX]] or [
        "None named by the findings."
    ]
    out += _more(len(affected), min(len(affected), LIST_MAX), "workers")
    out.append("")

    out.append("### Actions taken by calico-bot on this cluster")
    out.append("")
    if actions:
        for entry in actions[:LIST_MAX]:
            out.append(
                f"- {_utc(entry.at)}: {_md_code(entry.action)} {_md_code(entry.target)} — requested by "
                f"{_md_code(entry.requested_by or '?')}, approved by {_md_code(entry.approved_by or '?')} → "
                f"{_cut(_one_line(entry.outcome), 300) or 'no outcome recorded'}"
            )
        out += _more(len(actions), min(len(actions), LIST_MAX), "actions")
    else:
        out.append(NO_ACTIONS[0].upper() + NO_ACTIONS[1:] + ".")
    out.append("")

    if diagnosis.actions:
        out.append("### Proposed next steps (not run by calico-bot)")
        out.append("")
        for number, action in enumerate(diagnosis.actions[:LIST_MAX], start=1):
            lock = " (needs approval)" if action.requires_approval else ""
            out.append(
                f"{number}. {action.kind.value} {_md_code(_cut(action.target, 200))}{lock} — "
                f"{_cut(_one_line(action.reason), 200)}"
            )
        out += _more(len(diagnosis.actions), min(len(diagnosis.actions), LIST_MAX), "steps")
        out.append("")

    if diagnosis.unknowns:
        out.append("### Could not judge")
        out.append("")
        shown = min(len(diagnosis.unknowns), LIST_MAX)
        out += [f"- {_cut(unknown_line(diagnosis, i), 300)}" for i in range(shown)]
        out += _more(len(diagnosis.unknowns), shown, "unknowns")
        out.append("")

    out.append("### Bundle")
    out.append("")
    out.append(f"{_md_code(bundle_name)} (attached in the Slack thread)" if bundle_name else "None gathered.")
    out.append("")

    findings = [f for s in problems for f in diagnosis.problem_findings(s.id)]
    findings = list(dict.fromkeys(findings))  # a situation listed twice: its findings once
    if findings:
        out.append("### Key evidence")
        out.append("")
        for finding in findings[:BODY_FINDINGS_MAX]:
            out.append(
                f"**{_cut(_one_line(finding.title), 300)}** ({_md_code(finding.check)}, {finding.severity.value})"
            )
            out.append("")
            if finding.detail:
                out.append(_cut(_one_line(finding.detail), 1000))
                out.append("")
            evidence = key_evidence(finding, BODY_EVIDENCE_LINES, BODY_EVIDENCE_CHARS)
            if evidence:
                out += _md_fence([_one_line(line) for line in evidence])
                out.append("")
        out += _more(len(findings), min(len(findings), BODY_FINDINGS_MAX), "findings (see Slack)")
    out.append("---")
    out.append(
        f"Opened from calico-bot's hand-off; checked {_utc(diagnosis.checked_at)}, source {_md_code(diagnosis.source)}."
    )
    return "\n".join(out) + "\n"


_FENCE = re.compile(r"^(`{3,})")


def _enc(text: str) -> str:
    return quote(text, safe="")


def github_new_issue_url(
    base_issues_url: str, *, title: str, body: str, max_url_length: int = GITHUB_URL_MAX
) -> tuple[str, bool]:
    """`<base>/new?title=…&body=…`, percent-encoded, at most `max_url_length` characters.

    When too long, the body is cut after its last whole line that fits (a code fence left open is
    closed) and `TRUNCATION_NOTE` appended; returns (url, truncated). Only when even the note does
    not fit is the title cut too (and the body is the note alone)."""
    prefix = base_issues_url.rstrip("/") + "/new?title="
    url = f"{prefix}{_enc(title)}&body={_enc(body)}"
    if len(url) <= max_url_length:
        return url, False

    head = f"{prefix}{_enc(title)}&body="
    lines = body.split("\n")
    best: str | None = None  # the longest body (whole lines, a closing fence, the note) that fits
    kept: list[str] = []
    used = len(head)  # with the kept lines, each followed by a newline
    fence = ""  # the code fence open after the kept lines, if any
    for count in range(len(lines) + 1):
        tail = (f"{fence}\n" if fence else "") + ("\n" if kept else "") + TRUNCATION_NOTE
        if used + len(_enc(tail)) > max_url_length:
            break
        best = "".join(f"{line}\n" for line in kept) + tail
        if count == len(lines):
            break
        line = lines[count]
        match = _FENCE.match(line)
        if match and not fence:
            fence = match.group(1)
        elif fence and set(line.strip()) == {"`"} and len(line.strip()) >= len(fence):
            fence = ""
        kept.append(line)
        used += len(_enc(f"{line}\n"))
    if best is not None:
        return f"{head}{_enc(best)}", True

    # Not even the note fits after the title: cut the title (the longest prefix that fits).
    body_part = "&body=" + _enc(TRUNCATION_NOTE)
    room = max_url_length - len(prefix) - len(body_part)
    low, high = 0, len(title)
    while low < high:
        middle = (low + high + 1) // 2
        if len(_enc(title[:middle])) <= room:
            low = middle
        else:
            high = middle - 1
    return f"{prefix}{_enc(title[:low])}{body_part}", True


# =================================================================================================
# build_handoff
# =================================================================================================


def build_handoff(
    diagnosis: Diagnosis,
    *,
    links: EscalationLinks,
    actions: Sequence[AuditEntry],
    bundle_name: str | None,
    requested_by: str | None,
) -> Handoff:
    """The hand-off of a cluster: title, text and the prefilled GHE new-issue links."""
    title = issue_title(diagnosis)
    body = github_issue_body(diagnosis, actions=actions, bundle_name=bundle_name, requested_by=requested_by)
    url, truncated = github_new_issue_url(links.github_issues_url, title=title, body=body)
    button_url, _ = github_new_issue_url(
        links.github_issues_url, title=title, body=body, max_url_length=SLACK_URL_MAX
    )
    text = _handoff_text(
        diagnosis,
        title=title,
        links=links,
        actions=actions,
        bundle_name=bundle_name,
        requested_by=requested_by,
        new_issue_url=url,
        truncated=truncated,
    )
    return Handoff(
        title=title,
        text=text,
        github_new_issue_url=url,
        body_truncated=truncated,
        cluster=diagnosis.cluster,
        links=links,
        actions=tuple(actions),
        bundle_name=bundle_name,
        requested_by=requested_by,
        github_button_url=button_url,
    )


# =================================================================================================
# Paging
# =================================================================================================


def paging_status(result: PagingResult) -> str:
    """The paging line of the hand-off for a PagerDuty result."""
    if result.ok:
        return f"PagerDuty incident triggered (dedup key `{result.dedup_key}`)"
    return (
        f"Paging failed: {_one_line(result.message)}. Nobody was paged: page armada-network by hand "
        "with the escalation policy below."
    )


# =================================================================================================
# PagerDuty
# =================================================================================================


def dedup_key(cluster: str) -> str:
    """`calico-bot/<cluster>`: one incident per cluster (a long name is shortened with a hash)."""
    key = f"{PD_DEDUP_PREFIX}{cluster}"
    if len(key) <= PD_DEDUP_KEY_MAX:
        return key
    digest = hashlib.sha256(cluster.encode()).hexdigest()[:16]
    return f"{PD_DEDUP_PREFIX}{cluster[: PD_DEDUP_KEY_MAX - len(PD_DEDUP_PREFIX) - 17]}-{digest}"


def _pd_severity(diagnosis: Diagnosis) -> str:
    if diagnosis.verdict == "healthy":
        return "info"
    severities = {f.severity for f in diagnosis.findings}
    if diagnosis.verdict == "problems":
        if Severity.CRITICAL in severities:
            return "critical"
        if Severity.WARNING in severities:
            return "warning"
    return "error"


def pagerduty_event(
    diagnosis: Diagnosis, *, routing_key: str, summary_prefix: str = "calico-bot"
) -> dict[str, Any]:
    """A PagerDuty Events API v2 `trigger` for the cluster (dedup key `calico-bot/<cluster>`)."""
    cluster = _one_line(diagnosis.cluster) or "unknown-cluster"
    problems = diagnosis.problem_situations()
    what = "; ".join(f"{s.id}: {_one_line(s.summary)}" for s in problems) or verdict(diagnosis)
    summary = _cut(f"{summary_prefix}: {cluster}: {what}", PD_SUMMARY_MAX)
    evidence = [
        {
            "situation": str(s.id),
            "check": f.check,
            "title": _cut(_one_line(f.title), 300),
            "evidence": key_evidence(f, KEY_EVIDENCE_LINES, KEY_EVIDENCE_CHARS),
        }
        for s in problems[:SLACK_SITUATIONS_MAX]
        for f in diagnosis.problem_findings(s.id)[:KEY_FINDINGS]
    ]
    affected = affected_workers(diagnosis)
    first = str(problems[0].id) if problems else ("healthy" if diagnosis.healthy else "unknown")
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key(diagnosis.cluster),
        "payload": {
            "summary": summary,
            "source": _cut(cluster, 255),
            "severity": _pd_severity(diagnosis),
            "timestamp": diagnosis.checked_at.astimezone(UTC).isoformat(),
            "component": "calico-node",
            "group": "armada-network",
            "class": first,
            "custom_details": {
                "verdict": diagnosis.verdict,
                "checked_at": _utc(diagnosis.checked_at),
                "diagnosis_source": diagnosis.source,
                "situations": [
                    {"id": str(s.id), "summary": _cut(_one_line(s.summary), 500)}
                    for s in problems[:SITUATIONS_MAX]
                ],
                "key_evidence": evidence,
                "affected_workers": list(affected)[:100],
                "affected_workers_total": len(affected),
                "unknowns": [
                    _cut(unknown_line(diagnosis, i), 300) for i in range(min(len(diagnosis.unknowns), 20))
                ],
                "unknowns_total": len(diagnosis.unknowns),
            },
        },
        "links": [{"href": RUNBOOK_URL, "text": "calico-node troubleshooting runbook"}],
    }
