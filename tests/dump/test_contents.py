"""What a loaded dump holds.

- objects routed by kind: nodes, only the Calico/keepalived pods, DaemonSets, Deployments, node and
  Calico events; the crash-looping calico-node as the API showed it
- logs: one per container block (init containers first), kept only for kept pods, the END marker
  glued to a last line without newline
- cluster name, source, collected_at (the newest heartbeat)
- `missing`: what a cluster-info dump never contains, and the events/logs rules
- extra files: webhooks (JSON List), Calico CRs (YAML with `---`), a Secret without its value
- where calico-node lives: a dump that cannot tell (calico-system not dumped on 1.29) marks the
  calico reads missing instead of reading as "calico absent"; a cluster without Calico loads
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cluster.dump import DumpResult, load_dump
from checks.snapshot import Read

FIXTURES = Path(__file__).parent / "fixtures"
DIR129 = FIXTURES / "iks129-calico-system"
DIR128 = FIXTURES / "iks128-kube-system"
EXTRAS = FIXTURES / "extras"
NOT_IN_A_DUMP = (
    "namespaces",
    "webhooks",
    "leases",
    "bgpconfigurations",
    "ippools",
    "felixconfigurations",
    "calico-nodes",
    "installations",
    "tigerastatuses",
    "bgp-secrets",
    "bgp-rbac",
)


@pytest.fixture(scope="module")
def dump129() -> DumpResult:
    return load_dump(DIR129)


def _copy(source: Path, tmp_path: Path) -> Path:
    root = tmp_path / source.name
    shutil.copytree(source, root)
    return root


def _empty_list(path: Path) -> None:
    doc = json.loads(path.read_text())
    doc["items"] = []
    path.write_text(json.dumps(doc, indent=4) + "\n")


def test_objects_are_routed_by_kind(dump129: DumpResult) -> None:
    snap = dump129.snapshot
    assert [node.name for node in snap.nodes] == ["10.240.0.4", "10.240.64.4", "10.240.128.4"]
    assert [node.zone for node in snap.nodes] == ["us-south-1", "us-south-2", "us-south-3"]
    assert sorted((pod.namespace, pod.name) for pod in snap.pods) == [
        ("calico-system", "calico-kube-controllers-7d8c9f6b4-mn5rt"),
        ("calico-system", "calico-node-4hx9z"),
        ("calico-system", "calico-node-9vdtk"),
        ("calico-system", "calico-node-xq2lp"),
        ("calico-system", "calico-typha-6c9f8d7b5-r4jxn"),
        ("calico-system", "calico-typha-6c9f8d7b5-wz8kq"),
        ("kube-system", "ibm-keepalived-watcher-8mzvq"),
        ("kube-system", "ibm-keepalived-watcher-lb6hx"),
        ("kube-system", "ibm-keepalived-watcher-t2rkn"),
    ]  # coredns and csi-node-driver are not kept
    assert len(snap.calico_node_pods()) == 3
    assert len(snap.typha_pods()) == 2
    assert snap.calico_namespaces() == ("calico-system",)
    assert sorted((d.metadata.namespace, d.metadata.name) for d in snap.daemonsets) == [
        ("calico-system", "calico-node"),
        ("calico-system", "csi-node-driver"),
        ("kube-system", "ibm-keepalived-watcher"),
    ]
    assert sorted(d.metadata.name for d in snap.deployments) == [
        "calico-kube-controllers",
        "calico-typha",
        "coredns",
    ]
    daemonset = snap.daemonset("calico-system", "calico-node")
    assert daemonset is not None
    assert daemonset.status.number_ready == 2
    assert daemonset.status.number_unavailable == 1


def test_crash_looping_calico_node_is_as_the_api_showed_it(dump129: DumpResult) -> None:
    pod = next(p for p in dump129.snapshot.pods if p.name == "calico-node-xq2lp")
    assert pod.node_name == "10.240.128.4"
    assert pod.display_status() == "CrashLoopBackOff"
    assert not pod.ready
    status = pod.container_status("calico-node")
    assert status is not None
    assert status.restart_count == 14
    assert status.last_state.terminated is not None
    assert status.last_state.terminated.exit_code == 1
    assert [s.name for s in pod.status.init_container_statuses] == ["flexvol-driver", "install-cni"]


def test_events_node_and_calico(dump129: DumpResult) -> None:
    snap = dump129.snapshot
    assert [e.reason for e in snap.events_for("Node", "10.240.128.4")] == [
        "RegisteredNode",
        "NodeHasSufficientMemory",
    ]
    backoff = [e for e in snap.events_for("Pod", "calico-node-xq2lp") if e.reason == "BackOff"]
    assert len(backoff) == 1
    assert backoff[0].times == 61
    assert {e.metadata.namespace for e in snap.events} == {"default", "calico-system"}


def test_name_source_and_time(dump129: DumpResult) -> None:
    snap = dump129.snapshot
    assert dump129.form == "directory"
    assert snap.cluster == "iks129-calico-system"
    assert snap.source == "dump"
    assert snap.collected_at == datetime(2024, 9, 18, 14, 32, 7, tzinfo=UTC)  # the newest heartbeat
    assert load_dump(DIR129, cluster="prod-us-south").snapshot.cluster == "prod-us-south"


def test_logs_one_per_container_block(dump129: DumpResult) -> None:
    snap = dump129.snapshot
    logs = snap.logs_for("calico-system", "calico-node-xq2lp")
    assert [log.container for log in logs] == ["flexvol-driver", "install-cni", "calico-node"]
    assert logs[0].text == ""
    assert logs[1].text.endswith("Done configuring CNI.  Sleep= false")
    assert logs[2].text.splitlines()[0].endswith("startup/startup.go 431: Early log level set to info")
    assert logs[2].text.endswith('Exiting. reason="failed to connect to Typha"')  # END marker was glued on
    assert all(not log.previous and not log.truncated for log in snap.logs)
    assert not any("==== " in log.text for log in snap.logs)


def test_logs_only_for_kept_pods(dump129: DumpResult) -> None:
    snap = dump129.snapshot
    kept = {(pod.namespace, pod.name) for pod in snap.pods}
    assert {(log.namespace, log.pod) for log in snap.logs} == kept
    assert [log.container for log in snap.logs_for("kube-system", "ibm-keepalived-watcher-lb6hx")] == [
        "keepalived-watcher"
    ]


def test_logs_of_pods_not_kept_are_dropped(tmp_path: Path) -> None:
    root = _copy(DIR129, tmp_path)
    # a calico-named pod the builder does not keep (ROKS's calico-apiserver), and a log whose pod
    # is not in pods.json: both dropped
    for ns, pod, container in (
        ("calico-apiserver", "calico-apiserver-6b9d7c5f48-h2xkq", "calico-apiserver"),
        ("calico-system", "calico-node-zz9zz", "calico-node"),
    ):
        (root / ns / pod).mkdir(parents=True)
        (root / ns / pod / "logs.txt").write_text(
            f"==== START logs for container {container} of pod {ns}/{pod} ====\nstarted\n"
            f"==== END logs for container {container} of pod {ns}/{pod} ====\n"
        )
    pods = json.loads((DIR129 / "calico-system" / "pods.json").read_text())
    apiserver = json.loads(json.dumps(pods["items"][0]))
    apiserver["metadata"].update(
        name="calico-apiserver-6b9d7c5f48-h2xkq",
        namespace="calico-apiserver",
        labels={"apiserver": "true", "k8s-app": "calico-apiserver"},
    )
    image = "us.icr.io/armada-master/calico/apiserver:v3.27.4"
    apiserver["spec"]["initContainers"] = []
    apiserver["spec"]["containers"] = [{"name": "calico-apiserver", "image": image}]
    apiserver["status"]["initContainerStatuses"] = []
    apiserver["status"]["containerStatuses"] = [
        {
            "name": "calico-apiserver",
            "image": image,
            "ready": True,
            "restartCount": 0,
            "state": {"running": {}},
        }
    ]
    (root / "calico-apiserver" / "pods.json").write_text(json.dumps({**pods, "items": [apiserver]}, indent=4))
    result = load_dump(root)
    assert result.problems == ()
    assert {log.pod for log in result.snapshot.logs} == {pod.name for pod in result.snapshot.pods}
    assert len(result.snapshot.logs) == 15


def test_missing_is_what_a_cluster_info_dump_never_holds(dump129: DumpResult) -> None:
    assert dump129.missing == NOT_IN_A_DUMP
    assert dump129.snapshot.read_ok("calico-pods")
    assert dump129.snapshot.read_ok("node-events")
    assert dump129.problems == ()


def test_kube_system_128_dump(tmp_path: Path) -> None:
    result = load_dump(DIR128)
    snap = result.snapshot
    assert result.problems == ()
    assert snap.calico_namespaces() == ("kube-system",)
    assert sorted(p.name for p in snap.calico_node_pods()) == [
        "calico-node-2jw7d",
        "calico-node-h5nmx",
        "calico-node-vq8zc",
    ]
    assert all(p.ready for p in snap.pods)
    assert snap.events == ()
    assert result.missing == NOT_IN_A_DUMP  # default/events.json is empty, yet node events were read
    assert [log.container for log in snap.logs_for("kube-system", "calico-node-h5nmx")] == [
        "upgrade-ipam",
        "install-cni",
        "calico-node",
    ]
    assert snap.collected_at == datetime(2024, 6, 3, 9, 15, 31, tzinfo=UTC)


def test_missing_events_and_logs_follow_the_files(tmp_path: Path) -> None:
    root = _copy(DIR128, tmp_path)
    shutil.rmtree(root / "default")
    (root / "kube-system" / "events.json").unlink()
    for logs in root.glob("*/*/logs.txt"):
        logs.unlink()
    missing = load_dump(root).missing
    assert {"node-events", "calico-events", "logs"} <= set(missing)
    assert "calico-pods" not in missing
    assert "nodes" not in missing


def test_extra_files_are_routed(tmp_path: Path) -> None:
    root = _copy(DIR129, tmp_path)
    shutil.copytree(EXTRAS, root / "extras")
    result = load_dump(root)
    snap = result.snapshot
    assert result.problems == ()
    assert [(w.kind, w.metadata.name) for w in snap.webhooks] == [
        ("ValidatingWebhookConfiguration", "sysdig-admission-controller-webhook")
    ]
    assert snap.webhooks[0].webhooks[0].failure_policy == "Fail"
    bgp = snap.custom_objects("bgpconfigurations")
    assert [b.metadata.name for b in bgp] == ["default"]
    assert bgp[0].spec["nodeMeshPassword"]["secretKeyRef"]["name"] == "calico-bgp-password"
    assert [p.spec["cidr"] for p in snap.custom_objects("ippools")] == ["172.30.0.0/16"]
    assert [f.metadata.name for f in snap.custom_objects("felixconfigurations")] == ["default"]
    assert result.missing == (
        "namespaces",
        "leases",
        "calico-nodes",
        "installations",
        "tigerastatuses",
        "bgp-rbac",
    )


def test_secret_keeps_no_value(tmp_path: Path) -> None:
    root = _copy(DIR129, tmp_path)
    shutil.copy(EXTRAS / "bgp-secret.yaml", root / "bgp-secret.yaml")
    (root / "bgp-secret-copy.json").write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "calico-bgp-password", "namespace": "calico-system"},
                "data": {"password": "bWVzaC1wYXNzd29yZC1zM2NyM3Q="},
                "stringData": {"password": "mesh-password-s3cr3t"},
            },
            indent=4,
        )
    )
    result = load_dump(root)
    snap = result.snapshot
    assert sorted((s.metadata.namespace, s.metadata.name) for s in snap.secrets) == [
        ("calico-system", "calico-bgp-password"),
        ("kube-system", "calico-bgp-password"),
    ]
    assert not hasattr(snap.secrets[0], "data")
    everything = repr(snap) + repr(result.problems)
    for value in ("bWVzaC1wYXNzd29yZC1zM2NyM3Q=", "mesh-password-s3cr3t"):
        assert value not in everything
    assert "bgp-secrets" not in result.missing


def test_calico_system_not_dumped_on_129_is_unknown_not_absent(tmp_path: Path) -> None:
    root = _copy(DIR129, tmp_path)
    shutil.rmtree(root / "calico-system")  # what a default dump (kube-system + default) holds
    result = load_dump(root)
    assert {"calico-pods", "daemonsets", "deployments"} <= set(result.missing)
    assert len(result.problems) == 1
    assert result.problems[0].startswith(
        "calico-system: not in the dump and calico-node is in none of the namespaces"
    )


def test_calico_system_not_dumped_with_all_namespaces_is_known(tmp_path: Path) -> None:
    root = _copy(DIR129, tmp_path)
    shutil.rmtree(root / "calico-system")
    shutil.copytree(root / "default", root / "kube-public")  # --all-namespaces: kube-public is dumped
    result = load_dump(root)
    assert result.problems == ()
    assert not {"calico-pods", "daemonsets", "deployments"} & set(result.missing)


def test_kube_system_not_dumped_on_128_is_unknown(tmp_path: Path) -> None:
    root = _copy(DIR128, tmp_path)
    shutil.rmtree(root / "kube-system")
    result = load_dump(root)
    assert "calico-pods" in result.missing
    assert result.problems[0].startswith("kube-system: not in the dump")


def test_cluster_without_calico_loads(tmp_path: Path) -> None:
    root = _copy(DIR129, tmp_path)
    for name in ("pods.json", "daemonsets.json", "deployments.json", "replicasets.json", "events.json"):
        _empty_list(root / "calico-system" / name)
    for pod_dir in (root / "calico-system").iterdir():
        if pod_dir.is_dir():
            shutil.rmtree(pod_dir)
    result = load_dump(root)
    snap = result.snapshot
    assert result.problems == ()
    assert snap.calico_node_pods() == ()
    assert snap.daemonset("calico-system", "calico-node") is None
    assert snap.read_ok("calico-pods")
    assert snap.read_ok("daemonsets")
    assert [p.name for p in snap.pods] == [
        "ibm-keepalived-watcher-8mzvq",
        "ibm-keepalived-watcher-lb6hx",
        "ibm-keepalived-watcher-t2rkn",
    ]


def _log_block(ns: str, pod: str, container: str, text: str) -> str:
    return (
        f"==== START logs for container {container} of pod {ns}/{pod} ====\n{text}"
        f"==== END logs for container {container} of pod {ns}/{pod} ====\n"
    )


def test_kubectls_log_error_line_is_not_the_containers_output(tmp_path: Path) -> None:
    """kubectl writes `Request log error: …` where it could not read a log. A container that has
    not started has no log (as the collector reads the kubelet's 400 live); any other failure is a
    failed read — never log lines to scan for errors."""
    root = _copy(DIR129, tmp_path)
    pod_dir = root / "calico-system" / "calico-node-4hx9z"
    not_started = (
        'Request log error: container "calico-node" in pod "calico-node-4hx9z" is waiting to start: '
        "PodInitializing\n"
    )
    unreachable = (
        'Request log error: Get "https://10.0.0.1:10250/containerLogs/calico-system/calico-node-4hx9z/'
        'install-cni": dial tcp 10.0.0.1:10250: i/o timeout\n'
    )
    (pod_dir / "logs.txt").write_text(
        _log_block("calico-system", "calico-node-4hx9z", "calico-node", not_started)
        + _log_block("calico-system", "calico-node-4hx9z", "install-cni", unreachable)
    )
    snap = load_dump(root).snapshot
    assert snap.logs_for("calico-system", "calico-node-4hx9z") == ()
    failed = [e for e in snap.errors if e.read == Read.LOGS]
    assert len(failed) == 1
    assert "calico-node-4hx9z -c install-cni" in failed[0].reason
    assert "i/o timeout" in failed[0].reason
