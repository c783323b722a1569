"""Scenario files: one YAML document describing a simulated IKS/ROKS cluster and what is wrong with it.

The built-in scenarios live in `bot/sim/scenarios/<name>.yaml`; `load_scenario` also takes a path.
The simulator generates a complete, realistic cluster from the few facts below (every worker, its
Node, calico-node pod, Lease and Calico Node, the DaemonSet, typha, the operator objects, …) and
then applies the scenario's overrides. Format::

    name: crashloop-one                 # defaults to the file name
    description: One line shown by `calico-bot sim --list`.
    cluster:
      name: demo-cluster                # kubeconfig context / cluster name
      version: "1.29"                   # IKS (or ROKS) major.minor
      platform: iks                     # iks | roks
      provider: classic                 # classic | vpc
      region: us-south                  # optional; zones default from the region and provider
      id: cq9s0v1d0ct5ka0g1h2g          # optional; derived from the name when omitted
    calico_namespace: calico-system     # optional; calico-system for IKS >= 1.29 and ROKS,
                                        # kube-system (manifest era, no operator) otherwise
    absent_api_groups: [operator.tigera.io]   # optional; default: operator.tigera.io absent in
                                        # the kube-system era. A list of an absent group answers 404.
    workers:
      count: 3                          # the default size; `SimCluster(nodes=N)` overrides it
      zones: [dal10, dal12, dal13]      # optional; workers are spread round-robin
      pools: [default]                  # optional worker pool names
      machine_type: b3c.4x16            # optional
    broken_workers:                     # workers that differ from the healthy template
      - name: 10.188.156.140            # optional node name (= private IP); generated when omitted
        zone: dal10                     # optional
        pool: default                   # optional
        node: {...}                     # deep-merged into the generated Node
        calico_node: {...}              # deep-merged into its calico-node Pod
        lease: {...}                    # deep-merged into its kube-node-lease Lease
        logs:                           # container logs; "<container>/previous" = previous=true
          calico-node: |
            ...
        events:                         # raw Event objects; see "events" below
          - {reason: BackOff, message: ..., type: Warning, count: 14}
        after_pod_delete: healthy       # healthy (default) | broken: what the DaemonSet recreates
                                        # after a plain `kubectl delete pod` of its calico-node
        fixed_by: [reboot, reload, replace]   # IKS worker actions that fix this worker (default:
                                        # all three; [] = nothing done to the worker fixes it).
                                        # After the action (`SimCluster(iks_seconds=…)`) a fixing
                                        # action leaves a Ready node and a healthy calico-node pod;
                                        # any other leaves the node and a fresh pod broken exactly
                                        # as before. A fixed worker stays fixed (later pod deletes
                                        # give healthy pods). `os_reboot` and hard `reboot` are both
                                        # `reboot` here.
    objects:                            # raw Kubernetes objects of any kind, matched by
      - apiVersion: crd.projectcalico.org/v1   #  apiVersion/kind/namespace/name:
        kind: BGPConfiguration                 #  replaces a generated object or adds a new one
        metadata: {name: default}
        spec: {...}
      - {apiVersion: apps/v1, kind: DaemonSet, metadata: {name: calico-node, namespace: calico-system},
         delete: true}                  # removes a generated object
      - {apiVersion: ..., kind: ..., metadata: {...}, merge: true, ...}  # deep-merged instead of replaced
    faults:                             # request faults active from the start (see bot.sim.server)
      - {route: "GET /api/v1/nodes", status: 403, times: 1}

Rules:

- **Deep merge** is a JSON merge patch (RFC 7386): maps merge key by key, `null` deletes a key,
  lists and scalars replace whole — so a `conditions:` list is always given whole.
- **Relative times**: any string value `"@now"`, `"@now-90s"`, `"@now-5m"`, `"@now-2h"`,
  `"@now-3d"`, `"@now-1h30m"`, `"@now+10m"` becomes an RFC 3339 UTC timestamp relative to the
  simulator's clock (`SimCluster(now=…)`). Inside longer strings (log text, messages) write
  `${@now-5m}`: it becomes a Calico log timestamp (`2024-02-12 14:42:49.280`) in `logs:` and an
  RFC 3339 timestamp elsewhere; `${@now-5m|log}` is a Calico log timestamp anywhere (a probe's
  output quoted in an event message). Scenario files hold no fixed dates: every time is relative.
- **Variables** in a broken worker's `node`, `calico_node`, `lease`, `logs` and `events`:
  `${node}` (node name = private IP), `${ip}`, `${pod}` (its calico-node pod), `${pod_uid}`,
  `${ns}` (Calico namespace), `${worker_id}`, `${zone}`, `${pool}`, `${cluster}`, `${cluster_id}`,
  `${node_uid}`, `${peers}` (the other workers' IPs, comma-joined, at most 8), `${calico_version}`,
  `${calico_image}`, `${cni_image}` (the era's images). In `objects:` the cluster's `${cluster}`,
  `${cluster_id}`, `${ns}` and each broken worker's as `${<var>_<index>}` (`${pod_0}`, `${node_1}`).
- **Events**: `involvedObject` defaults to the worker's calico-node pod (`about: pod`, the default)
  or to its Node (`about: node`; the event then lives in namespace `default`). Defaults: name
  `<object>.<hex>`, `type: Warning`, `count: 1`, `firstTimestamp`/`lastTimestamp` `@now`,
  `source.component` `kubelet` (pod) / `node-controller` (node), `source.host` the node.
- Cluster-level status (DaemonSet status, Deployment status, TigeraStatus `calico`) is derived
  from the generated pods the way the controllers and the Tigera operator compute it, unless an
  `objects:` entry gives the object explicitly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

Json = dict[str, Any]

SCENARIO_DIR = Path(__file__).with_name("scenarios")

DEFAULT_ZONES = {
    ("classic", "us-south"): ("dal10", "dal12", "dal13"),
    ("vpc", "us-south"): ("us-south-1", "us-south-2", "us-south-3"),
    ("classic", "eu-de"): ("fra02", "fra04", "fra05"),
    ("vpc", "eu-de"): ("eu-de-1", "eu-de-2", "eu-de-3"),
}


WORKER_ACTIONS = ("reboot", "reload", "replace")  # the IKS worker actions `fixed_by` names


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    version: str = "1.29"
    platform: str = "iks"
    provider: str = "classic"
    region: str = "us-south"
    id: str = ""

    @property
    def minor(self) -> int:
        return int(self.version.split(".")[1])

    @property
    def is_vpc(self) -> bool:
        return self.provider == "vpc"


@dataclass(frozen=True)
class WorkersSpec:
    count: int = 3
    zones: tuple[str, ...] = ()
    pools: tuple[str, ...] = ("default",)
    machine_type: str = ""


@dataclass(frozen=True)
class BrokenWorker:
    name: str = ""
    zone: str = ""
    pool: str = ""
    node: Json = field(default_factory=dict)
    calico_node: Json = field(default_factory=dict)
    lease: Json = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    events: tuple[Json, ...] = ()
    after_pod_delete: str = "healthy"
    fixed_by: tuple[str, ...] = WORKER_ACTIONS


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    cluster: ClusterSpec
    calico_namespace: str
    workers: WorkersSpec
    broken_workers: tuple[BrokenWorker, ...] = ()
    objects: tuple[Json, ...] = ()
    faults: tuple[Json, ...] = ()
    absent_api_groups: frozenset[str] = frozenset()
    source: str = ""

    @property
    def cluster_name(self) -> str:
        return self.cluster.name

    @property
    def operator_era(self) -> bool:
        return self.calico_namespace == "calico-system"

    def zones(self) -> tuple[str, ...]:
        if self.workers.zones:
            return self.workers.zones
        known = DEFAULT_ZONES.get((self.cluster.provider, self.cluster.region))
        if known:
            return known
        prefix = self.cluster.region
        return (f"{prefix}-1", f"{prefix}-2", f"{prefix}-3")


# --- loading --------------------------------------------------------------------------------


def scenario_names() -> list[str]:
    """The built-in scenarios, sorted."""
    return sorted(p.stem for p in _builtin_dir().glob("*.yaml"))


def scenario_descriptions() -> list[tuple[str, str]]:
    return [(name, load_scenario(name).description) for name in scenario_names()]


def _builtin_dir() -> Path:
    return SCENARIO_DIR


BUILTIN_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def builtin_scenario(name: str) -> Scenario:
    """A built-in scenario by name only — never a path: what `demo` / `sim:<name>` may reach.

    Checked against the fixed list of files shipped in the package, so a name such as
    `/etc/passwd` or `../x` is refused before anything is opened.
    """
    if not BUILTIN_NAME.match(name) or name not in scenario_names():
        shown = name if len(name) <= 60 else name[:59] + "…"
        raise ScenarioError(f"unknown scenario {shown!r}; built-in: {', '.join(scenario_names())}")
    return _load_file(_builtin_dir() / f"{name}.yaml")


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name (`crashloop-one`), or a YAML file by path (for `calico-bot sim` and
    tests, where the operator chooses the file; the bot's cluster names only reach `builtin_scenario`)."""
    text_name = str(name_or_path)
    path = Path(text_name)
    if not (path.suffix in (".yaml", ".yml") or "/" in text_name or path.exists()):
        return builtin_scenario(text_name)
    if not path.is_file():
        raise ScenarioError(f"{path}: not a scenario file")
    return _load_file(path)


MAX_SCENARIO_BYTES = 4 * 1024 * 1024


def _load_file(path: Path) -> Scenario:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SCENARIO_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"{path}: larger than {MAX_SCENARIO_BYTES // (1024 * 1024)} MB, not a scenario")
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML ({exc})") from None
    return parse_scenario(raw, source=str(path), default_name=path.stem)


def parse_scenario(raw: Any, *, source: str = "<scenario>", default_name: str = "scenario") -> Scenario:
    """Validate a decoded scenario document."""
    where = source
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: a scenario is a mapping, got {type(raw).__name__}")
    known = {
        "name",
        "description",
        "cluster",
        "calico_namespace",
        "absent_api_groups",
        "workers",
        "broken_workers",
        "objects",
        "faults",
    }
    unknown = set(raw) - known
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(known)}")
    name = str(raw.get("name") or default_name)
    cluster_raw = _mapping(raw.get("cluster") or {}, f"{where}: cluster")
    cluster = ClusterSpec(
        name=str(cluster_raw.get("name") or name),
        version=str(cluster_raw.get("version", "1.29")),
        platform=str(cluster_raw.get("platform", "iks")).lower(),
        provider=str(cluster_raw.get("provider", "classic")).lower(),
        region=str(cluster_raw.get("region", "us-south")),
        id=str(cluster_raw.get("id", "")),
    )
    if not re.fullmatch(r"1\.\d+", cluster.version):
        raise ScenarioError(f'{where}: cluster.version must look like "1.29", got {cluster.version!r}')
    if cluster.platform not in ("iks", "roks"):
        raise ScenarioError(f"{where}: cluster.platform must be iks or roks, got {cluster.platform!r}")
    if cluster.provider not in ("classic", "vpc"):
        raise ScenarioError(f"{where}: cluster.provider must be classic or vpc, got {cluster.provider!r}")
    default_ns = "calico-system" if cluster.platform == "roks" or cluster.minor >= 29 else "kube-system"
    calico_ns = str(raw.get("calico_namespace") or default_ns)
    if calico_ns not in ("calico-system", "kube-system"):
        raise ScenarioError(f"{where}: calico_namespace must be calico-system or kube-system")
    if "absent_api_groups" in raw:
        absent = frozenset(str(g) for g in _list(raw["absent_api_groups"], f"{where}: absent_api_groups"))
    else:
        absent = frozenset() if calico_ns == "calico-system" else frozenset({"operator.tigera.io"})

    workers_raw = _mapping(raw.get("workers") or {}, f"{where}: workers")
    pools = tuple(str(p) for p in _list(workers_raw.get("pools", ["default"]), f"{where}: workers.pools"))
    workers = WorkersSpec(
        count=_int(workers_raw.get("count", 3), f"{where}: workers.count"),
        zones=tuple(str(z) for z in _list(workers_raw.get("zones", []), f"{where}: workers.zones")),
        pools=pools or ("default",),
        machine_type=str(workers_raw.get("machine_type", "")),
    )
    broken = tuple(
        _broken(entry, f"{where}: broken_workers[{i}]")
        for i, entry in enumerate(_list(raw.get("broken_workers") or [], f"{where}: broken_workers"))
    )
    names = [b.name for b in broken if b.name]
    if len(names) != len(set(names)):
        raise ScenarioError(f"{where}: broken_workers names repeat")
    objects = []
    for i, obj in enumerate(_list(raw.get("objects") or [], f"{where}: objects")):
        obj = _mapping(obj, f"{where}: objects[{i}]")
        meta = obj.get("metadata")
        if (
            not obj.get("kind")
            or not obj.get("apiVersion")
            or not isinstance(meta, dict)
            or not meta.get("name")
        ):
            raise ScenarioError(f"{where}: objects[{i}] needs apiVersion, kind and metadata.name")
        objects.append(obj)
    faults = tuple(
        _mapping(f, f"{where}: faults[{i}]")
        for i, f in enumerate(_list(raw.get("faults") or [], f"{where}: faults"))
    )
    for i, fault in enumerate(faults):
        if "route" not in fault:
            raise ScenarioError(f"{where}: faults[{i}] needs a route")
    return Scenario(
        name=name,
        description=str(raw.get("description", "")).strip(),
        cluster=cluster,
        calico_namespace=calico_ns,
        workers=workers,
        broken_workers=broken,
        objects=tuple(objects),
        faults=faults,
        absent_api_groups=absent,
        source=source,
    )


def _broken(entry: Any, where: str) -> BrokenWorker:
    entry = _mapping(entry, where)
    allowed = {
        "name",
        "zone",
        "pool",
        "node",
        "calico_node",
        "lease",
        "logs",
        "events",
        "after_pod_delete",
        "fixed_by",
    }
    unknown = set(entry) - allowed
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    logs = _mapping(entry.get("logs") or {}, f"{where}.logs")
    after = str(entry.get("after_pod_delete", "healthy"))
    if after not in ("healthy", "broken"):
        raise ScenarioError(f"{where}.after_pod_delete must be healthy or broken")
    fixed_raw = entry.get("fixed_by", list(WORKER_ACTIONS))
    fixed_by = tuple(str(a) for a in _list(fixed_raw if fixed_raw is not None else [], f"{where}.fixed_by"))
    bad = [a for a in fixed_by if a not in WORKER_ACTIONS]
    if bad:
        raise ScenarioError(f"{where}.fixed_by: unknown action(s) {bad}; allowed: {list(WORKER_ACTIONS)}")
    events = tuple(
        _mapping(e, f"{where}.events[{i}]")
        for i, e in enumerate(_list(entry.get("events") or [], f"{where}.events"))
    )
    for i, event in enumerate(events):
        if event.get("about", "pod") not in ("pod", "node"):
            raise ScenarioError(f"{where}.events[{i}].about must be pod or node")
    return BrokenWorker(
        name=str(entry.get("name") or ""),
        zone=str(entry.get("zone") or ""),
        pool=str(entry.get("pool") or ""),
        node=_mapping(entry.get("node") or {}, f"{where}.node"),
        calico_node=_mapping(entry.get("calico_node") or {}, f"{where}.calico_node"),
        lease=_mapping(entry.get("lease") or {}, f"{where}.lease"),
        logs={str(k): str(v) for k, v in logs.items()},
        events=events,
        after_pod_delete=after,
        fixed_by=fixed_by,
    )


def _mapping(value: Any, where: str) -> Json:
    if not isinstance(value, dict):
        raise ScenarioError(f"{where} must be a mapping, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ScenarioError(f"{where} must be a list, got {type(value).__name__}")
    return value


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ScenarioError(f"{where} must be a non-negative integer, got {value!r}")
    return value


# --- relative times and variables -----------------------------------------------------------

_REL = re.compile(r"^@now(?P<sign>[+-])?(?P<span>(?:\d+[smhd])+)?$")
_REL_INLINE = re.compile(r"\$\{(@now(?:[+-](?:\d+[smhd])+)?)(\|log)?\}")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_VAR = re.compile(r"\$\{([a-z_][a-z0-9_]*)\}")


def relative_time(text: str, now: datetime) -> datetime | None:
    """`@now-5m` → now minus five minutes; None when `text` is not a relative time."""
    m = _REL.match(text)
    if not m:
        return None
    seconds = sum(int(n) * _UNIT[u] for n, u in re.findall(r"(\d+)([smhd])", m.group("span") or ""))
    delta = timedelta(seconds=seconds)
    return now - delta if m.group("sign") == "-" else now + delta


def rfc3339(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def calico_log_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S.") + f"{when.microsecond // 1000:03d}"


def resolve(
    value: Any, now: datetime, variables: dict[str, str] | None = None, *, log_times: bool = False
) -> Any:
    """Resolve `@now…` values, inline `${@now…}` and `${var}` variables, recursively (new objects)."""
    if isinstance(value, str):
        return resolve_text(value, now, variables, log_times=log_times)
    if isinstance(value, dict):
        return {k: resolve(v, now, variables, log_times=log_times) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, now, variables, log_times=log_times) for v in value]
    return value


def resolve_text(
    text: str, now: datetime, variables: dict[str, str] | None = None, *, log_times: bool = False
) -> str:
    if text.startswith("@now"):
        when = relative_time(text, now)
        if when is not None:
            return rfc3339(when)
    if "${" not in text:
        return text

    def inline_time(m: re.Match[str]) -> str:
        when = relative_time(m.group(1), now)
        assert when is not None
        return calico_log_time(when) if log_times or m.group(2) else rfc3339(when)

    text = _REL_INLINE.sub(inline_time, text)
    if variables:
        text = _VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), text)
    return text
