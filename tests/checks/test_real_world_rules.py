"""The rules that make the verdict trustworthy on real-world evidence (issue #9), one test each.

- Calico is recognised by its workload (canal), not only by `k8s-app=calico-node`;
- "healthy" only when literally true: a Ready pod that restarted today, OOMKilled, or whose probes
  keep failing is a finding; the start-up grace softens only a quiet start;
- a Ready-and-steady pod whose probes or logs complain is `other`, not a crash loop;
- one worker of one is "every worker";
- the cause first (a denied BGP secret of any name), and no ladder for the workers it explains;
- the Calico CNI as other pods see it, attributed to their worker;
- a worker NotReady for a reason of its own is the kubelet's section, never silence;
- evidence quotes the pod line, the literal log lines and event messages (double spaces kept).
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from checks.diagnose import diagnose
from checks.model import ActionKind, Severity, SituationId
from checks.objects import DaemonSet, Event, Pod
from checks.snapshot import ContainerLog
from tests.factories import NOW, ago, node, snapshot

S = SituationId
WORKERS = [f"10.0.0.{i}" for i in range(1, 7)]


def pod(
    node_name: str,
    *,
    name: str = "",
    namespace: str = "kube-system",
    labels: dict[str, str] | None = None,
    containers: list[dict[str, Any]] | None = None,
    ready: bool = True,
    init: list[dict[str, Any]] | None = None,
    ready_since: float = 86400,
) -> Pod:
    statuses = containers or [
        {
            "name": "calico-node",
            "ready": ready,
            "restartCount": 0,
            "state": {"running": {"startedAt": ago(86400)}},
        }
    ]
    return msgspec.convert(
        {
            "metadata": {
                "name": name or f"calico-node-{node_name.replace('.', '')[-5:]}",
                "namespace": namespace,
                "labels": labels if labels is not None else {"k8s-app": "calico-node"},
                "creationTimestamp": ago(86400 * 3),
            },
            "spec": {
                "nodeName": node_name,
                "containers": [
                    {"name": s["name"], "image": s.get("image", "calico/node:v3.26.1")} for s in statuses
                ],
            },
            "status": {
                "phase": "Running",
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True" if all(s.get("ready") for s in statuses) else "False",
                        "lastTransitionTime": ago(ready_since),
                    }
                ],
                "containerStatuses": statuses,
                "initContainerStatuses": init or [],
            },
        },
        Pod,
    )


def event(about: Pod, reason: str, message: str, *, seconds_ago: float = 60, count: int = 1) -> Event:
    return msgspec.convert(
        {
            "metadata": {"name": f"{about.name}.{reason}{seconds_ago}", "namespace": about.namespace},
            "involvedObject": {"kind": "Pod", "name": about.name, "namespace": about.namespace},
            "reason": reason,
            "message": message,
            "type": "Warning",
            "count": count,
            "lastTimestamp": ago(seconds_ago),
            "source": {"component": "kubelet", "host": about.node_name},
        },
        Event,
    )


def ids(snap: Any) -> list[SituationId]:
    return [s.id for s in diagnose(snap, now=NOW).situations]


def healthy_pods(names: list[str]) -> tuple[Pod, ...]:
    return tuple(pod(n) for n in names)


CRASH = {
    "name": "calico-node",
    "ready": False,
    "restartCount": 9,
    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
    "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(60)}},
}


def test_canal_is_calico_by_its_workload() -> None:
    nodes = tuple(node(n) for n in WORKERS[:3])
    canal = msgspec.convert(
        {
            "metadata": {"name": "canal", "namespace": "kube-system", "labels": {"k8s-app": "canal"}},
            "spec": {
                "selector": {"matchLabels": {"k8s-app": "canal"}},
                "template": {
                    "metadata": {"labels": {"k8s-app": "canal"}},
                    "spec": {
                        "containers": [
                            {"name": "calico-node", "image": "rancher/mirrored-calico-node:v3.26.1"},
                            {"name": "kube-flannel", "image": "rancher/mirrored-flannelcni-flannel:v0.22.0"},
                        ]
                    },
                },
            },
            "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2},
        },
        DaemonSet,
    )
    labels = {"k8s-app": "canal"}
    pods = (
        pod(WORKERS[0], name="canal-aaaaa", labels=labels),
        pod(WORKERS[1], name="canal-bbbbb", labels=labels),
        pod(WORKERS[2], name="canal-ccccc", labels={"app": "whatever"}, containers=[CRASH]),  # label changed
    )
    snap = snapshot(nodes=nodes, pods=pods, daemonsets=(canal,))
    assert snap.calico_daemonsets() == (canal,)
    assert [p.name for p in snap.calico_node_pods()] == ["canal-aaaaa", "canal-bbbbb", "canal-ccccc"]
    diagnosis = diagnose(snap, now=NOW)
    assert [s.id for s in diagnosis.situations] == [S.CALICO_BAD_ON_FEW_WORKERS]
    assert "canal-ccccc" in diagnosis.findings[0].title


def test_ready_pod_that_restarted_today_is_not_healthy() -> None:
    restarted = {
        "name": "calico-node",
        "ready": True,
        "restartCount": 3,
        "state": {"running": {"startedAt": ago(3 * 3600)}},
        "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": ago(3 * 3600)}},
    }
    nodes = tuple(node(n) for n in WORKERS)
    pods = (*healthy_pods(WORKERS[1:]), pod(WORKERS[0], containers=[restarted]))
    diagnosis = diagnose(snapshot(nodes=nodes, pods=pods), now=NOW)
    assert [s.id for s in diagnosis.situations] == [S.CALICO_BAD_ON_FEW_WORKERS]
    finding = diagnosis.findings[0]
    assert finding.severity == Severity.WARNING  # Ready again: watch and gather, not the ladder
    assert any("OOMKilled exit code 137" in e and "out of memory" in e for e in finding.evidence)
    assert [a.kind for a in diagnosis.actions] == [ActionKind.GATHER]


def test_not_ready_within_grace_is_quiet_only_without_adverse_evidence() -> None:
    starting = {
        "name": "calico-node",
        "ready": False,
        "restartCount": 0,
        "state": {"running": {"startedAt": ago(40)}},
    }
    nodes = tuple(node(n) for n in WORKERS)
    quiet = pod(WORKERS[0], containers=[starting], ready_since=40)
    assert ids(snapshot(nodes=nodes, pods=(*healthy_pods(WORKERS[1:]), quiet))) == [S.HEALTHY]

    probe = event(
        quiet,
        "Unhealthy",
        "Readiness probe failed: calico/node is not ready: felix is not ready: readiness probe reporting 503",
    )
    diagnosis = diagnose(
        snapshot(nodes=nodes, pods=(*healthy_pods(WORKERS[1:]), quiet), events=(probe,)), now=NOW
    )
    assert [s.id for s in diagnosis.situations] == [S.CALICO_BAD_ON_FEW_WORKERS]
    assert diagnosis.findings[0].severity == Severity.WARNING  # softened, not silenced
    assert "while starting" in diagnosis.findings[0].title


def test_ready_and_steady_pods_whose_probes_keep_failing_are_other() -> None:
    nodes = tuple(node(n) for n in WORKERS[:3])
    pods = healthy_pods(WORKERS[:3])
    message = (
        "Liveness probe failed: calico/node is not ready: Felix is not live: Get http://localhost:9099/liveness: "
        "net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)"
    )
    events = tuple(event(p, "Unhealthy", message, count=210) for p in pods)
    diagnosis = diagnose(snapshot(nodes=nodes, pods=pods, events=events), now=NOW)
    assert [s.id for s in diagnosis.situations] == [S.OTHER]
    assert any(message in e for e in diagnosis.findings[0].evidence)


def test_probe_failures_before_a_pod_turned_ready_are_history() -> None:
    nodes = tuple(node(n) for n in WORKERS[:3])
    recovered = pod(WORKERS[0], ready_since=60)  # Ready again a minute ago
    old = event(
        recovered,
        "Unhealthy",
        "Readiness probe failed: BIRD is not ready: BGP not established with 10.0.0.2",
        seconds_ago=120,
    )
    snap = snapshot(nodes=nodes, pods=(recovered, *healthy_pods(WORKERS[1:3])), events=(old,))
    assert ids(snap) == [S.HEALTHY]


def test_one_worker_of_one_failing_is_every_worker() -> None:
    snap = snapshot(nodes=(node(WORKERS[0]),), pods=(pod(WORKERS[0], containers=[CRASH]),))
    assert ids(snap) == [S.CALICO_CRASHLOOP_MOST_WORKERS]


def test_a_denied_bgp_secret_of_any_name_is_the_bgp_section_first() -> None:
    line = (
        "E0610 00:16:46.957705      69 reflector.go:138] Failed to watch *v1.Secret: failed to list *v1.Secret: "
        'secrets "my-peer-password" is forbidden: User "system:serviceaccount:calico-system:calico-node" cannot '
        'list resource "secrets" in API group "" in the namespace "calico-system"'
    )
    nodes = tuple(node(n) for n in WORKERS[:4])
    bad = pod(WORKERS[0], namespace="calico-system", containers=[{**CRASH}])
    pods = (bad, *(pod(n, namespace="calico-system") for n in WORKERS[1:4]))
    logs = (ContainerLog(namespace="calico-system", pod=bad.name, container="calico-node", text=line),)
    diagnosis = diagnose(snapshot(nodes=nodes, pods=pods, logs=logs), now=NOW)
    assert [s.id for s in diagnosis.situations] == [S.BGP_PASSWORD_MIGRATION, S.CALICO_BAD_ON_FEW_WORKERS]
    assert any('secrets "my-peer-password" is forbidden' in e for e in diagnosis.findings[0].evidence)
    kinds = {a.kind for a in diagnosis.actions}
    assert not kinds & {ActionKind.CORDON, ActionKind.REBOOT_WORKER, ActionKind.DELETE_POD}


def test_cni_failures_of_other_pods_are_attributed_to_their_worker() -> None:
    nodes = tuple(node(n) for n in WORKERS)
    pods = healthy_pods(WORKERS[1:])  # no calico-node on WORKERS[0]'s side of the story
    victim = pod(
        WORKERS[0],
        name="web-1",
        namespace="shop",
        labels={"app": "web"},
        containers=[
            {
                "name": "web",
                "image": "nginx",
                "ready": False,
                "state": {"waiting": {"reason": "ContainerCreating"}},
            }
        ],
    )
    message = (
        'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "abc": '
        'plugin type="calico" failed (add): stat /var/lib/calico/nodename: no such file or directory: check that '
        "the calico/node container is running and has mounted /var/lib/calico/"
    )
    sandbox = event(victim, "FailedCreatePodSandBox", message, count=12)
    diagnosis = diagnose(snapshot(nodes=nodes, pods=pods, events=(sandbox,)), now=NOW)
    assert [s.id for s in diagnosis.situations] == [S.CALICO_BAD_ON_FEW_WORKERS]
    assert WORKERS[0] in diagnosis.findings[0].title
    assert any(
        "stat /var/lib/calico/nodename: no such file or directory" in e
        for e in diagnosis.findings[0].evidence
    )


def test_cni_rbac_failures_beside_a_running_calico_node_are_other() -> None:
    nodes = tuple(node(n) for n in WORKERS[:3])
    pods = healthy_pods(WORKERS[:3])
    victim = pods[0]
    message = (
        'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "d8": '
        'connection is unauthorized: ipamconfigs.crd.projectcalico.org "default" is forbidden: User '
        '"system:serviceaccount:kube-system:canal" cannot get resource "ipamconfigs" in API group '
        '"crd.projectcalico.org" at the cluster scope'
    )
    sandbox = event(victim, "FailedCreatePodSandBox", message)
    diagnosis = diagnose(snapshot(nodes=nodes, pods=pods, events=(sandbox,)), now=NOW)
    assert [s.id for s in diagnosis.situations] == [S.OTHER]
    assert any(
        'ipamconfigs.crd.projectcalico.org "default" is forbidden' in e
        for e in diagnosis.findings[0].evidence
    )


def test_a_worker_not_ready_for_its_own_reason_is_the_kubelet_section() -> None:
    sick = node(
        WORKERS[0],
        ready="False",
        reason="KubeletNotReady",
        message="PLEG is not healthy: pleg was last seen active 3m0s ago",
        since=900,
    )
    nodes = (sick, *(node(n) for n in WORKERS[1:3]))
    diagnosis = diagnose(snapshot(nodes=nodes, pods=healthy_pods(WORKERS[:3])), now=NOW)
    assert [s.id for s in diagnosis.situations] == [S.WORKER_NOT_READY_KUBELET]
    assert "PLEG is not healthy" in diagnosis.findings[0].title


def test_evidence_quotes_pod_line_and_literal_lines() -> None:
    line = (
        "2026-11-29 11:59:30.000 [WARNING][81] felix/sync_client.go 153: Failed to connect to typha endpoint "
        "10.0.0.2:5473.  Will try another if available... error=dial tcp 10.0.0.2:5473: i/o timeout"
    )
    nodes = tuple(node(n) for n in WORKERS)
    bad = pod(WORKERS[0], containers=[CRASH])
    logs = (
        ContainerLog(
            namespace="kube-system", pod=bad.name, container="calico-node", previous=True, text=line
        ),
    )
    diagnosis = diagnose(snapshot(nodes=nodes, pods=(bad, *healthy_pods(WORKERS[1:])), logs=logs), now=NOW)
    assert diagnosis.situations[0].id == S.TYPHA_UNHEALTHY  # the cause first
    few = next(f for f in diagnosis.findings if f.situation == S.CALICO_BAD_ON_FEW_WORKERS)
    assert few.evidence[0].startswith(
        f"kube-system/{bad.name} on {WORKERS[0]}: 0/1 CrashLoopBackOff, 9 restarts"
    )
    assert any(line in e for e in diagnosis.findings[0].evidence)  # double space kept


@pytest.mark.parametrize("restart_hours", [30, 72])
def test_a_restart_long_ago_is_history(restart_hours: int) -> None:
    old = {
        "name": "calico-node",
        "ready": True,
        "restartCount": 2,
        "state": {"running": {"startedAt": ago(restart_hours * 3600)}},
        "lastState": {
            "terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(restart_hours * 3600)}
        },
    }
    nodes = tuple(node(n) for n in WORKERS[:3])
    snap = snapshot(nodes=nodes, pods=(pod(WORKERS[0], containers=[old]), *healthy_pods(WORKERS[1:3])))
    assert ids(snap) == [S.HEALTHY]


def test_restarts_without_a_time_still_count() -> None:
    """`kubectl get pods` in a report shows RESTARTS 37 and nothing about when: not "healthy"."""
    restarted = {
        "name": "calico-node",
        "ready": True,
        "restartCount": 37,
        "state": {"running": {"startedAt": ago(600)}},
    }
    nodes = tuple(node(n) for n in WORKERS[:3])
    snap = snapshot(nodes=nodes, pods=(pod(WORKERS[0], containers=[restarted]), *healthy_pods(WORKERS[1:3])))
    diagnosis = diagnose(snap, now=NOW)
    # not "restarting now" (no time), so not the worker sections' scope — but never healthy
    assert [s.id for s in diagnosis.situations] == [S.OTHER]
    assert diagnosis.findings[0].severity == Severity.WARNING
    assert any("37 restarts" in e for e in diagnosis.findings[0].evidence)
