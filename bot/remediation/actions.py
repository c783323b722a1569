"""The runbook's Kubernetes-side remediation steps: plan against a fresh read, apply idempotently,
verify the result, every call through the one reader (`bot.cluster.reader`). Worker and master
actions go to the IKS API: `bot.remediation.workers`.

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
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.cluster.errors import ApiError, Conflict, Forbidden, KubeError, NotFound
from bot.cluster.reader import DEFAULT_TIMEOUT, MERGE_PATCH, KubeReader, Transport
from checks.model import ActionKind
from checks.objects import Node, ObjectName, Pod

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


@contextmanager
def as_action_error(what: str) -> Iterator[None]:
    """A failed call as an ActionError that says what was being done, in one sentence."""
    try:
        yield
    except Forbidden as exc:
        raise ActionError(
            f"{what}: forbidden — the bot's RBAC does not allow it ({exc.message[:300]})"
        ) from None
    except ApiError as exc:
        raise ActionError(f"{what}: HTTP {exc.status} {exc.message[:300]}".strip()) from None
    except KubeError as exc:
        raise ActionError(f"{what}: {exc}") from None


async def plan_action(
    transport: Transport, *, cluster: str, kind: ActionKind, target: str, timeout: float = DEFAULT_TIMEOUT
) -> Plan:
    """Check the action against a fresh read: does the object exist, is it still failing."""
    reader = KubeReader(transport, timeout=timeout)
    if kind in (ActionKind.CORDON, ActionKind.UNCORDON):
        with as_action_error(f"read node {target}"):
            node = await reader.find(f"/api/v1/nodes/{quote(target)}", Node)
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
        with as_action_error(f"read pod {target}"):
            pod = await reader.find(f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(name)}", Pod)
        if pod is None:
            raise ActionError(
                f"pod {target} no longer exists (the DaemonSet may have replaced it): check again"
            )
        if pod.metadata.labels.get("k8s-app") != "calico-node":
            raise ActionError(f"{target} is not a calico-node pod: the bot only deletes calico-node pods")
        if running_and_ready(pod):
            raise ActionError(f"{target} is Running and Ready now: nothing to fix, not deleting it")
        worker = pod.spec.node_name
        return Plan(
            kind,
            cluster,
            target,
            node=worker,
            pod=target,
            summary=f"Delete pod {target} on worker {worker}; the calico-node DaemonSet recreates it at once.",
        )
    if kind == ActionKind.COPY_BGP_SECRET:
        with as_action_error("read the BGP secret"):  # its name only: the value is not decoded
            source = await reader.find(f"/api/v1/namespaces/kube-system/secrets/{BGP_SECRET}", ObjectName)
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
    transport: Transport, plan: Plan, *, read_only: bool = False, timeout: float = DEFAULT_TIMEOUT
) -> str:
    """Do it (idempotently); returns what was done. In read-only mode, what would have been done."""
    if read_only:
        return f"read-only mode: nothing changed. Would have done: {plan.summary}"
    reader = KubeReader(transport, timeout=timeout)
    if plan.kind in (ActionKind.CORDON, ActionKind.UNCORDON):
        with as_action_error(f"{plan.kind.value} {plan.node}"):
            await reader.send(
                "PATCH",
                f"/api/v1/nodes/{quote(plan.node)}",
                {"spec": {"unschedulable": plan.kind == ActionKind.CORDON}},
                content_type=MERGE_PATCH,
            )
        return f"{'cordoned' if plan.kind == ActionKind.CORDON else 'uncordoned'} {plan.node}"
    if plan.kind == ActionKind.DELETE_POD:
        namespace, _, name = plan.pod.partition("/")
        with as_action_error(f"delete {plan.pod}"):
            try:
                await reader.send("DELETE", f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(name)}")
            except NotFound:
                return f"{plan.pod} was already gone"
        return f"deleted {plan.pod}"
    if plan.kind == ActionKind.COPY_BGP_SECRET:
        return await _copy_bgp_secret(reader)
    raise ActionError(f"{plan.kind.value} is not a Kubernetes action")


async def _copy_bgp_secret(reader: KubeReader) -> str:
    done: list[str] = []
    with as_action_error("check calico-system for the secret"):
        existing = await reader.find(f"/api/v1/namespaces/calico-system/secrets/{BGP_SECRET}", ObjectName)
    if existing is None:
        with as_action_error("read the BGP secret"):
            source = await reader.find(f"/api/v1/namespaces/kube-system/secrets/{BGP_SECRET}", dict[str, Any])
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
        # The answer (the created Secret) is not decoded, and an error says its Status message only.
        with (
            as_action_error("create the secret copy"),
            contextlib.suppress(Conflict),
        ):  # made meanwhile: it is there
            await reader.call("POST", "/api/v1/namespaces/calico-system/secrets", body=copy)
        del copy, source  # the value lives no longer than needed
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
        with as_action_error(f"create {obj['kind']} {BGP_RBAC}"):
            try:
                await reader.send(
                    "POST", f"/apis/rbac.authorization.k8s.io/v1/namespaces/calico-system/{plural}", obj
                )
            except Conflict:
                done.append(f"{obj['kind']} {BGP_RBAC} already there")
                continue
        done.append(f"created {obj['kind']} {BGP_RBAC}")
    return "; ".join(done)


def running_and_ready(pod: Pod) -> bool:
    """Phase Running and the Ready condition True (what `kubectl get pods` shows as Running 1/1)."""
    return pod.status.phase == "Running" and any(
        c.type == "Ready" and c.status == "True" for c in pod.status.conditions
    )


async def verify(
    transport: Transport,
    plan: Plan,
    *,
    deadline_s: float | None = None,
    poll_s: float = 2.0,
    timeout: float = DEFAULT_TIMEOUT,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Wait until the action shows its effect: the cordon state, or calico-node Running and Ready."""
    reader = KubeReader(transport, timeout=timeout)
    deadline = monotonic() + (deadline_s if deadline_s is not None else DEADLINES.get(plan.kind, 300.0))
    last = "not checked yet"
    while True:
        ok, last = await _check_effect(reader, plan)
        if ok:
            return Outcome(True, last)
        if monotonic() >= deadline:
            return Outcome(False, f"not verified within the deadline: {last}")
        await sleep(poll_s)


async def _check_effect(reader: KubeReader, plan: Plan) -> tuple[bool, str]:
    if plan.kind in (ActionKind.CORDON, ActionKind.UNCORDON):
        with as_action_error(f"read node {plan.node}"):
            node = await reader.find(f"/api/v1/nodes/{quote(plan.node)}", Node)
        if node is None:
            return False, f"worker {plan.node} is gone"
        unschedulable = node.spec.unschedulable
        want = plan.kind == ActionKind.CORDON
        return unschedulable == want, f"{plan.node} is {'cordoned' if unschedulable else 'schedulable'}"
    pods = await calico_node_pods(reader, node=plan.node if plan.kind == ActionKind.DELETE_POD else "")
    if not pods:
        return False, "no calico-node pod yet" + (f" on {plan.node}" if plan.node else "")
    old = plan.pod.partition("/")[2]
    fresh = [p for p in pods if p.name != old] if plan.kind == ActionKind.DELETE_POD else pods
    if not fresh:
        return False, f"{plan.pod} not replaced yet"
    not_ready = [p.name for p in fresh if not running_and_ready(p)]
    if not_ready:
        return False, f"calico-node not Ready yet: {', '.join(not_ready[:5])}"
    names = ", ".join(p.name for p in fresh[:5])
    return True, f"calico-node Running and Ready ({names})"


async def calico_node_pods(reader: KubeReader, *, node: str = "") -> list[Pod]:
    """calico-node pods (`k8s-app=calico-node`), on one worker when `node` is given."""
    params = [("labelSelector", "k8s-app=calico-node")]
    if node:
        params.append(("fieldSelector", f"spec.nodeName={node}"))
    with as_action_error("read calico-node pods"):
        return await reader.items("/api/v1/pods", Pod, params=params)
