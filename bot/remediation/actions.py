"""The runbook's Kubernetes-side remediation steps: plan against a fresh read, apply idempotently,
verify the result. (Worker and master actions go to the IKS API: bot.iks.)

- `cordon` / `uncordon`: merge-patch `spec.unschedulable` (twice = once).
- `delete-pod`: delete calico-node on one worker; the DaemonSet recreates it. Planned only while
  the pod still exists, is calico-node, and is still not Ready (a healthy pod is not deleted).
- `copy-bgp-secret`: copy `calico-bgp-password` from kube-system to calico-system and create Role
  and RoleBinding `bgp-secret-access` for ServiceAccount calico-node, as the runbook shows. The
  secret's value only passes through memory: it is never logged, returned, or put in a message.

Verification waits for calico-node on the worker to be Running and Ready (or the node's
cordon state to match) within a deadline. `read_only=True` turns apply into a dry run that says
what it would have done.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.cluster.collect import Transport
from bot.cluster.kube import TransportError
from checks.model import ActionKind

BGP_SECRET = "calico-bgp-password"  # noqa: S105 - the secret's name
BGP_RBAC = "bgp-secret-access"
KUBE_ACTIONS = frozenset(
    {ActionKind.CORDON, ActionKind.UNCORDON, ActionKind.DELETE_POD, ActionKind.COPY_BGP_SECRET}
)
DEADLINES = {
    ActionKind.CORDON: 60.0,
    ActionKind.UNCORDON: 60.0,
    ActionKind.DELETE_POD: 300.0,
    ActionKind.COPY_BGP_SECRET: 600.0,
}
MERGE_PATCH = "application/merge-patch+json"


class ActionError(Exception):
    """An action that cannot go ahead or failed, in one sentence for the user (never a secret)."""


@dataclass(frozen=True)
class Plan:
    kind: ActionKind
    cluster: str
    target: str
    node: str = ""
    pod: str = ""  # namespace/name
    summary: str = ""
    """Exactly what will happen, for the approval card."""
    vpc: bool = False
    """A VPC worker (replace, never reload)."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


class _Api:
    def __init__(self, transport: Transport, timeout: float) -> None:
        self.transport = transport
        self.timeout = timeout

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str | None = None,
        what: str,
    ) -> tuple[int, dict[str, Any]]:
        try:
            response = await self.transport.request(
                method, path, params=params, body=body, content_type=content_type, timeout=self.timeout
            )
        except TransportError as exc:
            raise ActionError(f"{what}: {exc}") from None
        try:
            doc = json.loads(response.body) if response.body else {}
        except ValueError:
            doc = {}
        return response.status, doc if isinstance(doc, dict) else {}

    async def get(self, path: str, *, what: str) -> dict[str, Any] | None:
        status, doc = await self.call("GET", path, what=what)
        if status == 404:
            return None
        _check(status, doc, what)
        return doc


def _check(status: int, doc: dict[str, Any], what: str) -> None:
    if 200 <= status < 300:
        return
    if status == 403:
        raise ActionError(f"{what}: forbidden — the bot's RBAC does not allow it ({_message(doc)})")
    raise ActionError(f"{what}: HTTP {status} {_message(doc)}".strip())


def _message(doc: dict[str, Any]) -> str:
    return str(doc.get("message", ""))[:300]


async def plan_action(
    transport: Transport, *, cluster: str, kind: ActionKind, target: str, timeout: float = 20
) -> Plan:
    """Check the action against a fresh read: does the object exist, is it still failing."""
    api = _Api(transport, timeout)
    if kind in (ActionKind.CORDON, ActionKind.UNCORDON):
        node = await api.get(f"/api/v1/nodes/{quote(target)}", what=f"read node {target}")
        if node is None:
            raise ActionError(f"no worker named {target!r} in {cluster}")
        verb = "Cordon" if kind == ActionKind.CORDON else "Uncordon"
        effect = (
            "no new pods will be scheduled on it"
            if kind == ActionKind.CORDON
            else "pods may be scheduled on it again"
        )
        return Plan(
            kind, cluster, target, node=target, summary=f"{verb} worker {target} on {cluster}: {effect}."
        )
    if kind == ActionKind.DELETE_POD:
        namespace, _, name = target.partition("/")
        pod = await api.get(
            f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(name)}", what=f"read pod {target}"
        )
        if pod is None:
            raise ActionError(
                f"pod {target} no longer exists (the DaemonSet may have replaced it): check again"
            )
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if labels.get("k8s-app") != "calico-node":
            raise ActionError(f"{target} is not a calico-node pod: the bot only deletes calico-node pods")
        if _pod_ready(pod):
            raise ActionError(f"{target} is Running and Ready now: nothing to fix, not deleting it")
        worker = str((pod.get("spec") or {}).get("nodeName", ""))
        return Plan(
            kind,
            cluster,
            target,
            node=worker,
            pod=target,
            summary=f"Delete pod {target} on worker {worker}; the calico-node DaemonSet recreates it at once.",
        )
    if kind == ActionKind.COPY_BGP_SECRET:
        source = await api.get(
            f"/api/v1/namespaces/kube-system/secrets/{BGP_SECRET}", what="read the BGP secret"
        )
        if source is None:
            raise ActionError(f"secret kube-system/{BGP_SECRET} does not exist: nothing to copy (escalate)")
        return Plan(
            kind,
            cluster,
            cluster,
            summary=f"Copy secret {BGP_SECRET} from kube-system to calico-system, and create Role and RoleBinding "
            f"{BGP_RBAC} in calico-system for ServiceAccount calico-node (the runbook's commands).",
        )
    raise ActionError(f"{kind.value} is not a Kubernetes action")


async def apply_action(
    transport: Transport, plan: Plan, *, read_only: bool = False, timeout: float = 20
) -> str:
    """Do it (idempotently); returns what was done. In read-only mode, what would have been done."""
    if read_only:
        return f"read-only mode: nothing changed. Would have done: {plan.summary}"
    api = _Api(transport, timeout)
    if plan.kind in (ActionKind.CORDON, ActionKind.UNCORDON):
        status, doc = await api.call(
            "PATCH",
            f"/api/v1/nodes/{quote(plan.node)}",
            body={"spec": {"unschedulable": plan.kind == ActionKind.CORDON}},
            content_type=MERGE_PATCH,
            what=f"{plan.kind.value} {plan.node}",
        )
        _check(status, doc, f"{plan.kind.value} {plan.node}")
        return f"{'cordoned' if plan.kind == ActionKind.CORDON else 'uncordoned'} {plan.node}"
    if plan.kind == ActionKind.DELETE_POD:
        namespace, _, name = plan.pod.partition("/")
        status, doc = await api.call(
            "DELETE", f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(name)}", what=f"delete {plan.pod}"
        )
        if status == 404:
            return f"{plan.pod} was already gone"
        _check(status, doc, f"delete {plan.pod}")
        return f"deleted {plan.pod}"
    if plan.kind == ActionKind.COPY_BGP_SECRET:
        return await _copy_bgp_secret(api)
    raise ActionError(f"{plan.kind.value} is not a Kubernetes action")


async def _copy_bgp_secret(api: _Api) -> str:
    done: list[str] = []
    existing = await api.get(
        f"/api/v1/namespaces/calico-system/secrets/{BGP_SECRET}", what="check calico-system for the secret"
    )
    if existing is None:
        source = await api.get(
            f"/api/v1/namespaces/kube-system/secrets/{BGP_SECRET}", what="read the BGP secret"
        )
        if source is None:
            raise ActionError(f"secret kube-system/{BGP_SECRET} does not exist: nothing to copy")
        copy = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": BGP_SECRET,
                "namespace": "calico-system",
                "labels": (source.get("metadata") or {}).get("labels") or {},
            },
            "type": source.get("type", "Opaque"),
            "data": source.get("data") or {},
        }
        status, doc = await api.call(
            "POST", "/api/v1/namespaces/calico-system/secrets", body=copy, what="create the secret copy"
        )
        del copy, source  # the value lives no longer than needed
        if status != 409:
            _check(status, _without_data(doc), "create the secret copy")
        done.append(f"copied secret {BGP_SECRET} to calico-system")
    else:
        done.append(f"secret calico-system/{BGP_SECRET} already there")
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": BGP_RBAC, "namespace": "calico-system"},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "resourceNames": [BGP_SECRET],
                "verbs": ["watch", "list", "get"],
            }
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": BGP_RBAC, "namespace": "calico-system"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": BGP_RBAC},
        "subjects": [{"kind": "ServiceAccount", "name": "calico-node", "namespace": "calico-system"}],
    }
    for plural, obj in (("roles", role), ("rolebindings", binding)):
        status, doc = await api.call(
            "POST",
            f"/apis/rbac.authorization.k8s.io/v1/namespaces/calico-system/{plural}",
            body=obj,
            what=f"create {obj['kind']} {BGP_RBAC}",
        )
        if status == 409:
            done.append(f"{obj['kind']} {BGP_RBAC} already there")
            continue
        _check(status, doc, f"create {obj['kind']} {BGP_RBAC}")
        done.append(f"created {obj['kind']} {BGP_RBAC}")
    return "; ".join(done)


def _without_data(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("data", "stringData")}


def _pod_ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


async def verify(
    transport: Transport,
    plan: Plan,
    *,
    deadline_s: float | None = None,
    poll_s: float = 2.0,
    timeout: float = 20,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Wait until the action shows its effect: the cordon state, or calico-node Running and Ready."""
    api = _Api(transport, timeout)
    deadline = monotonic() + (deadline_s if deadline_s is not None else DEADLINES.get(plan.kind, 300.0))
    last = "not checked yet"
    while True:
        ok, last = await _check_effect(api, plan)
        if ok:
            return Outcome(True, last)
        if monotonic() >= deadline:
            return Outcome(False, f"not verified within the deadline: {last}")
        await sleep(poll_s)


async def _check_effect(api: _Api, plan: Plan) -> tuple[bool, str]:
    if plan.kind in (ActionKind.CORDON, ActionKind.UNCORDON):
        node = await api.get(f"/api/v1/nodes/{quote(plan.node)}", what=f"read node {plan.node}")
        if node is None:
            return False, f"worker {plan.node} is gone"
        unschedulable = bool((node.get("spec") or {}).get("unschedulable"))
        want = plan.kind == ActionKind.CORDON
        return unschedulable == want, f"{plan.node} is {'cordoned' if unschedulable else 'schedulable'}"
    pods = await _calico_pods(api, node=plan.node if plan.kind == ActionKind.DELETE_POD else "")
    if not pods:
        return False, "no calico-node pod yet" + (f" on {plan.node}" if plan.node else "")
    old = plan.pod.partition("/")[2]
    fresh = (
        [p for p in pods if (p.get("metadata") or {}).get("name") != old]
        if plan.kind == ActionKind.DELETE_POD
        else pods
    )
    if not fresh:
        return False, f"{plan.pod} not replaced yet"
    not_ready = [(p.get("metadata") or {}).get("name", "") for p in fresh if not _pod_ready(p)]
    if not_ready:
        return False, f"calico-node not Ready yet: {', '.join(not_ready[:5])}"
    names = ", ".join((p.get("metadata") or {}).get("name", "") for p in fresh[:5])
    return True, f"calico-node Running and Ready ({names})"


async def _calico_pods(api: _Api, *, node: str) -> list[dict[str, Any]]:
    params = [("labelSelector", "k8s-app=calico-node")]
    if node:
        params.append(("fieldSelector", f"spec.nodeName={node}"))
    status, doc = await api.call("GET", "/api/v1/pods", params=params, what="read calico-node pods")
    _check(status, doc, "read calico-node pods")
    return [p for p in doc.get("items") or [] if isinstance(p, dict)]
