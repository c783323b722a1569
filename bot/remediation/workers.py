"""The runbook's worker and master steps through the IKS API: reboot, reload (classic), replace
(VPC), master refresh — planned against a fresh read, guarded, applied, verified.

Plan: the node must exist; its IKS worker id comes from the node (label, else providerID) and the
IKS cluster id from the providerID; a VPC worker is never reloaded (the plan says to replace it);
the guard rails of `bot.remediation.iks.guard_worker_action` refuse while another worker is failing to deploy
or too many workers are NotReady. Verify: the worker comes back Ready and its calico-node is
Running and Ready in a container started after the action.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from urllib.parse import quote

from bot.cluster.reader import DEFAULT_TIMEOUT, KubeReader, Transport
from bot.remediation.actions import (
    ActionError,
    Outcome,
    Plan,
    as_action_error,
    calico_node_pods,
    running_and_ready,
)
from bot.remediation.iks import IksClient, IksError, guard_worker_action, not_ready_share, worker_id_for
from checks.model import ActionKind
from checks.objects import Node, Pod

WORKER_ACTIONS = frozenset(
    {ActionKind.REBOOT_WORKER, ActionKind.RELOAD_WORKER, ActionKind.REPLACE_WORKER, ActionKind.REFRESH_MASTER}
)
WORKER_DEADLINES = {
    ActionKind.REBOOT_WORKER: 20 * 60.0,
    ActionKind.RELOAD_WORKER: 60 * 60.0,
    ActionKind.REPLACE_WORKER: 60 * 60.0,
    ActionKind.REFRESH_MASTER: 45 * 60.0,
}


def iks_cluster_of(node: Node, fallback: str) -> str:
    """The IKS cluster id: the 6th segment of `ibm://<account>///<cluster-id>/<worker-id>`."""
    parts = node.spec.provider_id.split("/")
    return parts[5] if len(parts) > 6 and parts[5] else fallback


async def plan_worker_action(
    transport: Transport,
    iks: IksClient,
    *,
    cluster: str,
    kind: ActionKind,
    target: str,
    max_not_ready_share: float = 0.3,
    timeout: float = DEFAULT_TIMEOUT,
) -> Plan:
    if kind == ActionKind.REFRESH_MASTER:
        return Plan(
            kind,
            cluster,
            cluster,
            summary=f"Refresh the master of {cluster} (`ibmcloud ks cluster master refresh`): the Calico components "
            "are redeployed; allow up to 45 minutes. Workers and apps are untouched.",
        )
    reader = KubeReader(transport, timeout=timeout)
    with as_action_error(f"read node {target}"):
        node = await reader.find(f"/api/v1/nodes/{quote(target)}", Node)
    if node is None:
        raise ActionError(f"no worker named {target!r} in {cluster}")
    try:
        worker_id = worker_id_for(node)
    except ValueError as exc:
        raise ActionError(f"cannot tell the IKS worker id of {target}: {exc}") from None
    if kind == ActionKind.RELOAD_WORKER and node.is_vpc:
        raise ActionError(
            f"{target} is a VPC worker: VPC virtual workers cannot be reloaded — request replace-worker instead"
        )
    iks_cluster = iks_cluster_of(node, cluster)
    with as_action_error("read the nodes"):
        nodes = await reader.items("/api/v1/nodes", Node)
    try:
        workers = await iks.list_workers(iks_cluster)
    except IksError as exc:
        raise ActionError(str(exc)) from None
    refusal = guard_worker_action(
        workers,
        target_id=worker_id,
        not_ready_share=not_ready_share(nodes, excluding=target),
        max_not_ready_share=max_not_ready_share,
    )
    if refusal:
        raise ActionError(refusal)
    what = {
        ActionKind.REBOOT_WORKER: "Reboot worker {t} (IKS worker {w}): its pods stop while it restarts",
        ActionKind.RELOAD_WORKER: "Reload worker {t} (IKS worker {w}): the OS is reinstalled, its pods are rescheduled",
        ActionKind.REPLACE_WORKER: "Replace worker {t} (IKS worker {w}): a new worker is provisioned, usually with a new IP",
    }[kind]
    return Plan(
        kind,
        cluster,
        target,
        node=target,
        pod=f"{iks_cluster}/{worker_id}",
        summary=what.format(t=target, w=worker_id) + ".",
        vpc=node.is_vpc,
    )


async def apply_worker_action(iks: IksClient, plan: Plan, *, read_only: bool = False) -> str:
    if read_only:
        return f"read-only mode: nothing changed. Would have done: {plan.summary}"
    iks_cluster, _, worker_id = plan.pod.partition("/")
    try:
        if plan.kind == ActionKind.REFRESH_MASTER:
            await iks.refresh_master(plan.cluster)
            return f"master refresh of {plan.cluster} requested"
        if plan.kind == ActionKind.REBOOT_WORKER:
            await iks.reboot(iks_cluster, worker_id)
        elif plan.kind == ActionKind.RELOAD_WORKER:
            await iks.reload(iks_cluster, worker_id, vpc=plan.vpc)
        else:
            await iks.replace(iks_cluster, worker_id, vpc=plan.vpc)
    except IksError as exc:
        raise ActionError(str(exc)) from None
    return f"{plan.kind.value} of {plan.node} requested from IKS"


async def verify_worker(
    transport: Transport,
    plan: Plan,
    *,
    since: datetime,
    deadline_s: float,
    poll_s: float = 5.0,
    timeout: float = DEFAULT_TIMEOUT,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Outcome:
    """The worker is Ready again and calico-node on it runs Ready in a container started after `since`."""
    reader = KubeReader(transport, timeout=timeout)
    deadline = monotonic() + deadline_s
    last = "not checked yet"
    while True:
        ok, last = await _worker_back(reader, plan, since)
        if ok:
            return Outcome(True, last)
        if monotonic() >= deadline:
            return Outcome(False, f"not verified within {int(deadline_s)} s: {last}")
        await sleep(poll_s)


async def _worker_back(reader: KubeReader, plan: Plan, since: datetime) -> tuple[bool, str]:
    if plan.kind == ActionKind.REFRESH_MASTER:
        pods = await calico_node_pods(reader)
        ready = [p for p in pods if running_and_ready(p)]
        if pods and len(ready) == len(pods):
            return True, f"calico-node Running and Ready on {len(pods)} workers"
        return False, f"calico-node Ready on {len(ready)} of {len(pods)} workers"
    with as_action_error(f"read node {plan.node}"):
        node = await reader.find(f"/api/v1/nodes/{quote(plan.node)}", Node)
    if node is None:
        return False, f"worker {plan.node} is not registered (yet)"
    condition = node.condition("Ready")
    if condition is None or condition.status != "True":
        return (
            False,
            f"worker {plan.node} is not Ready yet ({condition.reason if condition else 'no condition'})",
        )
    for pod in await calico_node_pods(reader, node=plan.node):
        started = pod_started(pod)
        if running_and_ready(pod) and started is not None and started >= since:
            return True, f"worker {plan.node} is Ready and calico-node is Running and Ready"
    return False, f"worker {plan.node} is Ready, calico-node not Ready since the {plan.kind.value} yet"


def pod_started(pod: Pod) -> datetime | None:
    """When the pod's newest container started (or the pod was made)."""
    stamps = [pod.metadata.creation_timestamp]
    stamps += [
        s.state.running.started_at for s in pod.status.container_statuses if s.state.running is not None
    ]
    known = [s for s in stamps if s is not None]
    return max(known) if known else None
