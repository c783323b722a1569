"""Slack Block Kit messages for a diagnosis: pure functions from the checks' contract to plain dicts.

No I/O and no Slack SDK here: every function returns a `Message` (fallback `text` + `blocks`) that
the Slack adapter posts as is. Whatever the input (one worker or 5,000, one finding or 500
actions, evidence of any length) the result stays inside Block Kit's limits: at most 50 blocks,
3,000 characters of section text, 150 of header, 75 of button text, 2,000 of button value, 10
context elements, 25 action elements. Lengths are counted in UTF-16 code units (an emoji counts
twice), which is never less than what Slack counts.

Text from the cluster is escaped (`&`, `<`, `>`) and literal messages are shown in code format;
truncation never cuts inside an escape, a mention or a link, and never leaves a code fence or an
inline code span open.

The card: header, verdict, (the worker asked about), one section per situation with its main
findings and evidence, the affected workers per zone, a map of all workers, the next steps as
text and buttons, notes, unknowns, and a context line (when, source, who asked). The rest goes to
the thread (`thread_details`), at most 10 messages.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from checks.calico_pods import analyse
from checks.model import (
    RUNBOOK_URL,
    Action,
    ActionKind,
    Diagnosis,
    Finding,
    RunbookSection,
    Severity,
    Situation,
    SituationId,
    Unknown,
)
from checks.snapshot import Read, Snapshot

Block = dict[str, Any]

# --- action ids (the Slack flow routes on these prefixes) ---------------------------------------

ACTION_BUTTON = "calico_action"
"""Remediation buttons: `calico_action:<index>`; value `{"kind","cluster","target"}`."""
GATHER_BUTTON = "calico_gather"
ESCALATE_BUTTON = "calico_escalate"
RUNBOOK_BUTTON = "calico_runbook"

# --- Block Kit limits (shared/reference/slack-redis-k8s-engineering.md section 4) --------------

MAX_BLOCKS = 50
SECTION_TEXT_MAX = 3000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
ACTION_ID_MAX = 255
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
CONFIRM_TITLE_MAX = 100
CONFIRM_TEXT_MAX = 300
CONFIRM_BUTTON_MAX = 30
FALLBACK_TEXT_MAX = 3000
CONTEXT_TEXT_MAX = 2000
"""Per context element; Slack documents no limit of its own, so keep well below a section's."""

# --- what the card shows -------------------------------------------------------------------------

MAP_SYMBOLS_MAX_WORKERS = 100
"""Above this many workers the map shows counts per state and zone instead of one symbol each."""
CARD_SITUATIONS_MAX = 8
CARD_FINDINGS_PER_SITUATION = 3
CARD_EVIDENCE_PER_FINDING = 4
CARD_EVIDENCE_LINE_MAX = 300
CARD_DETAIL_MAX = 400
CARD_NAMES_PER_ZONE = 15
CARD_STEPS_MAX = 8
ACTION_BUTTONS_MAX = 4
"""Buttons for the first proposed actions; Gather, Escalate and Runbook come on top."""

# --- the thread ------------------------------------------------------------------------------------

THREAD_MESSAGES_MAX = 10
THREAD_BLOCKS_PER_MESSAGE = 40
THREAD_CHARS_PER_MESSAGE = 12_000
"""Keeps each thread message far from Slack's `msg_too_long`, whatever it is measured on."""
_SECTION_ROOM = SECTION_TEXT_MAX - 100
_CODE_CHUNK = SECTION_TEXT_MAX - 200


@dataclass(frozen=True)
class Message:
    text: str
    """Plain-text fallback for notifications and screen readers; never empty, at most 3,000."""
    blocks: list[Block]
    attachments: list[Block] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The keyword arguments of `chat.postMessage` / `chat.update` (besides channel and ts)."""
        payload: dict[str, Any] = {"text": self.text, "blocks": self.blocks}
        if self.attachments:
            payload["attachments"] = self.attachments
        return payload


class WorkerState(StrEnum):
    HEALTHY = "healthy"
    CALICO_BAD = "calico-bad"
    NOT_READY = "not-ready"
    CORDONED = "cordoned"
    UNKNOWN = "unknown"


STATE_EMOJI: dict[WorkerState, str] = {
    WorkerState.HEALTHY: "🟢",
    WorkerState.CALICO_BAD: "🔴",
    WorkerState.NOT_READY: "⚫",
    WorkerState.CORDONED: "🟡",
    WorkerState.UNKNOWN: "⚪",
}
STATE_LABEL: dict[WorkerState, str] = {
    WorkerState.HEALTHY: "healthy",
    WorkerState.CALICO_BAD: "calico-node bad",
    WorkerState.NOT_READY: "NotReady (kubelet)",
    WorkerState.CORDONED: "cordoned",
    WorkerState.UNKNOWN: "unknown",
}
_STATE_ORDER = (
    WorkerState.CALICO_BAD,
    WorkerState.NOT_READY,
    WorkerState.CORDONED,
    WorkerState.UNKNOWN,
    WorkerState.HEALTHY,
)

_SEVERITY_EMOJI = {
    Severity.CRITICAL: "🔴",
    Severity.WARNING: "🟠",
    Severity.INFO: "ℹ️",
    Severity.UNKNOWN: "❔",
}
_PROBLEM = frozenset({Severity.CRITICAL, Severity.WARNING})

SITUATION_TITLE: dict[SituationId, str] = {
    SituationId.WORKER_NOT_READY_KUBELET: "Worker NotReady: kubelet ↔ master (not Calico)",
    SituationId.CALICO_DOWN_ON_WORKER: "Worker NotReady: calico-node down (NetworkReady=false)",
    SituationId.CALICO_ABSENT_EVERYWHERE: "calico-node not running on any worker",
    SituationId.BGP_PASSWORD_MIGRATION: "IKS 1.29+ migration: BGP password / BGP not established",
    SituationId.CALICO_CRASHLOOP_MOST_WORKERS: "calico-node failing on most workers",
    SituationId.CALICO_BAD_ON_FEW_WORKERS: "calico-node bad on one or a few workers",
    SituationId.TYPHA_UNHEALTHY: "calico-typha unhealthy or unreachable",
    SituationId.OTHER: "Other Calico problem",
    SituationId.HEALTHY: "Healthy",
}
SITUATION_SECTION: dict[SituationId, RunbookSection] = {
    SituationId.WORKER_NOT_READY_KUBELET: RunbookSection.REASON_1,
    SituationId.CALICO_DOWN_ON_WORKER: RunbookSection.REASON_2,
    SituationId.CALICO_ABSENT_EVERYWHERE: RunbookSection.NOT_RUNNING_ANYWHERE,
    SituationId.BGP_PASSWORD_MIGRATION: RunbookSection.BGP_MIGRATION,
    SituationId.CALICO_CRASHLOOP_MOST_WORKERS: RunbookSection.MOST_WORKERS,
    SituationId.CALICO_BAD_ON_FEW_WORKERS: RunbookSection.FEW_WORKERS,
    SituationId.TYPHA_UNHEALTHY: RunbookSection.FEW_WORKERS,
    SituationId.OTHER: RunbookSection.GATHER,
    SituationId.HEALTHY: RunbookSection.WORKER_READY,
}
_ACTION_VERB: dict[ActionKind, str] = {
    ActionKind.CORDON: "Cordon",
    ActionKind.UNCORDON: "Uncordon",
    ActionKind.DELETE_POD: "Delete pod",
    ActionKind.REBOOT_WORKER: "Reboot",
    ActionKind.RELOAD_WORKER: "Reload",
    ActionKind.REPLACE_WORKER: "Replace",
    ActionKind.REFRESH_MASTER: "Refresh master",
    ActionKind.COPY_BGP_SECRET: "Copy BGP secret",
    ActionKind.GATHER: "Gather",
    ActionKind.ESCALATE: "Escalate",
}
_CLUSTER_WIDE = frozenset({ActionKind.REFRESH_MASTER, ActionKind.COPY_BGP_SECRET, ActionKind.ESCALATE})


# =================================================================================================
# Text primitives: length, escaping, safe truncation
# =================================================================================================


def slack_len(text: str) -> int:
    """Length in UTF-16 code units (an astral emoji counts 2): an upper bound of Slack's count."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Slack mrkdwn escaping: only `&`, `<` and `>` (they start entities, links and mentions)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _prefix_units(text: str, units: int) -> str:
    """The longest prefix of `text` of at most `units` UTF-16 code units (never half an emoji)."""
    if units <= 0:
        return ""
    if len(text) <= units and slack_len(text) <= units:
        return text
    return text.encode("utf-16-le")[: 2 * units].decode("utf-16-le", errors="ignore")


def _safe_cut(text: str, units: int, *, words: bool = False) -> str:
    """A prefix of escaped mrkdwn within `units`, not ending inside an entity, link or mention
    (and, with `words`, not inside a word when a space is near)."""
    cut = _prefix_units(text, units)
    if words and len(cut) < len(text) and not text[len(cut)].isspace():
        space = cut.rfind(" ")
        if space > 0 and len(cut) - space <= 30:
            cut = cut[:space]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:] and len(cut) - amp < 8:
        cut = cut[:amp]
    lt = cut.rfind("<")
    if lt != -1 and ">" not in cut[lt:]:
        cut = cut[:lt]
    return cut


def _balance(text: str) -> str:
    """Close a code fence, then an inline code span, that `text` leaves open.

    An odd backtick after the last fence is closed with one more; one before a fence (which
    Slack would pair with something unexpected) is turned into a harmless `ˋ`.
    """
    if text.count("```") % 2:  # inside a code block
        text += ("" if text.endswith("\n") else "\n") + "```"
    parts = text.split("```")
    odd = [i for i in range(0, len(parts), 2) if parts[i].count("`") % 2]
    if len(odd) % 2 == 0:
        return text
    last = odd[-1]
    if last == len(parts) - 1:
        return text + "`"
    head, _, tail = parts[last].rpartition("`")
    parts[last] = head + "ˋ" + tail
    return "```".join(parts)


def clip(text: str, limit: int, *, tail: str = "…") -> str:
    """`text` (escaped mrkdwn) shortened to at most `limit` units, with `tail` when cut, balanced."""
    if slack_len(text) <= limit:
        return text
    room = max(limit - slack_len(tail) - 5, 0)  # 5: a closing "\n```" or "`"
    return _balance(_safe_cut(text, room, words=True).rstrip() + tail)


def clip_plain(text: str, limit: int) -> str:
    """Plain text (header, button label) shortened to at most `limit` units."""
    if slack_len(text) <= limit:
        return text
    return _prefix_units(text, limit - 1) + "…"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _code_safe(text: str) -> str:
    """Escaped text for inside a ``` block: a literal ``` in it must not close the block."""
    return escape(text.rstrip()).replace("```", "``ˋ")


def _inline_code(text: str, limit: int = 120) -> str:
    """One line of literal text as an inline code span (a backtick in it cannot end the span)."""
    return "`" + clip(escape(_one_line(text)).replace("`", "ˋ"), limit) + "`"


def _prose(text: str) -> str:
    """Escaped text from a check (title, detail): its inline `code` kept when balanced."""
    safe = escape(text).replace("```", "``ˋ")
    return safe if safe.count("`") % 2 == 0 else safe.replace("`", "ˋ")


def _code_block(lines: Sequence[str], *, line_max: int) -> str:
    body = "\n".join(clip(_code_safe(line), line_max).replace("```", "``ˋ") for line in lines)
    return f"```\n{body}\n```"


def mention(user: str | None) -> str:
    """`<@U123>` for a Slack user id; anything else is shown escaped, never as a mention."""
    if not user:
        return ""
    if re.fullmatch(r"[UW][A-Z0-9]{1,30}", user):
        return f"<@{user}>"
    return escape(user)


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (plural or word + 's')}"


def _natural_key(name: str) -> tuple[tuple[str, int], ...]:
    """`10.0.0.9` before `10.0.0.10`."""
    parts = re.split(r"(\d+)", name)
    return tuple((parts[i], int(parts[i + 1]) if i + 1 < len(parts) else -1) for i in range(0, len(parts), 2))


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def slack_date(when: datetime) -> str:
    """A date Slack shows in the reader's time zone, with a UTC fallback."""
    moment = _utc(when)
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def runbook_anchor(section: str) -> str:
    """The heading id GitHub Pages (kramdown / GFM) gives a runbook section title."""
    slug = section.strip().lower()
    slug = re.sub(r"[^\w\- ]", "", slug)
    return slug.replace(" ", "-")


def runbook_url(section: str | None) -> str:
    return f"{RUNBOOK_URL}#{runbook_anchor(section)}" if section else RUNBOOK_URL


# =================================================================================================
# Block builders (each enforces its own limit, whatever the caller passes)
# =================================================================================================


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip_plain(text or " ", limit), "emoji": True}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(clip(text or " ", SECTION_TEXT_MAX))}


def _header(text: str) -> Block:
    return {"type": "header", "text": _plain(text, HEADER_TEXT_MAX)}


def _context(*texts: str) -> Block:
    elements = [_mrkdwn(clip(t, CONTEXT_TEXT_MAX)) for t in texts if t][:CONTEXT_ELEMENTS_MAX]
    return {"type": "context", "elements": elements or [_mrkdwn(" ")]}


def _divider() -> Block:
    return {"type": "divider"}


class _Text:
    """Lines of mrkdwn added while they fit a budget (so a section never has to be cut blindly)."""

    def __init__(self, limit: int = _SECTION_ROOM) -> None:
        self.limit = limit
        self.lines: list[str] = []
        self.used = 0

    def fits(self, piece: str) -> bool:
        return self.used + slack_len(piece) + (1 if self.lines else 0) <= self.limit

    def add(self, piece: str) -> bool:
        if not self.fits(piece):
            return False
        self.used += slack_len(piece) + (1 if self.lines else 0)
        self.lines.append(piece)
        return True

    def force(self, piece: str) -> None:
        """Add even past the budget (a trailer; the section builder still enforces 3,000)."""
        self.used += slack_len(piece) + (1 if self.lines else 0)
        self.lines.append(piece)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


# =================================================================================================
# Workers: state and zone
# =================================================================================================

_CALICO_SITUATIONS = frozenset(
    {
        SituationId.CALICO_DOWN_ON_WORKER,
        SituationId.CALICO_ABSENT_EVERYWHERE,
        SituationId.BGP_PASSWORD_MIGRATION,
        SituationId.CALICO_CRASHLOOP_MOST_WORKERS,
        SituationId.CALICO_BAD_ON_FEW_WORKERS,
    }
)


def _finding_nodes(finding: Finding) -> list[str]:
    return [o.name for o in finding.objects if o.kind == "Node"]


def worker_states(snapshot: Snapshot, diagnosis: Diagnosis) -> dict[str, WorkerState]:
    """Node name -> state, from the node's conditions and spec and from the diagnosis.

    Precedence: NotReady because of the kubelet (named by a finding, or Ready Unknown/False), then
    calico-node bad (named by a problem finding, or a bad calico-node pod per the checks' shared
    analysis when the diagnosis found a per-worker Calico problem, or every Ready worker when
    calico-node runs nowhere), then cordoned, then unknown (no Ready condition, a finding that
    could not judge it, or calico pods that could not be read), else healthy.
    """
    kubelet: set[str] = set()
    calico: set[str] = set()
    unknown: set[str] = set()
    for finding in diagnosis.findings:
        names = _finding_nodes(finding)
        if finding.severity in _PROBLEM:
            if finding.situation == SituationId.WORKER_NOT_READY_KUBELET:
                kubelet.update(names)
            elif finding.situation != SituationId.HEALTHY:
                calico.update(names)
        elif finding.severity == Severity.UNKNOWN:
            unknown.update(names)

    problem_situations = {f.situation for f in diagnosis.findings if f.severity in _PROBLEM} | {
        s.id for s in diagnosis.situations if s.id != SituationId.HEALTHY
    }
    pods_ok = snapshot.read_ok(Read.CALICO_PODS)
    if pods_ok and problem_situations & _CALICO_SITUATIONS and snapshot.nodes:
        # Checks cap the Node objects they list; the shared analysis names every bad worker.
        try:
            troubles, _ = analyse(snapshot, now=diagnosis.checked_at)
        except Exception:  # the map is a summary: a crash here must not lose the card
            troubles = []
        calico.update(t.node for t in troubles)
    absent_everywhere = SituationId.CALICO_ABSENT_EVERYWHERE in problem_situations

    states: dict[str, WorkerState] = {}
    for node in snapshot.nodes:
        name = node.name
        ready = node.condition("Ready")
        if name in kubelet:
            state = WorkerState.NOT_READY
        elif name in calico:
            state = WorkerState.CALICO_BAD
        elif ready is None:
            state = WorkerState.UNKNOWN
        elif ready.status != "True":
            state = WorkerState.NOT_READY
        elif absent_everywhere:
            state = WorkerState.CALICO_BAD
        elif node.spec.unschedulable:
            state = WorkerState.CORDONED
        elif name in unknown or not pods_ok:
            state = WorkerState.UNKNOWN
        else:
            state = WorkerState.HEALTHY
        states[name] = state
    # Workers a finding names that the node list did not hold (the read failed, or a stale name).
    for named, state in (
        (kubelet, WorkerState.NOT_READY),
        (calico, WorkerState.CALICO_BAD),
        (unknown, WorkerState.UNKNOWN),
    ):
        for name in sorted(named, key=_natural_key):
            states.setdefault(name, state)
    return states


def zones_of(snapshot: Snapshot) -> dict[str, str]:
    """Node name -> zone, or `pool <name>` when the worker has no zone label, or "" if neither."""
    zones: dict[str, str] = {}
    for node in snapshot.nodes:
        zones[node.name] = node.zone or (f"pool {node.worker_pool}" if node.worker_pool else "")
    return zones


def _group(name: str, zones: Mapping[str, str]) -> str:
    return zones.get(name) or "no zone"


def _by_group(names: Iterable[str], zones: Mapping[str, str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for name in names:
        groups[_group(name, zones)].append(name)
    return {g: sorted(groups[g], key=_natural_key) for g in sorted(groups, key=_natural_key)}


def _tally(workers: Mapping[str, WorkerState]) -> str:
    counts = Counter(workers.values())
    parts = [f"{STATE_EMOJI[s]} {counts[s]:,} {STATE_LABEL[s]}" for s in _STATE_ORDER if counts[s]]
    return f"{_plural(len(workers), 'worker')}: " + " · ".join(parts) if workers else "no workers read"


# =================================================================================================
# The diagnosis card
# =================================================================================================


def _worst(findings: Iterable[Finding]) -> Severity | None:
    severities = {f.severity for f in findings}
    for severity in (Severity.CRITICAL, Severity.WARNING, Severity.UNKNOWN, Severity.INFO):
        if severity in severities:
            return severity
    return None


def _verdict(diagnosis: Diagnosis) -> tuple[str, str, str]:
    """(emoji, label, sentence)."""
    verdict = diagnosis.verdict
    if verdict == "healthy":
        return "✅", "Healthy", "calico-node is running and Ready on every worker, and nothing is unknown"
    problems = diagnosis.problem_situations()
    if verdict == "problems":
        worst = _worst(f for f in diagnosis.findings if f.severity in _PROBLEM)
        emoji = "🟠" if worst == Severity.WARNING else "🔴"
        label = "Warning" if worst == Severity.WARNING else "Problems found"
        return emoji, label, _plural(len(problems), "runbook situation")
    return "❔", "Unknown", "no problem found, but some things could not be read or judged"


def _mentions_node(finding: Finding, node: str | None) -> bool:
    return bool(node) and any(o.kind == "Node" and o.name == node for o in finding.objects)


def _section_of(sid: SituationId, findings: Sequence[Finding]) -> str:
    for finding in findings:
        if finding.runbook_section:
            return finding.runbook_section
    return SITUATION_SECTION.get(sid, RunbookSection.GATHER).value


def _situation_title(sid: SituationId | str) -> str:
    try:
        return SITUATION_TITLE[SituationId(sid)]
    except ValueError:
        return str(sid)


def _situation_block(
    number: int, situation: Situation, findings: Sequence[Finding], node_filter: str | None
) -> Block:
    worst = _worst(findings)
    emoji = _SEVERITY_EMOJI[worst] if worst else "🔴"
    section = _section_of(situation.id, findings)
    link = f"📖 <{runbook_url(section)}|Runbook: {clip(_prose(section), 200)}>"
    text = _Text(_SECTION_ROOM - slack_len(link))
    text.add(f"{emoji} *{number}. {escape(_situation_title(situation.id))}*  `{escape(str(situation.id))}`")
    text.add(clip(_prose(situation.summary), 500))
    shown_details: set[str] = set()
    shown = 0
    for finding in findings[:CARD_FINDINGS_PER_SITUATION]:
        pin = "📍 " if _mentions_node(finding, node_filter) else ""
        lines: list[str] = []
        if pin or len(findings) > 1 or finding.title != situation.summary:
            lines.append(f"{pin}*{clip(_prose(finding.title), 300)}*")
        if finding.detail and finding.detail not in shown_details:
            lines.append(clip(_prose(finding.detail), CARD_DETAIL_MAX))
        evidence = [e for e in finding.evidence if e.strip()]
        if node_filter:  # the lines about the worker asked about first
            evidence.sort(key=lambda e: node_filter not in e)
        if evidence:
            block = _code_block(evidence[:CARD_EVIDENCE_PER_FINDING], line_max=CARD_EVIDENCE_LINE_MAX)
            more = len(evidence) - CARD_EVIDENCE_PER_FINDING
            lines.append(block + (f"\n_+{_plural(more, 'more line')} in the thread_" if more > 0 else ""))
        # Too long: the title alone (the evidence stays for the thread), or stop here.
        if not text.add("\n".join(lines)) and not (lines and text.add(lines[0])):
            break
        shown_details.add(finding.detail)
        shown += 1
    more = len(findings) - shown
    if more > 0:
        text.force(f"_+{_plural(more, 'more finding')} with full evidence in the thread_")
    text.force(link)
    return _section(text.text)


def _affected_block(workers: Mapping[str, WorkerState], zones: Mapping[str, str]) -> Block | None:
    affected = [n for n, s in workers.items() if s != WorkerState.HEALTHY]
    if not affected:
        return None
    rank = {s: i for i, s in enumerate(_STATE_ORDER)}
    text = _Text()
    text.add(f"*Affected workers* ({len(affected):,} of {len(workers):,}, by zone / worker pool)")
    groups = _by_group(affected, zones)
    for index, (group, names) in enumerate(groups.items()):
        names.sort(key=lambda n: (rank[workers[n]], _natural_key(n)))
        shown = " ".join(
            f"{STATE_EMOJI[workers[n]]} {_inline_code(n, 60)}" for n in names[:CARD_NAMES_PER_ZONE]
        )
        extra = len(names) - CARD_NAMES_PER_ZONE
        counts = Counter(workers[n] for n in names)
        summary = ", ".join(f"{counts[s]:,} {STATE_EMOJI[s]}" for s in _STATE_ORDER if counts[s])
        line = f"*{clip(_prose(group), 60)}* ({summary}): {shown}" + (
            f" _+{extra:,} more_" if extra > 0 else ""
        )
        if not text.add(line):
            text.force(f"_+{_plural(len(groups) - index, 'more zone')} in the thread_")
            break
    return _section(text.text)


def _map_block(workers: Mapping[str, WorkerState], zones: Mapping[str, str]) -> Block:
    if not workers:
        return _section("*Workers at a glance*\n_No workers could be read._")
    present = Counter(workers.values())
    legend = " · ".join(f"{STATE_EMOJI[s]} {STATE_LABEL[s]}" for s in _STATE_ORDER if present[s])
    text = _Text()
    text.add(f"*Workers at a glance* ({len(workers):,})  {legend}")
    groups = _by_group(workers, zones)
    symbols = len(workers) <= MAP_SYMBOLS_MAX_WORKERS
    for index, (group, names) in enumerate(groups.items()):
        label = f"`{clip(escape(group), 60).replace('`', '')}`"
        if symbols:
            line = f"{label} " + "".join(STATE_EMOJI[workers[n]] for n in names)
        else:
            counts = Counter(workers[n] for n in names)
            line = f"{label} {len(names):,}: " + " · ".join(
                f"{STATE_EMOJI[s]} {counts[s]:,}" for s in _STATE_ORDER if counts[s]
            )
        if not text.add(line):
            text.force(f"_+{_plural(len(groups) - index, 'more zone')}_")
            break
    return _section(text.text)


def _action_text(action: Action) -> str:
    lock = "🔒 " if action.requires_approval else ""
    return (
        f"{lock}{escape(action.kind.value)} {_inline_code(action.target, 100)}"
        f" — {clip(_prose(_one_line(action.reason)), 200)}"
    )


def _ordered_actions(diagnosis: Diagnosis, node_filter: str | None) -> list[Action]:
    actions = list(diagnosis.actions)
    if not node_filter:
        return actions
    related = {node_filter}
    for finding in diagnosis.findings:
        if _mentions_node(finding, node_filter):
            related.update(f"{o.namespace}/{o.name}" for o in finding.objects if o.kind == "Pod")
    return sorted(actions, key=lambda a: a.target not in related)


def _steps_block(actions: Sequence[Action]) -> Block:
    text = _Text()
    text.add("*Next steps* (runbook order; 🔒 needs approval)")
    shown = 0
    for number, action in enumerate(actions[:CARD_STEPS_MAX], start=1):
        if not text.add(f"{number}. {_action_text(action)}"):
            break
        shown += 1
    if len(actions) > shown:
        text.force(f"_+{_plural(len(actions) - shown, 'more step')} in the thread_")
    return _section(text.text)


def button_value(kind: str, cluster: str, target: str) -> str:
    return json.dumps(
        {"kind": kind, "cluster": cluster, "target": target}, separators=(",", ":"), ensure_ascii=False
    )


def _button(
    label: str, action_id: str, *, value: str | None = None, url: str | None = None, style: str | None = None
) -> Block:
    button: Block = {
        "type": "button",
        "text": _plain(label, BUTTON_TEXT_MAX),
        "action_id": action_id[:ACTION_ID_MAX],
    }
    if value is not None:
        button["value"] = value
    if url is not None:
        button["url"] = url
    if style is not None:
        button["style"] = style
    return button


def _confirm(action: Action, cluster: str) -> Block:
    what = f"{_ACTION_VERB[action.kind]} {action.target}"
    body = (
        f"*{clip(_prose(what), 120)}* on *{clip(_prose(cluster), 60)}* changes the cluster: "
        f"it needs an approver's OK before it runs. Reason: {_prose(_one_line(action.reason))}"
    )
    return {
        "title": _plain("Needs approval", CONFIRM_TITLE_MAX),
        "text": _mrkdwn(clip(body, CONFIRM_TEXT_MAX)),
        "confirm": _plain("Request approval", CONFIRM_BUTTON_MAX),
        "deny": _plain("Cancel", CONFIRM_BUTTON_MAX),
        "style": "danger",
    }


def _label(action: Action) -> str:
    verb = _ACTION_VERB[action.kind]
    if action.kind in _CLUSTER_WIDE:
        return verb
    target = action.target.rsplit("/", 1)[-1] if action.kind == ActionKind.DELETE_POD else action.target
    return f"{verb} {target}"


def _first_worker(diagnosis: Diagnosis, workers: Mapping[str, WorkerState], node_filter: str | None) -> str:
    """The worker to gather from: the one asked about, else the first calico-bad one named."""
    if node_filter:
        return node_filter
    for finding in diagnosis.findings:
        if finding.severity in _PROBLEM and finding.situation != SituationId.WORKER_NOT_READY_KUBELET:
            for name in _finding_nodes(finding):
                return name
    for name, state in workers.items():
        if state == WorkerState.CALICO_BAD:
            return name
    return ""


def _buttons(
    diagnosis: Diagnosis,
    actions: Sequence[Action],
    workers: Mapping[str, WorkerState],
    node_filter: str | None,
    section: str | None,
) -> list[Block]:
    cluster = diagnosis.cluster
    buttons: list[Block] = []
    kinds: set[ActionKind] = set()
    gathered: set[str] = set()
    seen: set[tuple[ActionKind, str]] = set()
    if diagnosis.verdict != "healthy":
        for action in actions:
            if len(seen) >= ACTION_BUTTONS_MAX:
                break
            if (action.kind, action.target) in seen:
                continue
            value = button_value(action.kind.value, cluster, action.target)
            if slack_len(value) > BUTTON_VALUE_MAX:
                continue  # a clipped target would name the wrong object: no button
            seen.add((action.kind, action.target))
            kinds.add(action.kind)
            if action.kind == ActionKind.GATHER:
                gathered.add(action.target)
            prefix = {ActionKind.GATHER: GATHER_BUTTON, ActionKind.ESCALATE: ESCALATE_BUTTON}.get(
                action.kind, ACTION_BUTTON
            )
            button = _button(_label(action), f"{prefix}:{len(buttons)}", value=value)
            if action.requires_approval:
                button["style"] = "danger"
                button["confirm"] = _confirm(action, cluster)
            buttons.append(button)
        asked = bool(node_filter) and node_filter in workers and node_filter not in gathered
        if ActionKind.GATHER not in kinds or asked:
            target = _first_worker(diagnosis, workers, node_filter) or cluster
            value = button_value(ActionKind.GATHER.value, cluster, target)
            if slack_len(value) <= BUTTON_VALUE_MAX:
                label = "Gather" if target == cluster else f"Gather {target}"
                buttons.append(_button(label, f"{GATHER_BUTTON}:{len(buttons)}", value=value))
        if ActionKind.ESCALATE not in kinds:
            value = button_value(ActionKind.ESCALATE.value, cluster, cluster)
            if slack_len(value) <= BUTTON_VALUE_MAX:
                buttons.append(_button("Escalate", f"{ESCALATE_BUTTON}:{len(buttons)}", value=value))
    buttons.append(_button("📖 Runbook", f"{RUNBOOK_BUTTON}:{len(buttons)}", url=runbook_url(section)))
    return buttons[:ACTIONS_ELEMENTS_MAX]


def _unknown_lines(unknowns: Sequence[Unknown]) -> list[str]:
    """Unknowns, with repeats of one cause folded (an unreachable server fails every read)."""
    collect = [u for u in unknowns if u.check == "collect"]
    reasons = Counter(u.reason.split(": ", 1)[-1] for u in collect)
    lines: list[str] = []
    if len(collect) > 3 and len(reasons) == 1:
        lines.append(f"every read failed the same way ({len(collect)} reads): {next(iter(reasons))}")
    else:
        lines += [u.reason or u.what for u in collect]
    lines += [
        f"{u.check}: {u.what} — {u.reason}" if u.what != u.check else f"{u.check}: {u.reason}"
        for u in unknowns
        if u.check != "collect"
    ]
    return lines


def _lines_context(title: str, lines: Sequence[str], *, limit: int = CONTEXT_TEXT_MAX - 100) -> Block:
    text = _Text(limit)
    text.add(title)
    shown = 0
    for line in lines:
        if not text.add(f"• {clip(_prose(_one_line(line)), 300)}"):
            break
        shown += 1
    if len(lines) > shown:
        text.force(f"_+{len(lines) - shown:,} more in the thread_")
    return _context(text.text)


def _footer(diagnosis: Diagnosis, requested_by: str | None) -> Block:
    parts = [f"checked {slack_date(diagnosis.checked_at)}", f"source {_prose(diagnosis.source)}"]
    if requested_by:
        parts.append(f"requested by {mention(requested_by)}")
    return _context(" · ".join(parts))


def _fallback(diagnosis: Diagnosis, emoji: str, label: str, sentence: str) -> str:
    text = f"{emoji} {diagnosis.cluster}: {label} — {sentence}"
    problems = diagnosis.problem_situations()
    if problems:
        text += ": " + "; ".join(f"{s.id}: {_one_line(s.summary)}" for s in problems)
    elif diagnosis.unknowns:
        text += f" ({_plural(len(diagnosis.unknowns), 'unknown')})"
    return clip(escape(text), FALLBACK_TEXT_MAX)


def diagnosis_card(
    diagnosis: Diagnosis,
    *,
    workers: Mapping[str, WorkerState],
    zones: Mapping[str, str],
    requested_by: str | None,
    node_filter: str | None = None,
) -> Message:
    """The card posted in the channel. `workers` / `zones` come from `worker_states` / `zones_of`;
    `node_filter` (`/calico check CLUSTER NODE`) puts that worker's findings, evidence and actions
    first. Everything beyond the card's budget is left to `thread_details`."""
    emoji, label, sentence = _verdict(diagnosis)
    blocks: list[Block] = [_header(f"Calico check · {diagnosis.cluster}")]
    blocks.append(_section(f"{emoji} *{label}* — {escape(sentence)}\n{_tally(workers)}"))

    if node_filter:
        state = workers.get(node_filter)
        where = zones.get(node_filter, "")
        about = f"📍 Worker {_inline_code(node_filter, 100)}" + (f" ({_prose(where)})" if where else "")
        if state is None:
            about += ": not among the workers read; the whole cluster is shown"
        else:
            named = sum(1 for f in diagnosis.findings if _mentions_node(f, node_filter))
            about += f": {STATE_EMOJI[state]} {STATE_LABEL[state]} — " + (
                f"shown first ({named:,} {'finding names' if named == 1 else 'findings name'} it)"
                if named
                else "no finding names it"
            )
        blocks.append(_context(about))

    problems = diagnosis.problem_situations()
    grouped = [(s, diagnosis.problem_findings(s.id)) for s in problems]
    if node_filter:
        grouped = [(s, sorted(fs, key=lambda f: not _mentions_node(f, node_filter))) for s, fs in grouped]
        grouped.sort(key=lambda sf: not any(_mentions_node(f, node_filter) for f in sf[1]))
    for number, (situation, findings) in enumerate(grouped[:CARD_SITUATIONS_MAX], start=1):
        blocks.append(_situation_block(number, situation, findings, node_filter))
    if len(grouped) > CARD_SITUATIONS_MAX:
        rest = grouped[CARD_SITUATIONS_MAX:]
        ids = ", ".join(f"`{escape(str(s.id))}`" for s, _ in rest[:20])
        blocks.append(_section(f"_+{_plural(len(rest), 'more situation')} in the thread: {ids}_"))

    affected = _affected_block(workers, zones)
    if affected is not None:
        blocks.append(affected)
    blocks.append(_map_block(workers, zones))

    actions = _ordered_actions(diagnosis, node_filter)
    first_section = _section_of(grouped[0][0].id, grouped[0][1]) if grouped else None
    if diagnosis.verdict != "healthy":
        blocks.append(_divider())
        if actions:
            blocks.append(_steps_block(actions))
    blocks.append(
        {"type": "actions", "elements": _buttons(diagnosis, actions, workers, node_filter, first_section)}
    )

    notes = [f for f in diagnosis.findings if f.severity == Severity.INFO]
    if notes:
        blocks.append(_lines_context("ℹ️ *Notes*", [f.title for f in notes]))
    if diagnosis.unknowns:
        blocks.append(_lines_context("❔ *Could not judge*", _unknown_lines(diagnosis.unknowns)))
    blocks.append(_footer(diagnosis, requested_by))
    return Message(text=_fallback(diagnosis, emoji, label, sentence), blocks=_cap_blocks(blocks))


def _cap_blocks(blocks: list[Block]) -> list[Block]:
    """Guard: never more than 50 blocks (the card's layout stays far below it by construction)."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return [*blocks[: MAX_BLOCKS - 1], _context("_…more in the thread_")]


# =================================================================================================
# Progress and errors
# =================================================================================================


def _by(requested_by: str | None) -> str:
    return f" (requested by {mention(requested_by)})" if requested_by else ""


def checking_message(cluster: str, *, requested_by: str) -> Message:
    """The first message of a check, replaced by progress and then by the card."""
    name = clip(_prose(_one_line(cluster)), 200)
    text = clip(f"⏳ Checking {name}…{_by(requested_by)}", FALLBACK_TEXT_MAX)
    return Message(text=text, blocks=[_section(f"⏳ Checking *{name}*…{_by(requested_by)}")])


def progress_message(cluster: str, *, requested_by: str, phase: str, done: int, total: int) -> Message:
    """The checking message with the collector's progress (calls done of total, current phase)."""
    name = clip(_prose(_one_line(cluster)), 200)
    total = max(total, 0)
    done = min(max(done, 0), total) if total else max(done, 0)
    step = clip(_prose(_one_line(phase)), 100) if phase else "reading"
    if total:
        filled = round(10 * done / total)
        bar = "▰" * filled + "▱" * (10 - filled)
        count = f"{done:,}/{total:,} ({100 * done // total}%)"
    else:
        bar, count = "▱" * 10, f"{done:,}"
    text = clip(f"⏳ Checking {name}… {step}: {count}{_by(requested_by)}", FALLBACK_TEXT_MAX)
    blocks = [
        _section(f"⏳ Checking *{name}*… {step}: {count}\n`{bar}`"),
        _context(f"requested by {mention(requested_by)}" if requested_by else "calico-bot"),
    ]
    return Message(text=text, blocks=blocks)


def error_card(cluster: str, *, what_failed: str, try_next: str, requested_by: str | None) -> Message:
    """Could not check: what failed and what to try next (replaces the checking message)."""
    name = _one_line(cluster) or "the cluster"
    failed = clip(_prose(what_failed.strip() or "unknown error"), 1400)
    nxt = clip(_prose(try_next.strip()), 1200)
    body = f"⚠️ *Could not check {clip(_prose(name), 150)}*\n*What failed:* {failed}"
    if nxt:
        body += f"\n*Try next:* {nxt}"
    blocks = [_header(f"Calico check · {name}"), _section(body)]
    if requested_by:
        blocks.append(_context(f"requested by {mention(requested_by)}"))
    text = clip(
        escape(f"⚠️ Could not check {name}: {_one_line(what_failed) or 'unknown error'}"), FALLBACK_TEXT_MAX
    )
    return Message(text=text, blocks=blocks)


# =================================================================================================
# The thread: everything, in as many messages as needed (at most 10)
# =================================================================================================


def _split(text: str, size: int) -> list[str]:
    """Escaped text in pieces of at most `size` units, on line ends where possible, never in an entity."""
    pieces: list[str] = []
    rest = text
    while slack_len(rest) > size:
        cut = _safe_cut(rest, size)
        newline = cut.rfind("\n")
        if newline > len(cut) // 2:
            cut = cut[: newline + 1]
        if not cut:  # cannot happen with size >= 8; guard against an endless loop
            cut = rest[:1]
        pieces.append(cut)
        rest = rest[len(cut) :]
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def _text_sections(text: str) -> list[Block]:
    """Escaped mrkdwn without code fences, as many sections as it takes; an inline code span cut
    in two is closed at the end of one section and reopened at the start of the next."""
    blocks: list[Block] = []
    carry = ""
    for piece in _split(text, _SECTION_ROOM - 2):
        piece = carry + piece
        carry = ""
        if piece.count("`") % 2:
            piece, carry = piece + "`", "`"
        blocks.append(_section(piece))
    return blocks


def _code_sections(lines: Sequence[str]) -> list[Block]:
    """Literal lines in ``` blocks, packed into sections; a huge line spans several blocks."""
    blocks: list[Block] = []
    current: list[str] = []
    used = 0
    for line in lines:
        safe = _code_safe(line)
        for piece in _split(safe, _CODE_CHUNK):
            size = slack_len(piece) + 1
            if current and used + size > _CODE_CHUNK:
                blocks.append(_section("```\n" + "\n".join(current) + "\n```"))
                current, used = [], 0
            current.append(piece)
            used += size
    if current:
        blocks.append(_section("```\n" + "\n".join(current) + "\n```"))
    return blocks


def _lines_sections(title: str, lines: Sequence[str]) -> list[Block]:
    blocks: list[Block] = []
    text = _Text()
    text.add(title)
    for line in lines:
        piece = clip(line, _SECTION_ROOM)
        if not text.add(piece):
            blocks.append(_section(text.text))
            text = _Text()
            text.add(piece)
    blocks.append(_section(text.text))
    return blocks


def _finding_blocks(finding: Finding) -> list[Block]:
    emoji = _SEVERITY_EMOJI.get(finding.severity, "•")
    head = (
        f"{emoji} *{_prose(finding.title)}*  _{clip(_prose(finding.check), 100)} · {finding.severity.value}_"
    )
    if finding.detail:
        head += "\n" + _prose(finding.detail)
    if finding.objects:
        refs = ", ".join(_inline_code(str(o), 200) for o in finding.objects[:40])
        more = len(finding.objects) - 40
        head += "\nObjects: " + refs + (f" and {more:,} more" if more > 0 else "")
    blocks = _text_sections(head)
    evidence = [e for e in finding.evidence if e.strip()]
    if evidence:
        blocks += _code_sections(evidence)
    return blocks


def _thread_blocks(diagnosis: Diagnosis) -> Iterator[tuple[Block, int]]:
    """The thread's blocks, lazily, each with the number of findings complete before it."""
    done = 0
    problems = diagnosis.problem_situations()
    listed: set[Finding] = set()
    if not problems:
        emoji, label, sentence = _verdict(diagnosis)
        yield _section(f"{emoji} *{label}* — {escape(sentence)}"), done
    for number, situation in enumerate(problems, start=1):
        findings = [f for f in diagnosis.findings if f.situation == situation.id and f.severity in _PROBLEM]
        section = _section_of(situation.id, findings)
        for block in _text_sections(
            f"*{number}. {escape(_situation_title(situation.id))}*  `{escape(str(situation.id))}`\n"
            f"{_prose(situation.summary)}\n📖 <{runbook_url(section)}|Runbook: {clip(_prose(section), 200)}>"
        ):
            yield block, done
        for finding in findings:
            if finding in listed:
                continue  # a situation listed twice: its findings once
            for block in _finding_blocks(finding):
                yield block, done
            listed.add(finding)
            done += 1
    others = [f for f in diagnosis.findings if f not in listed and f.severity != Severity.UNKNOWN]
    if others:
        yield _section("*Notes and other findings*"), done
        for finding in others:
            for block in _finding_blocks(finding):
                yield block, done
            done += 1
    if diagnosis.actions:
        for block in _lines_sections(
            "*Proposed next steps* (runbook order; 🔒 needs approval)",
            [f"{n}. {_action_text(a)}" for n, a in enumerate(diagnosis.actions, start=1)],
        ):
            yield block, done
    if diagnosis.unknowns:
        for block in _lines_sections(
            "❔ *Could not judge*",
            [
                f"• {_inline_code(u.check, 100)} {_prose(u.what)} — {_prose(_one_line(u.reason))}"
                for u in diagnosis.unknowns
            ],
        ):
            yield block, done


def _block_chars(block: Block) -> int:
    text = block.get("text")
    if isinstance(text, dict):
        return slack_len(str(text.get("text", "")))
    return 0


def _full(page: Sequence[tuple[Block, int]], size: int, *, reserve: int = 0) -> bool:
    used = sum(_block_chars(b) for b, _ in page)
    return len(page) + (1 if reserve else 0) >= THREAD_BLOCKS_PER_MESSAGE or (
        used + size + reserve > THREAD_CHARS_PER_MESSAGE
    )


def thread_details(diagnosis: Diagnosis) -> list[Message]:
    """The full diagnosis for the card's thread: every finding with all its evidence, the actions
    and the unknowns, in at most 10 messages; what does not fit is left to the attached JSON."""
    pages: list[list[tuple[Block, int]]] = [[]]
    cut_at: int | None = None
    for block, done in _thread_blocks(diagnosis):
        size = _block_chars(block)
        if pages[-1] and _full(pages[-1], size):
            if len(pages) == THREAD_MESSAGES_MAX:
                cut_at = done
                break
            pages.append([])
        pages[-1].append((block, done))
    if cut_at is not None:
        last = pages[-1]
        while last and _full(last, 0, reserve=200):
            cut_at = last.pop()[1]
        total = sum(1 for f in diagnosis.findings if f.severity != Severity.UNKNOWN)
        note = _section(
            f"_…more in the attached JSON (this thread shows {cut_at:,} of {total:,} findings in full)_"
        )
        last.append((note, cut_at))
    count = len(pages)
    cluster = _one_line(diagnosis.cluster)
    return [
        Message(
            text=clip(escape(f"Calico check {cluster}: details ({i}/{count})"), FALLBACK_TEXT_MAX),
            blocks=[block for block, _ in page],
        )
        for i, page in enumerate(pages, start=1)
    ]
