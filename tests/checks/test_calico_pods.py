"""calico-node on the workers: a few bad (S4), most bad (S5), none at all (S3).
- each worker's reason comes from the literal state: CrashLoopBackOff, Init failures, image pulls,
  OOMKilled, 0/1 Running with the readiness output parsed, restarts, no pod;
- startup grace and old restarts are not problems; pods on a kubelet-dead worker are not judged;
- stale BGP peers are called out; log signatures become evidence;
- the share of workers decides few vs most; the common factor and recent changes are reported;
- no DaemonSet / no pods → absent, with FailedCreate webhooks; OVN clusters are not Calico-absent.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from checks.diagnose import diagnose
from checks.model import ActionKind, Severity, SituationId
from checks.objects import CustomObject, DaemonSet, Event, Namespace, Pod, WebhookConfiguration
from checks.snapshot import ContainerLog, Snapshot
from tests.factories import NOW, ago, calico_pod, node, snapshot, unknown_node


def pod(node_name: str, **status: Any) -> Pod:
    base: dict[str, Any] = {
        "metadata": {
            "name": f"calico-node-{node_name[-1]}x",
            "namespace": "calico-system",
            "labels": {"k8s-app": "calico-node"},
            "creationTimestamp": ago(7200),
        },
        "spec": {
            "nodeName": node_name,
            "containers": [{"name": "calico-node"}],
            "initContainers": [{"name": "install-cni"}],
        },
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "False"}],
            "initContainerStatuses": [
                {
                    "name": "install-cni",
                    "ready": True,
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                }
            ],
            "containerStatuses": [
                {
                    "name": "calico-node",
                    "ready": False,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": ago(3600)}},
                }
            ],
        },
    }
    base["status"].update(status)
    return msgspec.convert(base, Pod)


def unhealthy(pod_obj: Pod, message: str) -> Event:
    return msgspec.convert(
        {
            "metadata": {"name": f"{pod_obj.name}.1", "namespace": pod_obj.namespace},
            "involvedObject": {"kind": "Pod", "name": pod_obj.name, "namespace": pod_obj.namespace},
            "reason": "Unhealthy",
            "type": "Warning",
            "count": 201,
            "message": message,
            "lastTimestamp": ago(60),
        },
        Event,
    )


WORKERS = [f"10.0.0.{i}" for i in range(1, 11)]


def cluster(bad: dict[str, Pod], *, events: tuple[Event, ...] = (), **kw: Any) -> Snapshot:
    nodes = kw.pop("nodes", tuple(node(n) for n in WORKERS))
    pods = tuple(bad.get(n.name) or calico_pod(n.name) for n in nodes)
    return snapshot(nodes=nodes, pods=pods, events=events, **kw)


CRASHLOOP = {
    "containerStatuses": [
        {
            "name": "calico-node",
            "restartCount": 14,
            "state": {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": "back-off 5m0s restarting failed container",
                }
            },
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(120)}},
        }
    ]
}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (CRASHLOOP, "CrashLoopBackOff"),
        (
            {
                "initContainerStatuses": [
                    {
                        "name": "install-cni",
                        "restartCount": 6,
                        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                        "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
                    }
                ],
                "containerStatuses": [
                    {"name": "calico-node", "state": {"waiting": {"reason": "PodInitializing"}}}
                ],
            },
            "Init:CrashLoopBackOff (install-cni)",
        ),
        (
            {
                "containerStatuses": [
                    {
                        "name": "calico-node",
                        "state": {
                            "waiting": {
                                "reason": "ImagePullBackOff",
                                "message": 'Back-off pulling image "us.icr.io/armada-master/calico/node:v3.27.4"',
                            }
                        },
                    }
                ]
            },
            "image pull failing",
        ),
        (
            {
                "containerStatuses": [
                    {
                        "name": "calico-node",
                        "ready": True,
                        "restartCount": 7,
                        "state": {"running": {"startedAt": ago(300)}},
                        "lastState": {
                            "terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": ago(301)}
                        },
                    }
                ]
            },
            "OOMKilled",
        ),
    ],
)
def test_one_bad_worker_says_why(status: dict[str, Any], expected: str) -> None:
    diagnosis = diagnose(cluster({"10.0.0.3": pod("10.0.0.3", **status)}), now=NOW)
    assert [s.id for s in diagnosis.situations] == [SituationId.CALICO_BAD_ON_FEW_WORKERS]
    assert expected in diagnosis.findings[0].title
    assert "10.0.0.3" in diagnosis.findings[0].title
    kinds = [a.kind for a in diagnosis.actions]
    assert kinds == [
        ActionKind.CORDON,
        ActionKind.GATHER,
        ActionKind.DELETE_POD,
        ActionKind.REBOOT_WORKER,
        ActionKind.RELOAD_WORKER,
        ActionKind.UNCORDON,
    ]
    assert diagnosis.actions[2].target == "calico-system/calico-node-3x"


def test_not_ready_with_bgp_peers_parsed_and_stale_peer_called_out() -> None:
    bad = pod("10.0.0.3")
    message = (
        "Readiness probe failed: 2024-02-12 14:42:49.280 [INFO][5037] confd/health.go 180: Number of node(s) "
        "with BGP peering established = 0 calico/node is not ready: BIRD is not ready: BGP not established "
        "with 10.0.0.4,10.9.9.9"
    )
    diagnosis = diagnose(cluster({"10.0.0.3": bad}, events=(unhealthy(bad, message),)), now=NOW)
    finding = diagnosis.findings[0]
    assert "not ready: BGP not established" in finding.title
    assert any("10.9.9.9 are no current worker's IP" in e for e in finding.evidence)
    assert not any("10.0.0.4 " in e and "no current worker" in e for e in finding.evidence)


def test_operator_http_liveness_failure_is_read() -> None:
    bad = pod("10.0.0.3")
    message = 'Liveness probe failed: Get "http://localhost:9099/liveness": dial tcp [::1]:9099: connect: connection refused'
    diagnosis = diagnose(cluster({"10.0.0.3": bad}, events=(unhealthy(bad, message),)), now=NOW)
    assert "not live: http" in diagnosis.findings[0].title


def test_zero_one_running_inside_startup_grace_is_normal() -> None:
    fresh = pod(
        "10.0.0.3",
        containerStatuses=[
            {"name": "calico-node", "ready": False, "state": {"running": {"startedAt": ago(40)}}}
        ],
    )
    assert [s.id for s in diagnose(cluster({"10.0.0.3": fresh}), now=NOW).situations] == [SituationId.HEALTHY]


def test_many_restarts_long_ago_are_history() -> None:
    old = pod(
        "10.0.0.3",
        conditions=[{"type": "Ready", "status": "True"}],
        containerStatuses=[
            {
                "name": "calico-node",
                "ready": True,
                "restartCount": 40,
                "state": {"running": {"startedAt": ago(86400 * 3)}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(86400 * 3)}},
            }
        ],
    )
    assert [s.id for s in diagnose(cluster({"10.0.0.3": old}), now=NOW).situations] == [SituationId.HEALTHY]


def test_stale_pod_on_silent_worker_is_not_judged() -> None:
    nodes = (unknown_node("10.0.0.1"), node("10.0.0.2"))
    stale_crashloop = pod("10.0.0.1", **CRASHLOOP)
    snap = snapshot(nodes=nodes, pods=(stale_crashloop, calico_pod("10.0.0.2")))
    assert [s.id for s in diagnose(snap, now=NOW).situations] == [SituationId.WORKER_NOT_READY_KUBELET]


def test_log_signatures_become_evidence() -> None:
    bad = pod("10.0.0.3", **CRASHLOOP)
    log = ContainerLog(
        namespace="calico-system",
        pod=bad.name,
        container="calico-node",
        previous=True,
        text="2026-11-29 11:58:01.002 [INFO][9] startup/startup.go 432: Early log level set to info\n"
        "2026-11-29 11:58:01.301 [WARNING][9] startup/startup.go 1120: Calico node 'kube-c1-old' "
        "is already using the IPv4 address 10.0.0.3.\n",
    )
    diagnosis = diagnose(cluster({"10.0.0.3": bad}, logs=(log,)), now=NOW)
    assert any("already using the IPv4 address 10.0.0.3" in e for e in diagnosis.findings[0].evidence)
    assert (
        "The logs say: another (stale) Calico Node object holds this worker's IP"
        in diagnosis.findings[0].detail
    )


def test_no_pod_on_one_worker_while_others_have_one() -> None:
    nodes = tuple(node(n) for n in WORKERS[:4])
    snap = snapshot(nodes=nodes, pods=tuple(calico_pod(n.name) for n in nodes[:3]))
    diagnosis = diagnose(snap, now=NOW)
    assert [s.id for s in diagnosis.situations] == [SituationId.CALICO_BAD_ON_FEW_WORKERS]
    assert "no calico-node pod" in diagnosis.findings[0].title


def test_most_workers_crashlooping_with_common_zone_and_recent_change() -> None:
    nodes = tuple(node(n, zone="dal12" if i < 6 else "dal10") for i, n in enumerate(WORKERS))
    bad = {n: pod(n, **CRASHLOOP) for n in WORKERS[:6]}
    felix = msgspec.convert(
        {
            "apiVersion": "crd.projectcalico.org/v1",
            "kind": "FelixConfiguration",
            "metadata": {
                "name": "default",
                "creationTimestamp": ago(86400 * 300),
                "annotations": {},
                "managedFields": [{"manager": "kubectl-edit", "operation": "Update", "time": ago(5400)}],
            },
        },
        CustomObject,
    )
    diagnosis = diagnose(cluster(bad, nodes=nodes, custom={"felixconfigurations": (felix,)}), now=NOW)
    assert [s.id for s in diagnosis.situations] == [SituationId.CALICO_CRASHLOOP_MOST_WORKERS]
    evidence = diagnosis.findings[0].evidence
    assert any("share: zone dal12 (6/6 affected, 0/4 healthy)" in e for e in evidence)
    assert any("FelixConfiguration default changed 90m ago by kubectl-edit" in e for e in evidence)
    assert any("created-by is missing" in e for e in evidence)
    assert {a.kind for a in diagnosis.actions} == {ActionKind.GATHER, ActionKind.ESCALATE}


def test_every_worker_bad_says_configuration_or_datastore() -> None:
    bad = {n: pod(n, **CRASHLOOP) for n in WORKERS}
    finding = diagnose(cluster(bad), now=NOW).findings[0]
    assert finding.title.startswith("calico-node is failing on every worker")
    assert any("Calico configuration, the master or the datastore" in e for e in finding.evidence)


def daemonset(namespace: str, desired: int) -> DaemonSet:
    return msgspec.convert(
        {
            "metadata": {"name": "calico-node", "namespace": namespace},
            "status": {"desiredNumberScheduled": desired},
        },
        DaemonSet,
    )


def test_absent_everywhere_when_daemonset_gone() -> None:
    diagnosis = diagnose(snapshot(nodes=(node("10.0.0.1"),), pods=()), now=NOW)
    assert [s.id for s in diagnosis.situations] == [SituationId.CALICO_ABSENT_EVERYWHERE]
    assert "not found in calico-system nor kube-system" in diagnosis.findings[0].evidence[0]
    assert [a.kind for a in diagnosis.actions] == [ActionKind.GATHER, ActionKind.REFRESH_MASTER]


def test_absent_with_webhook_denying_pods() -> None:
    failed = msgspec.convert(
        {
            "metadata": {"name": "calico-node.1", "namespace": "calico-system"},
            "involvedObject": {"kind": "DaemonSet", "name": "calico-node", "namespace": "calico-system"},
            "reason": "FailedCreate",
            "type": "Warning",
            "count": 40,
            "lastTimestamp": ago(30),
            "message": 'Error creating: admission webhook "validate.kyverno.svc-fail" denied the request: '
            "policy require-labels failed",
        },
        Event,
    )
    hook = msgspec.convert(
        {
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "kyverno-resource-validating-webhook-cfg"},
            "webhooks": [
                {
                    "name": "validate.kyverno.svc-fail",
                    "failurePolicy": "Fail",
                    "rules": [
                        {
                            "operations": ["CREATE", "UPDATE"],
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "resources": ["pods"],
                        }
                    ],
                }
            ],
        },
        WebhookConfiguration,
    )
    snap = snapshot(
        nodes=(node("10.0.0.1"),),
        pods=(),
        daemonsets=(daemonset("calico-system", 1),),
        events=(failed,),
        webhooks=(hook,),
    )
    finding = diagnose(snap, now=NOW).findings[0]
    assert any("denied the request" in e for e in finding.evidence)
    assert any("webhook validate.kyverno.svc-fail (failurePolicy Fail" in e for e in finding.evidence)
    assert "refresh alone will not fix that" in finding.detail


def test_webhook_excluding_calico_namespaces_is_not_blamed() -> None:
    hook = msgspec.convert(
        {
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "safe"},
            "webhooks": [
                {
                    "name": "safe.example.com",
                    "failurePolicy": "Fail",
                    "namespaceSelector": {
                        "matchExpressions": [
                            {
                                "key": "kubernetes.io/metadata.name",
                                "operator": "NotIn",
                                "values": ["kube-system", "calico-system"],
                            }
                        ]
                    },
                    "rules": [{"operations": ["CREATE"], "resources": ["pods"]}],
                }
            ],
        },
        WebhookConfiguration,
    )
    snap = snapshot(nodes=(node("10.0.0.1"),), pods=(), webhooks=(hook,))
    assert not any("safe.example.com" in e for e in diagnose(snap, now=NOW).findings[0].evidence)


def test_ovn_cluster_is_not_calico_absent() -> None:
    ovn = msgspec.convert({"metadata": {"name": "openshift-ovn-kubernetes"}}, Namespace)
    diagnosis = diagnose(snapshot(nodes=(node("10.0.0.1"),), pods=(), namespaces=(ovn,)), now=NOW)
    assert [s.id for s in diagnosis.situations] == [SituationId.HEALTHY]
    assert diagnosis.findings[0].severity == Severity.INFO
