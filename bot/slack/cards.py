"""Slack Block Kit messages for a diagnosis: pure functions from the checks' contract to a `Message`.

No I/O and no Slack SDK here; the blocks come from the toolkit (`bot.slack.blockkit`), which keeps
every message inside Block Kit's limits whatever the input (one worker or 5,000, one finding or
500 actions, evidence of any length). Text from the cluster is escaped and literal messages are
shown in code format.

The card: header, verdict, (the worker asked about), one section per situation with its main
findings and evidence, the affected workers per zone, a map of all workers, the next steps as
text and buttons, notes, unknowns, and a context line (when, source, who asked). The rest goes to
the thread (`thread_details`), at most 10 messages.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence

from bot.slack.blockkit import (
    ACTIONS_ELEMENTS_MAX,
    BUTTON_VALUE_MAX,
    CONTEXT_TEXT_MAX,
    FALLBACK_TEXT_MAX,
    SECTION_ROOM,
    SECTION_TEXT_MAX,
    Block,
    Message,
    TextBudget,
    actions,
    button,
    cap_blocks,
    clip,
    code_block,
    code_safe,
    confirm_dialog,
    context,
    divider,
    escape,
    header,
    inline_code,
    mention,
    one_line,
    plural,
    prose,
    section,
    slack_date,
    slack_len,
    split_text,
)
from checks.common import natural_key
from checks.model import (
    SITUATION_SECTION,
    SITUATION_TITLE,
    Action,
    ActionKind,
    Diagnosis,
    Finding,
    RunbookSection,
    Severity,
    Situation,
    SituationId,
    Unknown,
    WorkerState,
    runbook_url,
)

# --- action ids (the Slack flow routes on these prefixes) ---------------------------------------

ACTION_BUTTON = "calico_action"
"""Remediation buttons: `calico_action:<index>`; value `{"kind","cluster","target"}`."""
GATHER_BUTTON = "calico_gather"
ESCALATE_BUTTON = "calico_escalate"
RUNBOOK_BUTTON = "calico_runbook"

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
_CODE_CHUNK = SECTION_TEXT_MAX - 200


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
# Workers: state and zone
# =================================================================================================


def _finding_nodes(finding: Finding) -> list[str]:
    return [o.name for o in finding.objects if o.kind == "Node"]


def _group(name: str, zones: Mapping[str, str]) -> str:
    return zones.get(name) or "no zone"


def _by_group(names: Iterable[str], zones: Mapping[str, str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for name in names:
        groups[_group(name, zones)].append(name)
    return {g: sorted(groups[g], key=natural_key) for g in sorted(groups, key=natural_key)}


def _tally(workers: Mapping[str, WorkerState]) -> str:
    counts = Counter(workers.values())
    parts = [f"{STATE_EMOJI[s]} {counts[s]:,} {STATE_LABEL[s]}" for s in _STATE_ORDER if counts[s]]
    return f"{plural(len(workers), 'worker')}: " + " · ".join(parts) if workers else "no workers read"


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
        return emoji, label, plural(len(problems), "runbook situation")
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
    chapter = _section_of(situation.id, findings)
    link = f"📖 <{runbook_url(chapter)}|Runbook: {clip(prose(chapter), 200)}>"
    text = TextBudget(SECTION_ROOM - slack_len(link))
    text.add(f"{emoji} *{number}. {escape(_situation_title(situation.id))}*  `{escape(str(situation.id))}`")
    text.add(clip(prose(situation.summary), 500))
    shown_details: set[str] = set()
    shown = 0
    for finding in findings[:CARD_FINDINGS_PER_SITUATION]:
        pin = "📍 " if _mentions_node(finding, node_filter) else ""
        lines: list[str] = []
        if pin or len(findings) > 1 or finding.title != situation.summary:
            lines.append(f"{pin}*{clip(prose(finding.title), 300)}*")
        if finding.detail and finding.detail not in shown_details:
            lines.append(clip(prose(finding.detail), CARD_DETAIL_MAX))
        evidence = [e for e in finding.evidence if e.strip()]
        if node_filter:  # the lines about the worker asked about first
            evidence.sort(key=lambda e: node_filter not in e)
        if evidence:
            block = code_block(evidence[:CARD_EVIDENCE_PER_FINDING], line_max=CARD_EVIDENCE_LINE_MAX)
            more = len(evidence) - CARD_EVIDENCE_PER_FINDING
            lines.append(block + (f"\n_+{plural(more, 'more line')} in the thread_" if more > 0 else ""))
        # Too long: the title alone (the evidence stays for the thread), or stop here.
        if not text.add("\n".join(lines)) and not (lines and text.add(lines[0])):
            break
        shown_details.add(finding.detail)
        shown += 1
    more = len(findings) - shown
    if more > 0:
        text.force(f"_+{plural(more, 'more finding')} with full evidence in the thread_")
    text.force(link)
    return section(text.text)


def _affected_block(workers: Mapping[str, WorkerState], zones: Mapping[str, str]) -> Block | None:
    affected = [n for n, s in workers.items() if s != WorkerState.HEALTHY]
    if not affected:
        return None
    rank = {s: i for i, s in enumerate(_STATE_ORDER)}
    text = TextBudget()
    text.add(f"*Affected workers* ({len(affected):,} of {len(workers):,}, by zone / worker pool)")
    groups = _by_group(affected, zones)
    for index, (group, names) in enumerate(groups.items()):
        names.sort(key=lambda n: (rank[workers[n]], natural_key(n)))
        shown = " ".join(
            f"{STATE_EMOJI[workers[n]]} {inline_code(n, 60)}" for n in names[:CARD_NAMES_PER_ZONE]
        )
        extra = len(names) - CARD_NAMES_PER_ZONE
        counts = Counter(workers[n] for n in names)
        summary = ", ".join(f"{counts[s]:,} {STATE_EMOJI[s]}" for s in _STATE_ORDER if counts[s])
        line = f"*{clip(prose(group), 60)}* ({summary}): {shown}" + (
            f" _+{extra:,} more_" if extra > 0 else ""
        )
        if not text.add(line):
            text.force(f"_+{plural(len(groups) - index, 'more zone')} in the thread_")
            break
    return section(text.text)


def _map_block(workers: Mapping[str, WorkerState], zones: Mapping[str, str]) -> Block:
    if not workers:
        return section("*Workers at a glance*\n_No workers could be read._")
    present = Counter(workers.values())
    legend = " · ".join(f"{STATE_EMOJI[s]} {STATE_LABEL[s]}" for s in _STATE_ORDER if present[s])
    text = TextBudget()
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
            text.force(f"_+{plural(len(groups) - index, 'more zone')}_")
            break
    return section(text.text)


def _action_text(action: Action) -> str:
    lock = "🔒 " if action.requires_approval else ""
    return (
        f"{lock}{escape(action.kind.value)} {inline_code(action.target, 100)}"
        f" — {clip(prose(one_line(action.reason)), 200)}"
    )


def _ordered_actions(diagnosis: Diagnosis, node_filter: str | None) -> list[Action]:
    steps = list(diagnosis.actions)
    if not node_filter:
        return steps
    related = {node_filter}
    for finding in diagnosis.findings:
        if _mentions_node(finding, node_filter):
            related.update(f"{o.namespace}/{o.name}" for o in finding.objects if o.kind == "Pod")
    return sorted(steps, key=lambda a: a.target not in related)


def _steps_block(steps: Sequence[Action]) -> Block:
    text = TextBudget()
    text.add("*Next steps* (runbook order; 🔒 needs approval)")
    shown = 0
    for number, action in enumerate(steps[:CARD_STEPS_MAX], start=1):
        if not text.add(f"{number}. {_action_text(action)}"):
            break
        shown += 1
    if len(steps) > shown:
        text.force(f"_+{plural(len(steps) - shown, 'more step')} in the thread_")
    return section(text.text)


def button_value(kind: str, cluster: str, target: str) -> str:
    return json.dumps(
        {"kind": kind, "cluster": cluster, "target": target}, separators=(",", ":"), ensure_ascii=False
    )


def _confirm(action: Action, cluster: str) -> Block:
    what = f"{_ACTION_VERB[action.kind]} {action.target}"
    body = (
        f"*{clip(prose(what), 120)}* on *{clip(prose(cluster), 60)}* changes the cluster: "
        f"it needs an approver's OK before it runs. Reason: {prose(one_line(action.reason))}"
    )
    return confirm_dialog("Needs approval", body, confirm="Request approval", deny="Cancel")


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
    steps: Sequence[Action],
    workers: Mapping[str, WorkerState],
    node_filter: str | None,
    runbook_section: str | None,
) -> list[Block]:
    cluster = diagnosis.cluster
    buttons: list[Block] = []
    kinds: set[ActionKind] = set()
    gathered: set[str] = set()
    seen: set[tuple[ActionKind, str]] = set()
    if diagnosis.verdict != "healthy":
        for action in steps:
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
            gated = action.requires_approval
            buttons.append(
                button(
                    _label(action),
                    f"{prefix}:{len(buttons)}",
                    value=value,
                    style="danger" if gated else None,
                    confirm=_confirm(action, cluster) if gated else None,
                )
            )
        asked = bool(node_filter) and node_filter in workers and node_filter not in gathered
        if ActionKind.GATHER not in kinds or asked:
            target = _first_worker(diagnosis, workers, node_filter) or cluster
            value = button_value(ActionKind.GATHER.value, cluster, target)
            if slack_len(value) <= BUTTON_VALUE_MAX:
                label = "Gather" if target == cluster else f"Gather {target}"
                buttons.append(button(label, f"{GATHER_BUTTON}:{len(buttons)}", value=value))
        if ActionKind.ESCALATE not in kinds:
            value = button_value(ActionKind.ESCALATE.value, cluster, cluster)
            if slack_len(value) <= BUTTON_VALUE_MAX:
                buttons.append(button("Escalate", f"{ESCALATE_BUTTON}:{len(buttons)}", value=value))
    buttons.append(button("📖 Runbook", f"{RUNBOOK_BUTTON}:{len(buttons)}", url=runbook_url(runbook_section)))
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
    text = TextBudget(limit)
    text.add(title)
    shown = 0
    for line in lines:
        if not text.add(f"• {clip(prose(one_line(line)), 300)}"):
            break
        shown += 1
    if len(lines) > shown:
        text.force(f"_+{len(lines) - shown:,} more in the thread_")
    return context(text.text)


def _footer(diagnosis: Diagnosis, requested_by: str | None) -> Block:
    parts = [f"checked {slack_date(diagnosis.checked_at)}", f"source {prose(diagnosis.source)}"]
    if requested_by:
        parts.append(f"requested by {mention(requested_by)}")
    return context(" · ".join(parts))


def _fallback(diagnosis: Diagnosis, emoji: str, label: str, sentence: str) -> str:
    text = f"{emoji} {diagnosis.cluster}: {label} — {sentence}"
    problems = diagnosis.problem_situations()
    if problems:
        text += ": " + "; ".join(f"{s.id}: {one_line(s.summary)}" for s in problems)
    elif diagnosis.unknowns:
        text += f" ({plural(len(diagnosis.unknowns), 'unknown')})"
    return clip(escape(text), FALLBACK_TEXT_MAX)


def diagnosis_card(
    diagnosis: Diagnosis,
    *,
    requested_by: str | None,
    node_filter: str | None = None,
    workers: Mapping[str, WorkerState] | None = None,
    zones: Mapping[str, str] | None = None,
) -> Message:
    """The card posted in the channel, its worker map drawn from `diagnosis.worker_map` (or from
    `workers` / `zones`, name -> state / zone, when given). `node_filter` (`/calico check CLUSTER
    NODE`) puts that worker's findings, evidence and actions first. Everything beyond the card's
    budget is left to `thread_details`."""
    if workers is None:
        workers = {w.name: w.state for w in diagnosis.worker_map}
    if zones is None:
        zones = {w.name: w.group for w in diagnosis.worker_map}
    emoji, label, sentence = _verdict(diagnosis)
    blocks: list[Block] = [header(f"Calico check · {diagnosis.cluster}")]
    blocks.append(section(f"{emoji} *{label}* — {escape(sentence)}\n{_tally(workers)}"))

    if node_filter:
        state = workers.get(node_filter)
        where = zones.get(node_filter, "")
        about = f"📍 Worker {inline_code(node_filter, 100)}" + (f" ({prose(where)})" if where else "")
        if state is None:
            about += ": not among the workers read; the whole cluster is shown"
        else:
            named = sum(1 for f in diagnosis.findings if _mentions_node(f, node_filter))
            about += f": {STATE_EMOJI[state]} {STATE_LABEL[state]} — " + (
                f"shown first ({named:,} {'finding names' if named == 1 else 'findings name'} it)"
                if named
                else "no finding names it"
            )
        blocks.append(context(about))

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
        blocks.append(section(f"_+{plural(len(rest), 'more situation')} in the thread: {ids}_"))

    affected = _affected_block(workers, zones)
    if affected is not None:
        blocks.append(affected)
    blocks.append(_map_block(workers, zones))

    steps = _ordered_actions(diagnosis, node_filter)
    first_section = _section_of(grouped[0][0].id, grouped[0][1]) if grouped else None
    if diagnosis.verdict != "healthy":
        blocks.append(divider())
        if steps:
            blocks.append(_steps_block(steps))
    blocks.append(actions(_buttons(diagnosis, steps, workers, node_filter, first_section)))

    notes = [f for f in diagnosis.findings if f.severity == Severity.INFO]
    if notes:
        blocks.append(_lines_context("ℹ️ *Notes*", [f.title for f in notes]))
    if diagnosis.unknowns:
        blocks.append(_lines_context("❔ *Could not judge*", _unknown_lines(diagnosis.unknowns)))
    blocks.append(_footer(diagnosis, requested_by))
    return Message(
        text=_fallback(diagnosis, emoji, label, sentence), blocks=cap_blocks(blocks, "_…more in the thread_")
    )


# =================================================================================================
# Progress and errors
# =================================================================================================


def _by(requested_by: str | None) -> str:
    return f" (requested by {mention(requested_by)})" if requested_by else ""


def checking_message(cluster: str, *, requested_by: str) -> Message:
    """The first message of a check, replaced by progress and then by the card."""
    name = clip(prose(one_line(cluster)), 200)
    text = clip(f"⏳ Checking {name}…{_by(requested_by)}", FALLBACK_TEXT_MAX)
    return Message(text=text, blocks=[section(f"⏳ Checking *{name}*…{_by(requested_by)}")])


def progress_message(cluster: str, *, requested_by: str, phase: str, done: int, total: int) -> Message:
    """The checking message with the collector's progress (calls done of total, current phase)."""
    name = clip(prose(one_line(cluster)), 200)
    total = max(total, 0)
    done = min(max(done, 0), total) if total else max(done, 0)
    step = clip(prose(one_line(phase)), 100) if phase else "reading"
    if total:
        filled = round(10 * done / total)
        bar = "▰" * filled + "▱" * (10 - filled)
        count = f"{done:,}/{total:,} ({100 * done // total}%)"
    else:
        bar, count = "▱" * 10, f"{done:,}"
    text = clip(f"⏳ Checking {name}… {step}: {count}{_by(requested_by)}", FALLBACK_TEXT_MAX)
    blocks = [
        section(f"⏳ Checking *{name}*… {step}: {count}\n`{bar}`"),
        context(f"requested by {mention(requested_by)}" if requested_by else "calico-bot"),
    ]
    return Message(text=text, blocks=blocks)


def error_card(cluster: str, *, what_failed: str, try_next: str, requested_by: str | None) -> Message:
    """Could not check: what failed and what to try next (replaces the checking message)."""
    name = one_line(cluster) or "the cluster"
    failed = clip(prose(what_failed.strip() or "unknown error"), 1400)
    nxt = clip(prose(try_next.strip()), 1200)
    body = f"⚠️ *Could not check {clip(prose(name), 150)}*\n*What failed:* {failed}"
    if nxt:
        body += f"\n*Try next:* {nxt}"
    blocks = [header(f"Calico check · {name}"), section(body)]
    if requested_by:
        blocks.append(context(f"requested by {mention(requested_by)}"))
    text = clip(
        escape(f"⚠️ Could not check {name}: {one_line(what_failed) or 'unknown error'}"), FALLBACK_TEXT_MAX
    )
    return Message(text=text, blocks=blocks)


# =================================================================================================
# The thread: everything, in as many messages as needed (at most 10)
# =================================================================================================


def _text_sections(text: str) -> list[Block]:
    """Escaped mrkdwn without code fences, as many sections as it takes; an inline code span cut
    in two is closed at the end of one section and reopened at the start of the next."""
    blocks: list[Block] = []
    carry = ""
    for piece in split_text(text, SECTION_ROOM - 2):
        piece = carry + piece
        carry = ""
        if piece.count("`") % 2:
            piece, carry = piece + "`", "`"
        blocks.append(section(piece))
    return blocks


def _code_sections(lines: Sequence[str]) -> list[Block]:
    """Literal lines in ``` blocks, packed into sections; a huge line spans several blocks."""
    blocks: list[Block] = []
    current: list[str] = []
    used = 0
    for line in lines:
        safe = code_safe(line)
        for piece in split_text(safe, _CODE_CHUNK):
            size = slack_len(piece) + 1
            if current and used + size > _CODE_CHUNK:
                blocks.append(section("```\n" + "\n".join(current) + "\n```"))
                current, used = [], 0
            current.append(piece)
            used += size
    if current:
        blocks.append(section("```\n" + "\n".join(current) + "\n```"))
    return blocks


def _lines_sections(title: str, lines: Sequence[str]) -> list[Block]:
    blocks: list[Block] = []
    text = TextBudget()
    text.add(title)
    for line in lines:
        piece = clip(line, SECTION_ROOM)
        if not text.add(piece):
            blocks.append(section(text.text))
            text = TextBudget()
            text.add(piece)
    blocks.append(section(text.text))
    return blocks


def _finding_blocks(finding: Finding) -> list[Block]:
    emoji = _SEVERITY_EMOJI.get(finding.severity, "•")
    head = f"{emoji} *{prose(finding.title)}*  _{clip(prose(finding.check), 100)} · {finding.severity.value}_"
    if finding.detail:
        head += "\n" + prose(finding.detail)
    if finding.objects:
        refs = ", ".join(inline_code(str(o), 200) for o in finding.objects[:40])
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
        yield section(f"{emoji} *{label}* — {escape(sentence)}"), done
    for number, situation in enumerate(problems, start=1):
        findings = [f for f in diagnosis.findings if f.situation == situation.id and f.severity in _PROBLEM]
        chapter = _section_of(situation.id, findings)
        for block in _text_sections(
            f"*{number}. {escape(_situation_title(situation.id))}*  `{escape(str(situation.id))}`\n"
            f"{prose(situation.summary)}\n📖 <{runbook_url(chapter)}|Runbook: {clip(prose(chapter), 200)}>"
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
        yield section("*Notes and other findings*"), done
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
                f"• {inline_code(u.check, 100)} {prose(u.what)} — {prose(one_line(u.reason))}"
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
        note = section(
            f"_…more in the attached JSON (this thread shows {cut_at:,} of {total:,} findings in full)_"
        )
        last.append((note, cut_at))
    count = len(pages)
    cluster = one_line(diagnosis.cluster)
    return [
        Message(
            text=clip(escape(f"Calico check {cluster}: details ({i}/{count})"), FALLBACK_TEXT_MAX),
            blocks=[block for block, _ in page],
        )
        for i, page in enumerate(pages, start=1)
    ]
