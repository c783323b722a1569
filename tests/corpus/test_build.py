"""The case builder makes what a real apiserver returns and kubectl writes (tests/corpus/build.py).

Each test writes a small case, builds it and looks at the objects, as a check would read them:
owner references, status counts derived from pods, pod conditions from readiness, the node
controller's derivations for an unreachable node, the install types' pod specs, operator objects,
relative times, the dump tree, and one clear line (exit 2) for a malformed case.
"""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cluster.dump import load_dump
from tests.corpus import build, score
from tests.corpus.case import CaseError, load_case, parse_case
from tests.corpus.objects import Built, build_cluster

NOW = "2024-03-01T12:00:00Z"
HEAD = f"""
source: {{url: "https://github.com/projectcalico/calico/issues/1", title: "t"}}
summary: s
distribution: kubeadm
expect: {{primary: calico-bad-on-few-workers, evidence: ["x"]}}
now: "{NOW}"
"""


def built(tmp_path: Path, body: str, name: str = "case") -> Built:
    path = tmp_path / f"{name}.yaml"
    path.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    return build_cluster(load_case(path))


def one(out: Built, kind: str, namespace: str, name: str) -> dict[str, Any]:
    found = out.find(kind, namespace, name)
    assert found is not None, (kind, namespace, name)
    return found


def pods_of(out: Built, namespace: str, prefix: str) -> dict[str, dict[str, Any]]:
    return {
        p["spec"]["nodeName"]: p
        for p in out.of_kind("Pod")
        if p["metadata"]["namespace"] == namespace and p["metadata"]["name"].startswith(prefix)
    }


def condition(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in doc["status"]["conditions"] if c["type"] == kind)


MANIFEST = """
cluster:
  kubernetes_version: v1.27.3
  nodes:
    - {name: master-1, ip: 10.1.0.5, roles: [control-plane]}
    - {name: worker-1, ip: 10.1.0.6}
    - {name: worker-2, ip: 10.1.0.7}
calico: {install: manifest, version: v3.26.4}
pods:
  - ref: calico-node@worker-1
    name: calico-node-x7k2p
    containers:
      calico-node:
        restartCount: 12
        state: {waiting: {reason: CrashLoopBackOff, message: "back-off 5m0s restarting failed container"}}
        lastState: {terminated: {exitCode: 1, reason: Error, startedAt: "@now-6m", finishedAt: "@now-5m"}}
events:
  - about: calico-node@worker-1
    reason: BackOff
    message: "Back-off restarting failed container calico-node in pod calico-node-x7k2p_kube-system"
    count: 40
    first: "@now-2h"
    last: "@now-30s"
logs:
  - {pod: calico-node@worker-1, container: calico-node, previous: true, text: "Calico node failed to start"}
"""


def test_manifest_daemonset_pods_and_derived_status(tmp_path: Path) -> None:
    out = built(tmp_path, MANIFEST)
    ds = one(out, "DaemonSet", "kube-system", "calico-node")
    assert ds["metadata"]["labels"] == {"k8s-app": "calico-node"}
    assert ds["status"]["desiredNumberScheduled"] == 3
    assert ds["status"]["currentNumberScheduled"] == 3
    assert ds["status"]["numberReady"] == 2
    assert ds["status"]["numberAvailable"] == 2
    assert ds["status"]["numberUnavailable"] == 1
    pods = pods_of(out, "kube-system", "calico-node-")
    assert set(pods) == {"master-1", "worker-1", "worker-2"}
    for node, pod in pods.items():
        owner = pod["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["uid"]) == (
            "DaemonSet",
            "calico-node",
            ds["metadata"]["uid"],
        )
        assert pod["spec"]["nodeName"] == node
        assert pod["status"]["hostIP"] == pod["status"]["podIP"]
        assert pod["metadata"]["labels"]["k8s-app"] == "calico-node"
    spec = pods["worker-2"]["spec"]
    assert [c["name"] for c in spec["initContainers"]] == [
        "upgrade-ipam",
        "install-cni",
        "flexvol-driver",
        "mount-bpffs",
    ]
    node_container = spec["containers"][0]
    assert node_container["livenessProbe"]["exec"]["command"] == [
        "/bin/calico-node",
        "-felix-live",
        "-bird-live",
    ]
    assert node_container["readinessProbe"]["exec"]["command"] == [
        "/bin/calico-node",
        "-felix-ready",
        "-bird-ready",
    ]
    assert node_container["image"] == "docker.io/calico/node:v3.26.4"

    healthy = pods["worker-2"]
    assert condition(healthy, "Ready")["status"] == "True"
    status = healthy["status"]["containerStatuses"][0]
    assert status["ready"] is True
    assert status["containerID"].startswith("containerd://")
    assert status["imageID"].startswith("docker.io/calico/node@sha256:")

    bad = pods["worker-1"]
    assert bad["metadata"]["name"] == "calico-node-x7k2p"
    assert bad["status"]["phase"] == "Running"
    ready = condition(bad, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ContainersNotReady")
    assert ready["message"] == "containers with unready status: [calico-node]"
    main = bad["status"]["containerStatuses"][0]
    assert main["ready"] is False
    assert main["started"] is False
    assert main["restartCount"] == 12
    assert main["containerID"] == main["lastState"]["terminated"]["containerID"]
    assert main["lastState"]["terminated"]["finishedAt"] == "2024-03-01T11:55:00Z"

    master = one(out, "Node", "", "master-1")
    assert {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"} in master["spec"][
        "taints"
    ]
    assert "node-role.kubernetes.io/control-plane" in master["metadata"]["labels"]
    worker = one(out, "Node", "", "worker-1")
    assert "taints" not in worker["spec"]
    assert worker["status"]["addresses"][0] == {"type": "InternalIP", "address": "10.1.0.6"}
    assert worker["status"]["nodeInfo"]["kubeletVersion"] == "v1.27.3"
    assert condition(worker, "Ready")["reason"] == "KubeletReady"
    lease = one(out, "Lease", "kube-node-lease", "worker-1")
    renew = datetime.strptime(lease["spec"]["renewTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert timedelta(0) <= datetime(2024, 3, 1, 12, tzinfo=UTC) - renew < timedelta(seconds=15)

    kube_controllers = one(out, "Deployment", "kube-system", "calico-kube-controllers")
    assert kube_controllers["status"]["readyReplicas"] == 1
    assert condition(kube_controllers, "Available")["status"] == "True"
    assert "operator.tigera.io" in out.absent_groups
    assert out.find("Installation", "", "default") is None


def test_events_point_at_their_object(tmp_path: Path) -> None:
    out = built(tmp_path, MANIFEST)
    event = out.of_kind("Event")[0]
    pod = one(out, "Pod", "kube-system", "calico-node-x7k2p")
    ref = event["involvedObject"]
    assert (ref["kind"], ref["namespace"], ref["name"], ref["uid"]) == (
        "Pod",
        "kube-system",
        "calico-node-x7k2p",
        pod["metadata"]["uid"],
    )
    assert ref["fieldPath"] == "spec.containers{calico-node}"
    assert event["metadata"]["namespace"] == "kube-system"
    assert event["source"] == {"component": "kubelet", "host": "worker-1"}
    assert (event["count"], event["firstTimestamp"], event["lastTimestamp"]) == (
        40,
        "2024-03-01T10:00:00Z",
        "2024-03-01T11:59:30Z",
    )


def test_crashloop_previous_log_is_the_current_log(tmp_path: Path) -> None:
    """Waiting after a crash, the kubelet serves the last terminated run for both: the dump has it."""
    out = built(tmp_path, MANIFEST)
    key = ("kube-system", "calico-node-x7k2p", "calico-node")
    assert out.previous_logs[key] == "Calico node failed to start\n"
    assert out.logs[key] == "Calico node failed to start\n"
    running = """
    cluster: {nodes: [{name: worker-1}]}
    pods:
      - ref: calico-node@worker-1
        name: calico-node-x7k2p
        containers:
          calico-node:
            restartCount: 2
            state: {running: {startedAt: "@now-1m"}}
            lastState: {terminated: {exitCode: 1, reason: Error, finishedAt: "@now-2m"}}
    logs:
      - {pod: calico-node@worker-1, container: calico-node, previous: true, text: "Calico node failed to start"}
    """
    out = built(tmp_path, running, name="running")
    assert key in out.previous_logs
    assert key not in out.logs  # a running container's previous run is not in a cluster-info dump


def test_unreachable_node_derivations(tmp_path: Path) -> None:
    out = built(
        tmp_path,
        """
        cluster:
          nodes:
            - name: w1
            - name: w2
              conditions:
                - {type: Ready, status: "Unknown", reason: NodeStatusUnknown, message: "Kubelet stopped posting node status.", lastTransitionTime: "@now-14m"}
        """,
    )
    node = one(out, "Node", "", "w2")
    ready = condition(node, "Ready")
    assert ready["lastHeartbeatTime"] == "2024-03-01T11:45:20Z"  # 40 s before the transition
    assert condition(node, "MemoryPressure")["status"] == "Unknown"
    assert condition(node, "MemoryPressure")["message"] == "Kubelet stopped posting node status."
    assert [(t["key"], t["effect"]) for t in node["spec"]["taints"]] == [
        ("node.kubernetes.io/unreachable", "NoSchedule"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
    ]
    lease = one(out, "Lease", "kube-node-lease", "w2")
    assert lease["spec"]["renewTime"].startswith("2024-03-01T11:45:20")
    pod = pods_of(out, "kube-system", "calico-node-")["w2"]
    assert condition(pod, "Ready")["status"] == "False"  # the node controller marks it
    assert pod["status"]["containerStatuses"][0]["ready"] is True  # the kubelet's last word stays
    assert condition(pods_of(out, "kube-system", "calico-node-")["w1"], "Ready")["status"] == "True"


def test_failed_init_container_holds_the_pod(tmp_path: Path) -> None:
    out = built(
        tmp_path,
        """
        cluster: {nodes: [{name: w1}, {name: w2}]}
        pods:
          - ref: calico-node@w1
            init_containers:
              install-cni: {restartCount: 3, state: {terminated: {exitCode: 1, reason: Error, finishedAt: "@now-1m"}}}
        """,
    )
    pod = pods_of(out, "kube-system", "calico-node-")["w1"]
    assert pod["status"]["phase"] == "Pending"
    init = condition(pod, "Initialized")
    assert (init["status"], init["message"]) == ("False", "containers with incomplete status: [install-cni]")
    statuses = {s["name"]: s for s in pod["status"]["initContainerStatuses"]}
    assert statuses["install-cni"]["state"]["terminated"]["exitCode"] == 1
    assert statuses["flexvol-driver"]["state"] == {"waiting": {"reason": "PodInitializing"}}
    main = pod["status"]["containerStatuses"][0]
    assert main["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert "containerID" not in main
    assert one(out, "DaemonSet", "kube-system", "calico-node")["status"]["numberReady"] == 1


def test_operator_install(tmp_path: Path) -> None:
    out = built(
        tmp_path,
        """
        cluster: {nodes: [{name: a}, {name: b}, {name: c}]}
        calico: {install: operator, version: v3.27.0, typha: [b, c], csi_node_driver: true}
        pods:
          - {ref: calico-typha@c, name: calico-typha-6d7f9c8b5c-abcde}
        """,
    )
    ds = one(out, "DaemonSet", "calico-system", "calico-node")
    assert ds["metadata"]["ownerReferences"][0]["kind"] == "Installation"
    container = ds["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"] == {
        "path": "/liveness",
        "port": 9099,
        "scheme": "HTTP",
        "host": "localhost",
    }
    assert container["readinessProbe"]["exec"]["command"] == [
        "/bin/calico-node",
        "-bird-ready",
        "-felix-ready",
    ]
    assert ds["spec"]["template"]["metadata"]["labels"] == {
        "k8s-app": "calico-node",
        "app.kubernetes.io/name": "calico-node",
    }
    install = one(out, "Installation", "", "default")
    assert install["status"]["calicoVersion"] == "v3.27.0"
    status = one(out, "TigeraStatus", "", "calico")
    assert condition(status, "Available")["status"] == "True"
    operator = one(out, "Deployment", "tigera-operator", "tigera-operator")
    assert operator["spec"]["template"]["spec"]["containers"][0]["image"] == "quay.io/tigera/operator:v1.32.3"
    typha = pods_of(out, "calico-system", "calico-typha-")
    assert set(typha) == {"b", "c"}
    assert typha["c"]["metadata"]["name"] == "calico-typha-6d7f9c8b5c-abcde"
    assert one(out, "ReplicaSet", "calico-system", "calico-typha-6d7f9c8b5c")["status"]["readyReplicas"] == 2
    assert one(out, "Service", "calico-system", "calico-typha")["spec"]["selector"] == {
        "k8s-app": "calico-typha"
    }
    assert len(pods_of(out, "calico-system", "csi-node-driver-")) == 3
    assert "operator.tigera.io" not in out.absent_groups
    assert {"calico-system", "tigera-operator"} <= {n["metadata"]["name"] for n in out.of_kind("Namespace")}


def test_canal_rke2_and_microk8s_installs(tmp_path: Path) -> None:
    canal = built(tmp_path, "cluster: {nodes: [{name: n1}]}\ncalico: {install: canal}\n", name="canal")
    ds = one(canal, "DaemonSet", "kube-system", "canal")
    pod = pods_of(canal, "kube-system", "canal-")["n1"]
    assert pod["metadata"]["labels"]["k8s-app"] == "canal"
    assert [c["name"] for c in pod["spec"]["containers"]] == ["calico-node", "kube-flannel"]
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["install-cni"]
    assert ds["spec"]["selector"] == {"matchLabels": {"k8s-app": "canal"}}
    assert condition(one(canal, "Node", "", "n1"), "NetworkUnavailable")["reason"] == "FlannelIsUp"
    old = built(
        tmp_path, "cluster: {nodes: [{name: n1}]}\ncalico: {install: canal, version: v3.3.2}\n", name="old"
    )
    names = [c["name"] for c in pods_of(old, "kube-system", "canal-")["n1"]["spec"]["containers"]]
    assert names == ["calico-node", "install-cni", "kube-flannel"]  # canal before v3.4: 3/3

    rke2 = built(
        tmp_path,
        "cluster: {nodes: [{name: n1}]}\ncalico: {install: rke2-canal, version: v3.26.1}\n",
        name="rke2",
    )
    ds = one(rke2, "DaemonSet", "kube-system", "rke2-canal")
    assert ds["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert ds["metadata"]["annotations"]["meta.helm.sh/release-name"] == "rke2-canal"
    pod = pods_of(rke2, "kube-system", "rke2-canal-")["n1"]
    assert pod["metadata"]["labels"]["k8s-app"] == "canal"
    node_container = pod["spec"]["containers"][0]
    assert node_container["image"] == "rancher/hardened-calico:v3.26.1-build20230802"
    assert node_container["livenessProbe"]["exec"]["command"] == ["/usr/bin/calico-node", "-felix-live"]
    assert node_container["readinessProbe"]["httpGet"]["path"] == "/readiness"
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["install-cni", "flexvol-driver"]
    assert rke2.find("Deployment", "kube-system", "calico-kube-controllers") is None

    micro = built(
        tmp_path,
        "cluster: {nodes: [{name: n1, roles: [control-plane]}]}\ncalico: {install: microk8s}\n",
        name="mk",
    )
    node = one(micro, "Node", "", "n1")
    assert node["metadata"]["labels"]["microk8s.io/cluster"] == "true"
    assert node["metadata"]["labels"]["node.kubernetes.io/microk8s-controlplane"] == "microk8s-controlplane"
    pod = pods_of(micro, "kube-system", "calico-node-")["n1"]
    assert pod["spec"]["containers"][0]["livenessProbe"]["exec"]["command"] == [
        "/bin/calico-node",
        "-felix-live",
    ]
    env = {e["name"]: e.get("value") for e in pod["spec"]["initContainers"][1]["env"]}
    assert env["CNI_NET_DIR"] == "/var/snap/microk8s/current/args/cni-network"


def test_relative_times() -> None:
    base = {
        "source": {"url": "https://github.com/a/b/issues/1", "title": "t"},
        "summary": "s",
        "distribution": "kubeadm",
        "expect": {"primary": "healthy"},
        "now": NOW,
        "cluster": {"nodes": [{"name": "n1"}]},
    }
    when = {
        "@now": "12:00:00",
        "@now-5m": "11:55:00",
        "@now-2h30m": "09:30:00",
        "@now-6m17s": "11:53:43",
        "@now+90s": "12:01:30",
    }
    for text, clock in when.items():
        case = parse_case(
            {**base, "events": [{"about": "Node/n1", "reason": "R", "message": "m", "last": text}]}, slug="t"
        )
        assert case.events[0].last == f"2024-03-01T{clock}Z"
    with pytest.raises(CaseError, match=r"^events\[0\]\.last: '@now-5x'"):
        parse_case(
            {**base, "events": [{"about": "Node/n1", "reason": "R", "message": "m", "last": "@now-5x"}]},
            slug="t",
        )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("expect: {primary: nope, evidence: [x]}", "expect.primary"),
        ("pods: [{ref: calico-node@missing}]", "pods[0].ref"),
        (
            "pods: [{ref: calico-node@n1, containers: {calico-nod: {ready: false}}}]",
            "pods[0].containers.calico-nod",
        ),
        ("source: {url: 'http://example.com/x', title: t}", "source.url"),
        ("logs: [{pod: calico-node@n1, container: calico-node}]", "logs[0].text"),
        ("calico: {install: cilium}", "calico.install"),
        ("colour: blue", "colour"),
    ],
)
def test_malformed_case_is_one_line_exit_2(
    change: str, field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = {
        line.split(":")[0]: line for line in (HEAD + "cluster: {nodes: [{name: n1}]}\n").strip().splitlines()
    }
    lines[change.split(":")[0]] = change
    path = tmp_path / "bad.yaml"
    path.write_text("\n".join(lines.values()) + "\n", encoding="utf-8")
    assert build.main([str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f": {field}:" in err
    assert not (tmp_path / "out").exists()


def test_cli_writes_a_dump_the_loader_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "c.yaml"
    case.write_text(
        HEAD
        + textwrap.dedent(MANIFEST)
        + textwrap.dedent(
            """
            objects:
              - apiVersion: v1
                kind: Secret
                metadata: {name: calico-bgp-password, namespace: kube-system}
                data: {password: cGFzc3dvcmQ=}
              - apiVersion: v1
                kind: ConfigMap
                metadata: {name: calico-config, namespace: kube-system}
                data: {veth_mtu: "1440"}
              - apiVersion: crd.projectcalico.org/v1
                kind: BGPPeer
                metadata: {name: rack-tor}
                spec: {peerIP: 10.1.0.1, asNumber: 64512}
            """
        ),
        encoding="utf-8",
    )
    assert build.main([str(case), "--out", str(tmp_path / "d1")]) == 0
    assert capsys.readouterr().out.strip() == f"Cluster info dumped to {tmp_path / 'd1'}"
    dump = tmp_path / "d1"
    assert json.loads((dump / "nodes.json").read_text())["kind"] == "NodeList"
    logs = (dump / "kube-system" / "calico-node-x7k2p" / "logs.txt").read_text()
    assert (
        "==== START logs for container calico-node of pod kube-system/calico-node-x7k2p ====\nCalico node failed to start\n"
        in logs
    )
    others = json.loads((dump / "extras" / "case-objects.json").read_text())["items"]
    assert {o["kind"] for o in others} == {"ConfigMap", "BGPPeer"}
    secrets = json.loads((dump / "extras" / "secrets.json").read_text())["items"]
    assert secrets[0]["metadata"]["name"] == "calico-bgp-password"
    assert "cGFzc3dvcmQ=" not in "".join(p.read_text() for p in dump.rglob("*") if p.is_file())
    loaded = load_dump(dump, cluster="c")
    assert loaded.problems == ()
    assert len(loaded.snapshot.nodes) == 3
    assert {p.name for p in loaded.snapshot.calico_node_pods()} >= {"calico-node-x7k2p"}
    assert build.main([str(case), "--out", str(tmp_path / "d2")]) == 0
    files = sorted(p.relative_to(dump) for p in dump.rglob("*") if p.is_file())
    assert files == sorted(
        p.relative_to(tmp_path / "d2") for p in (tmp_path / "d2").rglob("*") if p.is_file()
    )
    for rel in files:  # the same case builds the same bytes
        assert (dump / rel).read_bytes() == (tmp_path / "d2" / rel).read_bytes(), rel


def test_literal_object_replaces_the_generated_one(tmp_path: Path) -> None:
    out = built(
        tmp_path,
        """
        cluster: {nodes: [{name: n1}]}
        calico: {install: operator}
        objects:
          - apiVersion: operator.tigera.io/v1
            kind: TigeraStatus
            metadata: {name: calico}
            status: {conditions: [{type: Degraded, status: "True", reason: ResourceNotReady, message: "m"}]}
        """,
    )
    statuses = out.of_kind("TigeraStatus")
    assert len(statuses) == 1
    assert statuses[0]["status"]["conditions"][0]["type"] == "Degraded"
    assert statuses[0]["metadata"]["uid"]


def test_score_reports_a_bad_case_as_a_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken-case.yaml"
    bad.write_text("source: [not, a, mapping]\n", encoding="utf-8")
    good = Path(__file__).parent / "cases" / "harness-calico-3541-bgp-second-nic-master.yaml"
    assert score.main([str(bad), str(good), "--mode", "dump"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("broken-case"))
    assert "ERROR" in row
    assert "malformed case: source: expected a mapping" in row
    assert next(line for line in out.splitlines() if line.startswith("harness-calico-3541"))
    assert "dump: primary right" in out
    assert "errors 1" in out
