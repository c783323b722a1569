"""The terminal report of a diagnosis: pure text, coloured with ANSI codes when asked to.

Layout: a header (cluster, source, time, worker counts), the verdict, the worker map (counts per
zone and the workers that are not healthy), one block per situation with its findings and literal
evidence, the proposed next steps, and what could not be judged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from checks.common import natural_key
from checks.model import Diagnosis, Finding, Severity, SituationId, Unknown, Worker, WorkerState
from checks.snapshot import Snapshot

_RESET = "\033[0m"
_STYLES = {
    "critical": "\033[1;31m",
    "warning": "\033[33m",
    "info": "\033[36m",
    "unknown": "\033[35m",
    "healthy": "\033[1;32m",
    "dim": "\033[2m",
    "bold": "\033[1m",
}
_MARK = {Severity.CRITICAL: "✖", Severity.WARNING: "▲", Severity.INFO: "ℹ", Severity.UNKNOWN: "?"}
MAX_FINDINGS_PER_SITUATION = 12
MAX_EVIDENCE_LINES = 10
MAX_ZONES = 12
MAX_BAD_WORKERS = 15
STATE_LABEL = {
    WorkerState.CALICO_BAD: "calico-node bad",
    WorkerState.NOT_READY: "NotReady (kubelet)",
    WorkerState.CORDONED: "cordoned",
    WorkerState.UNKNOWN: "unknown",
    WorkerState.HEALTHY: "healthy",
}
"""The map's states, worst first."""
_STATE_STYLE = {
    WorkerState.CALICO_BAD: "critical",
    WorkerState.NOT_READY: "critical",
    WorkerState.CORDONED: "warning",
    WorkerState.UNKNOWN: "unknown",
    WorkerState.HEALTHY: "healthy",
}


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, style: str, text: str) -> str:
        return f"{_STYLES[style]}{text}{_RESET}" if self.color else text


def worker_counts(snapshot: Snapshot) -> str:
    nodes = snapshot.nodes
    if not nodes:
        return "no workers read"
    ready = sum(1 for n in nodes if (c := n.condition("Ready")) is not None and c.status == "True")
    cordoned = sum(1 for n in nodes if n.spec.unschedulable)
    text = f"{len(nodes)} worker{'s' if len(nodes) != 1 else ''}, {ready} Ready"
    return text + (f", {cordoned} cordoned" if cordoned else "")


def render_text(diagnosis: Diagnosis, *, snapshot: Snapshot | None = None, color: bool = False) -> str:
    paint = _Painter(color)
    lines: list[str] = []
    when = diagnosis.checked_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    header = f"calico-bot · cluster {diagnosis.cluster} ({diagnosis.source}) · checked {when}"
    if snapshot is not None:
        header += f" · {worker_counts(snapshot)}"
    lines += [paint("bold", header), ""]
    lines.append(_verdict_line(diagnosis, paint))
    if diagnosis.worker_map:
        lines += ["", *_map_lines(diagnosis.worker_map, paint)]

    problems = [s for s in diagnosis.situations if s.id != SituationId.HEALTHY]
    for number, situation in enumerate(problems, start=1):
        lines += ["", paint("bold", f"{number}. {situation.id.value}") + f" — {situation.summary}"]
        mine = [
            f for f in diagnosis.findings if f.situation == situation.id and f.severity != Severity.UNKNOWN
        ]
        lines += _findings_block(mine, paint)
        sections = sorted({f.runbook_section for f in mine if f.runbook_section})
        for section in sections:
            lines.append(paint("dim", f"   runbook: “{section}”"))

    infos = [f for f in diagnosis.findings if f.severity == Severity.INFO]
    if infos:
        lines += ["", paint("bold", "Notes")]
        lines += _findings_block(infos, paint)

    if diagnosis.actions:
        lines += ["", paint("bold", "Proposed next steps (runbook order)")]
        for action in diagnosis.actions[:20]:
            gate = "needs approval" if action.requires_approval else "read-only"
            lines.append(
                f"   • {action.kind.value} {action.target} — {action.reason} " + paint("dim", f"[{gate}]")
            )
        if len(diagnosis.actions) > 20:
            lines.append(f"   … and {len(diagnosis.actions) - 20} more (see --json)")

    if diagnosis.unknowns:
        lines += ["", paint("unknown", "Could not judge")]
        lines += _unknown_lines(diagnosis.unknowns)
    return "\n".join(lines) + "\n"


def _verdict_line(diagnosis: Diagnosis, paint: _Painter) -> str:
    verdict = diagnosis.verdict
    if verdict == "healthy":
        return (
            paint("healthy", "✔ HEALTHY")
            + " — calico-node is running and Ready on every worker, nothing unknown"
        )
    if verdict == "unknown":
        return (
            paint("unknown", "? UNKNOWN") + " — no problem found, but some things could not be read (below)"
        )
    count = sum(1 for s in diagnosis.situations if s.id != SituationId.HEALTHY)
    worst = (
        Severity.CRITICAL
        if any(f.severity == Severity.CRITICAL for f in diagnosis.findings)
        else Severity.WARNING
    )
    return (
        paint(worst.value, f"{_MARK[worst]} PROBLEMS")
        + f" — {count} runbook situation{'s' if count != 1 else ''}"
    )


def _counts(workers: Sequence[Worker], paint: _Painter) -> str:
    counts = Counter(w.state for w in workers)
    return " · ".join(
        paint(_STATE_STYLE[s], f"{counts[s]:,} {label}") for s, label in STATE_LABEL.items() if counts[s]
    )


def _map_lines(workers: Sequence[Worker], paint: _Painter) -> list[str]:
    """The worker map, compactly: the states per zone (or worker pool), then the workers that are not
    healthy, worst first, with their calico-node and the situation that names them."""
    lines = [paint("bold", f"Workers ({len(workers):,})") + f"  {_counts(workers, paint)}"]
    zones: dict[str, list[Worker]] = {}
    for worker in workers:
        zones.setdefault(worker.group or "no zone", []).append(worker)
    if len(zones) > 1:
        names = sorted(zones, key=natural_key)
        width = max(len(name) for name in names[:MAX_ZONES])
        for name in names[:MAX_ZONES]:
            lines.append(f"   {name:<{width}}  {len(zones[name]):>5,}: {_counts(zones[name], paint)}")
        if len(names) > MAX_ZONES:
            lines.append(f"   … and {len(names) - MAX_ZONES} more zones (see --json)")
    rank = {state: i for i, state in enumerate(STATE_LABEL)}
    bad = sorted(
        (w for w in workers if w.state != WorkerState.HEALTHY),
        key=lambda w: (rank[w.state], natural_key(w.name)),
    )
    width = max((len(STATE_LABEL[w.state]) for w in bad[:MAX_BAD_WORKERS]), default=0)
    for worker in bad[:MAX_BAD_WORKERS]:
        where = ", ".join(
            part for part in (worker.zone, f"pool {worker.pool}" if worker.pool else "") if part
        )
        label = f"{STATE_LABEL[worker.state]:<{width}}"
        text = f"   {paint(_STATE_STYLE[worker.state], label)}  {worker.name}" + (
            f" ({where})" if where else ""
        )
        if worker.calico_node:  # a silent kubelet's pods keep their last status
            stale = " as last reported" if worker.state == WorkerState.NOT_READY else ""
            text += f" — calico-node {worker.calico_node}{stale}"
        text += paint("dim", f" [{worker.situation.value}]") if worker.situation else ""
        lines.append(text)
    if len(bad) > MAX_BAD_WORKERS:
        lines.append(
            f"   … and {len(bad) - MAX_BAD_WORKERS:,} more workers that are not healthy (see --json)"
        )
    return lines


def _findings_block(findings: Sequence[Finding], paint: _Painter) -> list[str]:
    lines: list[str] = []
    for finding in findings[:MAX_FINDINGS_PER_SITUATION]:
        mark = paint(finding.severity.value, f"{_MARK[finding.severity]} {finding.severity.value}")
        lines.append(f"   {mark}  {finding.title}")
        if finding.detail:
            lines.append(paint("dim", f"      {finding.detail}"))
        for evidence in finding.evidence[:MAX_EVIDENCE_LINES]:
            lines.append(f"      │ {evidence}")
        if len(finding.evidence) > MAX_EVIDENCE_LINES:
            lines.append(
                paint(
                    "dim", f"      │ … {len(finding.evidence) - MAX_EVIDENCE_LINES} more lines (see --json)"
                )
            )
    if len(findings) > MAX_FINDINGS_PER_SITUATION:
        lines.append(f"   … and {len(findings) - MAX_FINDINGS_PER_SITUATION} more findings (see --json)")
    return lines


def _unknown_lines(unknowns: Sequence[Unknown]) -> list[str]:
    """Unknowns, with repeats of one cause (an unreachable server fails every read) folded."""
    reasons = Counter(u.reason.split(": ", 1)[-1] for u in unknowns if u.check == "collect")
    collect = [u for u in unknowns if u.check == "collect"]
    lines: list[str] = []
    if len(collect) > 3 and len(reasons) == 1:
        reason = next(iter(reasons))
        lines.append(f"   ? every read failed the same way ({len(collect)} reads): {reason}")
    else:
        lines += [f"   ? {u.reason}" for u in collect]
    lines += [f"   ? {u.check}: {u.what} — {u.reason}" for u in unknowns if u.check != "collect"]
    return lines
