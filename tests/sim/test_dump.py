"""The cluster-info dump writer: kubectl's directory layout, List files, START/END log blocks, extras."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bot.sim import SimCluster
from bot.sim.generate import PODS
from tests.sim.conftest import NOW

NAMESPACES = ("kube-system", "calico-system", "default", "tigera-operator")
FILES = ("events", "replication-controllers", "services", "daemonsets", "deployments", "replicasets", "pods")
KINDS = {
    "events": ("EventList", "v1"),
    "replication-controllers": ("ReplicationControllerList", "v1"),
    "services": ("ServiceList", "v1"),
    "daemonsets": ("DaemonSetList", "apps/v1"),
    "deployments": ("DeploymentList", "apps/v1"),
    "replicasets": ("ReplicaSetList", "apps/v1"),
    "pods": ("PodList", "v1"),
}


def test_dump_layout(tmp_path: Path) -> None:
    sim = SimCluster("crashloop-one", now=NOW)
    out = sim.write_cluster_info_dump(tmp_path / "dump")
    nodes_text = (out / "nodes.json").read_text()
    assert nodes_text.startswith('{\n    "kind": "NodeList",\n    "apiVersion": "v1",')
    assert nodes_text.endswith("}\n")
    nodes = json.loads(nodes_text)
    assert len(nodes["items"]) == 3
    assert "kind" not in nodes["items"][0]
    assert (out / "nodes.json").stat().st_mode & 0o777 == 0o600
    for ns in NAMESPACES:
        for name in FILES:
            doc = json.loads((out / ns / f"{name}.json").read_text())
            assert (doc["kind"], doc["apiVersion"]) == KINDS[name], (ns, name)
            assert isinstance(doc["items"], list)
        pods = json.loads((out / ns / "pods.json").read_text())["items"]
        for pod in pods:
            assert (out / ns / pod["metadata"]["name"] / "logs.txt").is_file()
    assert not (out / "extras").exists()
    calico = json.loads((out / "calico-system" / "daemonsets.json").read_text())["items"]
    assert [d["metadata"]["name"] for d in calico] == ["calico-node"]
    assert json.loads((out / "tigera-operator" / "deployments.json").read_text())["items"][0]["metadata"][
        "name"
    ] == ("tigera-operator")
    events = json.loads((out / "calico-system" / "events.json").read_text())["items"]
    assert {e["reason"] for e in events} >= {"BackOff", "Unhealthy"}


def test_dump_log_blocks(tmp_path: Path) -> None:
    sim = SimCluster("crashloop-one", now=NOW)
    out = sim.write_cluster_info_dump(tmp_path)
    pod = next(
        o
        for o in sim.store.objects(PODS, "calico-system")
        if o.name.startswith("calico-node-") and o.doc()["spec"]["nodeName"] == "10.188.156.137"
    )
    text = (out / "calico-system" / pod.name / "logs.txt").read_text()
    markers = re.findall(r"^==== (START|END) logs for container (\S+) of pod (\S+) ====$", text, re.M)
    ident = f"calico-system/{pod.name}"
    assert markers == [
        ("START", "flexvol-driver", ident),
        ("END", "flexvol-driver", ident),
        ("START", "install-cni", ident),
        ("END", "install-cni", ident),
        ("START", "calico-node", ident),
        ("END", "calico-node", ident),
    ]
    block = text.split(f"==== START logs for container calico-node of pod {ident} ====\n")[1]
    block = block.split(f"==== END logs for container calico-node of pod {ident} ====\n")[0]
    assert "is already using the IPv4 address 10.188.156.137." in block
    assert block.endswith("Calico node failed to start\n")
    assert "11:51:00" not in block  # current run only, never --previous
    assert text.endswith(f"==== END logs for container calico-node of pod {ident} ====\n")


def test_dump_log_errors_are_written_like_kubectl(tmp_path: Path) -> None:
    sim = SimCluster("calico-down-on-worker", now=NOW)
    out = sim.write_cluster_info_dump(tmp_path)
    pod = next(
        o
        for o in sim.store.objects(PODS, "calico-system")
        if o.name.startswith("calico-node-") and o.doc()["spec"]["nodeName"] == "10.188.156.150"
    )
    text = (out / "calico-system" / pod.name / "logs.txt").read_text()
    assert (
        f'Request log error: container "calico-node" in pod "{pod.name}" is waiting to start: PodInitializing\n'
        in text
    )
    sim = SimCluster("worker-notready-kubelet", now=NOW)
    out = sim.write_cluster_info_dump(tmp_path / "s1")
    pod = next(
        o
        for o in sim.store.objects(PODS, "calico-system")
        if o.name.startswith("calico-node-") and o.doc()["spec"]["nodeName"] == "10.188.156.140"
    )
    assert (
        'Request log error: Get "https://10.188.156.140:10250/containerLogs/'
        in (out / "calico-system" / pod.name / "logs.txt").read_text()
    )


def test_dump_extras(tmp_path: Path) -> None:
    sim = SimCluster("healthy", now=NOW)
    out = sim.write_cluster_info_dump(tmp_path, extras=True)
    extras = out / "extras"
    expected = {
        "validatingwebhookconfigurations",
        "mutatingwebhookconfigurations",
        "bgpconfigurations",
        "ippools",
        "felixconfigurations",
        "nodes",
        "installations",
        "tigerastatuses",
        "leases",
        "namespaces",
        "roles",
        "rolebindings",
        "secrets",
        "apis",
        "all-daemonsets",
        "sandbox-events",
    }
    assert {p.stem for p in extras.glob("*.json")} == expected
    calico_nodes = json.loads((extras / "nodes.json").read_text())
    assert calico_nodes["apiVersion"] == "crd.projectcalico.org/v1"
    assert len(calico_nodes["items"]) == 3
    leases = json.loads((extras / "leases.json").read_text())
    assert leases["kind"] == "LeaseList"
    assert len(leases["items"]) == 3
    secrets = (extras / "secrets.json").read_text()
    assert "calico-bgp-password" in secrets
    assert '"data"' not in secrets
    roles = json.loads((extras / "roles.json").read_text())
    assert [r["metadata"]["name"] for r in roles["items"]] == ["bgp-secret-access"]

    old = SimCluster("kube-system-crashloop", now=NOW).write_cluster_info_dump(tmp_path / "old", extras=True)
    assert not (old / "extras" / "installations.json").exists()
    groups = {g["name"] for g in json.loads((old / "extras" / "apis.json").read_text())["groups"]}
    assert "operator.tigera.io" not in groups
    assert "crd.projectcalico.org" in groups


def test_project_dump_loader_reads_the_dump(tmp_path: Path) -> None:
    from bot.cluster.dump import load_dump

    out = SimCluster("demo", now=NOW).write_cluster_info_dump(tmp_path / "demo")
    result = load_dump(out, cluster="demo")
    snapshot = result.snapshot
    assert not result.problems, result.problems
    assert len(snapshot.nodes) == 12
    assert len(snapshot.calico_node_pods()) == 12
    assert any(
        log.container == "calico-node" and "already using the IPv4 address" in log.text
        for log in snapshot.logs
    )
