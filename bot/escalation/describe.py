"""`kubectl describe pod` and `kubectl describe node`, rebuilt from the raw API objects.

The runbook's "Logs and Data to Gather" asks for both outputs before anything is remediated, and an
SRE reads them the way kubectl prints them. This module prints the same lines, labels and order as
kubectl's describers (`k8s.io/kubectl/pkg/describe`, the 1.33-1.34 layout: probes with
`#success=`/`#failure=`, `Kube-Proxy Version` under System Info, event messages without the
container prefix that 1.35 added), from the JSON objects the API returns:

- values are formatted as kubectl formats them: times as RFC 1123 with a numeric zone (always UTC
  here), ages as apimachinery's `HumanDuration` ("44m", "7m5s", "3d4h"), repeated events as
  "42m (x7 over 42m)", quantities in their canonical form ("1024Mi" prints "1Gi");
- alignment is Go's `text/tabwriter` as kubectl configures it (padding 2, spaces): every line is
  tab-separated cells, consecutive lines that have a cell in column k form a block, and that column
  is as wide as the block's widest cell plus two. A line without a tab ends every block; that is why
  `IPs:` restarts the alignment of the top section, as in real output;
- kubectl's quirks are kept, because the reader compares with real output: a trailing space after
  each pod condition status; env values from `fieldRef` resolved only for `metadata.name` and
  `metadata.namespace` (kubectl shows `NODENAME:  (v1:spec.nodeName)` with no value); events sorted
  by `lastTimestamp` (stably); a missing time inside a node condition prints Go's zero time.

Where this differs from kubectl: times are in UTC, not the reader's zone; `lease=None` leaves the
Lease section out (kubectl would print the lookup error); `pods` is filtered to non-terminated ones
and sorted by namespace and name, as the API lists them; old in-tree volume plugins (and any other
unknown volume type) print `<unknown>`; in-place resize status resources are not consulted.

Everything is pure: no I/O, no clock; `now` is an argument.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any
from urllib.parse import quote

__all__ = ["describe_node", "describe_pod", "format_quantity", "human_duration", "tabwrite"]

Json = dict[str, Any]

# --- alignment ------------------------------------------------------------------------------

_PADDING = 2


def tabwrite(text: str, *, padding: int = _PADDING) -> str:
    """Align tab-separated cells the way Go's text/tabwriter does for kubectl (spaces, no minimum).

    A cell is text followed by a tab; the text after a line's last tab is not a cell and is never
    padded. For each column k, a maximal run of consecutive lines that all have a cell in column k
    is one block, padded to its widest cell plus `padding`. (A run in column k always lies inside
    one run of column k-1, so the columns can be sized one after another.)
    """
    rows = [line.split("\t") for line in text.split("\n")]
    widths = [[0] * (len(row) - 1) for row in rows]
    column = 0
    while True:
        found = False
        index = 0
        while index < len(rows):
            if len(rows[index]) - 1 <= column:
                index += 1
                continue
            found = True
            end = index
            width = 0
            while end < len(rows) and len(rows[end]) - 1 > column:
                width = max(width, len(rows[end][column]) + padding)
                end += 1
            for line_no in range(index, end):
                widths[line_no][column] = width
            index = end
        if not found:
            break
        column += 1
    lines = []
    for row, row_widths in zip(rows, widths, strict=True):
        cells = [cell.ljust(width) for cell, width in zip(row, row_widths, strict=False)]
        lines.append("".join(cells) + row[-1])
    return "\n".join(lines)


def _escape(text: str) -> str:
    """kubectl's terminal escaping of everything it writes (ESC and CR made visible)."""
    return text.replace("\x1b", "^[").replace("\r", "\\r")


class _Out:
    """Text written as kubectl's PrefixWriter writes it: two spaces of indent per level."""

    def __init__(self) -> None:
        self._chunks: list[str] = []

    def put(self, level: int, text: str) -> None:
        self._chunks.append("  " * level + _escape(text))

    def line(self, level: int, text: str) -> None:
        self.put(level, text + "\n")

    def render(self) -> str:
        return tabwrite("".join(self._chunks))


# --- times ----------------------------------------------------------------------------------

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ZERO_TIME = "Mon, 01 Jan 0001 00:00:00 +0000"
"""What Go prints for an unset metav1.Time formatted as RFC1123Z."""


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _rfc1123z(value: Any) -> str:
    when = _parse_time(value)
    if when is None:
        return _ZERO_TIME
    utc = when.astimezone(UTC)
    return (
        f"{_DAYS[utc.weekday()]}, {utc.day:02d} {_MONTHS[utc.month - 1]} {utc.year:04d} {utc:%H:%M:%S} +0000"
    )


def _trunc_div(numerator: int, denominator: int) -> int:
    quotient = abs(numerator) // denominator
    return quotient if numerator >= 0 else -quotient


def human_duration(elapsed: timedelta) -> str:
    """apimachinery's `duration.HumanDuration`: about two significant figures, as kubectl's AGE."""
    micros = (elapsed.days * 86_400 + elapsed.seconds) * 1_000_000 + elapsed.microseconds
    seconds = _trunc_div(micros, 1_000_000)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if rest == 0 else f"{hours // 24 // 365}y{rest}d"
    return f"{hours // 24 // 365}y"


def _age(value: Any, now: datetime) -> str:
    when = _parse_time(value)
    if when is None:
        return "<unknown>"
    return human_duration(now - when)


# --- quantities -----------------------------------------------------------------------------

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {exponent: suffix for suffix, exponent in _DECIMAL.items()}
_BINARY_SUFFIX = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
_QUANTITY = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE]?)")
_NANO = 10**9


@dataclass(frozen=True)
class _Quantity:
    """A resource.Quantity: exact value plus the format its canonical string is written in."""

    value: Fraction
    form: str  # "DecimalSI" | "BinarySI" | "DecimalExponent"
    raw: str | None = None  # set when the text did not parse; printed as is, counted as zero

    def __str__(self) -> str:
        return self.raw if self.raw is not None else _canonical(self.value, self.form)

    def milli(self) -> int:
        return math.ceil(self.value * 1000)

    def whole(self) -> int:
        return math.ceil(self.value)

    def plus(self, other: _Quantity) -> _Quantity:
        form = other.form if self.value == 0 else self.form
        return _Quantity(self.value + other.value, form)


_ZERO = _Quantity(Fraction(0), "DecimalSI")


def _quantity(value: Any) -> _Quantity:
    text = str(value).strip() if value is not None else ""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        return _Quantity(Fraction(0), "DecimalSI", raw=text)
    number, suffix = Fraction(match.group(1)), match.group(2)
    if suffix in _BINARY:
        amount, form = number * 1024 ** _BINARY[suffix], "BinarySI"
    elif suffix in _DECIMAL:
        amount, form = number * Fraction(10) ** _DECIMAL[suffix], "DecimalSI"
    else:
        amount, form = number * Fraction(10) ** int(suffix[1:]), "DecimalExponent"
    scaled = amount * _NANO
    if scaled.denominator != 1:  # Kubernetes rounds up to the nano, away from zero
        whole = math.ceil(abs(scaled))
        amount = Fraction(whole if scaled > 0 else -whole, _NANO)
    if form == "BinarySI" and 0 < amount < 1:
        form = "DecimalSI"
    return _Quantity(amount, form)


def format_quantity(value: Any) -> str:
    """The canonical string kubectl prints for a quantity ("0.5" -> "500m", "1024Mi" -> "1Gi")."""
    return str(_quantity(value))


def _canonical(value: Fraction, form: str) -> str:
    if value == 0:
        return "0"
    if form == "BinarySI" and (-1024 < value < 1024 or value.denominator != 1):
        form = "DecimalSI"
    if form == "BinarySI":
        mantissa, exponent = int(value), 0
        while mantissa % 1024 == 0 and exponent < len(_BINARY_SUFFIX) - 1:
            mantissa //= 1024
            exponent += 1
        return f"{mantissa}{_BINARY_SUFFIX[exponent]}"
    exponent = 0
    while value.denominator != 1:
        value *= 10
        exponent -= 1
    mantissa = int(value)
    while mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    remainder = exponent % 3
    mantissa *= 10**remainder
    exponent -= remainder
    if form == "DecimalExponent":
        return f"{mantissa}" if exponent == 0 else f"{mantissa}e{exponent}"
    while exponent > 18:
        mantissa *= 1000
        exponent -= 3
    return f"{mantissa}{_DECIMAL_SUFFIX[exponent]}"


ResourceList = dict[str, _Quantity]


def _resources(raw: Any) -> ResourceList:
    if not isinstance(raw, Mapping):
        return {}
    return {str(name): _quantity(value) for name, value in raw.items()}


def _add_into(total: ResourceList, more: ResourceList) -> None:
    for name, quantity in more.items():
        total[name] = total[name].plus(quantity) if name in total else quantity


def _max_into(total: ResourceList, more: ResourceList) -> None:
    for name, quantity in more.items():
        if name not in total or quantity.value > total[name].value:
            total[name] = quantity


def _pod_totals(pod: Json, which: str) -> ResourceList:
    """kubectl's pod requests (or limits): containers summed, init containers as their maximum,
    restartable (sidecar) init containers added to both, plus the pod overhead."""
    spec = _map(pod.get("spec"))
    total: ResourceList = {}
    for container in _list(spec.get("containers")):
        _add_into(total, _resources(_map(container.get("resources")).get(which)))
    sidecars: ResourceList = {}
    init_max: ResourceList = {}
    for container in _list(spec.get("initContainers")):
        own = _resources(_map(container.get("resources")).get(which))
        if container.get("restartPolicy") == "Always":
            _add_into(total, own)
            _add_into(sidecars, own)
            step = dict(sidecars)
        else:
            step = dict(own)
            _add_into(step, sidecars)
        _max_into(init_max, step)
    _max_into(total, init_max)
    overhead = _resources(spec.get("overhead"))
    if which == "requests":
        _add_into(total, overhead)
    else:
        for name, quantity in overhead.items():
            if name in total and total[name].value != 0:
                total[name] = total[name].plus(quantity)
    return total


def _qos_class(pod: Json) -> str:
    status_class = _map(pod.get("status")).get("qosClass")
    if status_class:
        return str(status_class)
    spec = _map(pod.get("spec"))
    requests: ResourceList = {}
    limits: ResourceList = {}
    guaranteed = True
    pod_level = spec.get("resources")
    sources = (
        [pod_level]
        if isinstance(pod_level, Mapping)
        else [
            _map(c.get("resources"))
            for c in [*_list(spec.get("containers")), *_list(spec.get("initContainers"))]
        ]
    )
    for resources in sources:
        container_requests = _compute_only(_resources(resources.get("requests")))
        container_limits = _compute_only(_resources(resources.get("limits")))
        _add_into(requests, container_requests)
        _add_into(limits, container_limits)
        if not {"cpu", "memory"} <= container_limits.keys():
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    matching = all(name in limits and limits[name].value == q.value for name, q in requests.items())
    return "Guaranteed" if guaranteed and matching and len(requests) == len(limits) else "Burstable"


def _compute_only(resources: ResourceList) -> ResourceList:
    return {name: q for name, q in resources.items() if name in ("cpu", "memory") and q.value > 0}


# --- small readers --------------------------------------------------------------------------


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Json]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _str(value: Any) -> str:
    """Go's %v for the scalars these objects hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return default


def _title_bool(value: Any) -> str:
    return "True" if value is True else "False"


def _go_list(items: Iterable[Any]) -> str:
    return "[" + " ".join(_str(item) for item in items) + "]"


# --- shared sections ------------------------------------------------------------------------

_SKIP_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})
_MAX_ANNOTATION = 140


def _print_labels(out: _Out, title: str, labels: Any) -> None:
    out.put(0, f"{title}:\t")
    items = sorted((str(k), _str(v)) for k, v in _map(labels).items())
    if not items:
        out.put(0, "<none>\n")
        return
    for index, (key, value) in enumerate(items):
        out.put(0, ("" if index == 0 else "\t") + f"{key}={value}\n")


def _shorten(text: str, limit: int) -> str:
    data = text.encode()
    return data[:limit].decode(errors="ignore") + "..." if len(data) > limit else text


def _print_annotations(out: _Out, annotations: Any) -> None:
    out.put(0, "Annotations:\t")
    items = sorted((str(k), _str(v)) for k, v in _map(annotations).items() if k not in _SKIP_ANNOTATIONS)
    if not items:
        out.put(0, "<none>\n")
        return
    for index, (key, raw_value) in enumerate(items):
        if index:
            out.put(0, "\t")
        value = raw_value.removesuffix("\n")
        if len(value.encode()) + len(key.encode()) + 2 > _MAX_ANNOTATION or "\n" in value:
            out.put(0, f"{key}:\n")
            for part in value.split("\n"):
                out.put(0, f"\t  {_shorten(part, _MAX_ANNOTATION - 2)}\n")
        else:
            out.put(0, f"{key}: {value}\n")


def _taint_text(taint: Mapping[str, Any]) -> str:
    key, value, effect = _str(taint.get("key")), _str(taint.get("value")), _str(taint.get("effect"))
    if not effect:
        return f"{key}={value}:" if value else key
    return f"{key}={value}:{effect}" if value else f"{key}:{effect}"


def _print_taints(out: _Out, taints: list[Json]) -> None:
    out.put(0, "Taints:\t")
    if not taints:
        out.put(0, "<none>\n")
        return
    ordered = sorted(taints, key=lambda t: f"{_str(t.get('effect'))},{_str(t.get('key'))}")
    for index, taint in enumerate(ordered):
        out.put(0, ("" if index == 0 else "\t") + _taint_text(taint) + "\n")


def _toleration_text(toleration: Mapping[str, Any]) -> str:
    key, value, effect = (_str(toleration.get(f)) for f in ("key", "value", "effect"))
    text = key
    if value:
        text += f"={value}"
    if effect:
        text += f":{effect}"
    if toleration.get("operator") == "Exists" and not value:
        text += " op=Exists" if key or effect else "op=Exists"
    seconds = toleration.get("tolerationSeconds")
    if seconds is not None:
        text += f" for {_int(seconds)}s"
    return text


def _print_tolerations(out: _Out, tolerations: list[Json]) -> None:
    out.put(0, "Tolerations:\t")
    if not tolerations:
        out.put(0, "<none>\n")
        return
    ordered = sorted(tolerations, key=lambda t: _str(t.get("key")))
    for index, toleration in enumerate(ordered):
        out.put(0, ("" if index == 0 else "\t") + _toleration_text(toleration) + "\n")


def _event_time_key(event: Mapping[str, Any]) -> tuple[int, datetime]:
    when = _parse_time(event.get("lastTimestamp"))
    return (0, datetime.min.replace(tzinfo=UTC)) if when is None else (1, when)


def _print_events(out: _Out, events: Sequence[Mapping[str, Any]], now: datetime) -> None:
    if not events:
        out.line(0, "Events:\t<none>")
        return
    out.line(0, "Events:")
    out.line(1, "Type\tReason\tAge\tFrom\tMessage")
    out.line(1, "----\t------\t----\t----\t-------")
    for event in sorted(events, key=_event_time_key):
        first = (
            _age(event.get("eventTime"), now)
            if _parse_time(event.get("eventTime")) is not None
            else _age(event.get("firstTimestamp"), now)
        )
        series = _map(event.get("series"))
        count = _int(event.get("count"))
        if series:
            interval = (
                f"{_age(series.get('lastObservedTime'), now)} (x{_int(series.get('count'))} over {first})"
            )
        elif count > 1:
            interval = f"{_age(event.get('lastTimestamp'), now)} (x{count} over {first})"
        else:
            interval = first
        source = _str(_map(event.get("source")).get("component")) or _str(event.get("reportingComponent"))
        message = _str(event.get("message")).strip()
        out.line(
            1, f"{_str(event.get('type'))}\t{_str(event.get('reason'))}\t{interval}\t{source}\t{message}"
        )


def _print_resource_requirements(out: _Out, resources: Mapping[str, Any], level: int) -> None:
    for title, key in (("Limits", "limits"), ("Requests", "requests")):
        listed = _resources(resources.get(key))
        if listed:
            out.line(level, f"{title}:")
        for name in sorted(listed):
            out.line(level + 1, f"{name}:\t{listed[name]}")


# --- pods -----------------------------------------------------------------------------------


def describe_pod(pod: dict[str, Any], events: Sequence[dict[str, Any]], *, now: datetime) -> str:
    """`kubectl describe pod` of `pod` (the API object) with `events` (those involving it).

    `now` (timezone-aware; naive means UTC) is the reference for every age column.
    """
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    meta, spec, status = _map(pod.get("metadata")), _map(pod.get("spec")), _map(pod.get("status"))
    out = _Out()
    out.line(0, f"Name:\t{_str(meta.get('name'))}")
    out.line(0, f"Namespace:\t{_str(meta.get('namespace'))}")
    if spec.get("priority") is not None:
        out.line(0, f"Priority:\t{_int(spec.get('priority'))}")
    if spec.get("priorityClassName"):
        out.line(0, f"Priority Class Name:\t{_str(spec.get('priorityClassName'))}")
    if spec.get("runtimeClassName"):
        out.line(0, f"Runtime Class Name:\t{_str(spec.get('runtimeClassName'))}")
    if spec.get("serviceAccountName"):
        out.line(0, f"Service Account:\t{_str(spec.get('serviceAccountName'))}")
    node_name = _str(spec.get("nodeName"))
    out.line(0, f"Node:\t{node_name}/{_str(status.get('hostIP'))}" if node_name else "Node:\t<none>")
    if _parse_time(status.get("startTime")) is not None:
        out.line(0, f"Start Time:\t{_rfc1123z(status.get('startTime'))}")
    _print_labels(out, "Labels", meta.get("labels"))
    _print_annotations(out, meta.get("annotations"))
    phase = _str(status.get("phase"))
    if meta.get("deletionTimestamp") and phase not in ("Failed", "Succeeded"):
        out.line(0, f"Status:\tTerminating (lasts {_age(meta.get('deletionTimestamp'), now)})")
        out.line(0, f"Termination Grace Period:\t{_int(meta.get('deletionGracePeriodSeconds'))}s")
    else:
        out.line(0, f"Status:\t{phase}")
    if status.get("reason"):
        out.line(0, f"Reason:\t{_str(status.get('reason'))}")
    if status.get("message"):
        out.line(0, f"Message:\t{_str(status.get('message'))}")
    seccomp = _map(_map(spec.get("securityContext")).get("seccompProfile"))
    if seccomp:
        out.line(0, f"SeccompProfile:\t{_str(seccomp.get('type'))}")
        if seccomp.get("type") == "Localhost":
            out.line(0, f"LocalhostProfile:\t{_str(seccomp.get('localhostProfile'))}")
    out.line(0, f"IP:\t{_str(status.get('podIP'))}")
    pod_ips = _list(status.get("podIPs"))
    if pod_ips:
        out.line(0, "IPs:")
        for entry in pod_ips:
            out.line(1, f"IP:\t{_str(entry.get('ip'))}")
    else:
        out.line(0, "IPs:\t<none>")
    controller = next(
        (ref for ref in _list(meta.get("ownerReferences")) if ref.get("controller") is True), None
    )
    if controller is not None:
        out.line(0, f"Controlled By:\t{_str(controller.get('kind'))}/{_str(controller.get('name'))}")
    if status.get("nominatedNodeName"):
        out.line(0, f"NominatedNodeName:\t{_str(status.get('nominatedNodeName'))}")
    if isinstance(spec.get("resources"), Mapping):
        out.line(0, "Resources:")
        _print_resource_requirements(out, _map(spec.get("resources")), 1)
    if _list(spec.get("initContainers")):
        _print_containers(
            out, "Init Containers", spec.get("initContainers"), status.get("initContainerStatuses"), pod
        )
    _print_containers(out, "Containers", spec.get("containers"), status.get("containerStatuses"), pod)
    if _list(spec.get("ephemeralContainers")):
        _print_containers(
            out,
            "Ephemeral Containers",
            spec.get("ephemeralContainers"),
            status.get("ephemeralContainerStatuses"),
            pod,
        )
    conditions = _list(status.get("conditions"))
    gates = _list(spec.get("readinessGates"))
    if gates:
        out.line(0, "Readiness Gates:")
        out.line(1, "Type\tStatus")
        for gate in gates:
            kind = gate.get("conditionType")
            found = next((c for c in conditions if c.get("type") == kind), None)
            out.line(1, f"{_str(kind)} \t{_str(found.get('status')) if found else '<none>'} ")
    if conditions:
        out.line(0, "Conditions:")
        out.line(1, "Type\tStatus")
        for condition in conditions:
            out.line(1, f"{_str(condition.get('type'))} \t{_str(condition.get('status'))} ")
    _print_volumes(out, _list(spec.get("volumes")))
    out.line(0, f"QoS Class:\t{_qos_class(pod)}")
    _print_labels(out, "Node-Selectors", spec.get("nodeSelector"))
    _print_tolerations(out, _list(spec.get("tolerations")))
    _print_spread_constraints(out, _list(spec.get("topologySpreadConstraints")))
    _print_events(out, events, now)
    return out.render()


def _print_containers(out: _Out, label: str, containers: Any, statuses: Any, pod: Json) -> None:
    listed = _list(containers)
    by_name = {_str(s.get("name")): s for s in _list(statuses)}
    out.line(0, f"{label}:" + ("" if listed else " <none>"))
    for container in listed:
        name = _str(container.get("name"))
        state = by_name.get(name)
        out.line(1, f"{name}:")
        if state is not None:
            out.line(2, f"Container ID:\t{_str(state.get('containerID'))}")
        out.line(2, f"Image:\t{_str(container.get('image'))}")
        if state is not None:
            out.line(2, f"Image ID:\t{_str(state.get('imageID'))}")
        ports = _list(container.get("ports"))
        port_text = _ports(ports, "containerPort")
        out.line(2, f"Ports:\t{port_text}" if "," in port_text else f"Port:\t{port_text or '<none>'}")
        host_text = _ports(ports, "hostPort")
        out.line(
            2, f"Host Ports:\t{host_text}" if "," in host_text else f"Host Port:\t{host_text or '<none>'}"
        )
        seccomp = _map(_map(container.get("securityContext")).get("seccompProfile"))
        if seccomp:
            out.line(2, f"SeccompProfile:\t{_str(seccomp.get('type'))}")
            if seccomp.get("type") == "Localhost":
                out.line(3, f"LocalhostProfile:\t{_str(seccomp.get('localhostProfile'))}")
        for title, key in (("Command", "command"), ("Args", "args")):
            words = container.get(key)
            if isinstance(words, list) and words:
                out.line(2, f"{title}:")
                for word in words:
                    for part in _str(word).split("\n"):
                        out.line(3, part)
        if state is not None:
            _print_state(out, "State", _map(state.get("state")))
            if _map(state.get("lastState")).get("terminated") is not None:
                _print_state(out, "Last State", _map(state.get("lastState")))
            out.line(2, f"Ready:\t{_title_bool(state.get('ready'))}")
            out.line(2, f"Restart Count:\t{_int(state.get('restartCount'))}")
        _print_resource_requirements(out, _map(container.get("resources")), 2)
        for title, key in (
            ("Liveness", "livenessProbe"),
            ("Readiness", "readinessProbe"),
            ("Startup", "startupProbe"),
        ):
            probe = container.get(key)
            if isinstance(probe, Mapping):
                out.line(2, f"{title}:\t{_probe_text(probe)}")
        env_from = _list(container.get("envFrom"))
        if env_from:
            _print_env_from(out, env_from)
        _print_env(out, container, pod)
        _print_mounts(out, container)


def _ports(ports: list[Json], field: str) -> str:
    texts = []
    for port in ports:
        text = f"{_int(port.get(field))}/{_str(port.get('protocol')) or 'TCP'}"
        if port.get("name"):
            text += f" ({_str(port.get('name'))})"
        texts.append(text)
    return ", ".join(texts)


def _print_state(out: _Out, title: str, state: Mapping[str, Any]) -> None:
    running, waiting, terminated = (state.get(k) for k in ("running", "waiting", "terminated"))
    if isinstance(running, Mapping):
        out.line(2, f"{title}:\tRunning")
        out.line(3, f"Started:\t{_rfc1123z(running.get('startedAt'))}")
    elif isinstance(waiting, Mapping):
        out.line(2, f"{title}:\tWaiting")
        if waiting.get("reason"):
            out.line(3, f"Reason:\t{_str(waiting.get('reason'))}")
    elif isinstance(terminated, Mapping):
        out.line(2, f"{title}:\tTerminated")
        if terminated.get("reason"):
            out.line(3, f"Reason:\t{_str(terminated.get('reason'))}")
        if terminated.get("message"):
            out.line(3, f"Message:\t{_str(terminated.get('message'))}")
        out.line(3, f"Exit Code:\t{_int(terminated.get('exitCode'))}")
        if _int(terminated.get("signal")) > 0:
            out.line(3, f"Signal:\t{_int(terminated.get('signal'))}")
        out.line(3, f"Started:\t{_rfc1123z(terminated.get('startedAt'))}")
        out.line(3, f"Finished:\t{_rfc1123z(terminated.get('finishedAt'))}")
    else:
        out.line(2, f"{title}:\tWaiting")


# The API server fills these in; a hand-written probe without them reads as the server would store it.
_PROBE_DEFAULTS = {
    "initialDelaySeconds": 0,
    "timeoutSeconds": 1,
    "periodSeconds": 10,
    "successThreshold": 1,
    "failureThreshold": 3,
}


def _probe_text(probe: Mapping[str, Any]) -> str:
    def field(name: str) -> int:
        return _int(probe.get(name), _PROBE_DEFAULTS[name])

    attrs = (
        f"delay={field('initialDelaySeconds')}s timeout={field('timeoutSeconds')}s "
        f"period={field('periodSeconds')}s #success={field('successThreshold')} "
        f"#failure={field('failureThreshold')}"
    )
    if isinstance(probe.get("exec"), Mapping):
        command = _map(probe.get("exec")).get("command")
        return f"exec {_go_list(command if isinstance(command, list) else [])} {attrs}"
    if isinstance(probe.get("httpGet"), Mapping):
        return f"http-get {_probe_url(_map(probe.get('httpGet')))} {attrs}"
    if isinstance(probe.get("tcpSocket"), Mapping):
        socket = _map(probe.get("tcpSocket"))
        return f"tcp-socket {_str(socket.get('host'))}:{_str(socket.get('port'))} {attrs}"
    if isinstance(probe.get("grpc"), Mapping):
        grpc = _map(probe.get("grpc"))
        return f"grpc <pod>:{_int(grpc.get('port'))} {_str(grpc.get('service'))} {attrs}"
    return f"unknown {attrs}"


def _probe_url(get: Mapping[str, Any]) -> str:
    """The URL Go's net/url prints for kubectl's http-get probe line."""
    scheme = _str(get.get("scheme")).lower()
    host, port = _str(get.get("host")), _str(get.get("port"))
    if ":" in host:
        host = f"[{host}]"
    authority = f"{host}:{port}" if port else host
    path = quote(_str(get.get("path")), safe="/$&+,:;=@!'()*-._~")
    if path and not path.startswith("/") and authority:
        path = "/" + path
    prefix = f"{scheme}:" if scheme else ""
    return f"{prefix}//{authority}{path}" if authority or scheme else path


def _print_env_from(out: _Out, sources: list[Json]) -> None:
    out.line(2, "Environment Variables from:")
    for source in sources:
        kind, ref = "", _map(None)
        if isinstance(source.get("configMapRef"), Mapping):
            kind, ref = "ConfigMap", _map(source.get("configMapRef"))
        elif isinstance(source.get("secretRef"), Mapping):
            kind, ref = "Secret", _map(source.get("secretRef"))
        optional = _str(ref.get("optional") is True)
        prefix = _str(source.get("prefix"))
        what = f"{kind} with prefix '{prefix}'" if prefix else kind
        out.line(3, f"{_str(ref.get('name'))}\t{what}\tOptional: {optional}")


def _field_value(pod: Json, field_ref: Mapping[str, Any]) -> str:
    """kubectl resolves only metadata.name and metadata.namespace for `describe pod` (its scheme has
    no field-label conversions for other pod fields); everything else prints empty."""
    if not re.fullmatch(r"([a-z0-9.-]+/)?v[0-9a-z]+", _str(field_ref.get("apiVersion")) or "v1"):
        return ""
    path = _str(field_ref.get("fieldPath"))
    if path in ("metadata.name", "metadata.namespace"):
        return _str(_map(pod.get("metadata")).get(path.split(".")[1]))
    return ""


def _resource_field_value(container: Json, ref: Mapping[str, Any]) -> str:
    resource = _str(ref.get("resource"))
    kind, _, name = resource.partition(".")
    quantity = _resources(_map(container.get("resources")).get(kind)).get(name, _ZERO)
    divisor = _quantity(ref.get("divisor") or "1")
    if divisor.value == 0:
        divisor = _quantity("1")
    if name == "cpu":
        return str(math.ceil(Fraction(quantity.milli()) / divisor.milli()))
    if name in ("memory", "ephemeral-storage") or name.startswith("hugepages-"):
        return str(math.ceil(Fraction(quantity.whole()) / divisor.whole()))
    return ""


def _print_env(out: _Out, container: Json, pod: Json) -> None:
    env = _list(container.get("env"))
    out.line(2, "Environment:" + ("" if env else "\t<none>"))
    for variable in env:
        name = _str(variable.get("name"))
        source = _map(variable.get("valueFrom"))
        if not isinstance(variable.get("valueFrom"), Mapping):
            for index, part in enumerate(_str(variable.get("value")).split("\n")):
                out.line(3, f"{name}:\t{part}" if index == 0 else f"\t{part}")
            continue
        if isinstance(source.get("fieldRef"), Mapping):
            ref = _map(source.get("fieldRef"))
            value = _field_value(pod, ref)
            out.line(3, f"{name}:\t{value} ({_str(ref.get('apiVersion'))}:{_str(ref.get('fieldPath'))})")
        elif isinstance(source.get("resourceFieldRef"), Mapping):
            ref = _map(source.get("resourceFieldRef"))
            resource = _str(ref.get("resource"))
            value = _resource_field_value(container, ref)
            if value == "0" and resource in ("limits.cpu", "limits.memory"):
                value = "node allocatable"
            out.line(3, f"{name}:\t{value} ({resource})")
        elif isinstance(source.get("secretKeyRef"), Mapping):
            ref = _map(source.get("secretKeyRef"))
            out.line(
                3,
                f"{name}:\t<set to the key '{_str(ref.get('key'))}' in secret '{_str(ref.get('name'))}'>"
                f"\tOptional: {_str(ref.get('optional') is True)}",
            )
        elif isinstance(source.get("configMapKeyRef"), Mapping):
            ref = _map(source.get("configMapKeyRef"))
            out.line(
                3,
                f"{name}:\t<set to the key '{_str(ref.get('key'))}' of config map '{_str(ref.get('name'))}'>"
                f"\tOptional: {_str(ref.get('optional') is True)}",
            )


def _go_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def _print_mounts(out: _Out, container: Json) -> None:
    mounts = _list(container.get("volumeMounts"))
    out.line(2, "Mounts:" + ("" if mounts else "\t<none>"))
    for mount in sorted(mounts, key=lambda m: _str(m.get("mountPath"))):
        flags = ["ro" if mount.get("readOnly") is True else "rw"]
        if mount.get("subPath"):
            flags.append(f"path={_go_quote(_str(mount.get('subPath')))}")
        out.line(3, f"{_str(mount.get('mountPath'))} from {_str(mount.get('name'))} ({','.join(flags)})")
    devices = _list(container.get("volumeDevices"))
    if devices:
        out.line(2, "Devices:" + ("" if mounts else "\t<none>"))
        for device in sorted(devices, key=lambda d: _str(d.get("devicePath"))):
            out.line(3, f"{_str(device.get('devicePath'))} from {_str(device.get('name'))}")


def _print_volumes(out: _Out, volumes: list[Json]) -> None:
    if not volumes:
        out.line(0, "Volumes:\t<none>")
        return
    out.line(0, "Volumes:")
    for volume in volumes:
        out.line(1, f"{_str(volume.get('name'))}:")
        _print_volume_source(out, volume)


def _print_volume_source(out: _Out, volume: Json) -> None:
    if isinstance(volume.get("hostPath"), Mapping):
        source = _map(volume.get("hostPath"))
        kind = _str(source.get("type")) if "type" in source and source.get("type") is not None else "<none>"
        out.line(2, "Type:\tHostPath (bare host directory volume)")
        out.line(2, f"Path:\t{_str(source.get('path'))}")
        out.line(2, f"HostPathType:\t{kind}")
    elif isinstance(volume.get("emptyDir"), Mapping):
        source = _map(volume.get("emptyDir"))
        size = _quantity(source.get("sizeLimit")) if source.get("sizeLimit") is not None else _ZERO
        out.line(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)")
        out.line(2, f"Medium:\t{_str(source.get('medium'))}")
        out.line(2, f"SizeLimit:\t{size if size.value > 0 else '<unset>'}")
    elif isinstance(volume.get("secret"), Mapping):
        source = _map(volume.get("secret"))
        out.line(2, "Type:\tSecret (a volume populated by a Secret)")
        out.line(2, f"SecretName:\t{_str(source.get('secretName'))}")
        out.line(2, f"Optional:\t{_str(source.get('optional') is True)}")
    elif isinstance(volume.get("configMap"), Mapping):
        source = _map(volume.get("configMap"))
        out.line(2, "Type:\tConfigMap (a volume populated by a ConfigMap)")
        out.line(2, f"Name:\t{_str(source.get('name'))}")
        out.line(2, f"Optional:\t{_str(source.get('optional') is True)}")
    elif isinstance(volume.get("projected"), Mapping):
        out.line(2, "Type:\tProjected (a volume that contains injected data from multiple sources)")
        for item in _list(_map(volume.get("projected")).get("sources")):
            if isinstance(item.get("secret"), Mapping):
                ref = _map(item.get("secret"))
                out.line(2, f"SecretName:\t{_str(ref.get('name'))}")
                out.line(2, f"Optional:\t{_str(ref.get('optional') is True)}")
            elif isinstance(item.get("downwardAPI"), Mapping):
                out.line(2, "DownwardAPI:\ttrue")
            elif isinstance(item.get("configMap"), Mapping):
                ref = _map(item.get("configMap"))
                out.line(2, f"ConfigMapName:\t{_str(ref.get('name'))}")
                out.line(2, f"Optional:\t{_str(ref.get('optional') is True)}")
            elif isinstance(item.get("serviceAccountToken"), Mapping):
                seconds = _int(_map(item.get("serviceAccountToken")).get("expirationSeconds"), 3600)
                out.line(2, f"TokenExpirationSeconds:\t{seconds}")
    elif isinstance(volume.get("downwardAPI"), Mapping):
        out.line(2, "Type:\tDownwardAPI (a volume populated by information about the pod)")
        out.line(2, "Items:")
        for item in _list(_map(volume.get("downwardAPI")).get("items")):
            if isinstance(item.get("fieldRef"), Mapping):
                out.line(
                    3, f"{_str(_map(item.get('fieldRef')).get('fieldPath'))} -> {_str(item.get('path'))}"
                )
            if isinstance(item.get("resourceFieldRef"), Mapping):
                out.line(
                    3,
                    f"{_str(_map(item.get('resourceFieldRef')).get('resource'))} -> {_str(item.get('path'))}",
                )
    elif isinstance(volume.get("persistentVolumeClaim"), Mapping):
        source = _map(volume.get("persistentVolumeClaim"))
        out.line(
            2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)"
        )
        out.line(2, f"ClaimName:\t{_str(source.get('claimName'))}")
        out.line(2, f"ReadOnly:\t{_str(source.get('readOnly') is True)}")
    elif isinstance(volume.get("nfs"), Mapping):
        source = _map(volume.get("nfs"))
        out.line(2, "Type:\tNFS (an NFS mount that lasts the lifetime of a pod)")
        out.line(2, f"Server:\t{_str(source.get('server'))}")
        out.line(2, f"Path:\t{_str(source.get('path'))}")
        out.line(2, f"ReadOnly:\t{_str(source.get('readOnly') is True)}")
    elif isinstance(volume.get("csi"), Mapping):
        source = _map(volume.get("csi"))
        out.line(2, "Type:\tCSI (a Container Storage Interface (CSI) volume source)")
        out.line(2, f"Driver:\t{_str(source.get('driver'))}")
        out.line(2, f"FSType:\t{_str(source.get('fsType'))}")
        out.line(2, f"ReadOnly:\t{_str(source.get('readOnly') is True)}")
        attributes = sorted((str(k), _str(v)) for k, v in _map(source.get("volumeAttributes")).items())
        out.put(2, "VolumeAttributes:\t")
        if not attributes:
            out.put(0, "<none>\n")
        for index, (key, value) in enumerate(attributes):
            if index:
                out.put(2, "")
                out.put(2, "\t")
            entry = f"{key}={value}"
            out.put(2, f"{entry[:_MAX_ANNOTATION]}...\n" if len(entry) > _MAX_ANNOTATION else f"{entry}\n")
    elif isinstance(volume.get("ephemeral"), Mapping):
        out.line(
            2,
            "Type:\tEphemeralVolume (an inline specification for a volume that gets created and deleted with the pod)",
        )
    elif isinstance(volume.get("image"), Mapping):
        source = _map(volume.get("image"))
        out.line(2, "Type:\tImage (a container image or OCI artifact)")
        out.line(2, f"Reference:\t{_str(source.get('reference'))}")
        out.line(2, f"PullPolicy:\t{_str(source.get('pullPolicy'))}")
    else:
        out.line(1, "<unknown>")


def _label_selector_text(selector: Mapping[str, Any]) -> str:
    requirements: list[tuple[str, str]] = []
    for key, value in _map(selector.get("matchLabels")).items():
        requirements.append((str(key), f"{key}={_str(value)}"))
    for expression in _list(selector.get("matchExpressions")):
        key, operator = _str(expression.get("key")), _str(expression.get("operator"))
        values = sorted(_str(v) for v in expression.get("values") or [])
        text = {
            "In": f"{key} in ({','.join(values)})",
            "NotIn": f"{key} notin ({','.join(values)})",
            "Exists": key,
            "DoesNotExist": f"!{key}",
        }.get(operator, key)
        requirements.append((key, text))
    if not requirements:
        return "<none>"
    return ",".join(text for _, text in sorted(requirements, key=lambda r: r[0]))


def _print_spread_constraints(out: _Out, constraints: list[Json]) -> None:
    if not constraints:
        return
    out.put(0, "Topology Spread Constraints:\t")
    for index, constraint in enumerate(sorted(constraints, key=lambda c: _str(c.get("topologyKey")))):
        text = (
            f"{_str(constraint.get('topologyKey'))}:{_str(constraint.get('whenUnsatisfiable'))}"
            f" when max skew {_int(constraint.get('maxSkew'))} is exceeded"
        )
        if isinstance(constraint.get("labelSelector"), Mapping):
            text += f" for selector {_label_selector_text(_map(constraint.get('labelSelector')))}"
        out.put(0, ("" if index == 0 else "\t") + text + "\n")


# --- nodes ----------------------------------------------------------------------------------

_ROLE_PREFIX = "node-role.kubernetes.io/"
_STANDARD_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})


def describe_node(
    node: dict[str, Any],
    pods: Sequence[dict[str, Any]],
    events: Sequence[dict[str, Any]],
    *,
    now: datetime,
    lease: dict[str, Any] | None = None,
) -> str:
    """`kubectl describe node` of `node` (the API object).

    `pods` are the pods bound to the node (terminated ones are left out, as kubectl lists only
    non-terminated pods); `events` those involving the node; `lease` its `kube-node-lease` Lease, or
    None to leave the Lease section out. `now` (naive means UTC) is the reference for the ages.
    """
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    meta, spec, status = _map(node.get("metadata")), _map(node.get("spec")), _map(node.get("status"))
    out = _Out()
    out.line(0, f"Name:\t{_str(meta.get('name'))}")
    roles = sorted(_node_roles(_map(meta.get("labels"))))
    out.line(0, f"Roles:\t{','.join(roles) if roles else '<none>'}")
    _print_labels(out, "Labels", meta.get("labels"))
    _print_annotations(out, meta.get("annotations"))
    out.line(0, f"CreationTimestamp:\t{_rfc1123z(meta.get('creationTimestamp'))}")
    _print_taints(out, _list(spec.get("taints")))
    out.line(0, f"Unschedulable:\t{_str(spec.get('unschedulable') is True)}")
    if lease is not None:
        lease_spec = _map(lease.get("spec"))
        out.line(0, "Lease:")
        holder = lease_spec.get("holderIdentity")
        out.line(1, f"HolderIdentity:\t{_str(holder) if holder is not None else '<unset>'}")
        for title, key in (("AcquireTime", "acquireTime"), ("RenewTime", "renewTime")):
            value = lease_spec.get(key)
            out.line(1, f"{title}:\t{_rfc1123z(value) if _parse_time(value) is not None else '<unset>'}")
    conditions = _list(status.get("conditions"))
    if conditions:
        out.line(0, "Conditions:")
        out.line(1, "Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage")
        out.line(1, "----\t------\t-----------------\t------------------\t------\t-------")
        for condition in conditions:
            out.line(
                1,
                f"{_str(condition.get('type'))} \t{_str(condition.get('status'))} "
                f"\t{_rfc1123z(condition.get('lastHeartbeatTime'))} "
                f"\t{_rfc1123z(condition.get('lastTransitionTime'))} "
                f"\t{_str(condition.get('reason'))} \t{_str(condition.get('message'))}",
            )
    out.line(0, "Addresses:")
    for address in _list(status.get("addresses")):
        out.line(1, f"{_str(address.get('type'))}:\t{_str(address.get('address'))}")
    for title, key in (("Capacity", "capacity"), ("Allocatable", "allocatable")):
        listed = _resources(status.get(key))
        if listed:
            out.line(0, f"{title}:")
            for name in sorted(listed):
                out.line(1, f"{name}:\t{listed[name]}")
    info = _map(status.get("nodeInfo"))
    out.line(0, "System Info:")
    for title, key in (
        ("Machine ID", "machineID"),
        ("System UUID", "systemUUID"),
        ("Boot ID", "bootID"),
        ("Kernel Version", "kernelVersion"),
        ("OS Image", "osImage"),
        ("Operating System", "operatingSystem"),
        ("Architecture", "architecture"),
        ("Container Runtime Version", "containerRuntimeVersion"),
        ("Kubelet Version", "kubeletVersion"),
        ("Kube-Proxy Version", "kubeProxyVersion"),
    ):
        out.line(1, f"{title}:\t{_str(info.get(key))}")
    if spec.get("podCIDR"):
        out.line(0, f"PodCIDR:\t{_str(spec.get('podCIDR'))}")
    cidrs = spec.get("podCIDRs")
    if isinstance(cidrs, list) and cidrs:
        out.line(0, f"PodCIDRs:\t{','.join(_str(c) for c in cidrs)}")
    if spec.get("providerID"):
        out.line(0, f"ProviderID:\t{_str(spec.get('providerID'))}")
    _print_node_pods(out, node, pods, now)
    _print_events(out, events, now)
    return out.render()


def _node_roles(labels: Mapping[str, Any]) -> set[str]:
    roles = set()
    for key, value in labels.items():
        if key.startswith(_ROLE_PREFIX) and key.removeprefix(_ROLE_PREFIX):
            roles.add(key.removeprefix(_ROLE_PREFIX))
        elif key == "kubernetes.io/role" and value:
            roles.add(_str(value))
    return roles


def _percent(part: int, whole: int) -> int:
    return int(float(part) / float(whole) * 100) if whole else 0


def _print_node_pods(out: _Out, node: Json, pods: Sequence[Json], now: datetime) -> None:
    listed = sorted(
        (p for p in pods if _map(p.get("status")).get("phase") not in ("Succeeded", "Failed")),
        key=lambda p: (
            _str(_map(p.get("metadata")).get("namespace")),
            _str(_map(p.get("metadata")).get("name")),
        ),
    )
    status = _map(node.get("status"))
    allocatable = _resources(status.get("allocatable")) or _resources(status.get("capacity"))
    cpu_total = allocatable.get("cpu", _ZERO).milli()
    memory_total = allocatable.get("memory", _ZERO).whole()
    out.line(0, f"Non-terminated Pods:\t({len(listed)} in total)")
    out.line(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge")
    out.line(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---")
    requests: ResourceList = {}
    limits: ResourceList = {}
    for pod in listed:
        meta = _map(pod.get("metadata"))
        pod_requests, pod_limits = _pod_totals(pod, "requests"), _pod_totals(pod, "limits")
        _add_into(requests, pod_requests)
        _add_into(limits, pod_limits)
        cpu_req, cpu_lim = pod_requests.get("cpu", _ZERO), pod_limits.get("cpu", _ZERO)
        mem_req, mem_lim = pod_requests.get("memory", _ZERO), pod_limits.get("memory", _ZERO)
        out.line(
            1,
            f"{_str(meta.get('namespace'))}\t{_str(meta.get('name'))}\t"
            f"\t{cpu_req} ({_percent(cpu_req.milli(), cpu_total)}%)"
            f"\t{cpu_lim} ({_percent(cpu_lim.milli(), cpu_total)}%)"
            f"\t{mem_req} ({_percent(mem_req.whole(), memory_total)}%)"
            f"\t{mem_lim} ({_percent(mem_lim.whole(), memory_total)}%)"
            f"\t{_age(meta.get('creationTimestamp'), now)}",
        )
    out.line(0, "Allocated resources:")
    out.line(1, "(Total limits may be over 100 percent, i.e., overcommitted.)")
    out.line(1, "Resource\tRequests\tLimits")
    out.line(1, "--------\t--------\t------")
    storage_total = allocatable.get("ephemeral-storage", _ZERO).whole()
    for name, total, value_of in (
        ("cpu", cpu_total, _Quantity.milli),
        ("memory", memory_total, _Quantity.whole),
        ("ephemeral-storage", storage_total, _Quantity.whole),
    ):
        request, limit = requests.get(name, _ZERO), limits.get(name, _ZERO)
        out.line(
            1,
            f"{name}\t{request} ({_percent(value_of(request), total)}%)\t{limit} ({_percent(value_of(limit), total)}%)",
        )
    for name in sorted(n for n in allocatable if n.startswith("hugepages-")):
        request, limit = requests.get(name, _ZERO), limits.get(name, _ZERO)
        total = allocatable[name].whole()
        out.line(
            1,
            f"{name}\t{request} ({_percent(request.whole(), total)}%)\t{limit} ({_percent(limit.whole(), total)}%)",
        )
    for name in sorted(
        n
        for n in allocatable
        if n not in _STANDARD_RESOURCES and not n.startswith("hugepages-") and n != "pods"
    ):
        out.line(1, f"{name}\t{requests.get(name, _ZERO)}\t{limits.get(name, _ZERO)}")
