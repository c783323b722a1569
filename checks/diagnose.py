"""`diagnose(snapshot, now=…)`: run every registered check and assemble the `Diagnosis`.

The rules that make the verdict trustworthy live here:
- every read that failed is an unknown (a 403 on one list is never silence);
- a check whose required reads failed, or which the source did not contain (a dump has no leases),
  is not run; it becomes an unknown that names the read;
- a check that raises becomes an unknown too, and never hides the other checks;
- `healthy` only when every check ran and nothing above `info` and nothing unknown was found;
- situations are ordered as the runbook walks them (worker health first).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from checks.model import (
    SITUATION_ORDER,
    Action,
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

    findings.sort(key=_finding_order)
    situations = _situations(findings, unknowns)
    actions = _actions(registry, by_check, snapshot, {s.id for s in situations})
    return Diagnosis(
        cluster=snapshot.cluster,
        checked_at=now,
        source=snapshot.source,
        situations=situations,
        findings=tuple(findings),
        actions=actions,
        unknowns=tuple(unknowns),
    )


def _first_error_per_read(snapshot: Snapshot) -> list[ReadError]:
    seen: set[str] = set()
    firsts = []
    for err in snapshot.errors:
        if err.read not in seen:
            seen.add(err.read)
            firsts.append(err)
    return firsts


def _finding_order(finding: Finding) -> tuple[int, int]:
    return SITUATION_ORDER.index(finding.situation), _SEVERITY_RANK[finding.severity]


def _situations(findings: Sequence[Finding], unknowns: Sequence[Unknown]) -> tuple[Situation, ...]:
    problems = [f for f in findings if f.severity in PROBLEM_SEVERITIES]
    if not problems:
        if unknowns:
            return ()
        return (Situation(id=SituationId.HEALTHY, summary="calico-node is healthy on every worker"),)
    result = []
    for situation in SITUATION_ORDER:
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
    situations: set[SituationId],
) -> tuple[Action, ...]:
    proposed: list[Action] = []
    seen: set[tuple[str, str]] = set()
    ordered = sorted(registry, key=lambda c: SITUATION_ORDER.index(c.situation))
    for check in ordered:
        if check.situation not in situations:
            continue
        mine = [f for f in by_check.get(check.id, []) if f.severity in PROBLEM_SEVERITIES]
        if not mine:
            continue
        for action in check.propose(mine, snapshot):
            key = (action.kind.value, action.target)
            if key not in seen:
                seen.add(key)
                proposed.append(action)
    return tuple(proposed)
