"""Server-side printing: the `meta.k8s.io/v1` Table a real apiserver answers to `kubectl get`.

kubectl asks for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,…` and prints the columns
the server defines; without this, every kind shows only NAME and AGE. The column definitions and
cells follow kube-apiserver:

- built-in kinds: `pkg/printers/internalversion/printers.go` (`AddHandlers` for the columns,
  `printPod`, `printNode`, `printEvent`, … for the cells). The server always prints the wide cells
  (`GenerateOptions{Wide: true}`); kubectl hides the columns with priority > 0 unless `-o wide`;
- kinds without a printer (Role, ClusterRole): the default convertor, NAME and CREATED AT (RFC 3339);
- custom resources: NAME plus the CRD's `additionalPrinterColumns`, by default AGE
  (`.metadata.creationTimestamp`, type date, printed as an age); TigeraStatus has the operator's
  AVAILABLE / PROGRESSING / DEGRADED / SINCE.

Each row carries the object as kubectl asked (`includeObject`): `Metadata` (the default, a
PartialObjectMetadata, which is what `-A`, `--show-labels` and `-L` read), `Object`, or `None`.
Everything here is pure: `now` is an argument.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.escalation.describe import human_duration
from bot.sim.store import CALICO_GROUP, OPERATOR_GROUP, Json, ResourceType

Cell = str | int | bool | None
Column = dict[str, Any]
Printer = Callable[[Json, datetime], list[Cell]]

NAME_DOC = (
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name automatically. "
    "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
    "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
CREATED_DOC = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. It "
    "is not guaranteed to be set in happens-before order across separate operations. Clients may not "
    "set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. "
    "Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
CONTAINERS_DOC = "Names of each container in the template."
IMAGES_DOC = "Images referenced by each container in the template."


def column(name: str, description: str, *, type_: str = "string", priority: int = 0, fmt: str = "") -> Column:
    return {"name": name, "type": type_, "format": fmt, "description": description, "priority": priority}


NAME = column("Name", NAME_DOC, fmt="name")
AGE = column("Age", CREATED_DOC)


# --- helpers as printers.go has them ----------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def since(value: Any, now: datetime) -> str:
    """`translateTimestampSince`: an age, `<unknown>` for a zero time."""
    when = parse_time(value)
    return "<unknown>" if when is None else human_duration(now - when)


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _meta(doc: Json) -> dict[str, Any]:
    return _map(doc.get("metadata"))


def format_labels(labels: Any) -> str:
    """`labels.FormatLabels`: sorted `k=v` joined by commas, `<none>` when empty."""
    items = _map(labels)
    if not items:
        return "<none>"
    return ",".join(f"{k}={items[k]}" for k in sorted(items))


def format_label_selector(selector: Any) -> str:
    """`metav1.FormatLabelSelector`."""
    sel = _map(selector)
    if not sel:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted(_map(sel.get("matchLabels")).items())]
    for expr in _list(sel.get("matchExpressions")):
        op = str(_map(expr).get("operator", ""))
        key = str(_map(expr).get("key", ""))
        values = ",".join(str(v) for v in _list(_map(expr).get("values")))
        parts.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key}.get(
                op, f"!{key}"
            )
        )
    text = ",".join(parts)
    return text if text else "<none>"


def container_cells(containers: Iterable[Any]) -> tuple[str, str]:
    """`layoutContainerCells`: container names and images, comma-joined."""
    names, images = [], []
    for c in containers:
        names.append(str(_map(c).get("name", "")))
        images.append(str(_map(c).get("image", "")))
    return ",".join(names), ",".join(images)


def _template_containers(doc: Json) -> list[Any]:
    spec = _map(_map(_map(doc.get("spec")).get("template")).get("spec"))
    return _list(spec.get("containers"))


# --- printers of the built-in kinds -----------------------------------------------------------


def _pod_row(pod: Json, now: datetime) -> list[Cell]:
    spec, status = _map(pod.get("spec")), _map(pod.get("status"))
    meta = _meta(pod)
    restarts = 0
    total = len(_list(spec.get("containers")))
    ready_containers = 0
    last_restart: datetime | None = None
    phase = str(status.get("phase", ""))
    reason = str(status.get("reason") or phase)
    for cond in _list(status.get("conditions")):
        if _map(cond).get("type") == "PodScheduled" and _map(cond).get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    init_specs = {str(_map(c).get("name")): _map(c) for c in _list(spec.get("initContainers"))}
    restartable = {name for name, c in init_specs.items() if c.get("restartPolicy") == "Always"}
    total += len(restartable)

    def later(current: datetime | None, state: Any) -> datetime | None:
        finished = parse_time(_map(_map(state).get("terminated")).get("finishedAt"))
        if finished is not None and (current is None or finished > current):
            return finished
        return current

    initializing = False
    sidecar_restarts = 0
    sidecar_last: datetime | None = None
    init_statuses = _list(status.get("initContainerStatuses"))
    for i, raw in enumerate(init_statuses):
        cs = _map(raw)
        restarts += int(cs.get("restartCount") or 0)
        last_restart = later(last_restart, cs.get("lastState"))
        name = str(cs.get("name", ""))
        if name in restartable:
            sidecar_restarts += int(cs.get("restartCount") or 0)
            sidecar_last = later(sidecar_last, cs.get("lastState"))
        state = _map(cs.get("state"))
        terminated, waiting = _map(state.get("terminated")), _map(state.get("waiting"))
        if terminated and int(terminated.get("exitCode") or 0) == 0:
            continue
        if name in restartable and cs.get("started"):
            if cs.get("ready"):
                ready_containers += 1
            continue
        if terminated:
            if not terminated.get("reason"):
                signal = int(terminated.get("signal") or 0)
                reason = (
                    f"Init:Signal:{signal}"
                    if signal
                    else f"Init:ExitCode:{int(terminated.get('exitCode') or 0)}"
                )
            else:
                reason = "Init:" + str(terminated["reason"])
        elif waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + str(waiting["reason"])
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break
    initialized = any(
        _map(c).get("type") == "Initialized" and _map(c).get("status") == "True"
        for c in _list(status.get("conditions"))
    )
    if not initializing or initialized:
        restarts, last_restart = sidecar_restarts, sidecar_last
        has_running = False
        for raw in reversed(_list(status.get("containerStatuses"))):
            cs = _map(raw)
            restarts += int(cs.get("restartCount") or 0)
            last_restart = later(last_restart, cs.get("lastState"))
            state = _map(cs.get("state"))
            terminated, waiting = _map(state.get("terminated")), _map(state.get("waiting"))
            if waiting.get("reason"):
                reason = str(waiting["reason"])
            elif terminated.get("reason"):
                reason = str(terminated["reason"])
            elif "terminated" in state:
                signal = int(terminated.get("signal") or 0)
                reason = f"Signal:{signal}" if signal else f"ExitCode:{int(terminated.get('exitCode') or 0)}"
            elif cs.get("ready") and "running" in state:
                has_running = True
                ready_containers += 1
        if reason == "Completed" and has_running:
            ready = any(
                _map(c).get("type") == "Ready" and _map(c).get("status") == "True"
                for c in _list(status.get("conditions"))
            )
            reason = "Running" if ready else "NotReady"
    if meta.get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({human_duration(now - last_restart)} ago)"
    pod_ips = _list(status.get("podIPs"))
    pod_ip = str(_map(pod_ips[0]).get("ip", "")) if pod_ips else ""
    gates = _list(spec.get("readinessGates"))
    gates_text = "<none>"
    if gates:
        conditions = {str(_map(c).get("type")): _map(c) for c in _list(status.get("conditions"))}
        true = sum(
            1 for g in gates if conditions.get(str(_map(g).get("conditionType")), {}).get("status") == "True"
        )
        gates_text = f"{true}/{len(gates)}"
    return [
        str(meta.get("name", "")),
        f"{ready_containers}/{total}",
        reason,
        restarts_text,
        since(meta.get("creationTimestamp"), now),
        pod_ip or "<none>",
        str(spec.get("nodeName") or "<none>"),
        str(status.get("nominatedNodeName") or "<none>"),
        gates_text,
    ]


def node_roles(labels: Any) -> list[str]:
    """`findNodeRoles`: `node-role.kubernetes.io/<role>` and `kubernetes.io/role=<role>`, sorted."""
    roles: set[str] = set()
    for key, value in _map(labels).items():
        if key.startswith("node-role.kubernetes.io/"):
            role = key.removeprefix("node-role.kubernetes.io/")
            if role:
                roles.add(role)
        elif key == "kubernetes.io/role" and value:
            roles.add(str(value))
    return sorted(roles)


def _node_row(node: Json, now: datetime) -> list[Cell]:
    meta, spec, status = _meta(node), _map(node.get("spec")), _map(node.get("status"))
    states: list[str] = []
    for cond in _list(status.get("conditions")):
        if _map(cond).get("type") == "Ready":
            states = ["Ready" if _map(cond).get("status") == "True" else "NotReady"]
    if not states:
        states = ["Unknown"]
    if spec.get("unschedulable"):
        states.append("SchedulingDisabled")
    info = _map(status.get("nodeInfo"))

    def address(kind: str) -> str:
        for addr in _list(status.get("addresses")):
            if _map(addr).get("type") == kind:
                return str(_map(addr).get("address", ""))
        return "<none>"

    return [
        str(meta.get("name", "")),
        ",".join(states),
        ",".join(node_roles(meta.get("labels"))) or "<none>",
        since(meta.get("creationTimestamp"), now),
        str(info.get("kubeletVersion", "")),
        address("InternalIP"),
        address("ExternalIP"),
        str(info.get("osImage") or "<unknown>"),
        str(info.get("kernelVersion") or "<unknown>"),
        str(info.get("containerRuntimeVersion") or "<unknown>"),
    ]


def _event_row(event: Json, now: datetime) -> list[Cell]:
    meta = _meta(event)
    first = since(event.get("firstTimestamp"), now)
    if parse_time(event.get("firstTimestamp")) is None:
        first = since(event.get("eventTime"), now)
    last = since(event.get("lastTimestamp"), now)
    if parse_time(event.get("lastTimestamp")) is None:
        last = first
    count = int(event.get("count") or 0)
    series = _map(event.get("series"))
    if series:
        last = since(series.get("lastObservedTime"), now)
        count = int(series.get("count") or 0)
    elif count == 0:
        count = 1
    ref = _map(event.get("involvedObject"))
    kind = str(ref.get("kind", "")).lower()
    target = f"{kind}/{ref['name']}" if ref.get("name") else kind
    source = _map(event.get("source"))
    component = str(source.get("component") or event.get("reportingComponent") or "")
    instance = str(source.get("host") or event.get("reportingInstance") or "")
    return [
        last,
        str(event.get("type", "")),
        str(event.get("reason", "")),
        target,
        str(ref.get("fieldPath", "")),
        f"{component}, {instance}" if instance else component,
        str(event.get("message", "")).strip(),
        first,
        count,
        str(meta.get("name", "")),
    ]


def _daemonset_row(ds: Json, now: datetime) -> list[Cell]:
    status = _map(ds.get("status"))
    names, images = container_cells(_template_containers(ds))
    node_selector = _map(_map(_map(_map(ds.get("spec")).get("template")).get("spec")).get("nodeSelector"))
    return [
        str(_meta(ds).get("name", "")),
        int(status.get("desiredNumberScheduled") or 0),
        int(status.get("currentNumberScheduled") or 0),
        int(status.get("numberReady") or 0),
        int(status.get("updatedNumberScheduled") or 0),
        int(status.get("numberAvailable") or 0),
        format_labels(node_selector),
        since(_meta(ds).get("creationTimestamp"), now),
        names,
        images,
        format_label_selector(_map(ds.get("spec")).get("selector")),
    ]


def _deployment_row(dep: Json, now: datetime) -> list[Cell]:
    spec, status = _map(dep.get("spec")), _map(dep.get("status"))
    names, images = container_cells(_template_containers(dep))
    desired = spec.get("replicas", 1)
    return [
        str(_meta(dep).get("name", "")),
        f"{int(status.get('readyReplicas') or 0)}/{int(desired if desired is not None else 1)}",
        int(status.get("updatedReplicas") or 0),
        int(status.get("availableReplicas") or 0),
        since(_meta(dep).get("creationTimestamp"), now),
        names,
        images,
        format_label_selector(spec.get("selector")),
    ]


def _replicas_row(obj: Json, now: datetime, *, rc: bool = False) -> list[Cell]:
    spec, status = _map(obj.get("spec")), _map(obj.get("status"))
    names, images = container_cells(_template_containers(obj))
    selector = format_labels(spec.get("selector")) if rc else format_label_selector(spec.get("selector"))
    return [
        str(_meta(obj).get("name", "")),
        int(spec.get("replicas") or 0),
        int(status.get("replicas") or 0),
        int(status.get("readyReplicas") or 0),
        since(_meta(obj).get("creationTimestamp"), now),
        names,
        images,
        selector,
    ]


def _service_row(svc: Json, now: datetime) -> list[Cell]:
    spec = _map(svc.get("spec"))
    kind = str(spec.get("type") or "ClusterIP")
    external = ",".join(str(x) for x in _list(spec.get("externalIPs")))
    if kind == "ExternalName":
        external = str(spec.get("externalName", ""))
    elif kind == "LoadBalancer":
        ingress = [
            str(_map(i).get("ip") or _map(i).get("hostname") or "")
            for i in _list(_map(_map(svc.get("status")).get("loadBalancer")).get("ingress"))
        ]
        lb = ",".join(sorted(x for x in ingress if x))
        external = ",".join(x for x in (lb, external) if x) or "<pending>"
    ports = []
    for raw in _list(spec.get("ports")):
        port = _map(raw)
        text = f"{port.get('port')}/{port.get('protocol', 'TCP')}"
        if port.get("nodePort"):
            text = f"{port.get('port')}:{port.get('nodePort')}/{port.get('protocol', 'TCP')}"
        ports.append(text)
    return [
        str(_meta(svc).get("name", "")),
        kind,
        str(spec.get("clusterIP") or "<none>"),
        external or "<none>",
        ",".join(ports) or "<none>",
        since(_meta(svc).get("creationTimestamp"), now),
        format_labels(spec.get("selector")),
    ]


def _endpoints_row(ep: Json, now: datetime) -> list[Cell]:
    shown: list[str] = []
    total = 0
    for subset in _list(ep.get("subsets")):
        ports = _list(_map(subset).get("ports")) or [{}]
        for addr in _list(_map(subset).get("addresses")):
            for port in ports:
                total += 1
                if len(shown) < 3:
                    ip = str(_map(addr).get("ip", ""))
                    number = _map(port).get("port")
                    shown.append(f"{ip}:{number}" if number else ip)
    text = ",".join(shown) if shown else "<none>"
    if total > 3:
        text += f" + {total - 3} more..."
    return [str(_meta(ep).get("name", "")), text, since(_meta(ep).get("creationTimestamp"), now)]


def _lease_row(lease: Json, now: datetime) -> list[Cell]:
    holder = _map(lease.get("spec")).get("holderIdentity")
    return [
        str(_meta(lease).get("name", "")),
        "<none>" if holder is None else str(holder),
        since(_meta(lease).get("creationTimestamp"), now),
    ]


def _binding_row(binding: Json, now: datetime) -> list[Cell]:
    ref = _map(binding.get("roleRef"))
    users, groups, accounts = [], [], []
    for raw in _list(binding.get("subjects")):
        subject = _map(raw)
        kind, name = subject.get("kind"), str(subject.get("name", ""))
        if kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
        elif kind == "ServiceAccount":
            accounts.append(f"{subject.get('namespace', '')}:{name}")
    return [
        str(_meta(binding).get("name", "")),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        since(_meta(binding).get("creationTimestamp"), now),
        ", ".join(users),
        ", ".join(groups),
        ", ".join(accounts),
    ]


def _count_row(key: str) -> Printer:
    def row(doc: Json, now: datetime) -> list[Cell]:
        value = doc.get(key)
        count = len(value) if isinstance(value, dict | list) else 0
        if key == "data":
            count += len(_map(doc.get("binaryData")))
        return [str(_meta(doc).get("name", "")), count, since(_meta(doc).get("creationTimestamp"), now)]

    return row


def _secret_row(secret: Json, now: datetime) -> list[Cell]:
    return [
        str(_meta(secret).get("name", "")),
        str(secret.get("type", "")),
        len(_map(secret.get("data"))),
        since(_meta(secret).get("creationTimestamp"), now),
    ]


def _namespace_row(ns: Json, now: datetime) -> list[Cell]:
    return [
        str(_meta(ns).get("name", "")),
        str(_map(ns.get("status")).get("phase", "")),
        since(_meta(ns).get("creationTimestamp"), now),
    ]


def _created_at_row(doc: Json, now: datetime) -> list[Cell]:
    when = parse_time(_meta(doc).get("creationTimestamp"))
    stamp = (when or datetime(1, 1, 1, tzinfo=UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [str(_meta(doc).get("name", "")), stamp]


def _crd_age_row(doc: Json, now: datetime) -> list[Cell]:
    return [str(_meta(doc).get("name", "")), since(_meta(doc).get("creationTimestamp"), now)]


def _tigera_status_row(doc: Json, now: datetime) -> list[Cell]:
    conditions = {str(_map(c).get("type")): _map(c) for c in _list(_map(doc.get("status")).get("conditions"))}

    def status(kind: str) -> Cell:
        cond = conditions.get(kind)
        return None if cond is None or "status" not in cond else str(cond["status"])

    available = conditions.get("Available")
    since_cell: Cell = None
    if available is not None and available.get("lastTransitionTime"):
        since_cell = since(available.get("lastTransitionTime"), now)
    return [
        str(_meta(doc).get("name", "")),
        status("Available"),
        status("Progressing"),
        status("Degraded"),
        since_cell,
    ]


# --- the table of each kind ---------------------------------------------------------------


def _workload_columns(*middle: Column) -> list[Column]:
    return [
        NAME,
        *middle,
        AGE,
        column("Containers", CONTAINERS_DOC, priority=1),
        column("Images", IMAGES_DOC, priority=1),
        column("Selector", "A label query over pods that should match the replica count.", priority=1),
    ]


_CRD_AGE = column(
    "Age", "Custom resource definition column (in JSONPath format): .metadata.creationTimestamp", type_="date"
)

PRINTERS: dict[str, tuple[list[Column], Printer]] = {
    "pods": (
        [
            NAME,
            column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
            column("Status", "The aggregate status of the containers in this pod."),
            column(
                "Restarts",
                "The number of times the containers in this pod have been restarted and when the last "
                "container in this pod has restarted.",
            ),
            AGE,
            column("IP", "podIP address allocated to the pod.", priority=1),
            column("Node", "NodeName indicates in which node this pod is scheduled.", priority=1),
            column(
                "Nominated Node",
                "nominatedNodeName is set only when this pod preempts other pods.",
                priority=1,
            ),
            column(
                "Readiness Gates",
                "If specified, all readiness gates will be evaluated for pod readiness.",
                priority=1,
            ),
        ],
        _pod_row,
    ),
    "nodes": (
        [
            NAME,
            column("Status", "The status of the node"),
            column("Roles", "The roles of the node"),
            AGE,
            column("Version", "Kubelet Version reported by the node."),
            column("Internal-IP", "List of addresses reachable to the node.", priority=1),
            column("External-IP", "List of addresses reachable to the node.", priority=1),
            column(
                "OS-Image",
                "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
                priority=1,
            ),
            column(
                "Kernel-Version",
                "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
                priority=1,
            ),
            column(
                "Container-Runtime",
                "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
                priority=1,
            ),
        ],
        _node_row,
    ),
    "events": (
        [
            column("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
            column("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
            column(
                "Reason",
                "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
            ),
            column("Object", "The object that this event is about."),
            column(
                "Subobject",
                "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.",
                priority=1,
            ),
            column(
                "Source",
                "The component reporting this event. Should be a short machine understandable string.",
                priority=1,
            ),
            column("Message", "A human-readable description of the status of this operation."),
            column(
                "First Seen",
                "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
                priority=1,
            ),
            column("Count", "The number of times this event has occurred.", priority=1),
            column("Name", NAME_DOC, priority=1, fmt="name"),
        ],
        _event_row,
    ),
    "namespaces": ([NAME, column("Status", "The status of the namespace"), AGE], _namespace_row),
    "secrets": (
        [
            NAME,
            column("Type", "Used to facilitate programmatic handling of secret data."),
            column("Data", "Data contains the secret data."),
            AGE,
        ],
        _secret_row,
    ),
    "configmaps": ([NAME, column("Data", "Data contains the configuration data."), AGE], _count_row("data")),
    "serviceaccounts": (
        [
            NAME,
            column(
                "Secrets",
                "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
            ),
            AGE,
        ],
        _count_row("secrets"),
    ),
    "services": (
        [
            NAME,
            column("Type", "type determines how the Service is exposed."),
            column("Cluster-IP", "clusterIP is the IP address of the service."),
            column(
                "External-IP",
                "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
            ),
            column("Port(s)", "The list of ports that are exposed by this service."),
            AGE,
            column(
                "Selector",
                "Route service traffic to pods with label keys and values matching this selector.",
                priority=1,
            ),
        ],
        _service_row,
    ),
    "endpoints": (
        [NAME, column("Endpoints", "The set of all endpoints is the union of all subsets."), AGE],
        _endpoints_row,
    ),
    "replicationcontrollers": (
        _workload_columns(
            column("Desired", "Replicas is the number of desired replicas.", type_="integer"),
            column("Current", "Replicas is the most recently observed number of replicas.", type_="integer"),
            column("Ready", "The number of ready replicas for this replication controller.", type_="integer"),
        ),
        lambda doc, now: _replicas_row(doc, now, rc=True),
    ),
    "replicasets": (
        _workload_columns(
            column("Desired", "Replicas is the number of desired replicas.", type_="integer"),
            column("Current", "Replicas is the most recently observed number of replicas.", type_="integer"),
            column("Ready", "The number of ready replicas for this replica set.", type_="integer"),
        ),
        _replicas_row,
    ),
    "daemonsets": (
        [
            NAME,
            column(
                "Desired", "The total number of nodes that should be running the daemon pod.", type_="integer"
            ),
            column(
                "Current",
                "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
                type_="integer",
            ),
            column(
                "Ready",
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
                type_="integer",
            ),
            column(
                "Up-to-date", "The total number of nodes that are running updated daemon pod", type_="integer"
            ),
            column(
                "Available",
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.",
                type_="integer",
            ),
            column(
                "Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node."
            ),
            AGE,
            column("Containers", CONTAINERS_DOC, priority=1),
            column("Images", IMAGES_DOC, priority=1),
            column("Selector", "A label query over pods that are managed by the daemon set.", priority=1),
        ],
        _daemonset_row,
    ),
    "deployments": (
        _workload_columns(
            column("Ready", "Number of the pod with ready state"),
            column(
                "Up-to-date",
                "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
            ),
            column(
                "Available",
                "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
            ),
        ),
        _deployment_row,
    ),
    "leases": (
        [
            NAME,
            column("Holder", "holderIdentity contains the identity of the holder of a current lease."),
            AGE,
        ],
        _lease_row,
    ),
    "validatingwebhookconfigurations": (
        [
            NAME,
            column(
                "Webhooks",
                "Webhooks indicates the number of webhooks registered in this configuration",
                type_="integer",
            ),
            AGE,
        ],
        _count_row("webhooks"),
    ),
    "mutatingwebhookconfigurations": (
        [
            NAME,
            column(
                "Webhooks",
                "Webhooks indicates the number of webhooks registered in this configuration",
                type_="integer",
            ),
            AGE,
        ],
        _count_row("webhooks"),
    ),
    "rolebindings": (
        [
            NAME,
            column(
                "Role",
                "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.",
            ),
            AGE,
            column("Users", "Users in the roleBinding", priority=1),
            column("Groups", "Groups in the roleBinding", priority=1),
            column("ServiceAccounts", "ServiceAccounts in the roleBinding", priority=1),
        ],
        _binding_row,
    ),
    "clusterrolebindings": (
        [
            NAME,
            column("Role", "RoleRef can only reference a ClusterRole in the global namespace."),
            AGE,
            column("Users", "Users in the clusterRoleBinding", priority=1),
            column("Groups", "Groups in the clusterRoleBinding", priority=1),
            column("ServiceAccounts", "ServiceAccounts in the clusterRoleBinding", priority=1),
        ],
        _binding_row,
    ),
}

DEFAULT_PRINTER: tuple[list[Column], Printer] = (
    [NAME, column("Created At", CREATED_DOC, type_="date")],
    _created_at_row,
)
CRD_PRINTER: tuple[list[Column], Printer] = ([NAME, _CRD_AGE], _crd_age_row)
TIGERA_STATUS_PRINTER: tuple[list[Column], Printer] = (
    [
        NAME,
        column("Available", "Whether the component running and stable.", type_="string"),
        column("Progressing", "Whether the component is processing changes.", type_="string"),
        column("Degraded", "Whether the component is degraded.", type_="string"),
        column("Since", "The time the component's Available status last changed.", type_="date"),
    ],
    _tigera_status_row,
)


def printer_for(rtype: ResourceType) -> tuple[list[Column], Printer]:
    """The columns and the row printer the apiserver uses for this kind."""
    if rtype.group in (CALICO_GROUP, OPERATOR_GROUP) or not rtype.builtin:
        return TIGERA_STATUS_PRINTER if rtype.plural == "tigerastatuses" else CRD_PRINTER
    return PRINTERS.get(rtype.plural, DEFAULT_PRINTER)


def row_object(doc: Json, rtype: ResourceType, include: str) -> Json | None:
    """What a row carries: `Metadata` (default) a PartialObjectMetadata, `Object` the object, `None` nothing."""
    if include == "None":
        return None
    if include == "Object":
        return {"kind": rtype.kind, "apiVersion": rtype.api_version, **doc}
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": _meta(doc)}


def row_conditions(doc: Json, rtype: ResourceType) -> list[Json] | None:
    if rtype.plural != "pods":
        return None
    phase = _map(doc.get("status")).get("phase")
    if phase == "Succeeded":
        return [
            {
                "type": "Completed",
                "status": "True",
                "reason": "Succeeded",
                "message": "The pod has completed successfully.",
            }
        ]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]
    return None


def table(
    rtype: ResourceType,
    docs: Sequence[Json],
    now: datetime,
    *,
    list_meta: Json | None = None,
    headers: bool = True,
    include: str = "Metadata",
    api_version: str = "meta.k8s.io/v1",
) -> Json:
    """The Table an apiserver answers for these objects (one object: a one-row table)."""
    columns, printer = printer_for(rtype)
    rows = []
    for doc in docs:
        row: Json = {"cells": printer(doc, now)}
        conditions = row_conditions(doc, rtype)
        if conditions:
            row["conditions"] = conditions
        obj = row_object(doc, rtype, include)
        if obj is not None:
            row["object"] = obj
        rows.append(row)
    out: Json = {"kind": "Table", "apiVersion": api_version, "metadata": list_meta or {}}
    if headers:
        out["columnDefinitions"] = columns
    out["rows"] = rows
    return out
