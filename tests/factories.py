"""Build checks' typed objects from Kubernetes-shaped dicts, for pure unit tests.

Everything goes through `msgspec.convert` of the same JSON shape the API returns, so a factory
cannot produce an object a real cluster could not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from checks.objects import Event, Lease, Node, Pod
from checks.snapshot import Snapshot

NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)


def ago(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def node(
    name: str,
    *,
    ready: str = "True",
    reason: str = "KubeletReady",
    message: str = "kubelet is posting ready status",
    since: float = 86400,
    zone: str = "dal10",
    pool: str = "default",
    network_unavailable: tuple[str, str, str, float] | None = (
        "False",
        "CalicoIsUp",
        "Calico is running on this node",
        86400,
    ),
    taints: list[dict[str, Any]] | None = None,
    provider: str = "softlayer",
) -> Node:
    conditions = [
        {
            "type": "Ready",
            "status": ready,
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": ago(10),
            "lastTransitionTime": ago(since),
        },
    ]
    if network_unavailable is not None:
        status, why, text, age = network_unavailable
        conditions.append(
            {
                "type": "NetworkUnavailable",
                "status": status,
                "reason": why,
                "message": text,
                "lastHeartbeatTime": ago(age),
                "lastTransitionTime": ago(age),
            }
        )
    return msgspec.convert(
        {
            "metadata": {
                "name": name,
                "labels": {
                    "ibm-cloud.kubernetes.io/zone": zone,
                    "ibm-cloud.kubernetes.io/worker-pool-name": pool,
                    "ibm-cloud.kubernetes.io/iaas-provider": provider,
                    "ibm-cloud.kubernetes.io/worker-id": f"kube-c1-{name.replace('.', '')}",
                },
            },
            "spec": {"taints": taints or []},
            "status": {"conditions": conditions, "addresses": [{"type": "InternalIP", "address": name}]},
        },
        Node,
    )


def unknown_node(name: str, **kw: Any) -> Node:
    return node(
        name,
        ready="Unknown",
        reason="NodeStatusUnknown",
        message="Kubelet stopped posting node status.",
        since=600,
        taints=[
            {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
            {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},
        ],
        **kw,
    )


def calico_pod(
    node_name: str,
    *,
    namespace: str = "calico-system",
    ready: bool = True,
    waiting: str = "",
    restarts: int = 0,
    name: str | None = None,
) -> Pod:
    state: dict[str, Any] = (
        {"waiting": {"reason": waiting}} if waiting else {"running": {"startedAt": ago(3600)}}
    )
    return msgspec.convert(
        {
            "metadata": {
                "name": name or f"calico-node-{node_name.replace('.', '')[-5:]}",
                "namespace": namespace,
                "labels": {"k8s-app": "calico-node"},
            },
            "spec": {"nodeName": node_name, "containers": [{"name": "calico-node"}]},
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                "containerStatuses": [
                    {"name": "calico-node", "ready": ready, "restartCount": restarts, "state": state}
                ],
            },
        },
        Pod,
    )


def node_event(
    node_name: str, reason: str, message: str, *, count: int = 1, seconds_ago: float = 60
) -> Event:
    return msgspec.convert(
        {
            "metadata": {"name": f"{node_name}.{reason}", "namespace": "default"},
            "involvedObject": {"kind": "Node", "name": node_name},
            "reason": reason,
            "message": message,
            "type": "Normal",
            "count": count,
            "lastTimestamp": ago(seconds_ago),
            "source": {"component": "kubelet"},
        },
        Event,
    )


def lease(node_name: str, renewed_seconds_ago: float) -> Lease:
    return msgspec.convert(
        {
            "metadata": {"name": node_name, "namespace": "kube-node-lease"},
            "spec": {"renewTime": (NOW - timedelta(seconds=renewed_seconds_ago)).isoformat()},
        },
        Lease,
    )


def snapshot(**kw: Any) -> Snapshot:
    """A snapshot; unless `pods` is given, every node gets a healthy calico-node pod."""
    if "pods" not in kw:
        kw["pods"] = tuple(calico_pod(n.name) for n in kw.get("nodes", ()))
    kw.setdefault("cluster", "c1")
    kw.setdefault("source", "sim")
    kw.setdefault("collected_at", NOW)
    return Snapshot(**kw)
