"""`diagnose(snapshot, now=…)`: run every registered check and assemble the `Diagnosis`.

The rules that make the verdict trustworthy live here:
- every read that failed is an unknown (a 403 on one list is never silence);
- a check whose required reads failed, or which the source did not contain (a dump has no leases),
  is not run; it becomes an unknown that names the read;
- a check that raises becomes an unknown too, and never hides the other checks;
- the worker map (`checks.worker_map`) is drawn from the same findings and analysis, and is part
  of the diagnosis, so the card, the terminal report and `--json` show the same map;
- `healthy` only when every check ran and nothing above `info` and nothing unknown was found;
- situations are ordered as the runbook walks them (worker health first), except that a cause with
  its own section comes before the symptoms it explains: a critical `bgp-password-migration` or
  `typha-unhealthy` is put right after worker health, ahead of calico-node failing on the workers;
- the per-worker ladder (cordon, delete pod, reboot, reload) is not proposed for workers whose
  failure such a cause explains: rebooting a worker does not give calico-node its BGP password.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from checks.model import (
    SITUATION_ORDER,
    Action,
    ActionKind,
    Check,
    Diagnosis,
    Finding,
    Severity,
    Situation,
    SituationId,
    Unknown,
)
from checks.registry import CHECKS
from checks.snapshot import ReadError, Snapshot
from checks.worker_map import worker_map

PROBLEM_SEVERITIES = frozenset({Severity.CRITICAL, Severity.WARNING})
_SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.UNKNOWN: 2, Severity.INFO: 3}


def diagnose(snapshot: Snapshot, *, now: datetime, registry: Sequence[Check] = CHECKS) -> Diagnosis:
    findings: list[Finding] = []
    unknowns: list[Unknown] = [
        Unknown(check="collect", what=err.read, reason=snapshot.read_problem(err.read))
        for err in _first_error_per_read(snapshot)
    ]
    by_check: dict[str, list[Finding]] = {}
    for check in registry:
        blocked = sorted(need for need in check.needs if not snapshot.read_ok(need))
        if blocked:
            unknowns.append(
                Unknown(
                    check=check.id,
                    what=check.situation.value,
                    reason="not judged: needs " + ", ".join(snapshot.read_problem(b) for b in blocked),
                )
            )
            continue
        try:
            produced = check.run(snapshot, now=now)
        except Exception as exc:  # a broken check must not hide the others
            unknowns.append(
                Unknown(check=check.id, what=check.situation.value, reason=f"check failed: {exc!r}")
            )
            continue
        by_check[check.id] = produced
        for finding in produced:
            if finding.severity == Severity.UNKNOWN:
                unknowns.append(Unknown(check=check.id, what=finding.title, reason=finding.detail))
            findings.append(finding)

    order = situation_order(findings)
    findings.sort(key=lambda f: (order.index(f.situation), _SEVERITY_RANK[f.severity]))
    try:
        workers = worker_map(snapshot, findings, now=now)
    except Exception as exc:  # like a broken check: said, and never hiding the findings
        unknowns.append(Unknown(check="worker-map", what="worker map", reason=f"not drawn: {exc!r}"))
        workers = ()
    situations = _situations(findings, unknowns, order)
    actions = _actions(registry, by_check, snapshot, situations, findings)
    return Diagnosis(
        cluster=snapshot.cluster,
        checked_at=now,
        source=snapshot.source,
        situations=situations,
        findings=tuple(findings),
        actions=actions,
        unknowns=tuple(unknowns),
        worker_map=workers,
    )


def _first_error_per_read(snapshot: Snapshot) -> list[ReadError]:
    seen: set[str] = set()
    firsts = []
    for err in snapshot.errors:
        if err.read not in seen:
            seen.add(err.read)
            firsts.append(err)
    return firsts


CAUSES = (SituationId.BGP_PASSWORD_MIGRATION, SituationId.TYPHA_UNHEALTHY)
"""Situations that, when critical, explain calico-node failing on the workers."""
_LADDER = frozenset(
    {
        ActionKind.CORDON,
        ActionKind.DELETE_POD,
        ActionKind.REBOOT_WORKER,
        ActionKind.RELOAD_WORKER,
        ActionKind.REPLACE_WORKER,
        ActionKind.UNCORDON,
    }
)


def situation_order(findings: Sequence[Finding]) -> list[SituationId]:
    """The runbook's order, with the causes found critical moved right after worker health."""
    causes = [
        s for s in CAUSES if any(f.situation == s and f.severity == Severity.CRITICAL for f in findings)
    ]
    rest = [s for s in SITUATION_ORDER if s not in causes and s != SituationId.WORKER_NOT_READY_KUBELET]
    return [SituationId.WORKER_NOT_READY_KUBELET, *causes, *rest]


def _situations(
    findings: Sequence[Finding], unknowns: Sequence[Unknown], order: Sequence[SituationId]
) -> tuple[Situation, ...]:
    problems = [f for f in findings if f.severity in PROBLEM_SEVERITIES]
    if not problems:
        if unknowns:
            return ()
        return (Situation(id=SituationId.HEALTHY, summary="calico-node is healthy on every worker"),)
    result = []
    for situation in order:
        mine = [f for f in problems if f.situation == situation]
        if mine:
            result.append(Situation(id=situation, summary=_summary(mine)))
    return tuple(result)


def _summary(findings: Sequence[Finding]) -> str:
    if len(findings) == 1:
        return findings[0].title
    first = findings[0].title
    return f"{first} (+{len(findings) - 1} more finding{'s' if len(findings) > 2 else ''})"


def _actions(
    registry: Sequence[Check],
    by_check: dict[str, list[Finding]],
    snapshot: Snapshot,
    situations: Sequence[Situation],
    findings: Sequence[Finding],
) -> tuple[Action, ...]:
    proposed: list[Action] = []
    seen: set[tuple[str, str]] = set()
    order = [s.id for s in situations]
    explained = _explained_workers(findings)
    pod_node = {f"{p.namespace}/{p.name}": p.node_name for p in snapshot.calico_node_pods()}
    ordered = sorted((c for c in registry if c.situation in order), key=lambda c: order.index(c.situation))
    for check in ordered:
        mine = [f for f in by_check.get(check.id, []) if f.severity in PROBLEM_SEVERITIES]
        if not mine:
            continue
        for action in check.propose(mine, snapshot):
            worker = pod_node.get(action.target, action.target)
            if check.situation not in CAUSES and action.kind in _LADDER and worker in explained:
                continue  # the cause's own step comes first; the ladder would not fix it
            key = (action.kind.value, action.target)
            if key not in seen:
                seen.add(key)
                proposed.append(action)
    return tuple(proposed)


def _explained_workers(findings: Sequence[Finding]) -> set[str]:
    return {
        ref.name
        for f in findings
        if f.situation in CAUSES and f.severity == Severity.CRITICAL
        for ref in f.objects
        if ref.kind == "Node"
    }
