"""Runbook "Reason 1": the worker's kubelet stopped talking to the master. Not a Calico problem.

Signals: Ready `Unknown` (`NodeStatusUnknown`, "Kubelet stopped posting node status."), the
`node.kubernetes.io/unreachable` taints, a node Lease that stopped being renewed, and flapping
(repeated `NodeNotReady` / `Starting` events, or a Ready transition that keeps coming back).
Trap: pods on an unreachable worker keep their last status, so calico-node there is not judged.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from checks import calico_pods
from checks.common import (
    UNREACHABLE_TAINT,
    age,
    condition_line,
    event_line,
    human_age,
    network_not_ready,
    node_label,
    node_line,
    unreachable_nodes,
)
from checks.model import Finding, ObjRef, RunbookSection, Severity, SituationId
from checks.objects import Node
from checks.snapshot import Read, Snapshot

CHECK_ID = "worker-not-ready-kubelet"
NOT_READY_GRACE_SECONDS = 60
"""Ready False younger than this is a worker starting up (kubelet restart, reboot)."""
LEASE_STALE_SECONDS = 120
"""A lease not renewed for this long while Ready still says True: the kubelet has gone quiet."""
FLAP_MIN_NOT_READY = 2
"""At least this many NodeNotReady (or kubelet Starting) occurrences in the event window = flapping."""
WORKER_DOCS = "follow the worker troubleshooting docs (worker Critical/NotReady): this is the worker's link to the master, which does not use Calico"


def check(snapshot: Snapshot, *, now: datetime) -> list[Finding]:
    findings: list[Finding] = []
    down = unreachable_nodes(snapshot)
    down_names = {n.name for n in down}
    for node in down:
        ready = node.condition("Ready")
        evidence = [node_line(node, now)]
        evidence += [condition_line(ready, now)] if ready is not None else []
        taints = [f"taint {t.key}:{t.effect}" for t in node.spec.taints if t.key == UNREACHABLE_TAINT]
        evidence += taints
        lease = snapshot.lease(node.name)
        if lease is not None and lease.spec.renew_time is not None:
            evidence.append(f"node lease last renewed {human_age(age(lease.spec.renew_time, now))} ago")
        findings.append(
            Finding(
                check=CHECK_ID,
                situation=SituationId.WORKER_NOT_READY_KUBELET,
                severity=Severity.CRITICAL,
                title=f"Worker {node_label(node)} is NotReady: the kubelet stopped posting node status",
                detail=f"Not a Calico problem: {WORKER_DOCS}. calico-node on this worker is not judged "
                "from its pod status, which is stale while the kubelet is silent.",
                evidence=tuple(evidence),
                objects=(ObjRef(kind="Node", name=node.name),),
                runbook_section=RunbookSection.REASON_1.value,
            )
        )
    findings += _not_ready_for_other_reasons(snapshot, now, down_names)
    findings += _stale_leases(snapshot, now, down_names)
    findings += _flapping(snapshot, now, down_names)
    findings += _zone_outages(snapshot, down)
    if not snapshot.read_ok(Read.NODE_EVENTS):
        findings.append(
            Finding(
                check=CHECK_ID,
                situation=SituationId.WORKER_NOT_READY_KUBELET,
                severity=Severity.UNKNOWN,
                title="worker flapping not judged",
                detail=snapshot.read_problem(Read.NODE_EVENTS),
            )
        )
    return findings


def _not_ready_for_other_reasons(snapshot: Snapshot, now: datetime, skip: set[str]) -> list[Finding]:
    """Ready False for a reason of the worker's own (PLEG, runtime, disk…): not Calico, still NotReady.

    The kubelet's message names the reason; a network (CNI) message is calico-down-on-worker's, and
    so is an empty message on a worker whose calico-node is failing.
    """
    failing = {t.node for t in calico_pods.analyse(snapshot, now=now)[0] if t.failing}
    findings = []
    for node in snapshot.nodes:
        ready = node.condition("Ready")
        if node.name in skip or ready is None or ready.status != "False" or network_not_ready(node):
            continue
        if not ready.message.strip() and node.name in failing:
            continue
        since = age(ready.last_transition_time, now)
        if since is not None and since < NOT_READY_GRACE_SECONDS:
            continue  # a worker booting or being updated
        findings.append(
            Finding(
                check=CHECK_ID,
                situation=SituationId.WORKER_NOT_READY_KUBELET,
                severity=Severity.CRITICAL,
                title=f"Worker {node_label(node)} is NotReady: {ready.message.strip() or ready.reason or 'no reason given'}"[
                    :300
                ],
                detail=f"The kubelet reports the worker NotReady for a reason of its own, not Calico's: {WORKER_DOCS}.",
                evidence=(node_line(node, now), condition_line(ready, now)),
                objects=(ObjRef(kind="Node", name=node.name),),
                runbook_section=RunbookSection.WORKER_READY.value,
            )
        )
    return findings


def _stale_leases(snapshot: Snapshot, now: datetime, skip: set[str]) -> list[Finding]:
    if not snapshot.read_ok(Read.LEASES) or not snapshot.leases:
        return []
    findings = []
    for node in snapshot.nodes:
        if node.name in skip:
            continue
        lease = snapshot.lease(node.name)
        if lease is None or lease.spec.renew_time is None:
            continue
        quiet = age(lease.spec.renew_time, now)
        if quiet is not None and quiet > LEASE_STALE_SECONDS:
            findings.append(
                Finding(
                    check=CHECK_ID,
                    situation=SituationId.WORKER_NOT_READY_KUBELET,
                    severity=Severity.WARNING,
                    title=f"Worker {node_label(node)}: kubelet heartbeat (node lease) is {human_age(quiet)} old",
                    detail="Ready has not turned Unknown yet, but the kubelet stopped renewing its lease. "
                    + WORKER_DOCS,
                    evidence=(
                        f"Lease kube-node-lease/{node.name} renewTime {lease.spec.renew_time.isoformat()}",
                    ),
                    objects=(ObjRef(kind="Node", name=node.name),),
                    runbook_section=RunbookSection.REASON_1.value,
                )
            )
    return findings


def _flapping(snapshot: Snapshot, now: datetime, skip: set[str]) -> list[Finding]:
    findings = []
    for node in snapshot.nodes:
        if node.name in skip:
            continue
        events = list(snapshot.events_for("Node", node.name))
        not_ready = [e for e in events if e.reason == "NodeNotReady"]
        restarts = [e for e in events if e.reason == "Starting" and "kubelet" in e.message.lower()]
        count_not_ready = sum(e.times for e in not_ready)
        count_restarts = sum(e.times for e in restarts)
        if count_not_ready < FLAP_MIN_NOT_READY and count_restarts < FLAP_MIN_NOT_READY:
            continue
        shown = sorted(
            not_ready + restarts + [e for e in events if e.reason == "NodeReady"],
            key=lambda e: e.last_seen or now,
        )
        findings.append(
            Finding(
                check=CHECK_ID,
                situation=SituationId.WORKER_NOT_READY_KUBELET,
                severity=Severity.WARNING,
                title=f"Worker {node_label(node)} is flapping between Ready and NotReady "
                f"({count_not_ready}× NodeNotReady, {count_restarts}× kubelet restart)",
                detail="Ready now, but toggling: " + WORKER_DOCS,
                evidence=tuple(event_line(e, now) for e in shown[-8:]),
                objects=(ObjRef(kind="Node", name=node.name),),
                runbook_section=RunbookSection.REASON_1.value,
            )
        )
    return findings


def _zone_outages(snapshot: Snapshot, down: list[Node]) -> list[Finding]:
    """Every worker of a zone down together points at the network (gateway, ACL, VLAN)."""
    if len(down) < 2:
        return []
    total: dict[str, int] = defaultdict(int)
    for node in snapshot.nodes:
        total[node.zone] += 1
    down_by_zone: dict[str, list[str]] = defaultdict(list)
    for node in down:
        down_by_zone[node.zone].append(node.name)
    findings = []
    for zone, names in sorted(down_by_zone.items()):
        if zone and len(names) >= 2 and len(names) == total[zone]:
            findings.append(
                Finding(
                    check=CHECK_ID,
                    situation=SituationId.WORKER_NOT_READY_KUBELET,
                    severity=Severity.CRITICAL,
                    title=f"All {len(names)} workers of zone {zone} are NotReady together",
                    detail="A whole zone losing the master at once points at a network component "
                    "(gateway/firewall, VLAN, VPC ACL or security group, routes), not at each worker: "
                    "do not reboot or reload them one by one.",
                    evidence=tuple(names[:20]),
                    objects=tuple(ObjRef(kind="Node", name=n) for n in names[:50]),
                    runbook_section=RunbookSection.REASON_1.value,
                )
            )
    return findings
