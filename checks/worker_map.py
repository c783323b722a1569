"""The worker map: every worker at a glance, for the card, the terminal report and `--json`.

Pure, like the checks: from the snapshot and the findings, per worker its zone and pool, its
state, its calico-node as `kubectl get pods` shows it, and the situation that names it. The shared
calico-node analysis (`calico_pods.analyse`, memoised on the snapshot) names every bad worker,
also those beyond the ones a finding lists.

States, in order of precedence: NotReady because of the kubelet (named by a finding, or Ready
Unknown/False), then calico-node bad (named by a problem finding, or a bad calico-node pod per the
analysis when the diagnosis found a per-worker Calico problem, or every Ready worker when
calico-node runs nowhere), then cordoned, then unknown (no Ready condition, a finding that could
not judge it, or calico pods that could not be read), else healthy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from checks import calico_pods
from checks.common import natural_key
from checks.model import Diagnosis, Finding, Severity, SituationId, Worker, WorkerState
from checks.snapshot import Read, Snapshot

PROBLEM = frozenset({Severity.CRITICAL, Severity.WARNING})
CALICO_SITUATIONS = frozenset(
    {
        SituationId.CALICO_DOWN_ON_WORKER,
        SituationId.CALICO_ABSENT_EVERYWHERE,
        SituationId.BGP_PASSWORD_MIGRATION,
        SituationId.CALICO_CRASHLOOP_MOST_WORKERS,
        SituationId.CALICO_BAD_ON_FEW_WORKERS,
    }
)
"""Situations that are about calico-node on the workers: the analysis may name more bad workers."""


def worker_map(snapshot: Snapshot, findings: Sequence[Finding], *, now: datetime) -> tuple[Worker, ...]:
    """The map, in the node list's order, then the workers a finding names that the list lacks."""
    kubelet: dict[str, SituationId] = {}
    calico: dict[str, SituationId] = {}
    unknown: dict[str, SituationId] = {}
    for finding in findings:
        names = [o.name for o in finding.objects if o.kind == "Node"]
        if finding.severity in PROBLEM:
            if finding.situation == SituationId.WORKER_NOT_READY_KUBELET:
                target = kubelet
            elif finding.situation != SituationId.HEALTHY:
                target = calico
            else:
                continue
        elif finding.severity == Severity.UNKNOWN:
            target = unknown
        else:
            continue
        for name in names:
            target.setdefault(name, finding.situation)

    problems = [f.situation for f in findings if f.severity in PROBLEM]
    calico_situation = next((s for s in problems if s in CALICO_SITUATIONS), None)
    pods_ok = snapshot.read_ok(Read.CALICO_PODS)
    if pods_ok and calico_situation is not None and snapshot.nodes:
        # Checks cap the Node objects they list; the shared analysis names every bad worker.
        troubles, _judged = calico_pods.analyse(snapshot, now=now)
        for trouble in troubles:
            calico.setdefault(trouble.node, calico_situation)
    absent_everywhere = SituationId.CALICO_ABSENT_EVERYWHERE in problems
    calico_node = _calico_node_column(snapshot) if pods_ok else {}

    workers: list[Worker] = []
    for node in snapshot.nodes:
        name = node.name
        ready = node.condition("Ready")
        situation: SituationId | None = None
        if name in kubelet:
            state, situation = WorkerState.NOT_READY, kubelet[name]
        elif name in calico:
            state, situation = WorkerState.CALICO_BAD, calico[name]
        elif ready is None:
            state = WorkerState.UNKNOWN
        elif ready.status != "True":
            state = WorkerState.NOT_READY
        elif absent_everywhere:
            state, situation = WorkerState.CALICO_BAD, SituationId.CALICO_ABSENT_EVERYWHERE
        elif node.spec.unschedulable:
            state = WorkerState.CORDONED
        elif name in unknown or not pods_ok:
            state, situation = WorkerState.UNKNOWN, unknown.get(name)
        else:
            state = WorkerState.HEALTHY
        workers.append(
            Worker(
                name=name,
                zone=node.zone,
                pool=node.worker_pool,
                state=state,
                calico_node=calico_node.get(name, "absent") if pods_ok else "",
                situation=situation,
            )
        )
    # Workers a finding names that the node list did not hold (the read failed, or a stale name).
    listed = {w.name for w in workers}
    for named, state in (
        (kubelet, WorkerState.NOT_READY),
        (calico, WorkerState.CALICO_BAD),
        (unknown, WorkerState.UNKNOWN),
    ):
        for name in sorted(named, key=natural_key):
            if name not in listed:
                listed.add(name)
                workers.append(Worker(name=name, state=state, situation=named[name]))
    return tuple(workers)


def _calico_node_column(snapshot: Snapshot) -> dict[str, str]:
    """Worker -> its calico-node as `kubectl get pods` shows it (a terminating one yields to a new one)."""
    shown: dict[str, str] = {}
    for pod in sorted(snapshot.calico_node_pods(), key=lambda p: p.metadata.deletion_timestamp is None):
        if pod.node_name:
            shown[pod.node_name] = f"{pod.display_status()} {pod.ready_fraction()}"
    return shown


def worker_states(snapshot: Snapshot, diagnosis: Diagnosis) -> dict[str, WorkerState]:
    """Worker name -> state, in map order, for a diagnosis of this snapshot."""
    return {w.name: w.state for w in worker_map(snapshot, diagnosis.findings, now=diagnosis.checked_at)}


def zones_of(snapshot: Snapshot) -> dict[str, str]:
    """Node name -> zone, or `pool <name>` when the worker has no zone label, or "" if neither."""
    return {
        node.name: node.zone or (f"pool {node.worker_pool}" if node.worker_pool else "")
        for node in snapshot.nodes
    }
