"""BGP password migration (S6), typha, and the "other" Calico problems:
- S6 needs calico-system, a mesh password, and a missing secret copy or RBAC; its pods are not
  also reported per worker; unreadable secrets/RBAC make it unknown; kube-system era never S6;
- typha: crash-looping / unready typha, a Deployment with no ready replica, Pending replicas only
  when more than the cluster can place, calico-node logs that cannot reach typha;
- IP pools overlapping the service network or workers, all pools disabled, defaults changed,
  the 1.29 migration in progress as info.
"""

from __future__ import annotations

from typing import Any

import msgspec

from checks.diagnose import diagnose
from checks.model import ActionKind, Severity, SituationId
from checks.objects import CustomObject, Deployment, Event, ObjectName, Pod, RbacObject
from checks.snapshot import ContainerLog, Read, ReadError, Snapshot
from tests.factories import NOW, ago, calico_pod, node, snapshot

WORKERS = [f"10.0.0.{i}" for i in range(1, 7)]
READINESS = (
    "(combined from similar events): Readiness probe failed: 2024-02-12 14:42:49.280 [INFO][5037] "
    "confd/health.go 180: Number of node(s) with BGP peering established = 0 calico/node is not ready: "
    "BIRD is not ready: BGP not established with {peers}"
)


def bgp_config(*, annotated: bool = False, secret: str = "calico-bgp-password") -> CustomObject:
    return msgspec.convert(
        {
            "apiVersion": "crd.projectcalico.org/v1",
            "kind": "BGPConfiguration",
            "metadata": {
                "name": "default",
                "annotations": {"created-by": "IBMCloudKubernetesService"} if annotated else {},
            },
            "spec": {"nodeMeshPassword": {"secretKeyRef": {"name": secret, "key": "password"}}},
        },
        CustomObject,
    )


def secret(namespace: str) -> ObjectName:
    return msgspec.convert(
        {"kind": "Secret", "metadata": {"name": "calico-bgp-password", "namespace": namespace}}, ObjectName
    )


def rbac(kind: str) -> RbacObject:
    return msgspec.convert(
        {"kind": kind, "metadata": {"name": "bgp-secret-access", "namespace": "calico-system"}}, RbacObject
    )


def bgp_pod(name: str) -> Pod:
    return msgspec.convert(
        {
            "metadata": {
                "name": f"calico-node-{name[-1]}b",
                "namespace": "calico-system",
                "labels": {"k8s-app": "calico-node"},
            },
            "spec": {"nodeName": name, "containers": [{"name": "calico-node"}]},
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [
                    {"name": "calico-node", "ready": False, "state": {"running": {"startedAt": ago(7200)}}}
                ],
            },
        },
        Pod,
    )


def unhealthy(pod: Pod, message: str) -> Event:
    return msgspec.convert(
        {
            "metadata": {"name": f"{pod.name}.u", "namespace": pod.namespace},
            "reason": "Unhealthy",
            "involvedObject": {"kind": "Pod", "name": pod.name, "namespace": pod.namespace},
            "type": "Warning",
            "count": 201,
            "message": message,
            "lastTimestamp": ago(100),
        },
        Event,
    )


def bgp_cluster(**kw: Any) -> Snapshot:
    nodes = tuple(node(n) for n in WORKERS)
    pods = tuple(bgp_pod(n) for n in WORKERS)
    events = tuple(
        unhealthy(p, READINESS.format(peers=",".join(w for w in WORKERS if w != p.node_name))) for p in pods
    )
    base: dict[str, Any] = {
        "nodes": nodes,
        "pods": pods,
        "events": events,
        "custom": {"bgpconfigurations": (bgp_config(),)},
        "secrets": (secret("kube-system"),),
    }
    base.update(kw)
    return snapshot(**base)


def test_bgp_secret_not_migrated() -> None:
    diagnosis = diagnose(bgp_cluster(), now=NOW)
    # the cause first, the worker-level symptom after it (issue #9: "the cause first")
    assert [s.id for s in diagnosis.situations] == [
        SituationId.BGP_PASSWORD_MIGRATION,
        SituationId.CALICO_CRASHLOOP_MOST_WORKERS,
    ]
    finding = diagnosis.findings[0]
    assert "6 workers have no BGP peering" in finding.title
    assert (
        "Secret calico-bgp-password is missing from calico-system (present in kube-system)"
        in finding.evidence
    )
    assert "Role calico-system/bgp-secret-access is missing" in finding.evidence
    assert any("annotation created-by missing (changed by the customer" in e for e in finding.evidence)
    assert any("BGP not established with" in e for e in finding.evidence)
    kinds = [a.kind for a in diagnosis.actions]
    assert kinds[0] == ActionKind.COPY_BGP_SECRET
    # no cordon / delete / reboot for workers whose failure the missing secret explains
    assert not {ActionKind.CORDON, ActionKind.DELETE_POD, ActionKind.REBOOT_WORKER} & set(kinds)


def test_bgp_fixed_when_secret_and_rbac_exist() -> None:
    fixed = bgp_cluster(
        secrets=(secret("kube-system"), secret("calico-system")), rbac=(rbac("Role"), rbac("RoleBinding"))
    )
    situations = [s.id for s in diagnose(fixed, now=NOW).situations]
    assert SituationId.BGP_PASSWORD_MIGRATION not in situations
    # the pods still fail BGP for another reason, so they are reported as a cluster-wide failure
    assert situations == [SituationId.CALICO_CRASHLOOP_MOST_WORKERS]


def test_bgp_secret_gone_everywhere_escalates() -> None:
    diagnosis = diagnose(bgp_cluster(secrets=()), now=NOW)
    assert "Secret calico-bgp-password is missing from calico-system (not in kube-system either)" in (
        diagnosis.findings[0].evidence
    )
    kinds = [a.kind for a in diagnosis.actions]
    assert kinds[0] == ActionKind.ESCALATE
    assert ActionKind.COPY_BGP_SECRET not in kinds


def test_bgp_unreadable_secrets_is_unknown() -> None:
    snap = bgp_cluster(
        errors=(ReadError(read=Read.BGP_SECRETS.value, reason="HTTP 403: secrets is forbidden", status=403),)
    )
    diagnosis = diagnose(snap, now=NOW)
    assert any(u.check == "bgp-password-migration" and "forbidden" in u.reason for u in diagnosis.unknowns)
    assert not diagnosis.healthy


def test_unread_bgp_objects_without_the_symptom_are_not_unknown() -> None:
    # a cluster-info dump has no Calico CRs, secrets or RBAC: with BGP working that is no gap
    nodes = tuple(node(n) for n in WORKERS)
    snap = snapshot(nodes=nodes, missing=("bgpconfigurations", "bgp-secrets", "bgp-rbac"), source="dump")
    diagnosis = diagnose(snap, now=NOW)
    assert [s.id for s in diagnosis.situations] == [SituationId.HEALTHY]
    assert diagnosis.unknowns == ()


def test_kube_system_era_is_never_bgp_migration() -> None:
    nodes = tuple(node(n) for n in WORKERS)
    pods = tuple(calico_pod(n, namespace="kube-system") for n in WORKERS)
    snap = snapshot(nodes=nodes, pods=pods, custom={"bgpconfigurations": (bgp_config(),)})
    assert [s.id for s in diagnose(snap, now=NOW).situations] == [SituationId.HEALTHY]


def typha(
    name: str,
    node_name: str,
    *,
    ready: bool = True,
    phase: str = "Running",
    waiting: str = "",
    message: str = "",
) -> Pod:
    state: dict[str, Any] = (
        {"waiting": {"reason": waiting}} if waiting else {"running": {"startedAt": ago(3600)}}
    )
    return msgspec.convert(
        {
            "metadata": {"name": name, "namespace": "calico-system", "labels": {"k8s-app": "calico-typha"}},
            "spec": {"nodeName": node_name if phase != "Pending" else ""},
            "status": {
                "phase": phase,
                "message": message,
                "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                "containerStatuses": []
                if phase == "Pending"
                else [{"name": "calico-typha", "ready": ready, "state": state}],
            },
        },
        Pod,
    )


def typha_deployment(replicas: int) -> Deployment:
    return msgspec.convert(
        {"metadata": {"name": "calico-typha", "namespace": "calico-system"}, "spec": {"replicas": replicas}},
        Deployment,
    )


def typha_cluster(typhas: tuple[Pod, ...], replicas: int, workers: int = 6, **kw: Any) -> Snapshot:
    nodes = tuple(node(n) for n in WORKERS[:workers])
    pods = tuple(calico_pod(n.name) for n in nodes) + typhas
    return snapshot(nodes=nodes, pods=pods, deployments=(typha_deployment(replicas),), **kw)


def test_typha_crashlooping() -> None:
    snap = typha_cluster(
        (
            typha("calico-typha-a", "10.0.0.1", ready=False, waiting="CrashLoopBackOff"),
            typha("calico-typha-b", "10.0.0.2"),
        ),
        2,
    )
    diagnosis = diagnose(snap, now=NOW)
    assert [s.id for s in diagnosis.situations] == [SituationId.TYPHA_UNHEALTHY]
    assert any("calico-typha-a" in e and "CrashLoopBackOff" in e for e in diagnosis.findings[0].evidence)


def test_typha_none_ready() -> None:
    snap = typha_cluster((typha("calico-typha-a", "10.0.0.1", ready=False),), 1)
    evidence = diagnose(snap, now=NOW).findings[0].evidence
    assert evidence[0] == "Deployment calico-system/calico-typha: 1 wanted, none Ready"


def test_pending_typha_on_a_small_cluster_is_fine() -> None:
    msg = "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules."
    snap = typha_cluster(
        (
            typha("calico-typha-a", "10.0.0.1"),
            typha("calico-typha-b", "10.0.0.2"),
            typha("calico-typha-c", "", phase="Pending", message=msg),
        ),
        3,
        workers=2,
    )
    assert [s.id for s in diagnose(snap, now=NOW).situations] == [SituationId.HEALTHY]


def test_pending_typha_with_room_is_a_problem() -> None:
    snap = typha_cluster(
        (
            typha("calico-typha-a", "10.0.0.1"),
            typha("calico-typha-b", "", phase="Pending", message="0/6 nodes are available"),
        ),
        2,
    )
    assert [s.id for s in diagnose(snap, now=NOW).situations] == [SituationId.TYPHA_UNHEALTHY]


def test_calico_node_cannot_reach_healthy_typha() -> None:
    line = (
        "2026-11-29 11:50:00.000 [WARNING][81] felix/sync_client.go 153: Failed to connect to typha endpoint "
        "10.0.0.2:5473.  Will try another if available... error=dial tcp 10.0.0.2:5473: i/o timeout"
    )
    log = ContainerLog(namespace="calico-system", pod="calico-node-1x", container="calico-node", text=line)
    snap = typha_cluster((typha("calico-typha-a", "10.0.0.2"),), 1, logs=(log,))
    diagnosis = diagnose(snap, now=NOW)
    assert [s.id for s in diagnosis.situations] == [SituationId.TYPHA_UNHEALTHY]
    assert diagnosis.findings[0].severity == Severity.WARNING
    assert "port 5473" in diagnosis.findings[0].detail


def pool(name: str, cidr: str, **spec: Any) -> CustomObject:
    return msgspec.convert(
        {"kind": "IPPool", "metadata": {"name": name}, "spec": {"cidr": cidr, **spec}}, CustomObject
    )


def test_ip_pool_overlapping_services_and_workers() -> None:
    nodes = (node("172.21.5.4"), node("10.0.0.2"))
    snap = snapshot(nodes=nodes, custom={"ippools": (pool("bad", "172.16.0.0/12", ipipMode="CrossSubnet"),)})
    diagnosis = diagnose(snap, now=NOW)
    assert [s.id for s in diagnosis.situations] == [SituationId.OTHER]
    assert (
        "overlaps the IKS service network 172.21.0.0/16 and 1 worker address(es), e.g. 172.21.5.4"
        in diagnosis.findings[0].title
    )


def test_all_pools_disabled() -> None:
    snap = snapshot(
        nodes=(node("10.0.0.1"),),
        custom={"ippools": (pool("default-ipv4-ippool", "172.30.0.0/16", disabled=True),)},
    )
    assert diagnose(snap, now=NOW).findings[0].title.startswith("Every IPv4 IP pool is disabled")


def test_iks_pool_is_fine_and_deviations_are_info() -> None:
    installation = msgspec.convert(
        {"kind": "Installation", "metadata": {"name": "default"}, "spec": {"calicoNetwork": {"mtu": 9000}}},
        CustomObject,
    )
    snap = snapshot(
        nodes=(node("10.0.0.1"),),
        custom={
            "ippools": (pool("default", "172.30.0.0/16", ipipMode="CrossSubnet"),),
            "installations": (installation,),
        },
    )
    diagnosis = diagnose(snap, now=NOW)
    assert [s.id for s in diagnosis.situations] == [SituationId.HEALTHY]
    assert diagnosis.findings[0].severity == Severity.INFO
    assert "calicoNetwork.mtu 9000 (IKS default 1480)" in diagnosis.findings[0].evidence[0]
