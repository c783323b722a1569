"""Why calico-node is bad on each worker: the shared analysis behind the per-worker situations.

For every worker the kubelet still reports on, one `PodTrouble` when calico-node there is not
literally healthy. Failing (critical): a container waiting in CrashLoopBackOff / image pull /
config errors, an init container failing or stuck (install-cni, upgrade-ipam, flexvol-driver,
mount-bpffs, calico-extension…), a container terminated, `0/1 Running` past the start-up grace,
restarting often, OOMKilled or killed (exit code 137) within the last hour, Pending, stuck
Terminating, no calico-node pod where the DaemonSet wants one, or the Calico CNI failing for other
pods on the worker. Looks fine but is not (warning): restarted within the last day, probe
failures or back-offs in its events, a catalogued error signature in its logs.

Evidence, decisive first: the catalogued log lines, the probe failures (the kubelet's words), the
last error lines of each failing container's log (even when no signature matches), the container
states, then the other warning events.

Traps handled here: pods on a worker whose kubelet is silent keep a stale status and are skipped;
`0/1 Running` within `STARTUP_GRACE_SECONDS` of a start is normal *only* when there is no adverse
evidence at all (no restart, no warning event, no error line); a restart long ago is history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from checks.catalog import BY_ID, Scope
from checks.common import age, clip, event_line, grouped_event_lines, human_age, unreachable_nodes
from checks.logscan import (
    RANK,
    LogHit,
    error_lines,
    last_words,
    lead_up,
    level_of,
    line_time,
    scan,
    scan_message,
)
from checks.model import Severity
from checks.objects import ContainerStatus, Event, Pod
from checks.signals import (
    BAD_WAITING,
    IMAGE_PULL,
    ProbeReading,
    about_pod_network,
    read_probe,
    suspicious_interface,
)
from checks.snapshot import ContainerLog, Read, Snapshot

STARTUP_GRACE_SECONDS = 300
"""calico-node may be 0/1 Running this long after a start (the operator's startup probe allows 300 s)."""
RESTARTS_OFTEN = 5
RECENT_RESTART_SECONDS = 3600
"""A restart within this long is happening now (critical when it keeps happening)."""
RESTART_MEMORY_SECONDS = 86400
"""A restart within this long is still worth a warning on a pod that is Ready again."""
EVENT_WINDOW_SECONDS = 3600
"""Events seen within this long of the judged moment speak for the present (the apiserver's event TTL)."""
STUCK_TERMINATING_SECONDS = 300
STARTUP_EVENTS_SECONDS = 120
"""Probe failures of a pod that is Ready now, seen within this long of its start, were its start-up."""
MOST_SHARE = 0.5
"""Above this share of workers (and at least MOST_MIN workers) it is "most workers", not "a few"."""
MOST_MIN = 3
LARGE_SUBSET_SHARE = 0.3
SANDBOX_REASONS = frozenset({"FailedCreatePodSandBox", "FailedKillPod", "NetworkNotReady"})
FAILING, RESTARTING, RUNNING = "failing", "restarting", "running"
UNKNOWN_WORKER = "(worker not named)"
CNI_SAYS_CALICO_NODE_IS_DOWN = frozenset({"cni-nodename"})
"""CNI errors that mean calico-node is not running on the worker (the others can fail beside a running one)."""
PROBE_FAILURES = ("probe failed", "probe errored")


@dataclass(frozen=True)
class PodTrouble:
    node: str
    pod: Pod | None
    reasons: tuple[str, ...]
    evidence: tuple[str, ...]
    severity: Severity = Severity.CRITICAL
    """CRITICAL when calico-node is failing now; WARNING when it looks fine but the evidence says otherwise."""
    probe: ProbeReading | None = None
    log_hits: tuple[LogHit, ...] = ()
    """Every signature hit of the pod's logs and of the CNI errors on its worker (cleared ones too)."""
    kind: str = FAILING
    """FAILING (not running right now), RESTARTING (Ready again, or starting, after trouble) or RUNNING
    (Ready and steady, but its probes, events or logs complain: not a runbook worker section)."""

    @property
    def failing(self) -> bool:
        return self.kind == FAILING

    @property
    def in_worker_sections(self) -> bool:
        """Whether the runbook's worker sections (one or a few / most or all) take this trouble."""
        return self.kind != RUNNING

    @property
    def bgp_not_established_only(self) -> bool:
        """Running, not Ready, and the only complaint is BGP not established (the 1.29 migration's sign)."""
        return (
            self.probe is not None
            and bool(self.probe.peers)
            and self.reasons == ("not ready: BGP not established",)
        )

    def hits(self, *scopes: Scope) -> list[LogHit]:
        """The live (not cleared) hits whose signature points at one of `scopes`."""
        return [h for h in self.log_hits if not h.cleared and BY_ID[h.signature].scope in scopes]


def analyse(snapshot: Snapshot, *, now: datetime) -> tuple[list[PodTrouble], int]:
    """(troubles, workers judged). Workers with a silent kubelet are not judged."""
    key = ("calico_pods.analyse", now)
    if key not in snapshot.memo:
        snapshot.memo[key] = _analyse(snapshot, now)
    troubles, judged = snapshot.memo[key]
    return list(troubles), judged


def live_hits(snapshot: Snapshot, pod: Pod | None, log: ContainerLog) -> list[LogHit]:
    """The signature hits of a log that speak for the present.

    Not cleared by a later line (typha reconnected), and — for a pod that is Ready now — not written
    before it became Ready (a fixed BGP secret leaves confd's old complaint in the log's tail).
    """
    key = ("calico_pods.live_hits", id(log))
    if key in snapshot.memo:
        cached: list[LogHit] = snapshot.memo[key]
        return cached
    ready_since = _ready_since(pod) if pod is not None else None
    found = []
    for hit in scan(log.text):
        if hit.cleared:
            continue
        written = line_time(hit.line)
        if ready_since is not None and written is not None and written < ready_since:
            continue
        found.append(hit)
    snapshot.memo[key] = found
    return found


def _ready_since(pod: Pod) -> datetime | None:
    for cond in pod.status.conditions:
        if cond.type == "Ready":
            return cond.last_transition_time if cond.status == "True" else None
    return None


ROLLOUT_SHARE = 0.1
"""A DaemonSet rollout restarts calico-node on one worker at a time (maxUnavailable 1, or a small share):
fresh CalicoIsDown on more workers than that at once is calico-node going down everywhere, not a rollout."""
CALICO_DOWN_FRESH_SECONDS = 300


def calico_down_at_once(snapshot: Snapshot, now: datetime) -> frozenset[str]:
    """Workers with a fresh CalicoIsDown, when more of them have it at once than any rollout would cause."""
    key = ("calico_pods.calico_down_at_once", now)
    if key not in snapshot.memo:
        fresh = []
        for node in snapshot.nodes:
            cond = node.condition("NetworkUnavailable")
            if cond is None or cond.status != "True" or cond.reason != "CalicoIsDown":
                continue
            down_for = age(cond.last_transition_time, now)
            if down_for is not None and down_for < CALICO_DOWN_FRESH_SECONDS:
                fresh.append(node.name)
        rollout = len(fresh) <= max(1, int(len(snapshot.nodes) * ROLLOUT_SHARE))
        snapshot.memo[key] = frozenset() if rollout else frozenset(fresh)
    result: frozenset[str] = snapshot.memo[key]
    return result


def worker_troubles(snapshot: Snapshot, *, now: datetime) -> tuple[list[PodTrouble], int]:
    """The troubles the runbook's worker sections take (not "Ready and steady but complaining")."""
    troubles, judged = analyse(snapshot, now=now)
    return [t for t in troubles if t.in_worker_sections], judged


def component_troubles(snapshot: Snapshot, component: str, *, now: datetime) -> list[PodTrouble]:
    """The same judgement for the pods of another Calico component (calico-kube-controllers, the operator)."""
    silent = {n.name for n in unreachable_nodes(snapshot)}
    found = []
    for pod in snapshot.component_pods(component):
        if pod.node_name in silent:
            continue
        trouble = _pod_trouble(snapshot, pod, now)
        if trouble is not None:
            found.append(trouble)
    return found


def is_most(bad_workers: int, judged_workers: int) -> bool:
    """Most or all workers affected (runbook: CrashLoopBackOff on most or all workers).

    Every worker of the cluster counts as "all" whatever its size (one or two workers included).
    """
    if judged_workers == 0 or bad_workers == 0:
        return False
    if bad_workers == judged_workers:
        return True
    share = bad_workers / judged_workers
    return (bad_workers >= MOST_MIN and share > LARGE_SUBSET_SHARE) or (
        share > MOST_SHARE and bad_workers >= 2 and judged_workers <= 3
    )


# --- per worker ----------------------------------------------------------------------------------


def _analyse(snapshot: Snapshot, now: datetime) -> tuple[tuple[PodTrouble, ...], int]:
    silent = {n.name for n in unreachable_nodes(snapshot)}
    judged = [n for n in snapshot.nodes if n.name not in silent]
    pods_by_node: dict[str, list[Pod]] = defaultdict(list)
    for pod in snapshot.calico_node_pods():
        pods_by_node[pod.node_name].append(pod)
    missing_pod = _nodes_missing_their_pod(snapshot, [n.name for n in judged], pods_by_node)
    sandbox = cni_failures_by_node(snapshot, now)
    troubles: list[PodTrouble] = []
    for node in judged:
        cni = sandbox.get(node.name, [])
        found: list[PodTrouble] = []
        if node.name in missing_pod:
            found.append(
                PodTrouble(
                    node=node.name,
                    pod=None,
                    reasons=("no calico-node pod on this worker",),
                    evidence=(missing_pod[node.name],),
                )
            )
        for pod in pods_by_node.get(node.name, []):
            trouble = _pod_trouble(snapshot, pod, now)
            if trouble is not None:
                found.append(trouble)
        if cni and pods_by_node:  # with calico-node nowhere, calico-absent-everywhere quotes them
            found = _with_cni_failures(found, node.name, pods_by_node.get(node.name, []), cni, now)
        troubles += found
    return tuple(troubles), len(judged)


def _nodes_missing_their_pod(
    snapshot: Snapshot, judged: Sequence[str], pods_by_node: dict[str, list[Pod]]
) -> dict[str, str]:
    """Workers without a calico-node pod where a calico-node DaemonSet says it wants one.

    Only claimed when the DaemonSets were read and their status counts more wanted pods than exist
    (a dump without the DaemonSet, or a migration window where each DaemonSet serves part of the
    workers, must not turn into "calico-node missing" on every worker).
    """
    if not pods_by_node or not snapshot.read_ok(Read.DAEMONSETS):
        return {}
    without = [name for name in judged if name not in pods_by_node and _runs_calico(snapshot, name)]
    if not without:
        return {}
    daemonsets = snapshot.calico_daemonsets()
    if not daemonsets:  # pods without their DaemonSet: the others' pods are the only yardstick
        line = "no pod of calico-node is scheduled on this worker, while the other workers have one"
        return dict.fromkeys(without, line)
    desired = sum(ds.status.desired_number_scheduled for ds in daemonsets)
    existing = sum(len(pods) for pods in pods_by_node.values())
    deficit = desired - existing
    if deficit <= 0 or len(without) > deficit:
        return {}
    names = ", ".join(f"{ds.metadata.namespace}/{ds.metadata.name}" for ds in daemonsets)
    counts = ", ".join(
        f"desired {ds.status.desired_number_scheduled}, current {ds.status.current_number_scheduled}"
        for ds in daemonsets
    )
    line = f"DaemonSet {names} ({counts}) has no calico-node pod on this worker"
    return dict.fromkeys(without, line)


def _runs_calico(snapshot: Snapshot, name: str) -> bool:
    """Whether calico-node belongs on this node at all (not a Windows or virtual node)."""
    node = snapshot.node(name)
    if node is None:
        return True
    labels = node.metadata.labels
    return labels.get("kubernetes.io/os", "linux") == "linux" and labels.get("type") != "virtual-kubelet"


@dataclass
class _Reading:
    """What one pod's status, events and logs say, gathered before deciding."""

    critical: list[tuple[str, str]] = field(default_factory=list)  # (reason, evidence line): failing now
    warning: list[tuple[str, str]] = field(
        default_factory=list
    )  # restarted lately, or not Ready while starting
    running: list[tuple[str, str]] = field(default_factory=list)  # Ready and steady, yet probes/logs complain
    running_critical: bool = False
    failing_containers: list[str] = field(default_factory=list)


def _pod_trouble(snapshot: Snapshot, pod: Pod, now: datetime) -> PodTrouble | None:
    reading = _Reading()
    events = list(snapshot.events_for("Pod", pod.name, pod.namespace))
    recent = [e for e in events if _recent(e, now)]
    probe = _probe_reading(recent)
    logs = snapshot.logs_for(pod.namespace, pod.name)
    hits = [h for log in logs for h in scan(log.text)]
    live = [h for log in logs for h in live_hits(snapshot, pod, log)]
    worker_hits = [h for h in live if BY_ID[h.signature].scope == Scope.WORKER]
    error_in_logs = any(level_of(h.line) in ("error", "fatal") for h in worker_hits) or any(
        BY_ID[h.signature].severity == Severity.CRITICAL for h in worker_hits
    )
    adverse = (
        any(_restarted_within(s, now, RESTART_MEMORY_SECONDS) for s in _all_statuses(pod))
        or any(e.type == "Warning" for e in recent)
        or error_in_logs
        or pod.node_name in calico_down_at_once(snapshot, now)
    )

    for init in pod.status.init_container_statuses:
        problem = _init_problem(init, now)
        if problem:
            reading.critical.append((f"Init:{problem} ({init.name})", _state_line(init, now)))
            reading.failing_containers.append(init.name)

    main_name = "calico-node" if pod.container_status("calico-node") else ""
    for status in pod.status.container_statuses:
        _container(reading, pod, status, now, adverse, probe, is_main=status.name in (main_name, ""))

    if pod.status.phase == "Pending" and not pod.status.container_statuses:
        why = pod.status.message or pod.status.reason or "not scheduled or not started"
        reading.critical.append(("Pending", clip(f"Pending: {why}")))
    elif pod.status.phase == "Failed":
        reading.critical.append(
            (
                f"Failed ({pod.status.reason or 'pod failed'})",
                clip(f"Failed: {pod.status.reason} {pod.status.message}"),
            )
        )
    lived = age(pod.metadata.creation_timestamp or pod.status.start_time, now)
    if (
        not reading.critical
        and not pod.ready
        and pod.status.container_statuses
        and not any(status.state.running for status in _all_statuses(pod))
        and pod.metadata.deletion_timestamp is None
        and lived is not None
        and lived > STARTUP_GRACE_SECONDS
    ):
        # nothing has started, nothing has failed either: waiting (PodInitializing, no sandbox, a
        # volume) past the start-up grace is as broken as a crash — its events say why
        shown = pod.display_status()
        reading.critical.append(
            (f"stuck in {shown}", f"{shown} for {human_age(lived)}: none of its containers has started")
        )
    deleting = age(pod.metadata.deletion_timestamp, now)
    if deleting is not None and deleting > STUCK_TERMINATING_SECONDS:
        reading.critical.append(("stuck Terminating", f"Terminating for {human_age(deleting)}"))

    if not reading.critical and not reading.warning and not pod.ready and adverse:
        # still starting (init containers, image, …) but not as a quiet start is: not "normal"
        reading.warning.append((f"not Ready yet ({pod.display_status()})", ""))
    if not reading.critical:
        _looks_fine_but(reading, pod, recent, worker_hits, hits)
        _errors_while_ready(reading, pod, logs, hits)
    if reading.critical:
        kind, severity, chosen = FAILING, Severity.CRITICAL, reading.critical
    elif reading.warning:
        kind, severity, chosen = RESTARTING, Severity.WARNING, reading.warning + reading.running
    elif reading.running:
        severity = Severity.CRITICAL if reading.running_critical else Severity.WARNING
        kind, chosen = RUNNING, reading.running
    else:
        return None
    evidence = _evidence(pod, chosen, reading.failing_containers, logs, hits, recent, now)
    return PodTrouble(
        node=pod.node_name,
        pod=pod,
        reasons=tuple(dict.fromkeys(reason for reason, _line in chosen)),
        evidence=evidence,
        severity=severity,
        probe=probe,
        log_hits=tuple(hits),
        kind=kind,
    )


def _container(
    reading: _Reading,
    pod: Pod,
    status: ContainerStatus,
    now: datetime,
    adverse: bool,
    probe: ProbeReading | None,
    *,
    is_main: bool,
) -> None:
    """The problems of one (non-init) container, appended to `reading`."""
    name = status.name
    waiting, running, terminated = status.state.waiting, status.state.running, status.state.terminated
    failing_before = len(reading.critical)
    if waiting is not None and waiting.reason in BAD_WAITING:
        label = "image pull failing" if waiting.reason in IMAGE_PULL else waiting.reason
        reading.critical.append((label if is_main else f"{label} ({name})", _state_line(status, now)))
    elif waiting is not None and waiting.reason == "ContainerCreating":
        created = age(pod.metadata.creation_timestamp, now)
        if adverse or created is None or created > STARTUP_GRACE_SECONDS:
            reading.critical.append(("stuck in ContainerCreating", _state_line(status, now)))
    elif terminated is not None and (terminated.exit_code != 0 or status.restart_count):
        reading.critical.append(
            (
                f"terminated ({terminated.reason or 'Error'} exit code {terminated.exit_code})",
                _state_line(status, now),
            )
        )
    if running is not None and not status.ready:
        up_for = age(running.started_at, now)
        label = _not_ready_label(probe) if is_main else f"not ready ({name})"
        if up_for is None or up_for > STARTUP_GRACE_SECONDS:
            reading.critical.append((label, _not_ready_line(pod, status, up_for, now)))
        elif adverse:  # still starting, but a probe failed, it restarted or it logs errors: not "normal"
            reading.warning.append(
                (
                    f"{label} while starting ({human_age(up_for)} up)",
                    _not_ready_line(pod, status, up_for, now),
                )
            )
    last = status.last_state.terminated
    since = age(last.finished_at, now) if last is not None else None
    if last is not None and since is not None and since < RESTART_MEMORY_SECONDS:
        killed = _killed(last.reason, last.exit_code)
        line = (
            f"container {name}: {status.restart_count} restart{'s' if status.restart_count != 1 else ''}, "
            f"last {human_age(since)} ago: {last.reason or 'Error'} exit code {last.exit_code}"
            + (f" ({killed})" if killed else "")
        )
        now_failing = since < RECENT_RESTART_SECONDS and (
            status.restart_count >= RESTARTS_OFTEN or bool(killed) or not status.ready
        )
        already = any("CrashLoop" in r for r, _l in reading.critical[failing_before:])
        if now_failing and not already:
            label = (
                "OOMKilled"
                if last.reason == "OOMKilled"
                else (
                    "killed (exit code 137)"
                    if killed
                    else f"restarting often ({status.restart_count} restarts)"
                )
            )
            reading.critical.append((label if is_main else f"{label} ({name})", line))
        elif not already:
            reading.warning.append((f"restarted {human_age(since)} ago ({name})", line))
    elif (
        status.restart_count
        and since is None
        and not reading.critical[failing_before:]
        and _restart_rate_is_high(pod, status.restart_count, now)
    ):
        # restarts with no record of when (a report's `kubectl get pods`, a trimmed dump): their rate
        # over the pod's life tells a restarting pod from one that restarted a few times in months;
        # with no time they are not "restarting now" (not the worker sections' scope), but they count
        reading.running.append(
            (
                f"restarted {status.restart_count} time{'s' if status.restart_count != 1 else ''} ({name})",
                f"container {name}: {status.restart_count} restarts, when the last one was is not recorded",
            )
        )
    if len(reading.critical) > failing_before:
        reading.failing_containers.append(name)


def _errors_while_ready(
    reading: _Reading, pod: Pod, logs: Sequence[ContainerLog], hits: Sequence[LogHit]
) -> None:
    """ERROR and FATAL lines in the current log of a pod that looks fine, written after it last
    turned Ready, count (issue #9: "FATAL/ERROR log lines always count"); lines a catalogued cause
    reports elsewhere (Typha, the BGP secret, MTU, IPAM) are left to that finding."""
    ready_since = _ready_since(pod)
    elsewhere = {h.line for h in hits if BY_ID[h.signature].scope not in (Scope.WORKER, Scope.INFO)}
    for log in logs:
        if log.previous:
            continue
        for line in error_lines(log.text, limit=2, min_rank=RANK["error"]):
            written = line_time(line)
            if line in elsewhere or (
                ready_since is not None and written is not None and written < ready_since
            ):
                continue
            reading.running.append(("errors in its log", f"log {log.container}: {line}"))


def _looks_fine_but(
    reading: _Reading,
    pod: Pod,
    recent: Sequence[Event],
    worker_hits: Sequence[LogHit],
    hits: Sequence[LogHit],
) -> None:
    """A pod whose status looks fine: probe failures, back-offs and error signatures still count."""
    started = _started(pod)
    ready_since = _ready_since(pod)
    # a Ready pod's probe failures while it was starting, or before it last turned Ready, are history
    recent = [e for e in recent if not _before(e, ready_since)]
    probes = [
        e
        for e in recent
        if e.reason == "Unhealthy" and _is_probe_failure(e.message) and not _during_startup(e, started)
    ]
    if probes:
        kinds = sorted({_probe_kind(e.message) for e in probes})
        reading.running.append((f"{' and '.join(kinds)} probe failures in its events", ""))
    for event in recent:
        if event.reason in ("BackOff", "Killing", "Failed", "FailedMount") and event.type == "Warning":
            reading.running.append((f"{event.reason} events", ""))
    for hit in worker_hits:
        sig = BY_ID[hit.signature]
        reading.running.append((sig.meaning, ""))
        reading.running_critical |= sig.severity == Severity.CRITICAL
    for hit in hits:
        if hit.signature == "autodetected-interface" and suspicious_interface(hit.group.get("iface", "")):
            reading.running.append(
                (
                    f"calico-node uses interface {hit.group.get('iface')} for its address (not a worker NIC)",
                    "",
                )
            )


def _evidence(
    pod: Pod,
    chosen: Sequence[tuple[str, str]],
    failing: Sequence[str],
    logs: Sequence[ContainerLog],
    hits: Sequence[LogHit],
    recent: Sequence[Event],
    now: datetime,
) -> tuple[str, ...]:
    """Decisive lines first: the pod as `kubectl get pods` shows it, signature hits, probe failures,
    failing containers' errors and last words, states, then the other warning events."""
    lines: list[str] = [_pod_line(pod, now)]
    quoted: set[str] = set()
    live = [h for h in hits if not h.cleared and BY_ID[h.signature].scope != Scope.INFO]
    for hit in live[-6:]:
        which = _which(logs, hit)
        if level_of(hit.line) == "fatal":  # what it ran into before it gave up, when it said so
            text = next((log.text for log in logs if hit.line in log.text), "")
            cause = lead_up(text, hit.line)
            if cause and cause not in quoted:
                lines.append(f"log {which}: {cause}")
                quoted.add(cause)
        lines.append(f"log {which}: {hit.line}")
        quoted.add(hit.line)
    for hit in hits:
        if hit.signature == "autodetected-interface" and suspicious_interface(hit.group.get("iface", "")):
            lines.append(f"log {_which(logs, hit)}: {hit.line}")
    lines += grouped_event_lines((e for e in recent if e.reason == "Unhealthy"), now, limit=3)
    for container in dict.fromkeys(failing):
        for log in _logs_of(logs, container):
            which = f"{container}{' (previous)' if log.previous else ''}"
            # its errors, then the last lines it wrote before it stopped (a panic's cause is often INFO)
            for line in [*error_lines(log.text, limit=3), *last_words(log.text, limit=3)]:
                if line not in quoted:
                    quoted.add(line)
                    lines.append(f"log {which}: {line}")
            break  # the newest log of the container is enough
    states = [line for _reason, line in chosen if line]
    # the kubelet's Killing (a liveness kill) is a Normal event, and as telling as the warnings
    others = [e for e in recent if e.reason != "Unhealthy" and (e.type == "Warning" or e.reason == "Killing")]
    events = grouped_event_lines(others, now, limit=3)
    if any(log.text.strip() for log in logs):
        lines += states + events
    else:  # nothing it ran has written a line (no sandbox, no image, a mount): its events say why
        lines += events + states
    return tuple(dict.fromkeys(lines))


def _pod_line(pod: Pod, now: datetime) -> str:
    """`kube-system/calico-node-5mcc8 on node-04: 0/1 CrashLoopBackOff, 21 restarts, age 3d`."""
    started = age(pod.metadata.creation_timestamp or pod.status.start_time, now)
    return (
        f"{pod.namespace}/{pod.name} on {pod.node_name or 'no worker'}: {pod.ready_fraction()} "
        f"{pod.display_status()}, {pod.restart_count} restart{'s' if pod.restart_count != 1 else ''}"
        + (f", age {human_age(started)}" if started is not None else "")
    )


def _which(logs: Sequence[ContainerLog], hit: LogHit) -> str:
    for log in logs:
        if hit.line in log.text:
            return f"{log.container}{' (previous)' if log.previous else ''}"
    return "calico-node"


def _logs_of(logs: Sequence[ContainerLog], container: str) -> list[ContainerLog]:
    """A container's logs, the current one first (for a crash-looping container it is the last crash)."""
    return sorted((log for log in logs if log.container == container), key=lambda log: log.previous)


# --- the Calico CNI as other pods see it ----------------------------------------------------------


@dataclass(frozen=True)
class CniFailure:
    event: Event
    hits: tuple[LogHit, ...]


def cni_failures_by_node(snapshot: Snapshot, now: datetime) -> dict[str, list[CniFailure]]:
    """Sandbox-creation failures of any pod that name the Calico CNI, by the worker that reported them."""
    key = ("cni_failures_by_node", now)
    if key in snapshot.memo:
        result: dict[str, list[CniFailure]] = snapshot.memo[key]
        return result
    found: dict[str, list[CniFailure]] = defaultdict(list)
    # in a cluster that runs Calico, a pod-network failure of the CNI is Calico's CNI
    calico_runs = bool(snapshot.calico_node_pods() or snapshot.calico_daemonsets()) or any(
        "calico" in e.message.lower() for e in snapshot.events if e.reason in SANDBOX_REASONS
    )
    for event in snapshot.events:
        if (
            event.reason not in SANDBOX_REASONS
            or not about_pod_network(event.message)
            or not _recent(event, now)
        ):
            continue
        hits = tuple(
            h
            for h in scan_message(event.message)
            if BY_ID[h.signature].family in ("cni", "datastore", "ipam", "rbac")
        )
        if not hits or not calico_runs:
            continue
        node = event.host or _node_of_pod(snapshot, event) or UNKNOWN_WORKER
        found[node].append(CniFailure(event, hits))
    snapshot.memo[key] = dict(found)
    return dict(found)


def _node_of_pod(snapshot: Snapshot, event: Event) -> str:
    for pod in snapshot.pods:
        if pod.name == event.involved_object.name and pod.namespace == event.involved_object.namespace:
            return pod.node_name
    return ""


def _with_cni_failures(
    found: list[PodTrouble], node: str, pods: Sequence[Pod], cni: Sequence[CniFailure], now: datetime
) -> list[PodTrouble]:
    """Add what other pods' sandbox failures say to the worker's trouble (or make one)."""
    worst = sorted(cni, key=lambda f: f.event.times, reverse=True)
    lines = [
        event_line(f.event, now)
        + f" (pod {f.event.involved_object.namespace}/{f.event.involved_object.name})"
        for f in worst[:3]
    ]
    hits = tuple(h for f in worst for h in f.hits)
    worker_hits = [h for h in hits if BY_ID[h.signature].scope == Scope.WORKER]
    if found:
        first = found[0]
        found[0] = PodTrouble(
            node=first.node,
            pod=first.pod,
            reasons=first.reasons,
            evidence=(*first.evidence, *lines),
            severity=first.severity if not worker_hits else Severity.CRITICAL,
            probe=first.probe,
            log_hits=(*first.log_hits, *hits),
            kind=first.kind if not worker_hits else FAILING,
        )
        return found
    absent_here = [h for h in worker_hits if h.signature in CNI_SAYS_CALICO_NODE_IS_DOWN]
    if not absent_here:
        # calico-node looks fine here, yet the CNI fails (RBAC, tokens, IPAM): checks.other reports it
        return found
    meaning = BY_ID[absent_here[0].signature].meaning
    return [
        PodTrouble(
            node=node,
            pod=pods[0] if pods else None,
            reasons=(f"pods on this worker get no network: {meaning}",),
            evidence=tuple(lines),
            severity=Severity.CRITICAL,
            log_hits=hits,
        )
    ]


# --- small readers -----------------------------------------------------------------------------


def _all_statuses(pod: Pod) -> Iterable[ContainerStatus]:
    return (*pod.status.init_container_statuses, *pod.status.container_statuses)


def _started(pod: Pod) -> datetime | None:
    """When the pod's containers last started (the newest start of its running containers)."""
    starts = [
        s.state.running.started_at
        for s in pod.status.container_statuses
        if s.state.running and s.state.running.started_at
    ]
    return max(starts) if starts else None


def _before(event: Event, moment: datetime | None) -> bool:
    return moment is not None and event.last_seen is not None and event.last_seen <= moment


def _during_startup(event: Event, started: datetime | None) -> bool:
    if started is None or event.last_seen is None:
        return False
    return (event.last_seen - started).total_seconds() < STARTUP_EVENTS_SECONDS


def _recent(event: Event, now: datetime) -> bool:
    seen = age(event.last_seen, now)
    return seen is None or seen < EVENT_WINDOW_SECONDS


def _restarted_within(status: ContainerStatus, now: datetime, seconds: float) -> bool:
    last = status.last_state.terminated
    if status.restart_count == 0:
        return False
    since = age(last.finished_at, now) if last is not None else None
    return since is None or since < seconds


RESTARTS_PER_DAY = 1.0


def _restart_rate_is_high(pod: Pod, restarts: int, now: datetime) -> bool:
    """More than RESTARTS_PER_DAY restarts per day of the pod's life (its age unknown: any restart)."""
    lived = age(pod.metadata.creation_timestamp or pod.status.start_time, now)
    if lived is None or lived <= 0:
        return True
    return restarts / max(lived / 86400, 1 / 24) > RESTARTS_PER_DAY


def _killed(reason: str, exit_code: int) -> str:
    if reason == "OOMKilled":
        return "out of memory"
    if exit_code == 137:
        return "killed: a failed liveness probe or SIGKILL"
    return ""


def _is_probe_failure(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in PROBE_FAILURES)


def _probe_kind(message: str) -> str:
    for kind in ("Liveness", "Readiness", "Startup"):
        if kind in message:
            return kind.lower()
    return "probe"


def _probe_reading(events: Sequence[Event]) -> ProbeReading | None:
    probe: ProbeReading | None = None
    for event in events:
        reading = read_probe(event.message) if event.reason == "Unhealthy" else None
        if reading is not None and (probe is None or reading.peers):
            probe = reading
    return probe


def _init_problem(status: ContainerStatus, now: datetime) -> str:
    term = status.state.terminated
    if term is not None and term.exit_code != 0:
        return term.reason or "Error"
    waiting = status.state.waiting
    if waiting is not None and waiting.reason in BAD_WAITING:
        return waiting.reason
    running = status.state.running
    if running is not None:
        up = age(running.started_at, now)
        if up is not None and up > STARTUP_GRACE_SECONDS:
            return f"running for {human_age(up)}"
    last = status.last_state.terminated
    if status.restart_count >= 1 and last is not None and last.exit_code != 0 and term is None:
        return "Error"
    return ""


def _not_ready_line(pod: Pod, status: ContainerStatus, up_for: float | None, now: datetime) -> str:
    """`0/1 Running, not Ready for 25m (container up 3d)`: both clocks an SRE asks about."""
    since = age(pod.not_ready_since(), now)
    who = "" if status.name == "calico-node" else f" ({status.name})"
    if since is None:
        return f"{pod.ready_fraction()} Running for {human_age(up_for)}, not Ready{who}"
    return f"{pod.ready_fraction()} Running, not Ready for {human_age(since)} (container up {human_age(up_for)}){who}"


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
    elif status.state.running is not None:
        parts.append(f"Running{'' if status.ready else ', not Ready'}")
    if status.restart_count:
        parts.append(f"restarts {status.restart_count}")
    if last is not None:
        parts.append(
            f"last: {last.reason or 'Error'} exit code {last.exit_code} {human_age(age(last.finished_at, now))} ago"
        )
        if last.message:
            parts.append(f"“{last.message}”")
    return clip(" ".join(parts), 2000)
