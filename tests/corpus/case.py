"""A corpus case file (FORMAT.md): parsed, checked field by field, relative times resolved.

`load_case(path)` returns a `Case` or raises `CaseError` naming the field that is wrong
(`pods[2].ref: no generated pod calico-node@worker-9`), so a malformed case is one clear line.
Everything here is pure: no objects are built (that is `tests.corpus.objects`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

SITUATIONS = (
    "worker-not-ready-kubelet",
    "calico-down-on-worker",
    "calico-absent-everywhere",
    "bgp-password-migration",
    "typha-unhealthy",
    "calico-crashloop-most-workers",
    "calico-bad-on-few-workers",
    "other",
    "healthy",
)
DISTRIBUTIONS = (
    "kubeadm",
    "kubespray",
    "rke",
    "rke2",
    "k3s",
    "microk8s",
    "eks",
    "aks",
    "gke",
    "iks",
    "roks",
    "openshift",
    "other",
)
INSTALLS = ("manifest", "operator", "canal", "rke2-canal", "microk8s")
REDACTED = "REDACTED-BY-CORPUS"
DEFAULT_NOW = "2024-06-01T12:00:00Z"
DEFAULT_K8S = "v1.28.4"
DEFAULT_CALICO = "v3.26.4"

_RELATIVE = re.compile(r"^@now(?:([+-])((?:\d+[dhms])+))?$")
_STEP = re.compile(r"(\d+)([dhms])")
_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


class CaseError(ValueError):
    """A case file that does not follow FORMAT.md: `<field>: <what is wrong>`."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where


@dataclass(frozen=True)
class NodeSpec:
    name: str
    ip: str
    roles: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[dict[str, Any], ...] = ()
    conditions: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class CalicoSpec:
    install: str
    namespace: str
    version: str
    daemonset: str
    typha: int
    typha_nodes: tuple[str, ...]
    kube_controllers: bool
    absent: bool
    csi_node_driver: bool


@dataclass(frozen=True)
class PodChange:
    ref: str
    name: str = ""
    phase: str = ""
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    init_containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    conditions: tuple[dict[str, Any], ...] | None = None
    delete: bool = False
    node: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    message: str = ""
    created: str = ""

    @property
    def generated(self) -> bool:
        """`<workload>@<node>` (a generated pod) rather than `<namespace>/<name>` (an extra pod)."""
        return "@" in self.ref


@dataclass(frozen=True)
class EventSpec:
    about: str
    reason: str
    message: str
    type: str = "Warning"
    count: int = 1
    first: str = ""
    last: str = ""
    source: str = ""


@dataclass(frozen=True)
class LogSpec:
    pod: str
    container: str
    text: str
    previous: bool = False


@dataclass(frozen=True)
class Expect:
    primary: str
    also: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    slug: str
    url: str
    title: str
    summary: str
    distribution: str
    expect: Expect
    now: datetime
    kubernetes_version: str
    nodes: tuple[NodeSpec, ...]
    calico: CalicoSpec
    pods: tuple[PodChange, ...] = ()
    events: tuple[EventSpec, ...] = ()
    logs: tuple[LogSpec, ...] = ()
    objects: tuple[dict[str, Any], ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)
    """The case as written, times resolved (for evidence checks)."""

    def node(self, name: str) -> NodeSpec | None:
        return next((n for n in self.nodes if n.name == name), None)


# --- time ---------------------------------------------------------------------------------------


def parse_time(text: str, where: str) -> datetime:
    if not _STAMP.match(text):
        raise CaseError(where, f"{text!r} is not a timestamp like 2021-06-01T10:00:00Z or @now-5m")
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def resolve_times(value: Any, now: datetime, where: str = "") -> Any:
    """Every string that is a whole `@now…` expression becomes an RFC 3339 timestamp."""
    if isinstance(value, dict):
        return {k: resolve_times(v, now, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_times(v, now, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str) and value.startswith("@now"):
        match = _RELATIVE.match(value)
        if match is None:
            raise CaseError(
                where, f"{value!r}: relative times look like @now, @now-5m, @now-2h30m, @now-6m17s, @now-3d"
            )
        delta = timedelta()
        for amount, unit in _STEP.findall(match.group(2) or ""):
            delta += timedelta(**{_UNITS[unit]: int(amount)})
        return stamp(now + delta if match.group(1) == "+" else now - delta)
    return value


# --- field readers ------------------------------------------------------------------------------


def _mapping(value: Any, where: str, allowed: set[str] | None = None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CaseError(where, f"expected a mapping, got {type(value).__name__}")
    if allowed is not None:
        unknown = sorted(set(map(str, value)) - allowed)
        if unknown:
            raise CaseError(
                f"{where}.{unknown[0]}" if where else unknown[0],
                f"unknown key (allowed: {', '.join(sorted(allowed))})",
            )
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise CaseError(where, f"expected a list, got {type(value).__name__}")
    return value


def _text(value: Any, where: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise CaseError(where, "required text" if value is None else f"expected text, got {value!r}")
    return value


def _flag(value: Any, where: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise CaseError(where, f"expected true or false, got {value!r}")
    return value


def _https(value: Any, where: str) -> str:
    url = _text(value, where)
    if not re.match(r"^https://[^\s/]+\.[^\s/]+/\S*$", url):
        raise CaseError(where, f"{url!r} is not an https URL")
    return url


def _str_map(value: Any, where: str) -> dict[str, str]:
    out = _mapping(value, where)
    for key, val in out.items():
        if not isinstance(val, str):
            raise CaseError(f"{where}.{key}", f"label values are text (quote it), got {val!r}")
    return {str(k): v for k, v in out.items()}


# --- the case -----------------------------------------------------------------------------------

_TOP = {
    "source",
    "summary",
    "distribution",
    "expect",
    "now",
    "cluster",
    "calico",
    "pods",
    "events",
    "logs",
    "objects",
}


def load_case(path: str | Path) -> Case:
    """Read and check a case file; `CaseError` for anything FORMAT.md does not allow."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CaseError("", f"{path}: cannot read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise CaseError("", f"{path}: not valid YAML ({exc})".replace("\n", " ")) from None
    return parse_case(raw, slug=path.stem)


def parse_case(raw: Any, *, slug: str) -> Case:
    top = _mapping(raw, "", _TOP)
    if not top:
        raise CaseError("", "empty case")
    now = parse_time(_text(top.get("now") or DEFAULT_NOW, "now"), "now")
    resolved: dict[str, Any] = resolve_times(top, now)
    source = _mapping(resolved.get("source"), "source", {"url", "title", "more"})
    url = _https(source.get("url"), "source.url")
    for i, more in enumerate(_list(source.get("more"), "source.more")):
        _https(more, f"source.more[{i}]")
    distribution = _text(resolved.get("distribution"), "distribution")
    if distribution not in DISTRIBUTIONS:
        raise CaseError("distribution", f"{distribution!r} is not one of {', '.join(DISTRIBUTIONS)}")
    cluster = _mapping(resolved.get("cluster"), "cluster", {"kubernetes_version", "nodes"})
    nodes = _nodes(cluster.get("nodes"))
    calico = _calico(resolved.get("calico"), nodes)
    return Case(
        slug=slug,
        url=url,
        title=_text(source.get("title"), "source.title"),
        summary=_text(resolved.get("summary"), "summary"),
        distribution=distribution,
        expect=_expect(resolved.get("expect")),
        now=now,
        kubernetes_version=_version(
            cluster.get("kubernetes_version") or DEFAULT_K8S, "cluster.kubernetes_version"
        ),
        nodes=nodes,
        calico=calico,
        pods=tuple(_pod(p, f"pods[{i}]", nodes) for i, p in enumerate(_list(resolved.get("pods"), "pods"))),
        events=tuple(
            _event(e, f"events[{i}]") for i, e in enumerate(_list(resolved.get("events"), "events"))
        ),
        logs=tuple(_log(lg, f"logs[{i}]") for i, lg in enumerate(_list(resolved.get("logs"), "logs"))),
        objects=tuple(
            _object(o, f"objects[{i}]") for i, o in enumerate(_list(resolved.get("objects"), "objects"))
        ),
        raw=resolved,
    )


def _version(value: Any, where: str) -> str:
    text = _text(value, where) if not isinstance(value, float) else str(value)
    if not re.match(r"^v?\d+\.\d+(\.\d+)?\S*$", text):
        raise CaseError(where, f"{text!r} is not a version like v1.28.4")
    return text if text.startswith("v") else "v" + text


def _expect(value: Any) -> Expect:
    expect = _mapping(value, "expect", {"primary", "also", "evidence"})
    primary = _text(expect.get("primary"), "expect.primary")
    if primary not in SITUATIONS:
        raise CaseError("expect.primary", f"{primary!r} is not a situation id ({', '.join(SITUATIONS)})")
    also = tuple(
        _text(a, f"expect.also[{i}]") for i, a in enumerate(_list(expect.get("also"), "expect.also"))
    )
    for i, situation in enumerate(also):
        if situation not in SITUATIONS or situation == "healthy":
            raise CaseError(f"expect.also[{i}]", f"{situation!r} is not a problem situation id")
    evidence = tuple(
        _text(e, f"expect.evidence[{i}]")
        for i, e in enumerate(_list(expect.get("evidence"), "expect.evidence"))
    )
    if primary != "healthy" and not evidence:
        raise CaseError("expect.evidence", "a broken case names the strings that decided it")
    for i, text in enumerate(evidence):
        if REDACTED in text:
            raise CaseError(f"expect.evidence[{i}]", f"{REDACTED} is never evidence")
    return Expect(primary, also, evidence)


def _nodes(value: Any) -> tuple[NodeSpec, ...]:
    items = _list(value, "cluster.nodes")
    if not items:
        raise CaseError("cluster.nodes", "at least one node")
    nodes: list[NodeSpec] = []
    for i, item in enumerate(items):
        where = f"cluster.nodes[{i}]"
        node = _mapping(item, where, {"name", "ip", "roles", "labels", "taints", "conditions"})
        name = _text(node.get("name"), f"{where}.name")
        if not _NAME.match(name):
            raise CaseError(f"{where}.name", f"{name!r} is not a Kubernetes node name")
        if any(n.name == name for n in nodes):
            raise CaseError(f"{where}.name", f"node {name!r} twice")
        ip = _text(node.get("ip") or f"10.0.0.{i + 10}", f"{where}.ip")
        if not re.match(r"^\d+\.\d+\.\d+\.\d+$", ip):
            raise CaseError(f"{where}.ip", f"{ip!r} is not an IPv4 address")
        roles = tuple(
            _text(r, f"{where}.roles[{j}]") for j, r in enumerate(_list(node.get("roles"), f"{where}.roles"))
        )
        taints = tuple(
            _mapping(t, f"{where}.taints[{j}]")
            for j, t in enumerate(_list(node.get("taints"), f"{where}.taints"))
        )
        conditions = []
        for j, cond in enumerate(_list(node.get("conditions"), f"{where}.conditions")):
            cond = _mapping(cond, f"{where}.conditions[{j}]")
            _text(cond.get("type"), f"{where}.conditions[{j}].type")
            if cond.get("status") not in ("True", "False", "Unknown"):
                raise CaseError(
                    f"{where}.conditions[{j}].status", 'one of "True", "False", "Unknown" (quoted)'
                )
            conditions.append(cond)
        nodes.append(
            NodeSpec(
                name, ip, roles, _str_map(node.get("labels"), f"{where}.labels"), taints, tuple(conditions)
            )
        )
    return tuple(nodes)


def _calico(value: Any, nodes: tuple[NodeSpec, ...]) -> CalicoSpec:
    calico = _mapping(
        value,
        "calico",
        {
            "install",
            "namespace",
            "version",
            "daemonset",
            "typha",
            "kube_controllers",
            "absent",
            "csi_node_driver",
        },
    )
    install = _text(calico.get("install") or "manifest", "calico.install")
    if install not in INSTALLS:
        raise CaseError("calico.install", f"{install!r} is not one of {', '.join(INSTALLS)}")
    namespace = _text(
        calico.get("namespace") or ("calico-system" if install == "operator" else "kube-system"),
        "calico.namespace",
    )
    default_ds = {"canal": "canal", "rke2-canal": "rke2-canal"}.get(install, "calico-node")
    typha_raw = calico.get("typha", 3 if install == "operator" else 0)
    typha_nodes: tuple[str, ...] = ()
    if isinstance(typha_raw, list):
        typha_nodes = tuple(_text(n, f"calico.typha[{i}]") for i, n in enumerate(typha_raw))
        for i, name in enumerate(typha_nodes):
            if not any(n.name == name for n in nodes):
                raise CaseError(f"calico.typha[{i}]", f"no node {name!r}")
        typha = len(typha_nodes)
    elif isinstance(typha_raw, int) and not isinstance(typha_raw, bool) and typha_raw >= 0:
        typha = typha_raw
    else:
        raise CaseError("calico.typha", f"a replica count or a list of node names, got {typha_raw!r}")
    return CalicoSpec(
        install=install,
        namespace=namespace,
        version=_version(calico.get("version") or DEFAULT_CALICO, "calico.version"),
        daemonset=_text(calico.get("daemonset") or default_ds, "calico.daemonset"),
        typha=typha,
        typha_nodes=typha_nodes,
        kube_controllers=_flag(
            calico.get("kube_controllers"), "calico.kube_controllers", install != "rke2-canal"
        ),
        absent=_flag(calico.get("absent"), "calico.absent", False),
        csi_node_driver=_flag(calico.get("csi_node_driver"), "calico.csi_node_driver", False),
    )


_POD_KEYS = {
    "ref",
    "name",
    "phase",
    "containers",
    "init_containers",
    "conditions",
    "delete",
    "node",
    "labels",
    "reason",
    "message",
    "created",
}


def _containers(value: Any, where: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, fragment in _mapping(value, where).items():
        out[str(name)] = _mapping(fragment, f"{where}.{name}")
    return out


def _pod(value: Any, where: str, nodes: tuple[NodeSpec, ...]) -> PodChange:
    pod = _mapping(value, where, _POD_KEYS)
    ref = _text(pod.get("ref"), f"{where}.ref")
    generated = "@" in ref
    if generated:
        workload, _, node = ref.partition("@")
        if not workload or not any(n.name == node for n in nodes):
            raise CaseError(f"{where}.ref", f"{ref!r}: <workload>@<node> names a node of cluster.nodes")
    elif not re.match(r"^[a-z0-9-]+/[a-z0-9][-a-z0-9.]*$", ref):
        raise CaseError(f"{where}.ref", f"{ref!r} is neither <workload>@<node> nor <namespace>/<pod name>")
    node = _text(pod.get("node"), f"{where}.node", required=False)
    if node and not any(n.name == node for n in nodes):
        raise CaseError(f"{where}.node", f"no node {node!r}")
    name = _text(pod.get("name"), f"{where}.name", required=False)
    if name and not _NAME.match(name):
        raise CaseError(f"{where}.name", f"{name!r} is not a pod name")
    conditions = pod.get("conditions")
    created = _text(pod.get("created"), f"{where}.created", required=False)
    if created:
        parse_time(created, f"{where}.created")
    return PodChange(
        ref=ref,
        name=name,
        phase=_text(pod.get("phase"), f"{where}.phase", required=False),
        containers=_containers(pod.get("containers"), f"{where}.containers"),
        init_containers=_containers(pod.get("init_containers"), f"{where}.init_containers"),
        conditions=None
        if conditions is None
        else tuple(
            _mapping(c, f"{where}.conditions[{i}]")
            for i, c in enumerate(_list(conditions, f"{where}.conditions"))
        ),
        delete=_flag(pod.get("delete"), f"{where}.delete", False),
        node=node,
        labels=_str_map(pod.get("labels"), f"{where}.labels"),
        reason=_text(pod.get("reason"), f"{where}.reason", required=False),
        message=_text(pod.get("message"), f"{where}.message", required=False),
        created=created,
    )


def _event(value: Any, where: str) -> EventSpec:
    event = _mapping(value, where, {"about", "type", "reason", "message", "count", "first", "last", "source"})
    kind = _text(event.get("type") or "Warning", f"{where}.type")
    if kind not in ("Warning", "Normal"):
        raise CaseError(f"{where}.type", "Warning or Normal")
    count = event.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise CaseError(f"{where}.count", f"a positive number, got {count!r}")
    last = _text(event.get("last"), f"{where}.last", required=False)
    first = _text(event.get("first"), f"{where}.first", required=False)
    for key, text in (("last", last), ("first", first)):
        if text:
            parse_time(text, f"{where}.{key}")
    return EventSpec(
        about=_text(event.get("about"), f"{where}.about"),
        reason=_text(event.get("reason"), f"{where}.reason"),
        message=_text(event.get("message"), f"{where}.message"),
        type=kind,
        count=count,
        first=first,
        last=last,
        source=_text(event.get("source"), f"{where}.source", required=False),
    )


def _log(value: Any, where: str) -> LogSpec:
    log = _mapping(value, where, {"pod", "container", "previous", "text"})
    return LogSpec(
        pod=_text(log.get("pod"), f"{where}.pod"),
        container=_text(log.get("container"), f"{where}.container"),
        text=_text(log.get("text"), f"{where}.text"),
        previous=_flag(log.get("previous"), f"{where}.previous", False),
    )


def _object(value: Any, where: str) -> dict[str, Any]:
    obj = _mapping(value, where)
    _text(obj.get("apiVersion"), f"{where}.apiVersion")
    _text(obj.get("kind"), f"{where}.kind")
    meta = _mapping(obj.get("metadata"), f"{where}.metadata")
    _text(meta.get("name"), f"{where}.metadata.name")
    return obj
