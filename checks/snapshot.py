"""What one collection read from a cluster (or a dump): the objects, and what could not be read.

A `Snapshot` is the only input of the checks. It is built by `bot.cluster.collect` (live API), `bot.cluster.dump`
(a `kubectl cluster-info dump`) or the simulator, always through `bot.cluster.assemble`, so the three
sources look the same to a check.

Every read has a key (`Read`). A check declares the reads it needs; when one of them failed
(`errors`) or the source did not contain it (`missing`, e.g. a dump without leases), the check's
verdict is "unknown", never "healthy".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal

import msgspec

from checks.objects import (
    CALICO_NODE,
    CALICO_TYPHA,
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

CALICO_NAMESPACES = ("calico-system", "kube-system")
"""Where calico-node lives: `calico-system` (operator: IKS >= 1.29, ROKS), `kube-system` (IKS <= 1.28)."""


class Read(StrEnum):
    """The fixed set of reads of a collection (ARCHITECTURE section 5)."""

    NODES = "nodes"
    NAMESPACES = "namespaces"
    CALICO_PODS = "calico-pods"  # calico-node, typha, kube-controllers, operator pods, all namespaces
    DAEMONSETS = "daemonsets"  # all namespaces (Calico is found by its pod template)
    DEPLOYMENTS = "deployments"  # calico-system, kube-system, tigera-operator
    NODE_EVENTS = "node-events"  # namespace default, involvedObject.kind=Node
    CALICO_EVENTS = "calico-events"  # calico-system, kube-system
    WEBHOOKS = "webhooks"  # validating + mutating configurations
    LEASES = "leases"  # kube-node-lease
    BGP_CONFIGURATIONS = "bgpconfigurations"
    IP_POOLS = "ippools"
    FELIX_CONFIGURATIONS = "felixconfigurations"
    CALICO_NODES = "calico-nodes"  # crd.projectcalico.org/v1 nodes
    INSTALLATIONS = "installations"
    TIGERA_STATUSES = "tigerastatuses"
    BGP_SECRETS = "bgp-secrets"  # calico-bgp-password, metadata only
    BGP_RBAC = "bgp-rbac"  # Role/RoleBinding bgp-secret-access
    CNI_EVENTS = "cni-events"  # sandbox-creation failures of any pod, cluster-wide (the CNI as others see it)
    LOGS = "logs"


class ReadError(msgspec.Struct, frozen=True, kw_only=True):
    """A read that failed: which, why, and the HTTP status when there was one."""

    read: str
    reason: str
    status: int | None = None
    detail: str = ""


class ContainerLog(msgspec.Struct, frozen=True, kw_only=True):
    namespace: str
    pod: str
    container: str
    previous: bool = False
    text: str = ""
    truncated: bool = False


Source = Literal["live", "dump", "sim"]


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    cluster: str
    source: Source
    collected_at: datetime
    nodes: tuple[Node, ...] = ()
    namespaces: tuple[Namespace, ...] = ()
    pods: tuple[Pod, ...] = ()
    daemonsets: tuple[DaemonSet, ...] = ()
    deployments: tuple[Deployment, ...] = ()
    events: tuple[Event, ...] = ()
    webhooks: tuple[WebhookConfiguration, ...] = ()
    leases: tuple[Lease, ...] = ()
    custom: Mapping[str, tuple[CustomObject, ...]] = field(default_factory=dict)
    secrets: tuple[ObjectName, ...] = ()
    rbac: tuple[RbacObject, ...] = ()
    logs: tuple[ContainerLog, ...] = ()
    errors: tuple[ReadError, ...] = ()
    missing: tuple[str, ...] = ()
    """Reads the source did not contain (a dump without leases) — not failures, but unknowns."""
    absent_kinds: tuple[str, ...] = ()
    """Resource types the API does not serve (404 on the list: the CRD is not installed)."""

    # --- read status ----------------------------------------------------------------------

    def read_ok(self, read: Read | str) -> bool:
        """True when the read succeeded, so an empty result really means "none"."""
        key = str(read)
        return key not in self.missing and not any(e.read == key for e in self.errors)

    def read_problem(self, read: Read | str) -> str:
        """Why a read is not usable ("" when it is)."""
        key = str(read)
        if key in self.missing:
            return f"{key}: not in the {self.source} source"
        for err in self.errors:
            if err.read == key:
                status = f" (HTTP {err.status})" if err.status else ""
                return f"{key}: {err.reason}{status}"
        return ""

    # --- object helpers -------------------------------------------------------------------

    def calico_node_pods(self) -> tuple[Pod, ...]:
        """calico-node pods, however Calico was installed (operator, manifest, canal, …)."""
        return self._by_component.get(CALICO_NODE, ())

    def typha_pods(self) -> tuple[Pod, ...]:
        return self._by_component.get(CALICO_TYPHA, ())

    def component_pods(self, component: str) -> tuple[Pod, ...]:
        return self._by_component.get(component, ())

    @cached_property
    def _by_component(self) -> dict[str, tuple[Pod, ...]]:
        grouped: dict[str, list[Pod]] = defaultdict(list)
        for pod in self.pods:
            component = pod.component
            if component:
                grouped[component].append(pod)
        return {key: tuple(pods) for key, pods in grouped.items()}

    def calico_daemonsets(self) -> tuple[DaemonSet, ...]:
        """The DaemonSets that run calico-node (calico-node, canal, rke2-canal, …), in any namespace."""
        return tuple(ds for ds in self.daemonsets if ds.component == CALICO_NODE)

    def calico_namespaces(self) -> tuple[str, ...]:
        """Namespaces where calico-node runs (a DaemonSet or a pod of it); the usual two first."""
        found = {ds.metadata.namespace for ds in self.calico_daemonsets()}
        found |= {p.namespace for p in self.calico_node_pods()}
        usual = [ns for ns in CALICO_NAMESPACES if ns in found]
        return (*usual, *sorted(found - set(CALICO_NAMESPACES)))

    def daemonset(self, namespace: str, name: str) -> DaemonSet | None:
        for ds in self.daemonsets:
            if ds.metadata.namespace == namespace and ds.metadata.name == name:
                return ds
        return None

    def deployment(self, namespace: str, name: str) -> Deployment | None:
        for dep in self.deployments:
            if dep.metadata.namespace == namespace and dep.metadata.name == name:
                return dep
        return None

    @cached_property
    def memo(self) -> dict[tuple[str, object], Any]:
        """Cache for analyses several checks share (pure functions of this snapshot and `now`)."""
        return {}

    @cached_property
    def _nodes_by_name(self) -> dict[str, Node]:
        return {node.name: node for node in self.nodes}

    @cached_property
    def _events_by_object(self) -> dict[tuple[str, str], list[Event]]:
        index: dict[tuple[str, str], list[Event]] = defaultdict(list)
        for event in self.events:
            index[(event.involved_object.kind, event.involved_object.name)].append(event)
        return index

    @cached_property
    def _leases_by_name(self) -> dict[str, Lease]:
        return {lease.metadata.name: lease for lease in self.leases}

    def node(self, name: str) -> Node | None:
        return self._nodes_by_name.get(name)

    def custom_objects(self, plural: str) -> tuple[CustomObject, ...]:
        return self.custom.get(plural, ())

    def events_for(self, kind: str, name: str, namespace: str | None = None) -> Iterator[Event]:
        for event in self._events_by_object.get((kind, name), ()):
            if namespace is None or event.involved_object.namespace == namespace:
                yield event

    def logs_for(self, namespace: str, pod: str) -> tuple[ContainerLog, ...]:
        return tuple(log for log in self.logs if log.namespace == namespace and log.pod == pod)

    def calico_node_logs(self) -> Iterator[tuple[Pod | None, ContainerLog]]:
        """(pod, log) for every log of a calico-node pod — and of any pod not known to be another
        component (a log whose pod was not listed still speaks for calico-node: pod None)."""
        by_name = {(p.namespace, p.name): p for p in self.pods}
        for log in self.logs:
            pod = by_name.get((log.namespace, log.pod))
            if pod is None or pod.component == CALICO_NODE:
                yield pod, log

    def lease(self, node_name: str) -> Lease | None:
        return self._leases_by_name.get(node_name)
