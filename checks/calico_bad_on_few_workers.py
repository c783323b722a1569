"""Runbook "calico-node Pod Not Running on One or a Few Customer Workers".

One finding per affected worker, saying why (see checks.calico_pods), with the peer IPs of a
"BGP not established" readiness failure that are no current worker's IP called out (a stale
Calico Node left by a deleted worker). Proposes the runbook ladder for each worker: cordon,
gather, delete the pod, reboot, reload (replace on VPC), uncordon.
Workers already reported by calico-down-on-worker are not repeated here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from checks import bgp_password_migration, calico_down_on_worker, calico_pods
from checks.common import node_label, worker_ladder
from checks.model import Action, Finding, ObjRef, RunbookSection, Severity, SituationId
from checks.snapshot import Snapshot

CHECK_ID = "calico-bad-on-few-workers"
IF_IT_PERSISTS = (
    "If it comes back after a reload: check calico-typha health; on classic, VLAN spanning or VRF "
    "(`ibmcloud account show`) and any gateway/firewall in front of these workers; on VPC, security "
    "groups, ACLs, public gateway and custom routes."
)


def stale_peers(snapshot: Snapshot, peers: Sequence[str]) -> list[str]:
    """Peer IPs that belong to no current worker (a Calico Node left over from a deleted worker)."""
    if not snapshot.nodes:
        return []
    worker_ips = {n.address() for n in snapshot.nodes} | {n.name for n in snapshot.nodes}
    return [p for p in peers if p not in worker_ips]


def check(snapshot: Snapshot, *, now: datetime) -> list[Finding]:
    troubles, judged = calico_pods.analyse(snapshot, now=now)
    claimed = bgp_password_migration.claimed_workers(snapshot, now=now)
    troubles = [t for t in troubles if t.node not in claimed]
    affected = {t.node for t in troubles}
    if calico_pods.is_most(len(affected), judged):
        return []  # calico-crashloop-most-workers reports these
    down_already = {
        ref.name
        for finding in calico_down_on_worker.check(snapshot, now=now)
        if finding.severity == Severity.CRITICAL
        for ref in finding.objects
        if ref.kind == "Node"
    }
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
                    "deleted worker (calicoctl get nodes / calicoctl delete node)",
                )
        objects = [ObjRef(kind="Node", name=trouble.node)]
        if trouble.pod is not None:
            objects.append(ObjRef(kind="Pod", name=trouble.pod.name, namespace=trouble.pod.namespace))
        pod_name = trouble.pod.name if trouble.pod is not None else "calico-node"
        meanings = list(dict.fromkeys(hit.meaning for hit in trouble.log_hits))
        said = " The logs say: " + "; ".join(meanings) + "." if meanings else ""
        findings.append(
            Finding(
                check=CHECK_ID,
                situation=SituationId.CALICO_BAD_ON_FEW_WORKERS,
                severity=Severity.CRITICAL,
                title=f"{pod_name} on worker {where}: {', '.join(trouble.reasons)}",
                detail="Something is wrong with this worker."
                + said
                + " Cordon it, gather the data, then delete the calico-node pod; if that does not help, "
                "reboot, then reload (replace on VPC). " + IF_IT_PERSISTS,
                evidence=tuple(evidence),
                objects=tuple(objects),
                runbook_section=RunbookSection.FEW_WORKERS.value,
            )
        )
    return findings


def propose(findings: Sequence[Finding], snapshot: Snapshot) -> list[Action]:
    nodes = [ref.name for f in findings for ref in f.objects if ref.kind == "Node"]
    return worker_ladder(snapshot, dict.fromkeys(nodes), "calico-node is bad on this worker")
