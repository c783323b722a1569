"""What the cluster shows of an action whose worker stopped while it may have been applying it:
`verified_state` reads (never writes) and says whether the action's effect is visible — then the
new owner finishes the verification — or what is seen instead, for an "outcome unknown" card.

| action | applied when |
|---|---|
| cordon / uncordon | the node's `spec.unschedulable` is what the action sets |
| delete-pod | the pod is gone, being deleted, or another calico-node pod runs on its worker |
| copy-bgp-secret | `calico-bgp-password` exists in calico-system |
| reboot / reload / replace | the worker is gone or NotReady (restarting), or its calico-node started after the action began |
| refresh-master, page | cannot be read back: always "unknown", with what calico-node shows |
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from bot.cluster.reader import DEFAULT_TIMEOUT, KubeReader, Transport
from bot.remediation.actions import BGP_SECRET, Plan, as_action_error, calico_node_pods, running_and_ready
from bot.remediation.workers import WORKER_ACTIONS, pod_started
from checks.model import ActionKind
from checks.objects import Node, ObjectName, Pod


async def verified_state(
    transport: Transport, plan: Plan, *, since: datetime | None, timeout: float = DEFAULT_TIMEOUT
) -> tuple[bool, str]:
    """(the action's effect is visible, what the cluster shows), from a fresh read."""
    reader = KubeReader(transport, timeout=timeout)
    if plan.kind in (ActionKind.CORDON, ActionKind.UNCORDON):
        node = await _node(reader, plan.target)
        if node is None:
            return False, f"worker {plan.target} is gone"
        cordoned = bool(node.spec.unschedulable)
        shown = f"worker {plan.target} is {'cordoned' if cordoned else 'schedulable'}"
        return cordoned == (plan.kind == ActionKind.CORDON), shown
    if plan.kind == ActionKind.DELETE_POD:
        return await _pod_deleted(reader, plan)
    if plan.kind == ActionKind.COPY_BGP_SECRET:
        with as_action_error("read calico-system's BGP secret"):
            copy = await reader.find(f"/api/v1/namespaces/calico-system/secrets/{BGP_SECRET}", ObjectName)
        if copy is None:
            return False, f"calico-system has no secret {BGP_SECRET}"
        return True, f"secret calico-system/{BGP_SECRET} exists"
    if plan.kind in WORKER_ACTIONS and plan.kind != ActionKind.REFRESH_MASTER:
        return await _worker_restarted(reader, plan, since)
    pods = await calico_node_pods(reader)
    ready = sum(1 for p in pods if running_and_ready(p))
    return False, f"calico-node Running and Ready on {ready} of {len(pods)} workers"


async def _node(reader: KubeReader, name: str) -> Node | None:
    with as_action_error(f"read node {name}"):
        return await reader.find(f"/api/v1/nodes/{quote(name)}", Node)


async def _pod_deleted(reader: KubeReader, plan: Plan) -> tuple[bool, str]:
    namespace, _, name = plan.target.partition("/")
    with as_action_error(f"read pod {plan.target}"):
        pod = await reader.find(f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(name)}", Pod)
    if pod is None:
        return True, f"pod {plan.target} is gone"
    if pod.metadata.deletion_timestamp is not None:
        return True, f"pod {plan.target} is being deleted"
    node = plan.node or pod.spec.node_name
    others = [p.name for p in await calico_node_pods(reader, node=node) if p.name != name]
    if others:
        return True, f"calico-node {', '.join(others[:3])} runs on {node}"
    ready = "Running and Ready" if running_and_ready(pod) else f"{pod.status.phase or 'unknown'}, not Ready"
    return False, f"pod {plan.target} still exists ({ready})"


async def _worker_restarted(reader: KubeReader, plan: Plan, since: datetime | None) -> tuple[bool, str]:
    node = await _node(reader, plan.target)
    if node is None:
        return True, f"worker {plan.target} is not registered (being reloaded or replaced)"
    ready = node.condition("Ready")
    if ready is None or ready.status != "True":
        reason = ready.reason if ready is not None else "no Ready condition"
        return True, f"worker {plan.target} is NotReady ({reason}): restarting"
    starts = [pod_started(p) for p in await calico_node_pods(reader, node=plan.target)]
    newest = max((s for s in starts if s is not None), default=None)
    if since is not None and newest is not None and newest >= since:
        return True, f"calico-node on {plan.target} started after the {plan.kind.value} began"
    when = f"since {newest:%Y-%m-%d %H:%M:%S} UTC, " if newest is not None else ""
    return False, f"worker {plan.target} is Ready and its calico-node running {when}before the action began"
