"""Why calico-node is bad on each worker: the shared analysis behind the per-worker situations.

For every worker the kubelet still reports on, one `PodTrouble` when calico-node there is in a bad
state: waiting in CrashLoopBackOff / image pull / config errors, an init container failing
(install-cni, upgrade-ipam, calico-extension…), OOMKilled, `0/1 Running` past the startup grace
with the readiness output parsed, restarting often, or no calico-node pod at all while the other
workers have one. Evidence comes from the pod status, its events and, when collected, its logs.

Traps handled here: pods on a worker whose kubelet is silent keep a stale status and are skipped;
`0/1 Running` within `STARTUP_GRACE_SECONDS` of a start is normal; a high restart count whose last
restart is old is history, not a current problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from checks.common import age, clip, event_line, human_age
from checks.objects import ContainerStatus, Event, Pod
from checks.signals import (
    BAD_WAITING,
    IMAGE_PULL,
    LogHit,
    ProbeReading,
    read_probe,
    scan_log,
    suspicious_interface,
)
from checks.snapshot import Snapshot
from checks.worker_not_ready_kubelet import unreachable_nodes

STARTUP_GRACE_SECONDS = 300
"""calico-node may be 0/1 Running this long after a start (the operator's startup probe allows 300 s)."""
RESTARTS_OFTEN = 5
RECENT_RESTART_SECONDS = 3600
MOST_SHARE = 0.5
"""Above this share of workers (and at least MOST_MIN workers) it is "most workers", not "a few"."""
MOST_MIN = 3
LARGE_SUBSET_SHARE = 0.3


@dataclass(frozen=True)
class PodTrouble:
    node: str
    pod: Pod | None
    reasons: tuple[str, ...]
    evidence: tuple[str, ...]
    probe: ProbeReading | None = None
    log_hits: tuple[LogHit, ...] = ()

    @property
    def bgp_not_established_only(self) -> bool:
        """Running, not Ready, and the only complaint is BGP not established (the 1.29 migration's sign)."""
        return (
            self.probe is not None
            and bool(self.probe.peers)
            and self.reasons == ("not ready: BGP not established",)
        )


def analyse(snapshot: Snapshot, *, now: datetime) -> tuple[list[PodTrouble], int]:
    """(troubles, workers judged). Workers with a silent kubelet are not judged."""
    key = ("calico_pods.analyse", now)
    if key not in snapshot.memo:
        snapshot.memo[key] = _analyse(snapshot, now)
    troubles, judged = snapshot.memo[key]
    return list(troubles), judged


def _analyse(snapshot: Snapshot, now: datetime) -> tuple[tuple[PodTrouble, ...], int]:
    silent = {n.name for n in unreachable_nodes(snapshot)}
    judged = [n for n in snapshot.nodes if n.name not in silent]
    pods_by_node: dict[str, list[Pod]] = {}
    for pod in snapshot.calico_node_pods():
        pods_by_node.setdefault(pod.node_name, []).append(pod)
    any_pods = bool(pods_by_node)
    troubles: list[PodTrouble] = []
    for node in judged:
        pods = pods_by_node.get(node.name, [])
        if not pods:
            if any_pods:
                troubles.append(
                    PodTrouble(
                        node=node.name,
                        pod=None,
                        reasons=("no calico-node pod on this worker",),
                        evidence=("no pod with k8s-app=calico-node is scheduled on this worker",),
                    )
                )
            continue
        for pod in pods:
            trouble = _pod_trouble(snapshot, pod, now)
            if trouble is not None:
                troubles.append(trouble)
    return tuple(troubles), len(judged)


def is_most(bad_workers: int, judged_workers: int) -> bool:
    """Most or all workers affected (runbook: CrashLoopBackOff on most or all workers)."""
    if judged_workers == 0 or bad_workers < 2:
        return False
    share = bad_workers / judged_workers
    return (bad_workers >= MOST_MIN and share > LARGE_SUBSET_SHARE) or (
        share > MOST_SHARE and bad_workers >= 2 and judged_workers <= 3
    )


def _pod_trouble(snapshot: Snapshot, pod: Pod, now: datetime) -> PodTrouble | None:
    reasons: list[str] = []
    evidence: list[str] = []
    main = pod.container_status("calico-node") or (
        pod.status.container_statuses[0] if pod.status.container_statuses else None
    )

    for init in pod.status.init_container_statuses:
        problem = _init_problem(init)
        if problem:
            reasons.append(f"Init:{problem} ({init.name})")
            evidence.append(_state_line(init, now))

    probe: ProbeReading | None = None
    events = list(snapshot.events_for("Pod", pod.name, pod.namespace))
    for event in events:
        reading = read_probe(event.message) if event.reason == "Unhealthy" else None
        if reading is not None and (probe is None or reading.peers):
            probe = reading

    if main is not None:
        waiting = main.state.waiting
        if waiting is not None and waiting.reason in BAD_WAITING:
            label = "image pull failing" if waiting.reason in IMAGE_PULL else waiting.reason
            reasons.append(label)
            evidence.append(_state_line(main, now))
        elif waiting is not None and waiting.reason == "ContainerCreating":
            created = age(pod.metadata.creation_timestamp, now)
            if created is not None and created > STARTUP_GRACE_SECONDS:
                reasons.append("stuck in ContainerCreating")
                evidence.append(_state_line(main, now))
        running = main.state.running
        if running is not None and not main.ready:
            up_for = age(running.started_at, now)
            if up_for is None or up_for > STARTUP_GRACE_SECONDS:
                reasons.append(_not_ready_label(probe))
                evidence.append(_not_ready_line(pod, up_for, now))
        last = main.last_state.terminated
        if last is not None and last.reason == "OOMKilled":
            reasons.append("OOMKilled")
            evidence.append(
                f"last terminated: OOMKilled (exit code {last.exit_code}) {human_age(age(last.finished_at, now))} ago"
            )
        if main.restart_count >= RESTARTS_OFTEN and last is not None:
            since = age(last.finished_at, now)
            if (
                since is not None
                and since < RECENT_RESTART_SECONDS
                and not any("CrashLoop" in r for r in reasons)
            ):
                reasons.append(f"restarting often ({main.restart_count} restarts)")
                evidence.append(
                    f"{main.restart_count} restarts, last one {human_age(since)} ago: "
                    f"{last.reason or 'Error'} exit code {last.exit_code}"
                )
    elif pod.status.phase == "Pending":
        reasons.append("Pending")
        evidence.append(clip(f"Pending: {pod.status.reason} {pod.status.message}".strip()))

    if not reasons:
        return None
    evidence += [event_line(e, now) for e in _telling_events(events)]
    hits: list[LogHit] = []
    for log in snapshot.logs_for(pod.namespace, pod.name):
        for hit in scan_log(log.text):
            if hit.signature == "autodetected-interface" and not suspicious_interface(
                dict(hit.groups).get("iface", "")
            ):
                continue
            hits.append(hit)
            which = f"{log.container}{' (previous)' if log.previous else ''}"
            evidence.append(clip(f"log {which}: {hit.line}"))
    return PodTrouble(
        node=pod.node_name,
        pod=pod,
        reasons=tuple(dict.fromkeys(reasons)),
        evidence=tuple(dict.fromkeys(evidence)),
        probe=probe,
        log_hits=tuple(hits),
    )


def _not_ready_line(pod: Pod, up_for: float | None, now: datetime) -> str:
    """`0/1 Running, not Ready for 25m (container up 3d)`: both clocks an SRE asks about."""
    since = age(pod.not_ready_since(), now)
    if since is None:
        return f"{pod.ready_fraction()} Running for {human_age(up_for)}, not Ready"
    return (
        f"{pod.ready_fraction()} Running, not Ready for {human_age(since)} (container up {human_age(up_for)})"
    )


def _init_problem(status: ContainerStatus) -> str:
    term = status.state.terminated
    if term is not None and term.exit_code != 0:
        return term.reason or "Error"
    waiting = status.state.waiting
    if waiting is not None and waiting.reason in BAD_WAITING:
        return waiting.reason
    if (
        status.restart_count >= 3
        and status.last_state.terminated is not None
        and status.last_state.terminated.exit_code != 0
    ):
        return "Error"
    return ""


def _not_ready_label(probe: ProbeReading | None) -> str:
    if probe is None:
        return "not ready"
    if probe.peers:
        return "not ready: BGP not established"
    if probe.component.lower().startswith("bird") and "socket" in probe.detail.lower():
        return "not ready: BIRD socket unreachable"
    if probe.component == "felix":
        return f"not {probe.kind}: Felix"
    return f"not {probe.kind}: {probe.component}"


def _state_line(status: ContainerStatus, now: datetime) -> str:
    waiting = status.state.waiting
    term = status.state.terminated
    last = status.last_state.terminated
    parts = [f"container {status.name}:"]
    if waiting is not None:
        parts.append(f"Waiting {waiting.reason}")
        if waiting.message:
            parts.append(f"“{waiting.message}”")
    elif term is not None:
        parts.append(f"Terminated {term.reason or 'Error'} exit code {term.exit_code}")
        if term.message:
            parts.append(f"“{term.message}”")
    if status.restart_count:
        parts.append(f"restarts {status.restart_count}")
    if last is not None:
        parts.append(
            f"last: {last.reason or 'Error'} exit code {last.exit_code} {human_age(age(last.finished_at, now))} ago"
        )
    return clip(" ".join(parts))


def _telling_events(events: Sequence[Event]) -> list[Event]:
    """The loudest warnings about the pod (Unhealthy, BackOff, Failed…), most repeated first."""
    telling = [e for e in events if e.type == "Warning"]
    return sorted(telling, key=lambda e: e.times, reverse=True)[:4]
