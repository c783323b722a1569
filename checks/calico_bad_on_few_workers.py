"""Runbook "calico-node Pod Not Running on One or a Few Customer Workers".

One finding per affected worker, saying why (see checks.calico_pods), with the peer IPs of a
"BGP not established" readiness failure that are no current worker's IP called out (a stale
Calico Node left by a deleted worker). Proposes the runbook ladder for each worker where
calico-node is failing: cordon, gather, delete the pod, reboot, reload (replace on VPC), uncordon;
where it only looks suspicious (Ready, but restarted or logging errors), gathering comes first.
Workers already reported by calico-down-on-worker (the worker is NotReady) are not repeated here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from checks import calico_down_on_worker, calico_pods
from checks.catalog import Scope
from checks.common import node_label, worker_ladder
from checks.model import Action, ActionKind, Finding, ObjRef, RunbookSection, Severity, SituationId
from checks.snapshot import Snapshot

CHECK_ID = "calico-bad-on-few-workers"
IF_IT_PERSISTS = (
    "If it comes back after a reload: check calico-typha health; on classic, VLAN spanning or VRF "
    "(`ibmcloud account show`) and any gateway/firewall in front of these workers; on VPC, security "
    "groups, ACLs, public gateway and custom routes."
)
LADDER = (
    "Cordon it, gather the data, then delete the calico-node pod; if that does not help, reboot, then "
    "reload (replace on VPC). "
)


def stale_peers(snapshot: Snapshot, peers: Sequence[str]) -> list[str]:
    """Peer IPs that belong to no current worker (a Calico Node left over from a deleted worker)."""
    if not snapshot.nodes:
        return []
    worker_ips = {n.address() for n in snapshot.nodes} | {n.name for n in snapshot.nodes}
    return [p for p in peers if p not in worker_ips]


def down_workers(snapshot: Snapshot, now: datetime) -> set[str]:
    """Workers calico-down-on-worker reports as NotReady because of Calico."""
    return {
        ref.name
        for finding in calico_down_on_worker.check(snapshot, now=now)
        if finding.severity == Severity.CRITICAL
        for ref in finding.objects
        if ref.kind == "Node"
    }


def check(snapshot: Snapshot, *, now: datetime) -> list[Finding]:
    troubles, judged = calico_pods.worker_troubles(snapshot, now=now)
    down_already = down_workers(snapshot, now)
    affected = {t.node for t in troubles if t.node not in down_already}
    if calico_pods.is_most(len(affected), judged - len(down_already)):
        return []  # calico-crashloop-most-workers reports these
    findings = []
    for trouble in troubles:
        if trouble.node in down_already:
            continue
        node = snapshot.node(trouble.node)
        where = node_label(node) if node is not None else trouble.node
        evidence = list(trouble.evidence)
        if trouble.probe is not None and trouble.probe.peers:
            stale = stale_peers(snapshot, trouble.probe.peers)
            if stale:
                evidence.insert(
                    0,
                    f"BGP peer(s) {', '.join(stale)} are no current worker's IP: a stale Calico Node of a "
                    "deleted worker, or a worker registered with a wrong address (calicoctl get nodes -o wide)",
                )
        objects = [ObjRef(kind="Node", name=trouble.node)]
        if trouble.pod is not None:
            objects.append(ObjRef(kind="Pod", name=trouble.pod.name, namespace=trouble.pod.namespace))
        pod_name = trouble.pod.name if trouble.pod is not None else "calico-node"
        meanings = list(dict.fromkeys(hit.meaning for hit in trouble.hits(Scope.WORKER)))
        said = " The logs say: " + "; ".join(meanings) + "." if meanings else ""
        if trouble.failing:
            detail = "Something is wrong with this worker." + said + " " + LADDER + IF_IT_PERSISTS
        else:
            detail = (
                "calico-node is Running and Ready here, but it is not healthy." + said + " Gather the data "
                "and watch it; if it fails again, follow the runbook ladder for this worker. "
                + IF_IT_PERSISTS
            )
        findings.append(
            Finding(
                check=CHECK_ID,
                situation=SituationId.CALICO_BAD_ON_FEW_WORKERS,
                severity=trouble.severity,
                title=f"{pod_name} on worker {where}: {', '.join(trouble.reasons)}",
                detail=detail,
                evidence=tuple(evidence),
                objects=tuple(objects),
                runbook_section=RunbookSection.FEW_WORKERS.value,
            )
        )
    return findings


def propose(findings: Sequence[Finding], snapshot: Snapshot) -> list[Action]:
    failing = [
        ref.name
        for f in findings
        if f.severity == Severity.CRITICAL
        for ref in f.objects
        if ref.kind == "Node"
    ]
    actions = worker_ladder(snapshot, dict.fromkeys(failing), "calico-node is bad on this worker")
    watched = [
        ref.name
        for f in findings
        if f.severity != Severity.CRITICAL
        for ref in f.objects
        if ref.kind == "Node"
    ]
    actions += [
        Action.propose(ActionKind.GATHER, name, "calico-node looks fine but is not: gather its logs first")
        for name in dict.fromkeys(watched)
        if name not in failing
    ]
    return actions
