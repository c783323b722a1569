"""Runbook "Check If Worker Is Ready and Healthy", Reasons 1 and 2:
- Ready Unknown / unreachable taints → worker-not-ready-kubelet, and calico-node there is not judged;
- Ready False with the runtime's network-not-ready message (containerd, CRI-O, docker) → calico-down;
- CalicoIsDown only after the threshold; younger is info;
- flapping from events; stale lease; a whole zone down together;
- no nodes read → unknown, never healthy.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from checks.diagnose import diagnose
from checks.model import ActionKind, Severity, SituationId
from checks.snapshot import Read, ReadError, Snapshot
from tests.factories import NOW, calico_pod, lease, node, node_event, snapshot, unknown_node


def _situations(snap: Snapshot) -> list[SituationId]:
    return [s.id for s in diagnose(snap, now=NOW).situations]


def test_all_ready_is_healthy() -> None:
    snap = snapshot(
        nodes=(node("10.0.0.1"), node("10.0.0.2")), pods=(calico_pod("10.0.0.1"), calico_pod("10.0.0.2"))
    )
    diagnosis = diagnose(snap, now=NOW)
    assert [s.id for s in diagnosis.situations] == [SituationId.HEALTHY]
    assert diagnosis.exit_code == 0


def test_kubelet_silent_is_reason_1_and_not_calico() -> None:
    snap = snapshot(
        nodes=(unknown_node("10.0.0.1"), node("10.0.0.2")),
        pods=(calico_pod("10.0.0.1"), calico_pod("10.0.0.2")),
    )
    diagnosis = diagnose(snap, now=NOW)
    assert [s.id for s in diagnosis.situations] == [SituationId.WORKER_NOT_READY_KUBELET]
    finding = diagnosis.findings[0]
    assert "Not a Calico problem" in finding.detail
    assert any("Kubelet stopped posting node status." in e for e in finding.evidence)
    assert any("node.kubernetes.io/unreachable" in e for e in finding.evidence)
    assert diagnosis.exit_code == 1
    # the worker ladder (delete calico-node…) is not proposed for a kubelet problem
    assert not [a for a in diagnosis.actions if a.kind == ActionKind.DELETE_POD]


def test_stale_calico_is_up_beside_ready_unknown_is_not_calico_down() -> None:
    # trap: the node controller leaves NetworkUnavailable False CalicoIsUp when the kubelet dies
    snap = snapshot(
        nodes=(
            unknown_node(
                "10.0.0.1",
                network_unavailable=("True", "CalicoIsDown", "Calico is shutting down on this node", 3600),
            ),
        )
    )
    assert SituationId.CALICO_DOWN_ON_WORKER not in _situations(snap)


@pytest.mark.parametrize(
    "message",
    [
        # containerd (IKS)
        "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
        "message:Network plugin returns error: cni plugin not initialized",
        # CRI-O (ROKS)
        "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
        "message:Network plugin returns error: No CNI configuration file in /etc/kubernetes/cni/net.d/. "
        "Has your network provider started?",
        # older docker
        "runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:docker: "
        "network plugin is not ready: cni config uninitialized",
        # comma-joined with another error
        "[container runtime status check may not have completed yet, container runtime network not ready: "
        "NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized]",
    ],
)
def test_network_not_ready_in_every_runtime_wording(message: str) -> None:
    snap = snapshot(
        nodes=(
            node("10.0.0.1", ready="False", reason="KubeletNotReady", message=message, since=900),
            node("10.0.0.2"),
        )
    )
    diagnosis = diagnose(snap, now=NOW)
    assert [s.id for s in diagnosis.situations] == [SituationId.CALICO_DOWN_ON_WORKER]
    kinds = [a.kind for a in diagnosis.actions]
    assert kinds[:2] == [ActionKind.CORDON, ActionKind.GATHER]
    assert ActionKind.RELOAD_WORKER in kinds
    assert ActionKind.UNCORDON in kinds


def test_ready_false_for_another_reason_is_not_calico() -> None:
    snap = snapshot(
        nodes=(
            node(
                "10.0.0.1",
                ready="False",
                reason="KubeletNotReady",
                message="PLEG is not healthy: pleg was last seen active 3m0s ago",
            ),
        )
    )
    assert SituationId.CALICO_DOWN_ON_WORKER not in _situations(snap)


def test_calico_is_down_persisting_is_critical() -> None:
    snap = snapshot(
        nodes=(
            node(
                "10.0.0.1",
                network_unavailable=("True", "CalicoIsDown", "Calico is shutting down on this node", 1200),
            ),
        ),
        pods=(calico_pod("10.0.0.1", ready=False, waiting="CrashLoopBackOff", restarts=9),),
    )
    diagnosis = diagnose(snap, now=NOW)
    # first the worker that is down because of Calico; calico-node failing on the only worker is
    # also "every worker" (issue #9: one or two workers all failing is "most or all")
    assert [s.id for s in diagnosis.situations] == [
        SituationId.CALICO_DOWN_ON_WORKER,
        SituationId.CALICO_CRASHLOOP_MOST_WORKERS,
    ]
    assert any("CrashLoopBackOff" in e for e in diagnosis.findings[0].evidence)
    delete = [a for a in diagnosis.actions if a.kind == ActionKind.DELETE_POD]
    assert delete
    assert delete[0].target.startswith("calico-system/calico-node-")


def test_calico_is_down_for_seconds_is_only_info() -> None:
    snap = snapshot(
        nodes=(
            node(
                "10.0.0.1",
                network_unavailable=("True", "CalicoIsDown", "Calico is shutting down on this node", 20),
            ),
        )
    )
    diagnosis = diagnose(snap, now=NOW)
    assert [s.id for s in diagnosis.situations] == [SituationId.HEALTHY]
    assert [f.severity for f in diagnosis.findings] == [Severity.INFO]


def test_vpc_worker_gets_replace_not_reload() -> None:
    snap = snapshot(
        nodes=(
            node(
                "10.0.0.1",
                provider="g2",
                network_unavailable=("True", "CalicoIsDown", "Calico is shutting down on this node", 1200),
            ),
        )
    )
    kinds = [a.kind for a in diagnose(snap, now=NOW).actions]
    assert ActionKind.REPLACE_WORKER in kinds
    assert ActionKind.RELOAD_WORKER not in kinds


def test_flapping_from_events() -> None:
    events = (
        node_event("10.0.0.1", "Starting", "Starting kubelet.", seconds_ago=2640),
        node_event("10.0.0.1", "NodeNotReady", "Node 10.0.0.1 status is now: NodeNotReady", seconds_ago=1860),
        node_event("10.0.0.1", "Starting", "Starting kubelet.", seconds_ago=1620),
        node_event("10.0.0.1", "NodeNotReady", "Node 10.0.0.1 status is now: NodeNotReady", seconds_ago=1620),
        node_event(
            "10.0.0.1", "NodeReady", "Node 10.0.0.1 status is now: NodeReady", count=2, seconds_ago=1260
        ),
    )
    snap = snapshot(nodes=(node("10.0.0.1"), node("10.0.0.2")), events=events)
    diagnosis = diagnose(snap, now=NOW)
    assert [s.id for s in diagnosis.situations] == [SituationId.WORKER_NOT_READY_KUBELET]
    assert "flapping" in diagnosis.findings[0].title


def test_one_not_ready_event_is_not_flapping() -> None:
    events = (node_event("10.0.0.1", "NodeNotReady", "Node 10.0.0.1 status is now: NodeNotReady"),)
    assert _situations(snapshot(nodes=(node("10.0.0.1"),), events=events)) == [SituationId.HEALTHY]


def test_stale_lease_while_ready() -> None:
    snap = snapshot(
        nodes=(node("10.0.0.1"), node("10.0.0.2")), leases=(lease("10.0.0.1", 600), lease("10.0.0.2", 5))
    )
    diagnosis = diagnose(snap, now=NOW)
    assert [s.id for s in diagnosis.situations] == [SituationId.WORKER_NOT_READY_KUBELET]
    assert "10.0.0.1" in diagnosis.findings[0].title


def test_whole_zone_down_together_is_called_out() -> None:
    snap = snapshot(
        nodes=(
            unknown_node("10.0.0.1", zone="dal12"),
            unknown_node("10.0.0.2", zone="dal12"),
            node("10.0.0.3", zone="dal10"),
        )
    )
    titles = [f.title for f in diagnose(snap, now=NOW).findings]
    assert "All 2 workers of zone dal12 are NotReady together" in titles


def test_nodes_unreadable_is_unknown_never_healthy() -> None:
    snap = snapshot(
        errors=(
            ReadError(
                read=Read.NODES.value, reason="/api/v1/nodes: HTTP 403: nodes is forbidden", status=403
            ),
        )
    )
    diagnosis = diagnose(snap, now=NOW)
    assert diagnosis.situations == ()
    assert diagnosis.verdict == "unknown"
    assert diagnosis.exit_code == 2
    assert any(u.what == "nodes" for u in diagnosis.unknowns)


def test_node_events_unreadable_is_named() -> None:
    snap = snapshot(
        nodes=(node("10.0.0.1"),), errors=(ReadError(read=Read.NODE_EVENTS.value, reason="timed out"),)
    )
    diagnosis = diagnose(snap, now=NOW)
    assert diagnosis.exit_code == 2
    assert any("flapping" in u.what for u in diagnosis.unknowns)


def test_a_crashing_check_is_unknown_and_hides_nothing() -> None:
    from checks.model import Check, Finding
    from checks.registry import CHECKS

    def broken(snapshot: Snapshot, *, now: datetime) -> list[Finding]:
        raise RuntimeError("boom")

    registry = (*CHECKS, Check(id="broken", situation=SituationId.OTHER, needs=frozenset(), run=broken))
    snap = snapshot(nodes=(unknown_node("10.0.0.1"),))
    diagnosis = diagnose(snap, now=NOW, registry=registry)
    assert [s.id for s in diagnosis.situations] == [SituationId.WORKER_NOT_READY_KUBELET]
    assert any("boom" in u.reason for u in diagnosis.unknowns)
