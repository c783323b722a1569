"""Rules from the second held-out round of real incidents (issue #9), one test each.

Measured on 16 public incidents written after the rules and before these fixes: primary right
15/16, key evidence 15/18. What they showed, in general terms:
- a calico pod that never started (stuck in Init or waiting, no container running) past the
  start-up grace is failing, and its own events (a sandbox that cannot be made, an image that
  cannot be pulled) are the evidence — it used to be "Running and Ready … but errors in its log";
- a sandbox failure that is not about the pod network (the pause image) is not a CNI failure;
- Go's `panic: (*logrus.Entry) 0x…` line says nothing: the warning written just before a PANIC is
  what the process ran into, and is quoted;
- a crash-looping typha's own log is quoted (its last words when it logs no level);
- IBM's created-by annotation is an IKS convention, not a "recent change" elsewhere.
"""

from __future__ import annotations

from typing import Any

import msgspec

from bot.cluster.assemble import SnapshotBuilder
from checks.calico_crashloop_most_workers import recent_changes
from checks.calico_pods import cni_failures_by_node
from checks.diagnose import diagnose
from checks.logscan import error_lines, last_words, lead_up, level_of
from checks.model import SituationId
from checks.objects import CustomObject, Event, Pod
from checks.snapshot import ContainerLog, Read
from tests.factories import NOW, ago, calico_pod, node, snapshot

S = SituationId
PAUSE = (
    'Failed to create pod sandbox: rpc error: code = DeadlineExceeded desc = failed to get sandbox image "'
    'registry.k8s.io/pause:3.10": failed to pull image "registry.k8s.io/pause:3.10": dial tcp 3.5.132.221:443: '
    "i/o timeout"
)
CNI = (
    'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "abc": '
    'plugin type="calico" failed (add): stat /var/lib/calico/nodename: no such file or directory: check that '
    "the calico/node container is running and has mounted /var/lib/calico/"
)


def never_started(node_name: str, *, created_seconds_ago: float) -> Pod:
    waiting = {"waiting": {"reason": "PodInitializing"}}
    return msgspec.convert(
        {
            "metadata": {
                "name": "calico-node-zs2sp",
                "namespace": "kube-system",
                "labels": {"k8s-app": "calico-node"},
                "creationTimestamp": ago(created_seconds_ago),
            },
            "spec": {
                "nodeName": node_name,
                "initContainers": [{"name": "upgrade-ipam"}, {"name": "install-cni"}],
                "containers": [{"name": "calico-node", "image": "calico/node:v3.28.1"}],
            },
            "status": {
                "phase": "Pending",
                "conditions": [
                    {"type": "Ready", "status": "False", "lastTransitionTime": ago(created_seconds_ago)}
                ],
                "initContainerStatuses": [
                    {"name": "upgrade-ipam", "ready": False, "restartCount": 0, "state": waiting},
                    {"name": "install-cni", "ready": False, "restartCount": 0, "state": waiting},
                ],
                "containerStatuses": [
                    {"name": "calico-node", "ready": False, "restartCount": 0, "state": waiting}
                ],
            },
        },
        Pod,
    )


def sandbox_event(about: Pod, message: str) -> Event:
    return msgspec.convert(
        {
            "metadata": {"name": f"{about.name}.sandbox", "namespace": about.namespace},
            "involvedObject": {"kind": "Pod", "name": about.name, "namespace": about.namespace},
            "reason": "FailedCreatePodSandBox",
            "message": message,
            "type": "Warning",
            "count": 1,
            "lastTimestamp": ago(200),
            "source": {"component": "kubelet", "host": about.node_name},
        },
        Event,
    )


def test_a_pod_that_never_started_past_the_grace_is_failing_and_its_events_say_why() -> None:
    stuck = never_started("w1", created_seconds_ago=6000)
    diagnosis = diagnose(
        snapshot(nodes=(node("w1"),), pods=(stuck,), events=(sandbox_event(stuck, PAUSE),)), now=NOW
    )
    assert [s.id for s in diagnosis.situations] == [S.CALICO_CRASHLOOP_MOST_WORKERS]
    finding = diagnosis.findings[0]
    assert "stuck in Init:0/2" in finding.title
    assert any('failed to get sandbox image "registry.k8s.io/pause:3.10"' in e for e in finding.evidence)
    assert not any("Running and Ready" in f.title for f in diagnosis.findings)


def test_a_pod_that_has_not_started_yet_within_the_grace_is_a_quiet_start() -> None:
    starting = never_started("w1", created_seconds_ago=60)
    assert [s.id for s in diagnose(snapshot(nodes=(node("w1"),), pods=(starting,)), now=NOW).situations] == [
        S.HEALTHY
    ]


def test_a_calico_pods_own_sandbox_failure_is_kept_another_pods_non_cni_one_is_not() -> None:
    stuck = never_started("w1", created_seconds_ago=6000)
    app = msgspec.convert(
        {"metadata": {"name": "web-1", "namespace": "shop"}, "spec": {"nodeName": "w1"}, "status": {}}, Pod
    )
    builder = SnapshotBuilder(cluster="c1", source="dump", collected_at=NOW)
    builder.add(Read.CALICO_EVENTS, [sandbox_event(stuck, PAUSE)])
    builder.add(Read.CNI_EVENTS, [sandbox_event(app, PAUSE), sandbox_event(app, CNI)])
    events = builder.build().events
    assert sorted((e.involved_object.name, e.message == CNI) for e in events) == [
        ("calico-node-zs2sp", False),
        ("web-1", True),
    ]


def test_a_sandbox_failure_that_is_not_the_pod_network_is_not_a_cni_failure() -> None:
    stuck = never_started("w1", created_seconds_ago=6000)
    snap = snapshot(nodes=(node("w1"),), pods=(calico_pod("w1"),), events=(sandbox_event(stuck, PAUSE),))
    assert cni_failures_by_node(snap, NOW) == {}
    cni = snapshot(nodes=(node("w1"),), pods=(calico_pod("w1"),), events=(sandbox_event(stuck, CNI),))
    assert list(cni_failures_by_node(cni, NOW)) == ["w1"]


FELIX_PANIC = """\
2024-05-15 17:52:10.964 [PANIC][61396] felix/table.go 784: iptables-legacy-save command failed after retries ipVersion=0x4 table="raw"
panic: (*logrus.Entry) 0xc0005ed420
2024-05-15 17:52:12.344 [WARNING][61470] felix/table.go 840: iptables save failed error=exit status 127
2024-05-15 17:52:12.949 [PANIC][61470] felix/table.go 784: iptables-legacy-save command failed after retries ipVersion=0x4 table="raw"
panic: (*logrus.Entry) 0xc000720000

goroutine 172 [running]:
"""


def test_gos_pointer_panic_line_is_not_quoted_and_the_lead_up_is() -> None:
    assert level_of("panic: (*logrus.Entry) 0xc000720000") == ""
    assert level_of("panic: runtime error: invalid memory address or nil pointer dereference") == "error"
    quoted = error_lines(FELIX_PANIC)
    assert not any(line.startswith("panic: (*logrus.Entry)") for line in quoted)
    assert any("iptables save failed error=exit status 127" in line for line in quoted)
    assert not any("logrus.Entry" in line for line in last_words(FELIX_PANIC))
    panic = FELIX_PANIC.splitlines()[0]
    assert lead_up(FELIX_PANIC, panic).endswith("iptables save failed error=exit status 127")
    assert lead_up("2024-05-15 17:52:12.949 [INFO][1] x.go 1: fine\n" + panic + "\n", panic) == ""


def test_a_crash_looping_typhas_own_log_is_quoted() -> None:
    typha = msgspec.convert(
        {
            "metadata": {
                "name": "calico-typha-9vwr6-624cj",
                "namespace": "calico-system",
                "labels": {"k8s-app": "calico-typha"},
                "creationTimestamp": ago(86400),
            },
            "spec": {"nodeName": "w1", "containers": [{"name": "calico-typha"}]},
            "status": {
                "phase": "Running",
                "containerStatuses": [
                    {
                        "name": "calico-typha",
                        "ready": False,
                        "restartCount": 12,
                        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                        "lastState": {
                            "terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(60)}
                        },
                    }
                ],
            },
        },
        Pod,
    )
    line = "This program can only be run on AMD64 processors with v2 microarchitecture support."
    log = ContainerLog(namespace=typha.namespace, pod=typha.name, container="calico-typha", text=line + "\n")
    snap = snapshot(nodes=(node("w1"),), pods=(calico_pod("w1"), typha), logs=(log,))
    diagnosis = diagnose(snap, now=NOW)
    typha_finding = next(f for f in diagnosis.findings if f.situation == S.TYPHA_UNHEALTHY)
    assert f"log calico-typha: {line}" in typha_finding.evidence


def felix_configuration(annotations: dict[str, str]) -> Any:
    return msgspec.convert(
        {
            "apiVersion": "crd.projectcalico.org/v1",
            "kind": "FelixConfiguration",
            "metadata": {"name": "default", "annotations": annotations},
        },
        CustomObject,
    )


def test_ibms_created_by_annotation_counts_on_iks_only() -> None:
    custom = {"felixconfigurations": (felix_configuration({}),)}
    iks = node("w1")
    plain = msgspec.structs.replace(iks, metadata=msgspec.structs.replace(iks.metadata, labels={}))
    assert any(
        "created-by is missing" in c for c in recent_changes(snapshot(nodes=(iks,), custom=custom), NOW)
    )
    assert recent_changes(snapshot(nodes=(plain,), custom=custom), NOW) == []
