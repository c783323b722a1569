"""Runbook "Reason 2": the kubelet talks to the master, but Calico is not running on the worker.

Signals: Ready `False` whose message says the runtime network is not ready (`NetworkReady=false`,
`NetworkPluginNotReady`, in containerd's, CRI-O's or docker's wording), and a `NetworkUnavailable
True CalicoIsDown` that persists. Trap: CalicoIsDown is normal for seconds during every Calico
rollout, so it only counts after `CALICO_DOWN_THRESHOLD_SECONDS`; younger ones are reported as info —
unless it is fresh on many workers at once, which no rollout does (it restarts one at a time).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from checks import calico_pods
from checks.common import (
    age,
    calico_pod_on,
    condition_line,
    human_age,
    network_not_ready,
    node_label,
    node_line,
    unreachable_nodes,
    worker_ladder,
)
from checks.model import Action, Finding, ObjRef, RunbookSection, Severity, SituationId
from checks.objects import NodeCondition
from checks.snapshot import Read, Snapshot

CHECK_ID = "calico-down-on-worker"
CALICO_DOWN_THRESHOLD_SECONDS = 300
"""CalicoIsDown younger than this is an ordinary rollout (calico-node restarts within seconds)."""


def check(snapshot: Snapshot, *, now: datetime) -> list[Finding]:
    if snapshot.read_ok(Read.CALICO_PODS) and not snapshot.calico_node_pods():
        return []  # calico-node runs nowhere: calico-absent-everywhere speaks for every worker
    findings: list[Finding] = []
    skip = {n.name for n in unreachable_nodes(snapshot)}
    troubles = (
        {t.node: t for t in calico_pods.analyse(snapshot, now=now)[0]}
        if snapshot.read_ok(Read.CALICO_PODS)
        else {}
    )
    # a rollout restarts calico-node on one worker at a time: fresh CalicoIsDown on several at once is not one
    at_once = calico_pods.calico_down_at_once(snapshot, now)
    for node in snapshot.nodes:
        if node.name in skip:
            continue
        evidence: list[str] = []
        ready = node.condition("Ready")
        why = troubles.get(node.name)
        if ready is not None and (network_not_ready(node) or _not_ready_for_calico(ready, why)):
            evidence.append(condition_line(ready, now))
        unavailable = node.condition("NetworkUnavailable")
        transient = False
        if unavailable is not None and unavailable.status == "True":
            # CalicoIsDown (calico-node's preStop) or another owner's reason: calico-node sets it
            # False (CalicoIsUp) whenever it starts, so True that persists means it has not
            down_for = age(unavailable.last_transition_time, now)
            if (
                down_for is not None
                and down_for < CALICO_DOWN_THRESHOLD_SECONDS
                and not evidence
                and node.name not in at_once
            ) or (unavailable.reason != "CalicoIsDown" and down_for is not None and down_for < 300):
                transient = True
            evidence.append(condition_line(unavailable, now))
        if not evidence:
            continue
        evidence.insert(0, node_line(node, now))
        pod = calico_pod_on(snapshot, node.name)
        objects = [ObjRef(kind="Node", name=node.name)]
        if pod is not None:
            objects.append(ObjRef(kind="Pod", name=pod.name, namespace=pod.namespace))
            evidence.append(
                f"calico-node pod {pod.name}: {pod.ready_fraction()} {pod.display_status()}, "
                f"{pod.restart_count} restarts"
            )
        if why is not None:
            evidence += list(why.evidence[:6])  # why calico is down here: its logs, probes, CNI errors
        if transient:
            findings.append(
                Finding(
                    check=CHECK_ID,
                    situation=SituationId.CALICO_DOWN_ON_WORKER,
                    severity=Severity.INFO,
                    title=f"Worker {node_label(node)}: {unavailable.reason if unavailable else ''} for less than "
                    f"{human_age(CALICO_DOWN_THRESHOLD_SECONDS)} (normal while calico-node restarts)",
                    detail="Calico sets CalicoIsDown when calico-node stops and clears it when it starts again; "
                    "it is only a problem when it persists. Check again in a few minutes.",
                    evidence=tuple(evidence),
                    objects=tuple(objects),
                    runbook_section=RunbookSection.REASON_2.value,
                )
            )
            continue
        findings.append(
            Finding(
                check=CHECK_ID,
                situation=SituationId.CALICO_DOWN_ON_WORKER,
                severity=Severity.CRITICAL,
                title=f"Worker {node_label(node)} is NotReady because Calico is not running on it"
                if network_not_ready(node) or (ready is not None and _not_ready_for_calico(ready, why))
                else f"Calico is down on worker {node_label(node)} (NetworkUnavailable: {unavailable.reason if unavailable else ''})",
                detail="The kubelet reaches the master, but the pod network on this worker is down. "
                "Follow the runbook ladder for this worker.",
                evidence=tuple(evidence),
                objects=tuple(objects),
                runbook_section=RunbookSection.REASON_2.value,
            )
        )
    return findings


def _not_ready_for_calico(ready: NodeCondition, trouble: calico_pods.PodTrouble | None) -> bool:
    """Ready False with no reason of its own in the message, while calico-node fails on the worker.

    The kubelet's message names what is not ready; when it names nothing (a report or a dump that
    kept only the status) and calico-node is failing there, Calico is what keeps the worker NotReady.
    """
    return ready.status == "False" and not ready.message.strip() and trouble is not None and trouble.failing


def propose(findings: Sequence[Finding], snapshot: Snapshot) -> list[Action]:
    nodes = [ref.name for f in findings for ref in f.objects if ref.kind == "Node"]
    return worker_ladder(snapshot, dict.fromkeys(nodes), "Calico is down on this worker")
