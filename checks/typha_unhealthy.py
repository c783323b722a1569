"""calico-typha unhealthy or unreachable (the runbook's "if it persists" check, and its own runbook).

Signals: typha pods crash-looping, failing image pulls, OOMKilled, not Ready past a short grace;
a typha Deployment with no ready replica; more Pending replicas than the cluster can place
(typha is hostNetwork with one replica per worker); calico-node logs that cannot reach typha on
port 5473 (`Failed to connect to typha endpoint …`), which with healthy-looking typha pods points
at the network (host firewall, security groups) rather than typha.
Trap: on clusters with fewer workers than typha replicas the extra replicas stay Pending, and that
is fine (IKS pinned 3 replicas before 1.29; the operator scales with the cluster).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from checks.common import age, event_line, human_age, node_label
from checks.model import Action, ActionKind, Finding, ObjRef, Severity, SituationId
from checks.objects import Pod
from checks.signals import BAD_WAITING, IMAGE_PULL, scan_log
from checks.snapshot import CALICO_NAMESPACES, Snapshot
from checks.worker_not_ready_kubelet import unreachable_nodes

CHECK_ID = "typha-unhealthy"
TYPHA_GRACE_SECONDS = 120
TYPHA_RUNBOOK = "calico-typha troubleshooting runbook (armada-network-calico-typha-troubleshooting)"


def _typha_trouble(pod: Pod, now: datetime) -> str:
    if pod.status.phase == "Pending":
        return ""
    main = pod.container_status("calico-typha") or (
        pod.status.container_statuses[0] if pod.status.container_statuses else None
    )
    if main is None:
        return ""
    waiting = main.state.waiting
    if waiting is not None and waiting.reason in BAD_WAITING:
        return "image pull failing" if waiting.reason in IMAGE_PULL else waiting.reason
    last = main.last_state.terminated
    if last is not None and last.reason == "OOMKilled" and (age(last.finished_at, now) or 1e9) < 3600:
        return "OOMKilled"
    running = main.state.running
    if running is not None and not main.ready:
        up = age(running.started_at, now)
        if up is None or up > TYPHA_GRACE_SECONDS:
            since = age(pod.not_ready_since(), now)
            if since is None:
                return f"0/1 Running for {human_age(up)}, not Ready"
            return f"0/1 Running, not Ready for {human_age(since)} (container up {human_age(up)})"
    return ""


def check(snapshot: Snapshot, *, now: datetime) -> list[Finding]:
    if not snapshot.calico_node_pods():
        return []  # nothing uses typha; calico-absent-everywhere speaks
    silent = {n.name for n in unreachable_nodes(snapshot)}
    typha = [p for p in snapshot.typha_pods() if p.node_name not in silent]
    evidence: list[str] = []
    objects: list[ObjRef] = []
    bad: list[str] = []
    for pod in typha:
        trouble = _typha_trouble(pod, now)
        if trouble:
            node = snapshot.node(pod.node_name)
            bad.append(pod.name)
            evidence.append(
                f"{pod.namespace}/{pod.name} on {node_label(node) if node else pod.node_name}: {trouble}"
            )
            objects.append(ObjRef(kind="Pod", name=pod.name, namespace=pod.namespace))
            evidence += [
                event_line(e, now)
                for e in snapshot.events_for("Pod", pod.name, pod.namespace)
                if e.type == "Warning"
            ][:2]

    schedulable = sum(1 for n in snapshot.nodes if not n.spec.unschedulable and n.name not in silent)
    for ns in CALICO_NAMESPACES:
        deployment = snapshot.deployment(ns, "calico-typha")
        if deployment is None:
            continue
        wanted = (
            deployment.spec.replicas if deployment.spec.replicas is not None else deployment.status.replicas
        )
        mine = [p for p in typha if p.namespace == ns]
        ready = sum(1 for p in mine if p.ready)
        pending = [p for p in mine if p.status.phase == "Pending"]
        if wanted and ready == 0:
            evidence.insert(0, f"Deployment {ns}/calico-typha: {wanted} wanted, none Ready")
            objects.append(ObjRef(kind="Deployment", name="calico-typha", namespace=ns))
            bad.append(f"{ns}/calico-typha")
        # typha is hostNetwork with one replica per worker: replicas beyond the workers stay Pending
        expected_pending = max(0, (wanted or 0) - schedulable)
        if len(pending) > expected_pending:
            bad.append(f"{ns}/calico-typha pending")
            reason = pending[0].status.message or pending[0].status.reason
            evidence.append(
                f"{len(pending)} typha replica(s) Pending in {ns} although {schedulable} schedulable workers "
                f"could hold {wanted} replicas" + (f": {reason}" if reason else "")
            )

    unreachable_from: list[str] = []
    sample = ""
    for log in snapshot.logs:
        if not log.pod.startswith("calico-node"):
            continue
        for hit in scan_log(log.text):
            if hit.signature == "typha-unreachable":
                unreachable_from.append(log.pod)
                sample = sample or hit.line
    unreachable_from = list(dict.fromkeys(unreachable_from))
    if unreachable_from:
        evidence.append(
            f"{len(unreachable_from)} calico-node pods logged that typha is unreachable: {sample}"
        )

    if not bad and not unreachable_from:
        return []
    severity = Severity.CRITICAL if bad else Severity.WARNING
    if bad:
        title = f"calico-typha is unhealthy ({len(bad)} problem{'s' if len(bad) > 1 else ''})"
        detail = (
            "calico-node pods connect to typha for their configuration; unhealthy typha affects every worker "
            f"that uses it. Follow the {TYPHA_RUNBOOK}."
        )
    else:
        title = "calico-node cannot reach calico-typha although the typha pods look healthy"
        detail = (
            "Typha is Ready but calico-node on some workers cannot connect to it on port 5473: look at host "
            "firewalls, VPC security groups / ACLs or a gateway between those workers and the typha workers."
        )
    return [
        Finding(
            check=CHECK_ID,
            situation=SituationId.TYPHA_UNHEALTHY,
            severity=severity,
            title=title,
            detail=detail,
            evidence=tuple(evidence),
            objects=tuple(objects),
            runbook_section="calico-node Pod Not Running on One or a Few Customer Workers",
        )
    ]


def propose(findings: Sequence[Finding], snapshot: Snapshot) -> list[Action]:
    pods = [ref for f in findings for ref in f.objects if ref.kind == "Pod"]
    actions = [
        Action.propose(ActionKind.GATHER, f"{p.namespace}/{p.name}", "typha pod state and logs")
        for p in pods[:3]
    ]
    actions.append(Action.propose(ActionKind.ESCALATE, snapshot.cluster, f"follow the {TYPHA_RUNBOOK}"))
    return actions
