"""Turn raw Kubernetes JSON (API pages, dump files, YAML documents) into a `checks` Snapshot.

One builder serves every source — the live collector, the dump loader and the simulator — so a
pod read from a dump and the same pod read over the API become the same object. Decoding goes
straight from bytes into the typed views of `checks.objects` with msgspec: fields no check reads
are never materialised, which is what keeps a 5,000-worker snapshot small.

What the builder keeps, whatever the source offers:
- pods: Calico's own (calico-node however installed, typha, kube-controllers, the Tigera operator —
  `Pod.component`) and ibm-keepalived-watcher;
- events: node events, events in the Calico namespaces, and sandbox-creation failures of any pod
  that name the Calico CNI;
- Secrets: the name only — the value, labels and annotations are dropped at decoding.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import msgspec

from bot.cluster.reader import decoder
from bot.redact import Redacted, redact
from checks.objects import (
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
from checks.signals import about_pod_network
from checks.snapshot import ContainerLog, Read, ReadError, Snapshot, Source

SANDBOX_REASONS = frozenset({"FailedCreatePodSandBox", "FailedKillPod", "NetworkNotReady"})
EVENT_NAMESPACES = frozenset({"calico-system", "kube-system", "tigera-operator"})
KEEPALIVED_PREFIX = "ibm-keepalived-watcher"


class _KindProbe(msgspec.Struct, kw_only=True, rename="camel"):
    api_version: str = ""
    kind: str = ""
    items: list[msgspec.Raw] | None = None


# kind -> (read, view type). Calico's own "Node" CRD is told apart by its API group.
_CORE_KINDS: dict[str, tuple[Read, type[Any]]] = {
    "Node": (Read.NODES, Node),
    "Namespace": (Read.NAMESPACES, Namespace),
    "Pod": (Read.CALICO_PODS, Pod),
    "DaemonSet": (Read.DAEMONSETS, DaemonSet),
    "Deployment": (Read.DEPLOYMENTS, Deployment),
    "Event": (Read.NODE_EVENTS, Event),
    "ValidatingWebhookConfiguration": (Read.WEBHOOKS, WebhookConfiguration),
    "MutatingWebhookConfiguration": (Read.WEBHOOKS, WebhookConfiguration),
    "Lease": (Read.LEASES, Lease),
    "Secret": (Read.BGP_SECRETS, ObjectName),
    "Role": (Read.BGP_RBAC, RbacObject),
    "RoleBinding": (Read.BGP_RBAC, RbacObject),
}
CUSTOM_KINDS: dict[str, Read] = {
    "BGPConfiguration": Read.BGP_CONFIGURATIONS,
    "IPPool": Read.IP_POOLS,
    "FelixConfiguration": Read.FELIX_CONFIGURATIONS,
    "Installation": Read.INSTALLATIONS,
    "TigeraStatus": Read.TIGERA_STATUSES,
}
CALICO_GROUP = "crd.projectcalico.org"


def read_and_type(kind: str, api_version: str) -> tuple[Read, type[Any]] | None:
    """Which read an object of this kind belongs to, and the view it decodes into."""
    if kind == "Node" and api_version.startswith(CALICO_GROUP):
        return Read.CALICO_NODES, CustomObject
    if kind in CUSTOM_KINDS:
        return CUSTOM_KINDS[kind], CustomObject
    return _CORE_KINDS.get(kind)


class SnapshotBuilder:
    """Collects typed objects per read, records what failed, and builds the frozen Snapshot."""

    def __init__(self, *, cluster: str, source: Source, collected_at: datetime) -> None:
        self.cluster = cluster
        self.source: Source = source
        self.collected_at = collected_at
        self._objects: dict[Read, list[Any]] = defaultdict(list)
        self._seen: set[Read] = set()
        self._logs: list[ContainerLog] = []
        self._errors: list[ReadError] = []
        self._absent: set[str] = set()
        self.problems: list[str] = []
        """Items of a List that could not be decoded (the rest of the List is kept)."""

    # --- adding ---------------------------------------------------------------------------

    def add(self, read: Read, objects: Iterable[Any]) -> None:
        """Typed objects (from `decode_page` or `convert`) of one read; filtered as documented."""
        self._seen.add(read)
        keep = self._objects[read]
        if read == Read.CALICO_PODS:
            keep.extend(p for p in objects if _is_calico_pod(p))
        elif read in (Read.NODE_EVENTS, Read.CALICO_EVENTS, Read.CNI_EVENTS):
            if read == Read.CNI_EVENTS:
                self._seen.add(read)
            for event in objects:
                if event.reason in SANDBOX_REASONS and about_pod_network(event.message):
                    self._objects[Read.CNI_EVENTS].append(event)
                    self._seen.add(Read.CNI_EVENTS)
                elif event.reason in SANDBOX_REASONS and read == Read.CNI_EVENTS:
                    continue  # another pod's sandbox failing for a reason that is not the CNI's
                elif event.involved_object.kind == "Node":
                    self._objects[Read.NODE_EVENTS].append(event)
                    self._seen.add(Read.NODE_EVENTS)
                elif event.metadata.namespace in EVENT_NAMESPACES:
                    self._objects[Read.CALICO_EVENTS].append(event)
                    self._seen.add(Read.CALICO_EVENTS)
        else:
            keep.extend(objects)

    def add_document(self, doc: bytes | dict[str, Any], *, where: str = "") -> int:
        """A JSON/YAML document holding one object or a List of any kinds. Returns objects kept.

        Raises ValueError (with `where` in the message) when the document is not Kubernetes data.
        """
        if isinstance(doc, bytes | bytearray):
            try:
                probe = decoder(_KindProbe).decode(doc)
            except msgspec.ValidationError:  # valid JSON, but an array, a scalar or a non-string kind
                raise ValueError(f"{where}: not a Kubernetes object or List") from None
            except msgspec.DecodeError as exc:
                raise ValueError(f"{where}: not valid JSON ({exc})") from None
            except RecursionError:
                raise ValueError(f"{where}: nested too deeply to be Kubernetes data") from None
            if probe.items is None and not probe.kind:  # same rule as for a dict below
                raise ValueError(f"{where}: not a Kubernetes object or List")
            if probe.items is not None:
                item_kind = probe.kind.removesuffix("List") if probe.kind.endswith("List") else ""
                return sum(
                    self._item_or_problem(self._add_raw_item, raw, item_kind, probe.api_version, where)
                    for raw in probe.items
                )
            return self._add_one(probe.kind, probe.api_version, doc, where)
        if not isinstance(doc, dict) or ("kind" not in doc and "items" not in doc):
            raise ValueError(f"{where}: not a Kubernetes object or List")
        if isinstance(doc.get("items"), list):
            list_kind = str(doc.get("kind", ""))
            item_kind = list_kind.removesuffix("List") if list_kind.endswith("List") else ""
            return sum(
                self._item_or_problem(
                    self._add_one,
                    str(item.get("kind") or item_kind),
                    str(item.get("apiVersion") or doc.get("apiVersion", "")),
                    item,
                    where,
                )
                for item in doc["items"]
                if isinstance(item, dict)
            )
        return self._add_one(str(doc.get("kind", "")), str(doc.get("apiVersion", "")), doc, where)

    def _item_or_problem(self, add: Callable[..., int], *args: Any) -> int:
        """One item of a List: an item that does not decode (a field of an unexpected type) is a
        problem of its own, named, and the List's other items are still kept."""
        try:
            return add(*args)
        except ValueError as exc:
            self.problems.append(str(exc))
            return 0

    def _add_raw_item(self, raw: msgspec.Raw, list_item_kind: str, list_api: str, where: str) -> int:
        try:
            probe = decoder(_KindProbe).decode(raw)
        except msgspec.ValidationError:  # an item that is not an object: skipped, as for a dict
            return 0
        except RecursionError:
            raise ValueError(f"{where}: nested too deeply to be Kubernetes data") from None
        return self._add_one(probe.kind or list_item_kind, probe.api_version or list_api, bytes(raw), where)

    def _add_one(self, kind: str, api_version: str, body: bytes | dict[str, Any], where: str) -> int:
        target = read_and_type(kind, api_version)
        if target is None:
            return 0
        read, view = target
        try:
            obj = decoder(view).decode(body) if isinstance(body, bytes) else msgspec.convert(body, view)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ValueError(f"{where}: {kind} does not decode ({exc})") from None
        except RecursionError:
            raise ValueError(f"{where}: {kind} is nested too deeply to be Kubernetes data") from None
        if view is CustomObject and not obj.kind:
            obj = msgspec.structs.replace(obj, kind=kind, api_version=api_version)
        if view is RbacObject and not obj.kind:
            obj = msgspec.structs.replace(obj, kind=kind)
        if view is ObjectName and not obj.kind:
            obj = msgspec.structs.replace(obj, kind=kind)
        before = sum(len(v) for v in self._objects.values())
        self.add(read, [obj])
        return sum(len(v) for v in self._objects.values()) - before

    def add_log(self, log: ContainerLog) -> None:
        """A container log, with credentials redacted before anything else sees it (on this thread:
        inside the event loop use `add_redacted_log` with text from `bot.redact.decode_and_redact`
        run in a worker thread)."""
        self.add_redacted_log(log, redact(log.text))

    def add_redacted_log(self, log: ContainerLog, text: Redacted) -> None:
        """A container log whose text `redact` has produced already (the type says so); `log.text` is replaced."""
        self._seen.add(Read.LOGS)
        self._logs.append(msgspec.structs.replace(log, text=text))

    def fail(self, read: Read, reason: str, *, status: int | None = None, detail: str = "") -> None:
        self._errors.append(ReadError(read=read.value, reason=reason, status=status, detail=detail[:300]))

    def mark_absent_kind(self, read: Read) -> None:
        """The API does not serve this resource (CRD not installed): known empty, not an error."""
        self._seen.add(read)
        self._absent.add(read.value)

    def seen(self, read: Read) -> bool:
        return read in self._seen

    # --- building -------------------------------------------------------------------------

    def build(self, *, missing: Iterable[Read] = ()) -> Snapshot:
        objs = self._objects
        custom = {
            read.value: tuple(objs.get(read, ()))
            for read in (*CUSTOM_KINDS.values(), Read.CALICO_NODES)
            if objs.get(read)
        }
        failed = {e.read for e in self._errors}
        return Snapshot(
            cluster=self.cluster,
            source=self.source,
            collected_at=self.collected_at,
            nodes=tuple(_unique(objs.get(Read.NODES, ()))),
            namespaces=tuple(_unique(objs.get(Read.NAMESPACES, ()))),
            pods=tuple(_unique(objs.get(Read.CALICO_PODS, ()))),
            daemonsets=tuple(_unique(objs.get(Read.DAEMONSETS, ()))),
            deployments=tuple(_unique(objs.get(Read.DEPLOYMENTS, ()))),
            events=tuple(
                _unique_events(
                    [
                        *objs.get(Read.NODE_EVENTS, ()),
                        *objs.get(Read.CALICO_EVENTS, ()),
                        *objs.get(Read.CNI_EVENTS, ()),
                    ]
                )
            ),
            webhooks=tuple(objs.get(Read.WEBHOOKS, ())),
            leases=tuple(objs.get(Read.LEASES, ())),
            custom=custom,
            secrets=tuple(objs.get(Read.BGP_SECRETS, ())),
            rbac=tuple(objs.get(Read.BGP_RBAC, ())),
            logs=tuple(self._logs),
            errors=tuple(self._errors),
            missing=tuple(r.value for r in missing if r.value not in failed),
            absent_kinds=tuple(sorted(self._absent)),
        )


def _is_calico_pod(pod: Pod) -> bool:
    return bool(pod.component) or pod.name.startswith(KEEPALIVED_PREFIX)


def _unique_events(events: Iterable[Event]) -> list[Event]:
    """The same event read twice (a namespace list and the cluster-wide list) kept once; events
    without a name (hand-made dumps) are all kept."""
    by_key: dict[tuple[str, str], Event] = {}
    unnamed: list[Event] = []
    for event in events:
        if event.metadata.name:
            by_key[(event.metadata.namespace, event.metadata.name)] = event
        else:
            unnamed.append(event)
    return [*by_key.values(), *unnamed]


def _unique(objects: Iterable[Any]) -> list[Any]:
    """Drop repeats of one object (a dump holding a file twice): last one wins, order kept."""
    by_key: dict[tuple[str, str], Any] = {}
    for obj in objects:
        meta = obj.metadata
        by_key[(meta.namespace, meta.name)] = obj
    return list(by_key.values())


def latest_timestamp(snapshot: Snapshot) -> datetime | None:
    """The newest moment the data shows (heartbeats, events, leases, container starts): when a dump
    was taken, or how current a live API's data is."""
    stamps: list[datetime] = []
    for node in snapshot.nodes:
        stamps += [c.last_heartbeat_time for c in node.status.conditions if c.last_heartbeat_time]
    stamps += [e.last_seen for e in snapshot.events if e.last_seen]
    stamps += [lease.spec.renew_time for lease in snapshot.leases if lease.spec.renew_time]
    for pod in snapshot.pods:
        for status in pod.status.container_statuses:
            running = status.state.running
            if running and running.started_at:
                stamps.append(running.started_at)
    return max(stamps) if stamps else None
