"""Read one cluster: the fixed set of calls of ARCHITECTURE section 5, concurrently, into a Snapshot.

The number of calls does not grow with the cluster except by pages of the big lists (nodes,
leases, Calico Node CRs); container logs are read only for calico pods that are in a bad state.
Every call has a timeout, concurrency is bounded, and a failed call is recorded in the snapshot
(`errors`) so the checks report "unknown" instead of "healthy". A list that expires mid-way
(410 Gone) is restarted from the first page.

Every call goes through the one reader (`bot.cluster.reader.KubeReader`: the configured timeout,
failures as exception types, pages decoded off the event loop); logs are redacted off the loop too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.cluster.assemble import SnapshotBuilder
from bot.cluster.errors import (
    ApiError,
    BadRequest,
    Gone,
    Invalid,
    KubeError,
    NotAcceptable,
    NotFound,
    UnsupportedMediaType,
)
from bot.cluster.kube import RawResponse
from bot.cluster.progress import Progress
from bot.cluster.reader import DEFAULT_TIMEOUT, KubeReader, Transport
from bot.redact import decode_and_redact
from checks.objects import (
    CALICO_KUBE_CONTROLLERS,
    CALICO_NODE,
    CALICO_TYPHA,
    TIGERA_OPERATOR,
    CustomObject,
    DaemonSet,
    Deployment,
    Event,
    Lease,
    Namespace,
    Node,
    ObjectName,
    Pod,
    RbacObject,
    WebhookConfiguration,
)
from checks.snapshot import ContainerLog, Read, Snapshot, Source

log = logging.getLogger(__name__)

PAGE_SIZE = 500
MAX_LIST_RESTARTS = 2
LOG_TAIL_LINES = 300
MAX_LOG_PODS = 25
METADATA_ONLY = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"


@dataclass(frozen=True)
class ListCall:
    read: Read
    path: str
    item_type: type[Any]
    params: tuple[tuple[str, str], ...] = ()
    crd: bool = False  # 404 = resource type not installed: known empty, not an error
    accept: str = "application/json"


@dataclass(frozen=True)
class GetCall:
    """One named object; 404 = it does not exist (which is an answer)."""

    read: Read
    path: str
    item_type: type[Any]
    accept: str = "application/json"


CALICO_APPS_SELECTOR = "k8s-app in (calico-node,calico-typha,calico-kube-controllers,canal,tigera-operator)"
"""Calico's pods by their usual label; a DaemonSet running calico-node under another label is found
by its pod template (`calico_daemonset_pods`)."""
CNI_EVENTS_SELECTOR = "reason=FailedCreatePodSandBox"


def read_plan() -> tuple[ListCall | GetCall, ...]:
    """The fixed list of calls. Its length is independent of the cluster's size."""
    calls: list[ListCall | GetCall] = [
        ListCall(Read.NODES, "/api/v1/nodes", Node),
        ListCall(Read.NAMESPACES, "/api/v1/namespaces", Namespace, accept=METADATA_LIST),
        ListCall(Read.CALICO_PODS, "/api/v1/pods", Pod, params=(("labelSelector", CALICO_APPS_SELECTOR),)),
        ListCall(Read.CNI_EVENTS, "/api/v1/events", Event, params=(("fieldSelector", CNI_EVENTS_SELECTOR),)),
        ListCall(Read.DAEMONSETS, "/apis/apps/v1/daemonsets", DaemonSet),
        ListCall(
            Read.NODE_EVENTS,
            "/api/v1/namespaces/default/events",
            Event,
            params=(("fieldSelector", "involvedObject.kind=Node"),),
        ),
        ListCall(Read.CALICO_EVENTS, "/api/v1/namespaces/calico-system/events", Event),
        ListCall(Read.CALICO_EVENTS, "/api/v1/namespaces/tigera-operator/events", Event),
        ListCall(
            Read.CALICO_EVENTS,
            "/api/v1/namespaces/kube-system/events",
            Event,
            params=(("fieldSelector", "type=Warning"),),
        ),
        ListCall(
            Read.WEBHOOKS,
            "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
            WebhookConfiguration,
        ),
        ListCall(
            Read.WEBHOOKS,
            "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
            WebhookConfiguration,
        ),
        ListCall(Read.LEASES, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", Lease),
        ListCall(
            Read.BGP_CONFIGURATIONS,
            "/apis/crd.projectcalico.org/v1/bgpconfigurations",
            CustomObject,
            crd=True,
        ),
        ListCall(Read.IP_POOLS, "/apis/crd.projectcalico.org/v1/ippools", CustomObject, crd=True),
        ListCall(
            Read.FELIX_CONFIGURATIONS,
            "/apis/crd.projectcalico.org/v1/felixconfigurations",
            CustomObject,
            crd=True,
        ),
        ListCall(Read.CALICO_NODES, "/apis/crd.projectcalico.org/v1/nodes", CustomObject, crd=True),
        ListCall(Read.INSTALLATIONS, "/apis/operator.tigera.io/v1/installations", CustomObject, crd=True),
        ListCall(Read.TIGERA_STATUSES, "/apis/operator.tigera.io/v1/tigerastatuses", CustomObject, crd=True),
    ]
    for ns in ("calico-system", "kube-system"):
        calls.append(
            GetCall(
                Read.BGP_SECRETS,
                f"/api/v1/namespaces/{ns}/secrets/calico-bgp-password",
                ObjectName,
                METADATA_ONLY,
            )
        )
    for ns in ("calico-system", "kube-system", "tigera-operator"):
        calls.append(ListCall(Read.DEPLOYMENTS, f"/apis/apps/v1/namespaces/{ns}/deployments", Deployment))
    for kind in ("roles", "rolebindings"):
        calls.append(
            GetCall(
                Read.BGP_RBAC,
                f"/apis/rbac.authorization.k8s.io/v1/namespaces/calico-system/{kind}/bgp-secret-access",
                RbacObject,
            )
        )
    return tuple(calls)


@dataclass(frozen=True)
class CollectOptions:
    timeout: float = DEFAULT_TIMEOUT
    concurrency: int = 8
    page_size: int = PAGE_SIZE
    log_tail_lines: int = LOG_TAIL_LINES
    max_log_pods: int = MAX_LOG_PODS


class _ListExpired(KubeError):
    """A list whose `continue` token kept expiring (410 Gone) however often it was restarted."""

    status = 410


async def collect(
    transport: Transport,
    *,
    cluster: str,
    source: Source,
    collected_at: datetime,
    options: CollectOptions = CollectOptions(),
    progress: Progress | None = None,
) -> Snapshot:
    plan = read_plan()
    progress = progress or Progress(total=len(plan))
    progress.total = len(plan)
    builder = SnapshotBuilder(cluster=cluster, source=source, collected_at=collected_at)
    limit = asyncio.Semaphore(options.concurrency)
    runner = _Runner(KubeReader(transport, timeout=options.timeout), limit, options, progress)
    await asyncio.gather(*(runner.run(call, builder) for call in plan))
    snapshot_so_far = builder.build()
    extra = calico_daemonset_pods(snapshot_so_far)
    if extra:
        progress.total += len(extra)
        await asyncio.gather(*(runner.run(call, builder) for call in extra))
        snapshot_so_far = builder.build()
    progress.phase = "logs"
    await runner.logs(snapshot_so_far, builder)
    progress.phase = "done"
    progress.tick()
    return builder.build()


class _Runner:
    def __init__(
        self, reader: KubeReader, limit: asyncio.Semaphore, options: CollectOptions, progress: Progress
    ):
        self.reader = reader
        self.limit = limit
        self.options = options
        self.progress = progress

    async def _call(
        self, path: str, params: Sequence[tuple[str, str]], accept: str = "application/json"
    ) -> RawResponse:
        async with self.limit:
            self.progress.requests += 1
            try:
                response = await self.reader.call("GET", path, params=params, accept=accept)
            except ApiError as exc:
                self.progress.bytes += exc.size
                raise
        self.progress.bytes += len(response.body)
        return response

    async def run(self, call: ListCall | GetCall, builder: SnapshotBuilder) -> None:
        try:
            if isinstance(call, ListCall):
                items = await self._list_or_plainer(call)
                if items is None:
                    builder.mark_absent_kind(call.read)
                else:
                    builder.add(call.read, items)
            else:
                obj = await self._get(call)
                builder.add(call.read, [obj] if obj is not None else [])
        except KubeError as failure:
            self.progress.failed += 1
            builder.fail(call.read, f"{call.path}: {failure}", status=getattr(failure, "status", None))
        finally:
            self.progress.done += 1
            self.progress.tick()

    async def _list_or_plainer(self, call: ListCall) -> list[Any] | None:
        """The list as planned; when the server rejects the request's refinements (a selector it does
        not support, a metadata-only Accept it cannot serve: 400/406/415/422), the plain list once —
        the builder keeps only what the plan asked for, so the result is the same."""
        try:
            return await self._list(call)
        except NotFound:
            if call.path not in PER_NAMESPACE_FALLBACK:
                raise
            return await self._per_namespace(call)
        except REFUSED_REFINEMENT as refused:
            plainer = _plainer(call)
            if plainer is None:
                raise
            log.info("%s refused (%s): reading it without selectors", call.path, refused)
            return await self._list(plainer)

    async def _per_namespace(self, call: ListCall) -> list[Any]:
        """A cluster-wide list the server does not route (404): the same list in each Calico namespace."""
        prefix, _, plural = call.path.rpartition("/")
        items: list[Any] = []
        for namespace in PER_NAMESPACE_FALLBACK[call.path]:
            namespaced = dataclasses.replace(call, path=f"{prefix}/namespaces/{namespace}/{plural}")
            items += await self._list_or_plainer(namespaced) or []
        return items

    async def _list(self, call: ListCall) -> list[Any] | None:
        for _attempt in range(MAX_LIST_RESTARTS + 1):
            items: list[Any] = []
            token = ""
            try:
                while True:
                    params = [*call.params, ("limit", str(self.options.page_size))]
                    if token:
                        params.append(("continue", token))
                    try:
                        response = await self._call(call.path, params, call.accept)
                    except NotFound:
                        if call.crd and not token:
                            return None  # the resource type is not installed: known empty
                        raise
                    page = await self.reader.page(response.body, call.item_type)
                    items.extend(page.items)
                    token = page.metadata.continue_
                    if not token:
                        return items
            except Gone:
                continue  # the list expired mid-way: start again from the first page
        raise _ListExpired(f"list kept expiring (410 Gone) after {MAX_LIST_RESTARTS + 1} attempts")

    async def _get(self, call: GetCall) -> Any | None:
        try:
            response = await self._call(call.path, (), call.accept)
        except NotFound:
            return None
        return await self.reader.decode(response.body, call.item_type)

    async def logs(self, snapshot: Snapshot, builder: SnapshotBuilder) -> None:
        """Logs of calico pods in a bad state only: tailLines, and the previous run after a restart."""
        wanted = log_requests(snapshot, max_pods=self.options.max_log_pods)
        if not wanted:
            return
        self.progress.total += len(wanted)
        self.progress.tick()

        async def one(req: LogRequest) -> None:
            tail = min(req.tail_lines, self.options.log_tail_lines)
            params = [("container", req.container), ("tailLines", str(tail))]
            if req.previous:
                params.append(("previous", "true"))
            path = f"/api/v1/namespaces/{req.namespace}/pods/{req.pod}/log"
            try:
                response = await self._call(path, params, "text/plain")
                # Decoding and redacting a long log takes a while: off the event loop, like page decoding.
                text = await asyncio.to_thread(decode_and_redact, response.body)
                builder.add_redacted_log(
                    ContainerLog(
                        namespace=req.namespace,
                        pod=req.pod,
                        container=req.container,
                        previous=req.previous,
                        text=text,
                        truncated=response.body.count(b"\n") >= tail,
                    ),
                    text,
                )
            except NO_SUCH_LOG:
                return  # the kubelet's answer: no previous run, or nothing started yet — not a failed read
            except KubeError as failure:
                what = f"{req.namespace}/{req.pod} -c {req.container}{' --previous' if req.previous else ''}"
                builder.fail(Read.LOGS, f"log {what}: {failure}", status=getattr(failure, "status", None))
            finally:
                self.progress.done += 1
                self.progress.tick()

        await asyncio.gather(*(one(req) for req in wanted))


REFUSED_REFINEMENT = (BadRequest, NotAcceptable, UnsupportedMediaType, Invalid)
"""What a server that does not take a selector or a metadata-only Accept answers (400/406/415/422)."""
_CALICO_PLACES = ("calico-system", "kube-system", "tigera-operator")
PER_NAMESPACE_FALLBACK = {
    "/api/v1/pods": _CALICO_PLACES,
    "/apis/apps/v1/daemonsets": _CALICO_PLACES,
    "/api/v1/events": (*_CALICO_PLACES, "default"),
}
"""Cluster-wide lists a real API server always routes; a server that does not (a dump served by a
simple fake) is read namespace by namespace where Calico lives instead."""


def _plainer(call: ListCall) -> ListCall | None:
    """The same list without label/field selectors and with a plain JSON Accept (None: nothing to drop)."""
    params = tuple((k, v) for k, v in call.params if k not in ("labelSelector", "fieldSelector"))
    if params == call.params and call.accept == "application/json":
        return None
    return dataclasses.replace(call, params=params, accept="application/json")


MAX_EXTRA_DAEMONSETS = 3
NO_SUCH_LOG = (BadRequest, NotFound)
"""`previous terminated container "X" … not found`, `container "X" … is waiting to start`, pod gone."""


def calico_daemonset_pods(snapshot: Snapshot) -> tuple[ListCall, ...]:
    """Pod lists for DaemonSets that run calico-node under a label the first list did not ask for.

    Calico is found by its pod template (a `calico-node` container, a `calico/node` image), not
    only by `k8s-app=calico-node`: canal, rke2-canal and hand-made manifests label it otherwise.
    """
    owners = {
        (p.namespace, ref.name) for p in snapshot.calico_node_pods() for ref in p.metadata.owner_references
    }
    calls: list[ListCall] = []
    for ds in snapshot.calico_daemonsets():
        labels = ds.spec.selector.match_labels
        if not labels or ds.spec.selector.match_expressions or not ds.status.current_number_scheduled:
            continue
        if (ds.metadata.namespace, ds.metadata.name) in owners:
            continue  # its pods came with the first list
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        # cluster-wide like the first list (the same RBAC); the builder keeps Calico's pods only
        calls.append(ListCall(Read.CALICO_PODS, "/api/v1/pods", Pod, params=(("labelSelector", selector),)))
    return tuple(calls[:MAX_EXTRA_DAEMONSETS])


@dataclass(frozen=True)
class LogRequest:
    namespace: str
    pod: str
    container: str
    previous: bool
    tail_lines: int = LOG_TAIL_LINES


SAMPLE_TAIL_LINES = 200
MAX_SAMPLED_PODS = 10
"""Running-and-Ready calico-node pods whose logs are read too (probes miss some failures)."""
COMPONENT_SAMPLES = {CALICO_TYPHA: 3, CALICO_KUBE_CONTROLLERS: 2}
"""Fine-looking pods of the other components whose logs are read (typha scales with the cluster: capped)."""


def log_requests(snapshot: Snapshot, *, max_pods: int, sample: int = MAX_SAMPLED_PODS) -> list[LogRequest]:
    """Which logs to read.

    - every calico pod in a bad state or with a restart (worst first, at most `max_pods`): each
      failing or restarted container, init containers included, and its previous run;
    - a sample of `sample` calico-node pods that look fine (spread over the cluster by a stable hash
      of the pod name), current log of calico-node only, a shorter tail: a Ready pod can still fail
      in ways its probes do not catch (an unreadable BGP secret, MTU, Typha, datastore timeouts);
    - calico-typha and calico-kube-controllers pods (a handful), and the Tigera operator when it
      reports Calico Degraded/Progressing or nodes are still migrating.
    The request count stays bounded whatever the cluster's size.
    """
    pods = [p for p in snapshot.pods if p.component in (CALICO_NODE, CALICO_TYPHA, CALICO_KUBE_CONTROLLERS)]
    operator = [p for p in snapshot.component_pods(TIGERA_OPERATOR) if _is_bad(p)]
    bad = sorted((p for p in [*pods, *operator] if _is_bad(p)), key=lambda p: (-p.restart_count, p.name))
    requests: list[LogRequest] = []
    for pod in bad[:max_pods]:
        requests += _failing_containers(pod)
    bad_names = {p.name for p in bad}
    fine_nodes = sorted(
        (p for p in pods if p.component == CALICO_NODE and p.name not in bad_names),
        key=lambda p: _stable_hash(p.name),
    )
    for pod in fine_nodes[:sample]:
        requests.append(
            LogRequest(pod.namespace, pod.name, _main(pod, CALICO_NODE), False, SAMPLE_TAIL_LINES)
        )
    for component, cap in COMPONENT_SAMPLES.items():
        others = [p for p in pods if p.component == component and p.name not in bad_names]
        for pod in sorted(others, key=lambda p: p.name)[:cap]:
            requests.append(
                LogRequest(pod.namespace, pod.name, _main(pod, component), False, SAMPLE_TAIL_LINES)
            )
    if _operator_has_something_to_say(snapshot):
        for pod in [p for p in snapshot.component_pods(TIGERA_OPERATOR) if p.name not in bad_names][:2]:
            requests.append(
                LogRequest(pod.namespace, pod.name, _main(pod, TIGERA_OPERATOR), False, LOG_TAIL_LINES)
            )
    return requests


def _failing_containers(pod: Pod) -> list[LogRequest]:
    requests: list[LogRequest] = []
    for status in [*pod.status.init_container_statuses, *pod.status.container_statuses]:
        is_init = status in pod.status.init_container_statuses
        finished_ok = status.state.terminated is not None and status.state.terminated.exit_code == 0
        if is_init and finished_ok and status.restart_count == 0:
            continue
        if not is_init and status.ready and status.restart_count == 0:
            continue
        if status.state.running is not None or status.state.terminated is not None or status.restart_count:
            # a container waiting to restart serves its last run as "current" (the kubelet's rule, and
            # all a cluster-info dump holds); "previous" as well on a real kubelet — read both
            requests.append(LogRequest(pod.namespace, pod.name, status.name, False))
        if status.restart_count > 0:
            requests.append(LogRequest(pod.namespace, pod.name, status.name, True))
    return requests


def _main(pod: Pod, component: str) -> str:
    names = [c.name for c in pod.spec.containers] or [s.name for s in pod.status.container_statuses]
    if component in names:
        return component
    return names[0] if names else component


def _stable_hash(name: str) -> int:
    return zlib.crc32(name.encode())


def _operator_has_something_to_say(snapshot: Snapshot) -> bool:
    for status in snapshot.custom_objects(Read.TIGERA_STATUSES.value):
        for cond in status.status.get("conditions", []) or []:
            if (
                isinstance(cond, dict)
                and cond.get("status") == "True"
                and cond.get("type") in ("Degraded", "Progressing")
            ):
                return True
    return any("projectcalico.org/operator-node-migration" in n.metadata.labels for n in snapshot.nodes)


def _is_bad(pod: Pod) -> bool:
    if not pod.ready:
        return True
    return any(
        s.restart_count > 0 for s in (*pod.status.init_container_statuses, *pod.status.container_statuses)
    )
