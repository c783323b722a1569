"""The simulated cluster written as `kubectl cluster-info dump --output-directory` writes it, plus
the extras `scripts/collect-dump` adds (`SimCluster.write_cluster_info_dump`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from bot.sim.generate import DAEMONSETS, NODES, PODS
from bot.sim.store import ApiError, Json, ResourceType, Store, find_type

DUMP_NAMESPACES = ("kube-system", "calico-system", "default", "tigera-operator")

_DUMP_KINDS = (
    ("events", "events", ""),
    ("replication-controllers", "replicationcontrollers", ""),
    ("services", "services", ""),
    ("daemonsets", "daemonsets", "apps"),
    ("deployments", "deployments", "apps"),
    ("replicasets", "replicasets", "apps"),
    ("pods", "pods", ""),
)


def _list_doc(store: Store, rt: ResourceType, namespace: str | None, items: list[Json] | None = None) -> Json:
    if items is None:
        items = [obj.doc() for obj in store.objects(rt, namespace)]
    return {
        "kind": rt.list_kind,
        "apiVersion": rt.api_version,
        "metadata": {"resourceVersion": str(store.resource_version)},
        "items": items,
    }


def _write_file(path: Path, text: str) -> None:
    """As kubectl does: 0700 directories, 0600 files."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


def _write_json(path: Path, doc: Json) -> None:
    _write_file(path, json.dumps(doc, indent=4, ensure_ascii=False) + "\n")


def write_dump(
    store: Store, directory: Path, *, namespaces: Sequence[str] = DUMP_NAMESPACES, extras: bool = False
) -> Path:
    """The `kubectl cluster-info dump --output-directory` layout (JSON, 4-space indent, one List per file)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_json(directory / "nodes.json", _list_doc(store, NODES, None))
    for ns in namespaces:
        for filename, plural, group in _DUMP_KINDS:
            rt = find_type(group, plural)
            assert rt is not None
            _write_json(directory / ns / f"{filename}.json", _list_doc(store, rt, ns))
        for pod in store.objects(PODS, ns):
            doc = pod.doc()
            spec = doc.get("spec") or {}
            chunks: list[str] = []
            for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
                cname = container["name"]
                chunks.append(f"==== START logs for container {cname} of pod {ns}/{pod.name} ====\n")
                try:
                    text = store.read_log(ns, pod.name, container=cname)
                    node = spec.get("nodeName", "")
                    if node and _node_unknown(store, node):
                        text = (
                            f'Request log error: Get "https://{node}:10250/containerLogs/{ns}/{pod.name}/{cname}": '
                            f"dial tcp {node}:10250: i/o timeout\n"
                        )
                except ApiError as err:
                    text = f"Request log error: {err.message}\n"
                chunks.append(text)
                chunks.append(f"==== END logs for container {cname} of pod {ns}/{pod.name} ====\n")
            _write_file(directory / ns / pod.name / "logs.txt", "".join(chunks))
    if extras:
        _write_extras(store, directory / "extras", namespaces)
    return directory


def _node_unknown(store: Store, name: str) -> bool:
    obj = store.find(NODES, "", name)
    if obj is None:
        return False
    for cond in (obj.doc().get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "Unknown")
    return False


def _write_extras(store: Store, directory: Path, namespaces: Sequence[str]) -> None:
    """What `scripts/collect-dump` writes under `DIR/extras/` (the same names, read by `bot.dump`)."""
    calico_ns = ("calico-system", "kube-system")
    for plural, group, scope in (
        ("validatingwebhookconfigurations", "admissionregistration.k8s.io", None),
        ("mutatingwebhookconfigurations", "admissionregistration.k8s.io", None),
        ("bgpconfigurations", "crd.projectcalico.org", None),
        ("ippools", "crd.projectcalico.org", None),
        ("felixconfigurations", "crd.projectcalico.org", None),
        ("nodes", "crd.projectcalico.org", None),
        ("installations", "operator.tigera.io", None),
        ("tigerastatuses", "operator.tigera.io", None),
        ("leases", "coordination.k8s.io", "kube-node-lease"),
        ("namespaces", "", None),
    ):
        rt = find_type(group, plural)
        assert rt is not None
        if not store.served(rt):
            continue
        _write_json(directory / f"{plural}.json", _list_doc(store, rt, scope))
    for plural, group in (
        ("roles", "rbac.authorization.k8s.io"),
        ("rolebindings", "rbac.authorization.k8s.io"),
    ):
        rt = find_type(group, plural)
        assert rt is not None
        items = [obj.doc() for ns in calico_ns for obj in store.objects(rt, ns)]
        _write_json(directory / f"{plural}.json", _list_doc(store, rt, None, items))
    _write_json(directory / "all-daemonsets.json", _list_doc(store, DAEMONSETS, None))
    events_rt = find_type("", "events")
    assert events_rt is not None
    sandbox = [
        obj.doc() for obj in store.objects(events_rt) if obj.field("reason") == "FailedCreatePodSandBox"
    ]
    _write_json(directory / "sandbox-events.json", _list_doc(store, events_rt, None, sandbox))
    secrets_rt = find_type("", "secrets")
    assert secrets_rt is not None
    meta_only = [
        {
            "metadata": {
                k: v
                for k, v in obj.doc()["metadata"].items()
                if k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            }
        }
        for ns in calico_ns
        for obj in store.objects(secrets_rt, ns)
    ]
    _write_json(directory / "secrets.json", _list_doc(store, secrets_rt, None, meta_only))
    groups = [
        {"name": g, "versions": [{"groupVersion": f"{g}/v1", "version": "v1"}]}
        for g in store.served_groups()
        if g
    ]
    _write_json(directory / "apis.json", {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
