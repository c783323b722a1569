"""Typed, read-only views over the Kubernetes objects calico-bot reads.

Each class names only the fields a check (or the card renderer) reads; everything else in the
API's JSON is skipped while decoding. That keeps a 5,000-worker snapshot small and makes the set of
signals the bot depends on visible in one file. Field names follow the API (camelCase on the wire,
snake_case here); a missing field decodes to its default, so a trimmed or foreign object never
crashes a check.

The collector (`bot.cluster.collect`) and the dump loader (`bot.cluster.dump`) decode raw bytes straight into
these classes with msgspec; checks never see a raw dict of a core object.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class _View(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Base: immutable, keyword-only, camelCase on the wire."""


# --- metadata -------------------------------------------------------------------------------


class OwnerReference(_View, frozen=True):
    kind: str = ""
    name: str = ""


class ObjectMeta(_View, frozen=True):
    name: str = ""
    namespace: str = ""
    uid: str = ""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    creation_timestamp: datetime | None = None
    deletion_timestamp: datetime | None = None
    resource_version: str = ""
    generation: int = 0
    owner_references: tuple[OwnerReference, ...] = ()


class ListMeta(_View, frozen=True):
    resource_version: str = ""
    continue_: str = msgspec.field(default="", name="continue")
    remaining_item_count: int | None = None


# --- nodes ----------------------------------------------------------------------------------


class NodeCondition(_View, frozen=True):
    type: str
    status: str = "Unknown"
    reason: str = ""
    message: str = ""
    last_heartbeat_time: datetime | None = None
    last_transition_time: datetime | None = None


class Taint(_View, frozen=True):
    key: str
    value: str = ""
    effect: str = ""
    time_added: datetime | None = None


class NodeSpec(_View, frozen=True):
    unschedulable: bool = False
    taints: tuple[Taint, ...] = ()
    provider_id: str = msgspec.field(default="", name="providerID")


class NodeAddress(_View, frozen=True):
    type: str
    address: str


class NodeSystemInfo(_View, frozen=True):
    kubelet_version: str = ""
    container_runtime_version: str = ""
    os_image: str = ""
    kernel_version: str = ""
    boot_id: str = msgspec.field(default="", name="bootID")


class NodeStatus(_View, frozen=True):
    conditions: tuple[NodeCondition, ...] = ()
    addresses: tuple[NodeAddress, ...] = ()
    node_info: NodeSystemInfo = NodeSystemInfo()


IBM_LABEL = "ibm-cloud.kubernetes.io/"


class Node(_View, frozen=True):
    metadata: ObjectMeta = ObjectMeta()
    spec: NodeSpec = NodeSpec()
    status: NodeStatus = NodeStatus()

    @property
    def name(self) -> str:
        return self.metadata.name

    def condition(self, kind: str) -> NodeCondition | None:
        for cond in self.status.conditions:
            if cond.type == kind:
                return cond
        return None

    def address(self, kind: str = "InternalIP") -> str:
        for addr in self.status.addresses:
            if addr.type == kind:
                return addr.address
        return ""

    def label(self, key: str) -> str:
        return self.metadata.labels.get(key, "")

    @property
    def zone(self) -> str:
        labels = self.metadata.labels
        return (
            labels.get(IBM_LABEL + "zone")
            or labels.get("topology.kubernetes.io/zone")
            or labels.get("failure-domain.beta.kubernetes.io/zone", "")
        )

    @property
    def worker_pool(self) -> str:
        return self.metadata.labels.get(IBM_LABEL + "worker-pool-name", "")

    @property
    def worker_id(self) -> str:
        """IKS worker id: the label, else the last segment of spec.providerID."""
        wid = self.metadata.labels.get(IBM_LABEL + "worker-id", "")
        if not wid and self.spec.provider_id:
            wid = self.spec.provider_id.rstrip("/").rsplit("/", 1)[-1]
        return wid

    @property
    def is_vpc(self) -> bool:
        provider = self.metadata.labels.get(IBM_LABEL + "iaas-provider", "")
        return provider in ("g2", "gc", "vpc", "vpc-gen2") or "vpc" in self.spec.provider_id

    def has_taint(self, key: str) -> bool:
        return any(t.key == key for t in self.spec.taints)


# --- which Calico component a workload runs --------------------------------------------------

CALICO_NODE = "calico-node"
CALICO_TYPHA = "calico-typha"
CALICO_KUBE_CONTROLLERS = "calico-kube-controllers"
TIGERA_OPERATOR = "tigera-operator"
COMPONENTS = (CALICO_NODE, CALICO_TYPHA, CALICO_KUBE_CONTROLLERS, TIGERA_OPERATOR)

_LABEL_COMPONENT = {
    CALICO_NODE: CALICO_NODE,
    "canal": CALICO_NODE,
    CALICO_TYPHA: CALICO_TYPHA,
    CALICO_KUBE_CONTROLLERS: CALICO_KUBE_CONTROLLERS,
    TIGERA_OPERATOR: TIGERA_OPERATOR,
}
_WORKLOAD_NAMES = {
    CALICO_NODE: CALICO_NODE,
    "canal": CALICO_NODE,
    "rke2-canal": CALICO_NODE,
    CALICO_TYPHA: CALICO_TYPHA,
    CALICO_KUBE_CONTROLLERS: CALICO_KUBE_CONTROLLERS,
    TIGERA_OPERATOR: TIGERA_OPERATOR,
}
_IMAGE_COMPONENT = (
    ("/node:", CALICO_NODE),  # calico/node, quay.io/calico/node, …/armada-master/calico/node
    ("calico-node:", CALICO_NODE),  # rancher/mirrored-calico-node, hardened-calico images
    ("/typha:", CALICO_TYPHA),
    ("calico-typha:", CALICO_TYPHA),
    ("/kube-controllers:", CALICO_KUBE_CONTROLLERS),
    ("calico-kube-controllers:", CALICO_KUBE_CONTROLLERS),
    ("tigera/operator:", TIGERA_OPERATOR),
)


def component_of(app_label: str, container_names: list[str], images: list[str], name: str = "") -> str:
    """The Calico component of a pod or pod template: by `k8s-app`, container name, then image."""
    if app_label in _LABEL_COMPONENT:
        return _LABEL_COMPONENT[app_label]
    for component in (CALICO_NODE, CALICO_TYPHA, CALICO_KUBE_CONTROLLERS):
        if component in container_names:
            return component
    for image in images:
        lowered = image.lower()
        if "calico" not in lowered and "tigera" not in lowered:
            continue
        for marker, component in _IMAGE_COMPONENT:
            if marker in lowered.replace("@", ":"):
                return component
    if name.startswith(TIGERA_OPERATOR) and "operator" in " ".join(images):
        return TIGERA_OPERATOR
    if name in _WORKLOAD_NAMES:  # a workload read without its pod template (trimmed dumps, old tests)
        return _WORKLOAD_NAMES[name]
    return ""


# --- pods -----------------------------------------------------------------------------------


class ContainerStateWaiting(_View, frozen=True):
    reason: str = ""
    message: str = ""


class ContainerStateRunning(_View, frozen=True):
    started_at: datetime | None = None


class ContainerStateTerminated(_View, frozen=True):
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None


class ContainerState(_View, frozen=True):
    waiting: ContainerStateWaiting | None = None
    running: ContainerStateRunning | None = None
    terminated: ContainerStateTerminated | None = None


class ContainerStatus(_View, frozen=True):
    name: str
    ready: bool = False
    started: bool | None = None
    restart_count: int = 0
    image: str = ""
    state: ContainerState = ContainerState()
    last_state: ContainerState = ContainerState()


class ExecAction(_View, frozen=True):
    command: tuple[str, ...] = ()


class HTTPGetAction(_View, frozen=True):
    path: str = ""
    port: int | str = 0


class Probe(_View, frozen=True):
    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    period_seconds: int = 10
    timeout_seconds: int = 1
    failure_threshold: int = 3
    initial_delay_seconds: int = 0


class EnvVar(_View, frozen=True):
    name: str
    value: str = ""


class Container(_View, frozen=True):
    name: str
    image: str = ""
    env: tuple[EnvVar, ...] = ()
    readiness_probe: Probe | None = None
    liveness_probe: Probe | None = None
    startup_probe: Probe | None = None


class PodSpec(_View, frozen=True):
    node_name: str = ""
    service_account_name: str = ""
    host_network: bool = False
    containers: tuple[Container, ...] = ()
    init_containers: tuple[Container, ...] = ()
    node_selector: dict[str, str] = {}


class PodCondition(_View, frozen=True):
    type: str
    status: str = "Unknown"
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = None


class PodStatus(_View, frozen=True):
    phase: str = ""
    reason: str = ""
    message: str = ""
    host_ip: str = msgspec.field(default="", name="hostIP")
    pod_ip: str = msgspec.field(default="", name="podIP")
    start_time: datetime | None = None
    conditions: tuple[PodCondition, ...] = ()
    container_statuses: tuple[ContainerStatus, ...] = ()
    init_container_statuses: tuple[ContainerStatus, ...] = ()


class Pod(_View, frozen=True):
    metadata: ObjectMeta = ObjectMeta()
    spec: PodSpec = PodSpec()
    status: PodStatus = PodStatus()

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace

    @property
    def node_name(self) -> str:
        return self.spec.node_name

    @property
    def app(self) -> str:
        """The `k8s-app` label (calico-node, calico-typha, …)."""
        return self.metadata.labels.get("k8s-app", "")

    @property
    def component(self) -> str:
        """Which Calico component this pod runs, however it was installed ("" for anything else).

        By the workload, not only the label: a pod with a `calico-node` container or a `calico/node`
        image is calico-node whether its DaemonSet is calico-node (manifest, operator), canal,
        rke2-canal or MicroK8s' — see `component_of`.
        """
        images = [c.image for c in (*self.spec.containers, *self.spec.init_containers)]
        images += [s.image for s in self.status.container_statuses]
        names = [c.name for c in self.spec.containers] or [s.name for s in self.status.container_statuses]
        return component_of(self.app, names, images, self.name)

    def container_status(self, name: str) -> ContainerStatus | None:
        for status in self.status.container_statuses:
            if status.name == name:
                return status
        return None

    @property
    def ready(self) -> bool:
        for cond in self.status.conditions:
            if cond.type == "Ready":
                return cond.status == "True"
        statuses = self.status.container_statuses
        return bool(statuses) and all(s.ready for s in statuses)

    def not_ready_since(self) -> datetime | None:
        """When the pod's Ready condition turned False (None when Ready or unknown)."""
        for cond in self.status.conditions:
            if cond.type == "Ready" and cond.status != "True":
                return cond.last_transition_time
        return None

    @property
    def restart_count(self) -> int:
        return sum(s.restart_count for s in self.status.container_statuses)

    @property
    def owner_kind(self) -> str:
        refs = self.metadata.owner_references
        return refs[0].kind if refs else ""

    def display_status(self) -> str:
        """The STATUS column of `kubectl get pods` (Init:X, CrashLoopBackOff, Running, …)."""
        if self.metadata.deletion_timestamp is not None:
            return "Terminating"
        total_init = len(self.spec.init_containers) or len(self.status.init_container_statuses)
        for index, init in enumerate(self.status.init_container_statuses):
            term = init.state.terminated
            if term is not None and term.exit_code == 0:
                continue
            if term is not None:
                return f"Init:{term.reason or 'Error'}" if term.reason else f"Init:ExitCode:{term.exit_code}"
            waiting = init.state.waiting
            if waiting is not None and waiting.reason and waiting.reason != "PodInitializing":
                return f"Init:{waiting.reason}"
            return f"Init:{index}/{total_init}"
        reason = self.status.reason or self.status.phase or "Unknown"
        running = False
        for status in self.status.container_statuses:
            if status.state.waiting is not None and status.state.waiting.reason:
                reason = status.state.waiting.reason
            elif status.state.terminated is not None:
                reason = status.state.terminated.reason or f"ExitCode:{status.state.terminated.exit_code}"
            elif status.state.running is not None:
                running = True
        if running and reason == "Completed":
            reason = "Running"
        return reason

    def ready_fraction(self) -> str:
        statuses = self.status.container_statuses
        total = len(self.spec.containers) or len(statuses)
        return f"{sum(1 for s in statuses if s.ready)}/{total}"


# --- workloads ------------------------------------------------------------------------------


class LabelSelectorRequirement(_View, frozen=True):
    key: str
    operator: str
    values: tuple[str, ...] = ()


class LabelSelector(_View, frozen=True):
    match_labels: dict[str, str] = {}
    match_expressions: tuple[LabelSelectorRequirement, ...] = ()


class PodTemplateSpecView(_View, frozen=True):
    node_selector: dict[str, str] = {}
    affinity: dict[str, Any] = {}
    containers: tuple[Container, ...] = ()
    init_containers: tuple[Container, ...] = ()


class PodTemplate(_View, frozen=True):
    metadata: ObjectMeta = ObjectMeta()
    spec: PodTemplateSpecView = PodTemplateSpecView()


class DaemonSetSpec(_View, frozen=True):
    selector: LabelSelector = LabelSelector()
    template: PodTemplate = PodTemplate()


class DaemonSetStatus(_View, frozen=True):
    desired_number_scheduled: int = 0
    current_number_scheduled: int = 0
    number_ready: int = 0
    number_available: int = 0
    number_unavailable: int = 0
    number_misscheduled: int = 0
    updated_number_scheduled: int = 0
    observed_generation: int = 0


class DaemonSet(_View, frozen=True):
    metadata: ObjectMeta = ObjectMeta()
    spec: DaemonSetSpec = DaemonSetSpec()
    status: DaemonSetStatus = DaemonSetStatus()

    @property
    def component(self) -> str:
        """The Calico component its pods run ("" for any other DaemonSet), by its pod template."""
        template = self.spec.template
        containers = template.spec.containers
        return component_of(
            template.metadata.labels.get("k8s-app", "") or self.metadata.labels.get("k8s-app", ""),
            [c.name for c in containers],
            [c.image for c in (*containers, *template.spec.init_containers)],
            self.metadata.name,
        )


class DeploymentCondition(_View, frozen=True):
    type: str
    status: str = "Unknown"
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = None


class DeploymentSpec(_View, frozen=True):
    replicas: int | None = None
    selector: LabelSelector = LabelSelector()


class DeploymentStatus(_View, frozen=True):
    replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    unavailable_replicas: int = 0
    updated_replicas: int = 0
    conditions: tuple[DeploymentCondition, ...] = ()


class Deployment(_View, frozen=True):
    metadata: ObjectMeta = ObjectMeta()
    spec: DeploymentSpec = DeploymentSpec()
    status: DeploymentStatus = DeploymentStatus()


class Namespace(_View, frozen=True):
    metadata: ObjectMeta = ObjectMeta()


# --- events, leases -------------------------------------------------------------------------


class ObjectReference(_View, frozen=True):
    kind: str = ""
    name: str = ""
    namespace: str = ""
    uid: str = ""


class EventSource(_View, frozen=True):
    component: str = ""
    host: str = ""


class EventSeries(_View, frozen=True):
    count: int = 0
    last_observed_time: datetime | None = None


class Event(_View, frozen=True):
    metadata: ObjectMeta = ObjectMeta()
    involved_object: ObjectReference = ObjectReference()
    reason: str = ""
    message: str = ""
    type: str = ""
    count: int = 1
    first_timestamp: datetime | None = None
    last_timestamp: datetime | None = None
    event_time: datetime | None = None
    series: EventSeries | None = None
    source: EventSource = EventSource()
    reporting_component: str = ""
    reporting_instance: str = ""

    @property
    def host(self) -> str:
        """The node that reported it (kubelet events name their node)."""
        return self.source.host or self.reporting_instance

    @property
    def last_seen(self) -> datetime | None:
        if self.series is not None and self.series.last_observed_time is not None:
            return self.series.last_observed_time
        return self.last_timestamp or self.event_time or self.metadata.creation_timestamp

    @property
    def times(self) -> int:
        if self.series is not None and self.series.count:
            return self.series.count
        return max(self.count, 1)


class LeaseSpec(_View, frozen=True):
    holder_identity: str = ""
    renew_time: datetime | None = None
    lease_duration_seconds: int = 40


class Lease(_View, frozen=True):
    metadata: ObjectMeta = ObjectMeta()
    spec: LeaseSpec = LeaseSpec()


# --- admission webhooks ---------------------------------------------------------------------


class RuleWithOperations(_View, frozen=True):
    operations: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    api_versions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    scope: str = "*"


class Webhook(_View, frozen=True):
    name: str
    failure_policy: str = "Fail"
    rules: tuple[RuleWithOperations, ...] = ()
    namespace_selector: LabelSelector | None = None
    object_selector: LabelSelector | None = None
    timeout_seconds: int = 10


class WebhookConfiguration(_View, frozen=True):
    kind: str = ""
    metadata: ObjectMeta = ObjectMeta()
    webhooks: tuple[Webhook, ...] = ()


# --- RBAC, secrets (names only), custom resources -------------------------------------------


class RbacObject(_View, frozen=True):
    """A Role or RoleBinding (what `bgp-secret-access` must look like)."""

    kind: str = ""
    metadata: ObjectMeta = ObjectMeta()
    rules: tuple[dict[str, Any], ...] = ()
    role_ref: dict[str, Any] = {}
    subjects: tuple[dict[str, Any], ...] = ()


class ManagedFieldsEntry(_View, frozen=True):
    manager: str = ""
    operation: str = ""
    time: datetime | None = None


class CustomMeta(ObjectMeta, frozen=True):
    """Metadata of configuration objects, with who changed them when (for "recent changes")."""

    managed_fields: tuple[ManagedFieldsEntry, ...] = ()

    @property
    def last_changed(self) -> datetime | None:
        times = [m.time for m in self.managed_fields if m.time is not None]
        if self.creation_timestamp is not None:
            times.append(self.creation_timestamp)
        return max(times) if times else None


class CustomObject(_View, frozen=True):
    """A Calico or Tigera-operator custom resource: spec and status kept as plain data."""

    api_version: str = ""
    kind: str = ""
    metadata: CustomMeta = CustomMeta()
    spec: dict[str, Any] = {}
    status: dict[str, Any] = {}


class NameOnlyMeta(_View, frozen=True):
    name: str = ""
    namespace: str = ""
    creation_timestamp: datetime | None = None


class ObjectName(_View, frozen=True):
    """Only the identity of an object whose content the bot must never hold (a Secret).

    No data, no annotations (`last-applied-configuration` would carry the value), no labels.
    """

    kind: str = ""
    metadata: NameOnlyMeta = NameOnlyMeta()
