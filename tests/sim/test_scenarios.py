"""Scenario files: every built-in loads and builds what it promises; the format's rules hold."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.sim import ScenarioError, SimCluster, load_scenario, scenario_names
from bot.sim.generate import (
    CALICO_NODES,
    DAEMONSETS,
    DEPLOYMENTS,
    EVENTS,
    LEASES,
    NODES,
    PODS,
    TIGERA_STATUSES,
    operator_typha_replicas,
)
from bot.sim.scenario import parse_scenario, relative_time, resolve
from bot.sim.store import Json, find_type
from tests.sim.conftest import NOW

EXPECTED = {
    "healthy",
    "worker-notready-kubelet",
    "crashloop-one",
    "calico-down-on-worker",
    "demo",
    "kube-system-crashloop",
}


def calico_pods(sim: SimCluster) -> list[Json]:
    return [
        o.doc()
        for o in sim.store.objects(PODS, sim.scenario.calico_namespace)
        if o.labels().get("k8s-app") == "calico-node"
    ]


def node_doc(sim: SimCluster, name: str) -> Json:
    obj = sim.store.find(NODES, "", name)
    assert obj is not None, name
    return obj.doc()


def condition(doc: Json, kind: str) -> Json:
    return next(c for c in doc["status"]["conditions"] if c["type"] == kind)


def pod_on(sim: SimCluster, node: str) -> Json:
    return next(p for p in calico_pods(sim) if p["spec"]["nodeName"] == node)


def test_builtin_names() -> None:
    assert set(scenario_names()) >= EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_scenario_builds(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.description
    sim = SimCluster(scenario, now=NOW)
    ns = scenario.calico_namespace
    workers = sim.store.count(NODES)
    assert workers == scenario.workers.count
    assert len(calico_pods(sim)) == workers
    assert sim.store.count(LEASES) == workers
    assert sim.store.find(DAEMONSETS, ns, "calico-node") is not None
    assert sim.store.find(DEPLOYMENTS, ns, "calico-typha") is not None
    for plural in ("bgpconfigurations", "ippools", "felixconfigurations"):
        rt = find_type("crd.projectcalico.org", plural)
        assert rt is not None
        assert sim.store.count(rt) == 1
    assert sim.store.count(CALICO_NODES) >= workers
    if scenario.operator_era:
        assert sim.store.find(TIGERA_STATUSES, "", "calico") is not None
        assert sim.store.find(DEPLOYMENTS, "tigera-operator", "tigera-operator") is not None
    else:
        assert "operator.tigera.io" in sim.store.absent_groups


def test_healthy_is_healthy() -> None:
    sim = SimCluster("healthy", now=NOW)
    assert sim.scenario.calico_namespace == "calico-system"
    for obj in sim.store.objects(NODES):
        doc = obj.doc()
        assert condition(doc, "Ready")["status"] == "True"
        net = condition(doc, "NetworkUnavailable")
        assert (net["status"], net["reason"], net["message"]) == (
            "False",
            "CalicoIsUp",
            "Calico is running on this node",
        )
    for pod in calico_pods(sim):
        assert pod["status"]["phase"] == "Running"
        assert condition(pod, "Ready")["status"] == "True"
        assert [c["name"] for c in pod["spec"]["initContainers"]] == ["flexvol-driver", "install-cni"]
        main = pod["spec"]["containers"][0]
        assert main["readinessProbe"]["exec"]["command"] == [
            "/bin/calico-node",
            "-bird-ready",
            "-felix-ready",
        ]
        assert main["livenessProbe"]["httpGet"]["port"] == 9099
    ds = sim.store.find(DAEMONSETS, "calico-system", "calico-node")
    assert ds is not None
    status = ds.doc()["status"]
    assert status["desiredNumberScheduled"] == status["numberReady"] == 3
    ts = sim.store.find(TIGERA_STATUSES, "", "calico")
    assert ts is not None
    conditions = {c["type"]: c["status"] for c in ts.doc()["status"]["conditions"]}
    assert conditions == {"Available": "True", "Progressing": "False", "Degraded": "False"}
    bgp = sim.store.find(
        next(r for r in sim.store.served_types() if r.kind == "BGPConfiguration"), "", "default"
    )
    assert bgp is not None
    assert bgp.doc()["metadata"]["annotations"]["created-by"] == "IBMCloudKubernetesService"
    pool = sim.store.find(
        next(r for r in sim.store.served_types() if r.kind == "IPPool"), "", "default-ipv4-ippool"
    )
    assert pool is not None
    assert (pool.doc()["spec"]["cidr"], pool.doc()["spec"]["ipipMode"]) == ("172.30.0.0/16", "CrossSubnet")
    for cnode in sim.store.objects(CALICO_NODES):
        assert cnode.doc()["spec"]["bgp"]["ipv4Address"] == f"{cnode.name}/26"
    for lease in sim.store.objects(LEASES):
        renew = datetime.strptime(lease.doc()["spec"]["renewTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=UTC
        )
        assert timedelta(0) < NOW - renew < timedelta(seconds=10)


def test_node_looks_like_iks() -> None:
    sim = SimCluster("healthy", now=NOW)
    node = node_doc(sim, "10.188.156.4")
    labels = node["metadata"]["labels"]
    assert labels["ibm-cloud.kubernetes.io/iaas-provider"] == "softlayer"
    assert labels["kubernetes.io/hostname"] == labels["ibm-cloud.kubernetes.io/internal-ip"] == "10.188.156.4"
    assert labels["ibm-cloud.kubernetes.io/zone"] == labels["topology.kubernetes.io/zone"] == "dal10"
    for key in (
        "worker-id",
        "worker-pool-name",
        "worker-pool-id",
        "region",
        "worker-version",
        "machine-type",
    ):
        assert labels[f"ibm-cloud.kubernetes.io/{key}"]
    assert labels["privateVLAN"]
    assert labels["publicVLAN"]
    worker_id = labels["ibm-cloud.kubernetes.io/worker-id"]
    provider = node["spec"]["providerID"].split("/")
    assert provider[0] == "ibm:"
    assert provider[-1] == worker_id
    assert provider[5] == sim.builder.facts.cluster_id
    assert node["metadata"]["annotations"]["projectcalico.org/IPv4Address"] == "10.188.156.4/26"
    assert len(node["status"]["images"]) >= 25
    assert [c["type"] for c in node["status"]["conditions"]] == [
        "NetworkUnavailable",
        "MemoryPressure",
        "DiskPressure",
        "PIDPressure",
        "Ready",
    ]


def test_vpc_workers() -> None:
    raw = yaml.safe_load(Path(load_scenario("healthy").source).read_text())
    raw["cluster"]["provider"] = "vpc"
    raw["workers"].pop("zones")
    sim = SimCluster(parse_scenario(raw), now=NOW)
    labels = next(iter(sim.store.objects(NODES))).doc()["metadata"]["labels"]
    assert labels["ibm-cloud.kubernetes.io/iaas-provider"] == "g2"
    assert labels["ibm-cloud.kubernetes.io/subnet-id"]
    assert labels["topology.kubernetes.io/zone"].startswith("us-south-")
    assert "privateVLAN" not in labels


def test_worker_notready_kubelet() -> None:
    sim = SimCluster("worker-notready-kubelet", now=NOW)
    node = node_doc(sim, "10.188.156.140")
    for kind in ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure"):
        cond = condition(node, kind)
        assert (cond["status"], cond["reason"], cond["message"]) == (
            "Unknown",
            "NodeStatusUnknown",
            "Kubelet stopped posting node status.",
        )
    assert condition(node, "Ready")["lastTransitionTime"] == "2026-03-14T11:46:00Z"
    assert {(t["key"], t["effect"]) for t in node["spec"]["taints"]} == {
        ("node.kubernetes.io/unreachable", "NoSchedule"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
    }
    lease = sim.store.find(LEASES, "kube-node-lease", "10.188.156.140")
    assert lease is not None
    assert (
        lease.doc()["spec"]["renewTime"] == "2026-03-14T11:45:00.000000Z"
    )  # MicroTime, as the API writes it
    pod = pod_on(sim, "10.188.156.140")
    status = pod["status"]["containerStatuses"][0]
    assert pod["status"]["phase"] == "Running"
    assert status["ready"] is True
    assert "running" in status["state"]
    others = [n for n in sim.store.objects(NODES) if n.name != "10.188.156.140"]
    assert all(condition(n.doc(), "Ready")["status"] == "True" for n in others)


def test_crashloop_one() -> None:
    sim = SimCluster("crashloop-one", now=NOW)
    assert condition(node_doc(sim, "10.188.156.137"), "Ready")["status"] == "True"
    pod = pod_on(sim, "10.188.156.137")
    status = pod["status"]["containerStatuses"][0]
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert status["restartCount"] == 14
    assert status["lastState"]["terminated"] == {
        **status["lastState"]["terminated"],
        "exitCode": 1,
        "reason": "Error",
    }
    events = [e.doc() for e in sim.store.objects(EVENTS, "calico-system")]
    backoff = next(e for e in events if e["reason"] == "BackOff")
    uid = pod["metadata"]["uid"]
    assert (
        backoff["message"]
        == f"Back-off restarting failed container calico-node in pod {pod['metadata']['name']}_calico-system({uid})"
    )
    assert backoff["involvedObject"] == {
        **backoff["involvedObject"],
        "kind": "Pod",
        "name": pod["metadata"]["name"],
        "namespace": "calico-system",
        "uid": uid,
    }
    assert any(
        e["reason"] == "Unhealthy" and e["message"].startswith("Liveness probe failed:") for e in events
    )
    current = sim.store.read_log("calico-system", pod["metadata"]["name"], container="calico-node")
    assert "Calico node '10.188.156.201' is already using the IPv4 address 10.188.156.137." in current
    assert current.splitlines()[0].startswith("2026-03-14 11:56:00.000 [INFO][9]")
    previous = sim.store.read_log(
        "calico-system", pod["metadata"]["name"], container="calico-node", previous=True
    )
    assert previous == current  # CrashLoopBackOff: both are the run that just crashed (kubelet semantics)
    stale = sim.store.find(CALICO_NODES, "", "10.188.156.201")
    assert stale is not None
    assert stale.doc()["spec"]["bgp"]["ipv4Address"] == "10.188.156.137/26"
    ts = sim.store.find(TIGERA_STATUSES, "", "calico")
    assert ts is not None
    degraded = next(c for c in ts.doc()["status"]["conditions"] if c["type"] == "Degraded")
    assert degraded["status"] == "True"
    assert (
        degraded["message"]
        == f"Pod calico-system/{pod['metadata']['name']} has crash looping container: calico-node"
    )


def test_calico_down_on_worker() -> None:
    sim = SimCluster("calico-down-on-worker", now=NOW)
    node = node_doc(sim, "10.188.156.150")
    ready = condition(node, "Ready")
    assert ready["status"] == "False"
    assert ready["reason"] == "KubeletNotReady"
    assert "NetworkReady=false reason:NetworkPluginNotReady" in ready["message"]
    down = condition(node, "NetworkUnavailable")
    assert (down["status"], down["reason"], down["message"]) == (
        "True",
        "CalicoIsDown",
        "Calico is shutting down on this node",
    )
    assert down["lastTransitionTime"] == "2026-03-14T11:40:00Z"
    pod = pod_on(sim, "10.188.156.150")
    init = {s["name"]: s for s in pod["status"]["initContainerStatuses"]}
    assert init["install-cni"]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert init["flexvol-driver"]["state"]["terminated"]["exitCode"] == 0
    assert pod["status"]["phase"] == "Pending"


def test_kube_system_era() -> None:
    sim = SimCluster("kube-system-crashloop", now=NOW)
    assert sim.scenario.calico_namespace == "kube-system"
    assert sim.store.find(DAEMONSETS, "calico-system", "calico-node") is None
    pod = pod_on(sim, "10.188.156.137")
    assert pod["metadata"]["namespace"] == "kube-system"
    assert [c["name"] for c in pod["spec"]["initContainers"]] == [
        "upgrade-ipam",
        "install-cni",
        "flexvol-driver",
        "calico-extension",
    ]
    main = pod["spec"]["containers"][0]
    assert main["livenessProbe"]["exec"]["command"] == ["/bin/calico-node", "-felix-live", "-bird-live"]
    assert main["image"].endswith("calico/node:v3.26.4")
    typha = sim.store.find(DEPLOYMENTS, "kube-system", "calico-typha")
    assert typha is not None
    assert typha.doc()["spec"]["replicas"] == 3
    assert "calico-system" not in {
        o.name
        for o in sim.store.objects(next(r for r in sim.store.served_types() if r.plural == "namespaces"))
    }


def test_demo_spreads_twelve_workers_over_three_zones() -> None:
    sim = SimCluster("demo", now=NOW)
    zones = Counter(o.labels()["topology.kubernetes.io/zone"] for o in sim.store.objects(NODES))
    assert zones == {"dal10": 4, "dal12": 4, "dal13": 4}
    assert condition(node_doc(sim, "10.189.156.9"), "Ready")["status"] == "Unknown"
    assert (
        pod_on(sim, "10.190.156.12")["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
        == "CrashLoopBackOff"
    )


def test_nodes_parameter_adds_healthy_workers() -> None:
    sim = SimCluster("crashloop-one", nodes=40, now=NOW)
    names = [o.name for o in sim.store.objects(NODES)]
    assert len(names) == len(set(names)) == 40
    assert "10.188.156.137" in names
    bad = [p for p in calico_pods(sim) if condition(p, "Ready")["status"] != "True"]
    assert [p["spec"]["nodeName"] for p in bad] == ["10.188.156.137"]
    typha = sim.store.find(DEPLOYMENTS, "calico-system", "calico-typha")
    assert typha is not None
    assert typha.doc()["spec"]["replicas"] == 3


@pytest.mark.parametrize(
    ("nodes", "replicas"), [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (199, 3), (400, 4), (1000, 7), (5000, 27)]
)
def test_typha_replicas_follow_the_operator(nodes: int, replicas: int) -> None:
    assert operator_typha_replicas(nodes) == replicas


def test_generation_is_deterministic() -> None:
    one, two = SimCluster("demo", now=NOW), SimCluster("demo", now=NOW)
    assert [o.item for o in one.store.objects(PODS)] == [o.item for o in two.store.objects(PODS)]


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("@now", 0),
        ("@now-90s", -90),
        ("@now-5m", -300),
        ("@now-2h", -7200),
        ("@now-3d", -259200),
        ("@now-1h30m", -5400),
        ("@now+10m", 600),
    ],
)
def test_relative_times(text: str, delta: int) -> None:
    assert relative_time(text, NOW) == NOW + timedelta(seconds=delta)


def test_resolve_values_inline_times_and_variables() -> None:
    doc = {"a": "@now-5m", "b": ["@now"], "c": "at ${@now-1h} on ${node}", "d": "@nowhere", "e": 3}
    out = resolve(doc, NOW, {"node": "10.0.0.1"})
    assert out == {
        "a": "2026-03-14T11:55:00Z",
        "b": ["2026-03-14T12:00:00Z"],
        "c": "at 2026-03-14T11:00:00Z on 10.0.0.1",
        "d": "@nowhere",
        "e": 3,
    }
    assert resolve("${@now-90s} x", NOW, log_times=True) == "2026-03-14 11:58:30.000 x"


def _minimal(**extra: Any) -> Json:
    return {"name": "t", "cluster": {"name": "t", "version": "1.29"}, **extra}


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"bogus": 1}, "unknown key"),
        (_minimal(cluster={"name": "t", "version": "129"}), "cluster.version"),
        (_minimal(cluster={"name": "t", "platform": "eks"}), "platform"),
        (_minimal(workers={"count": -1}), "workers.count"),
        (_minimal(broken_workers=[{"nodes": {}}]), "unknown key"),
        (_minimal(objects=[{"kind": "Pod"}]), "apiVersion, kind and metadata.name"),
        (_minimal(faults=[{"status": 403}]), "route"),
        (_minimal(broken_workers=[{"events": [{"about": "cluster"}]}]), "about"),
        ([1, 2], "mapping"),
    ],
)
def test_bad_scenarios_are_refused(raw: Any, needle: str) -> None:
    with pytest.raises(ScenarioError, match=needle):
        parse_scenario(raw)


def test_unknown_scenario_name() -> None:
    with pytest.raises(ScenarioError, match="unknown scenario"):
        load_scenario("no-such-scenario")


def test_scenario_from_path_with_objects_and_era_default(tmp_path: Path) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "description": "custom",
                "cluster": {"name": "old", "version": "1.27"},
                "workers": {"count": 2},
                "objects": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "DaemonSet",
                        "metadata": {"name": "calico-node", "namespace": "kube-system"},
                        "delete": True,
                    },
                    {
                        "apiVersion": "crd.projectcalico.org/v1",
                        "kind": "BGPConfiguration",
                        "merge": True,
                        "metadata": {"name": "default", "annotations": {"created-by": None}},
                    },
                    {
                        "apiVersion": "admissionregistration.k8s.io/v1",
                        "kind": "ValidatingWebhookConfiguration",
                        "metadata": {"name": "block-pods", "creationTimestamp": "@now-2h"},
                        "webhooks": [{"name": "pods.example.com", "failurePolicy": "Fail"}],
                    },
                ],
            }
        )
    )
    scenario = load_scenario(path)
    assert scenario.name == "custom"
    assert scenario.calico_namespace == "kube-system"
    sim = SimCluster(scenario, now=NOW)
    assert sim.store.find(DAEMONSETS, "kube-system", "calico-node") is None
    bgp_type = next(r for r in sim.store.served_types() if r.kind == "BGPConfiguration")
    bgp = sim.store.find(bgp_type, "", "default")
    assert bgp is not None
    doc = bgp.doc()
    assert "created-by" not in doc["metadata"].get("annotations", {})
    assert (
        doc["spec"]["nodeMeshPassword"]["secretKeyRef"]["name"] == "calico-bgp-password"
    )  # merge kept the rest
    hook_type = next(r for r in sim.store.served_types() if r.kind == "ValidatingWebhookConfiguration")
    hook = sim.store.find(hook_type, "", "block-pods")
    assert hook is not None
    assert hook.doc()["metadata"]["creationTimestamp"] == "2026-03-14T10:00:00Z"


def test_scenario_object_of_unknown_kind(tmp_path: Path) -> None:
    raw = _minimal(objects=[{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}])
    with pytest.raises(ScenarioError, match="does not serve"):
        SimCluster(parse_scenario(raw), now=NOW)


def test_logs_key_must_name_a_container_or_previous() -> None:
    raw = _minimal(broken_workers=[{"logs": {"calico-node/older": "x"}}])
    with pytest.raises(ScenarioError, match="previous"):
        SimCluster(parse_scenario(raw), now=NOW)
