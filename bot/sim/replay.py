"""`DumpCluster`: a `kubectl cluster-info dump` served again as a live Kubernetes API on 127.0.0.1.

    async with DumpCluster.from_dump("dump/") as sim:       # or `calico-bot sim --from-dump dump/`
        sim.write_kubeconfig("dump.kubeconfig")
        ...                                                 # sim.url, sim.token, sim.set_faults([...])

The dump is read with the dump loader's own walk and parsing (`bot.dump.read_raw_dump`): every
object of a kind the simulator serves goes into the `Store` as it is in the dump (full JSON, the
dump's timestamps and resourceVersions untouched), Lists are split into their items, and the
container logs become the pods' current logs. Everything `ApiServer` does is there (discovery,
list/get with selectors and paging, 410, PartialObjectMetadata, logs with tailLines, faults, auth,
kubeconfig); no controllers, no IKS API.

What the dump cannot say, decided here:

- **API groups**: the built-in ones are always served; a CRD group (`crd.projectcalico.org`,
  `operator.tigera.io`) only when the dump holds an object of it or an `APIGroupList` (e.g.
  `extras/apis.json`) lists it — otherwise its paths answer 404 as for a CRD not installed.
- **Namespaces**: when the dump has no Namespace objects, the namespaces it shows (its
  per-namespace directories, its objects' namespaces, and `default`, `kube-system`,
  `kube-public`, `kube-node-lease`) are served, created at the dump's oldest timestamp.
- **Previous logs**: kubectl writes current logs only. A container waiting after a crash has one
  log for both (the kubelet serves its last terminated run either way), so `previous=true` gives
  the current log then; otherwise it answers the kubelet's
  `previous terminated container "X" in pod "Y" not found` (400) unless `set_previous_log` said it.
- **Unreadable logs**: a log that kubectl could not read (`Request log error: …`) is answered as
  the apiserver answered kubectl: a 500 with that message.
"""

from __future__ import annotations

import os
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.cluster.dump import RawDump, RawLog, read_raw_dump
from bot.sim.generate import rtype
from bot.sim.routes import Route
from bot.sim.server import DEFAULT_USER, ApiServer
from bot.sim.store import (
    RESOURCE_TYPES,
    ApiError,
    Json,
    ResourceType,
    type_for_object,
)

__all__ = ["DumpCluster", "ReplayContent", "replay_content"]

BUILTIN_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
_NAMESPACES, _NODES, _PODS = rtype("namespaces"), rtype("nodes"), rtype("pods")
_CRD_GROUPS = frozenset(rt.group for rt in RESOURCE_TYPES if not rt.builtin)
_ALIASES = {"extensions": "apps"}  # DaemonSet/Deployment/ReplicaSet of clusters before 1.16
_LOG_ERROR = re.compile(r"^(?:Request log error|Create log request error): (.+?)\s*$", re.S)
_VERSION = re.compile(r"v?1\.(\d+)")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@dataclass(frozen=True)
class ReplayContent:
    """What a dump gives the API: objects by type, logs, CRD groups to serve, and what was skipped."""

    objects: tuple[tuple[ResourceType, Json], ...]
    logs: tuple[RawLog, ...]
    crd_groups: frozenset[str]
    problems: tuple[str, ...]


def replay_content(dump: RawDump) -> ReplayContent:
    """Split the dump's documents into objects the simulator serves (pure; first copy of an object wins)."""
    objects: dict[tuple[str, str, str], tuple[ResourceType, Json]] = {}
    listed_groups: set[str] = set()
    skipped: Counter[str] = Counter()
    problems = list(dump.problems)
    for doc, where in dump.documents:
        if doc.get("kind") == "APIGroupList":
            listed_groups |= {str(g.get("name", "")) for g in doc.get("groups") or [] if isinstance(g, dict)}
            continue
        for kind, api_version, item in _items(doc):
            rtype = _type_of(api_version, kind)
            if rtype is None:
                skipped[f"{api_version}/{kind}" if api_version else kind or "(no kind)"] += 1
                continue
            meta = item.get("metadata")
            name = str(meta.get("name", "")) if isinstance(meta, dict) else ""
            namespace = str(meta.get("namespace", "")) if isinstance(meta, dict) and rtype.namespaced else ""
            if not name or (rtype.namespaced and not namespace):
                problems.append(f"{where}: a {kind} without metadata.name/namespace, not served")
                continue
            objects.setdefault((rtype.key, namespace, name), (rtype, item))
    for what, count in sorted(skipped.items()):
        problems.append(f"{what}: {count} object(s) of a kind the simulator does not serve, skipped")
    served = list(objects.values())
    crd_groups = frozenset(rt.group for rt, _ in served if not rt.builtin) | (listed_groups & _CRD_GROUPS)
    if not any(rt is _NAMESPACES for rt, _ in served):
        served += [(_NAMESPACES, ns) for ns in _namespaces(dump, served)]
    return ReplayContent(tuple(served), dump.logs, crd_groups, tuple(problems))


def _items(doc: Json) -> Iterator[tuple[str, str, Json]]:
    """(kind, apiVersion, object) of a document: a List's items take their kind from the List."""
    api_version = str(doc.get("apiVersion", ""))
    kind = str(doc.get("kind", ""))
    items = doc.get("items")
    if not isinstance(items, list):
        yield kind, api_version, doc
        return
    item_kind = kind.removesuffix("List") if kind.endswith("List") and kind != "List" else ""
    for item in items:
        if isinstance(item, dict):
            yield (
                str(item.get("kind") or item_kind),
                str(item.get("apiVersion") or api_version),
                {k: v for k, v in item.items() if k not in ("kind", "apiVersion")},
            )


def _type_of(api_version: str, kind: str) -> ResourceType | None:
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    group = _ALIASES.get(group, group)
    if kind == "Event" and group:  # events.k8s.io Events have another shape
        return None
    return type_for_object(f"{group}/v1" if group else "v1", kind)


def _namespaces(dump: RawDump, served: list[tuple[ResourceType, Json]]) -> list[Json]:
    names = set(BUILTIN_NAMESPACES) | set(dump.namespaces)
    names |= {str(doc["metadata"]["namespace"]) for rt, doc in served if rt.namespaced}
    stamps = [
        str(doc["metadata"]["creationTimestamp"])
        for _, doc in served
        if _TIMESTAMP.match(str(doc["metadata"].get("creationTimestamp") or ""))
    ]
    created = min(stamps) if stamps else None
    return [
        {
            "metadata": {
                "name": name,
                "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"namespace/{name}")),
                **({"creationTimestamp": created} if created else {}),
                "labels": {"kubernetes.io/metadata.name": name},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }
        for name in sorted(names)
    ]


class DumpCluster(ApiServer):
    """A cluster-info dump served over real HTTP. See the module docstring."""

    def __init__(
        self,
        content: ReplayContent,
        *,
        cluster_name: str = "dump",
        latency_ms: float = 0,
        token: str | None = None,
        user: str = DEFAULT_USER,
        faults: Iterable[Any] = (),
        source: str = "",
        tls: bool = True,
    ) -> None:
        super().__init__(latency_ms=latency_ms, token=token, user=user, cluster_name=cluster_name, tls=tls)
        self.source = source
        self.problems: tuple[str, ...] = content.problems
        self._log_failures: dict[tuple[str, str, str], str] = {}
        self.store.absent_groups = set(_CRD_GROUPS - content.crd_groups)
        self.store.previous_logs_known_only = True
        highest = self.store.resource_version
        for kind, doc in content.objects:
            rv = str((doc.get("metadata") or {}).get("resourceVersion") or "")
            if rv.isdigit():
                highest = max(highest, int(rv))
            self.store.put(dict(doc), rtype=kind, bump=False)
        self.store.resource_version = highest
        self._load_logs(content.logs)
        self.set_faults(faults)

    @classmethod
    def from_dump(
        cls, path: str | os.PathLike[str], *, cluster_name: str | None = None, **kwargs: Any
    ) -> DumpCluster:
        """Read a dump (directory, stream file or archive) and serve it; raises `bot.dump.DumpError`."""
        dump = read_raw_dump(path)
        name = cluster_name or os.path.basename(os.path.normpath(os.fspath(path))) or "dump"
        return cls(replay_content(dump), cluster_name=name, source=os.fspath(path), **kwargs)

    @property
    def nodes(self) -> int:
        return self.store.count(_NODES)

    def set_previous_log(self, namespace: str, pod: str, container: str, text: str) -> None:
        """Make a previous log known (kubectl's dump has none)."""
        self.store.set_log(namespace, pod, container, text, previous=True)

    # --- logs ------------------------------------------------------------------------------

    def _load_logs(self, logs: Iterable[RawLog]) -> None:
        pods_by_name: dict[str, list[str]] = {}
        for obj in self.store.objects(_PODS):
            pods_by_name.setdefault(obj.name, []).append(obj.namespace)
        for log in logs:
            namespace = log.namespace
            if not namespace:  # a runbook gather file names the pod only
                found = pods_by_name.get(log.pod, [])
                if len(found) != 1:
                    continue
                namespace = found[0]
            pod = self.store.find(_PODS, namespace, log.pod)
            if pod is None:
                continue
            failure = _LOG_ERROR.match(log.text)
            if failure is not None and "\n" not in log.text.strip():
                self._log_failures[(namespace, log.pod, log.container)] = failure.group(1)
                continue
            self.store.set_log(namespace, log.pod, log.container, log.text)
            if _crashed_and_waiting(pod.doc(), log.container):
                self.store.set_log(namespace, log.pod, log.container, log.text, previous=True)

    def _log(self, route: Route, request: web.Request) -> web.Response:
        namespace = route.namespace or ""
        container = request.query.get("container", "")
        previous = request.query.get("previous", "false").lower() in ("true", "1")
        if not previous and container:
            failure = self._log_failures.get((namespace, route.name, container))
            if failure is not None:
                self.store.get(_PODS, namespace, route.name)  # 404 for a pod that does not exist
                raise ApiError(500, "", failure)
        return super()._log(route, request)

    # --- hooks -----------------------------------------------------------------------------

    def _info(self) -> Json:
        return {
            "dump": self.source,
            "cluster": self.cluster_name,
            "nodes": self.nodes,
            "problems": len(self.problems),
        }

    def _version(self) -> tuple[int, str]:
        for node in self.store.objects(_NODES):
            version = str(((node.doc().get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", ""))
            match = _VERSION.match(version)
            if match is not None:
                return int(match[1]), version
        return super()._version()


def _crashed_and_waiting(pod: Json, container: str) -> bool:
    """A container waiting after a terminated run: the kubelet serves that run as current and previous."""
    status = pod.get("status") or {}
    for cstatus in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        if cstatus.get("name") == container:
            return "waiting" in (cstatus.get("state") or {}) and "terminated" in (
                cstatus.get("lastState") or {}
            )
    return False
