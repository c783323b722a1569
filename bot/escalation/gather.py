"""The runbook's "Logs and Data to Gather For Calico Issues", for one worker, as a .tar.gz bundle.

For the worker: `describe node` (with its pods, events and lease); for its calico-node pod and
any other calico pod there in a bad state: `describe pod` and the log of every container the pod
spec names (init containers included: install-cni, upgrade-ipam, calico-extension…), plus the
previous container's log where it restarted; on ROKS, the `calico-extension` log of the worker's
ibm-keepalived-watcher pod; the diagnosis JSON; and `summary.txt` saying what was collected, what
failed and why, and which limits were hit.

Nothing is fatal: a missing node, a worker without calico-node, a log that times out — each is a
line in the summary and the rest of the bundle is still produced. Every file is redacted before it
is written. Reads go through the one reader, as the collector's do (`bot.cluster.reader`: the
configured timeout, failures as exception types).
"""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from bot import clock
from bot.cluster.checking import CheckFailed, check_open, open_cluster
from bot.cluster.errors import ApiError, KubeError, NotFound
from bot.cluster.reader import KubeReader, Transport
from bot.cluster.sources import ClusterAccess
from bot.escalation.describe import describe_node, describe_pod
from bot.redact import decode_and_redact, redact

CALICO_APPS = ("calico-node", "calico-typha", "calico-kube-controllers")
KEEPALIVED = "ibm-keepalived-watcher"


@dataclass(frozen=True)
class GatherLimits:
    tail_lines: int = 5000
    """Lines kept from the end of each container log."""
    max_log_bytes: int = 5 * 1024 * 1024
    """Bytes kept from the end of each log."""
    max_total_bytes: int = 50 * 1024 * 1024
    """Uncompressed size of the whole bundle; logs past it are left out (and the summary says so)."""
    timeout: float = 30.0


@dataclass
class Bundle:
    name: str
    data: bytes
    summary: str
    files: list[tuple[str, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """What could not be collected (a missing node, a failed read)."""
    notes: list[str] = field(default_factory=list)
    """Limits hit and things absent by nature (a container that never started)."""


class _Collector:
    """Files of the bundle, in order, redacted, within the size budget."""

    def __init__(self, root: str, limits: GatherLimits) -> None:
        self.root = root
        self.limits = limits
        self.files: list[tuple[str, bytes]] = []
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.total = 0

    async def add(self, path: str, content: str | bytes, *, essential: bool = False) -> bool:
        """Redacted in a worker thread (a log can be megabytes; the event loop keeps serving Slack)."""
        if isinstance(content, bytes):
            text = await asyncio.to_thread(decode_and_redact, content)
        else:
            text = await asyncio.to_thread(redact, content)
        data = text.encode()
        if not essential and self.total + len(data) > self.limits.max_total_bytes:
            self.notes.append(
                f"left out {path} ({len(data):,} bytes): the bundle reached its size cap of "
                f"{self.limits.max_total_bytes:,} bytes"
            )
            return False
        self.files.append((f"{self.root}/{path}", data))
        self.total += len(data)
        return True


async def gather(
    transport: Transport,
    *,
    cluster: str,
    node_name: str,
    now: datetime,
    limits: GatherLimits = GatherLimits(),
    diagnosis_json: bytes | None = None,
) -> Bundle:
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    root = f"calico-gather-{_safe(cluster)}-{_safe(node_name)}-{stamp}"
    out = _Collector(root, limits)
    api = _Api(KubeReader(transport, timeout=limits.timeout), out)
    started = time.monotonic()

    node = await api.get(f"/api/v1/nodes/{quote(node_name)}", what=f"node {node_name}")
    if node is None:
        out.problems.append(
            f"no worker named {node_name!r} in {cluster} (node names are the workers' private IPs: "
            "`kubectl get nodes`)"
        )
    pods = await api.list(
        "/api/v1/pods", [("fieldSelector", f"spec.nodeName={node_name}")], what=f"pods on {node_name}"
    )
    node_events = await api.list(
        "/api/v1/namespaces/default/events",
        [("fieldSelector", f"involvedObject.kind=Node,involvedObject.name={node_name}")],
        what=f"events of node {node_name}",
    )
    lease = await api.get(
        f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{quote(node_name)}",
        what="node lease",
    )
    if node is not None:
        await out.add(
            f"describe-node-{_safe(node_name)}.txt",
            describe_node(node, pods or [], node_events or [], now=now, lease=lease),
            essential=True,
        )

    calico = [p for p in pods or [] if _labels(p).get("k8s-app") == "calico-node"]
    if pods is not None and not calico and node is not None:
        out.problems.append(
            f"no calico-node pod on {node_name} (in any namespace): nothing to describe or log for calico-node"
        )
    wanted = calico + [
        p for p in pods or [] if _labels(p).get("k8s-app") in CALICO_APPS[1:] and not _ready(p)
    ]
    for pod in wanted:
        await _pod_files(api, out, pod, now, limits)
    for pod in pods or []:
        if _name(pod).startswith(KEEPALIVED):
            await _logs(api, out, pod, limits, only=("calico-extension",))

    if diagnosis_json is not None:
        await out.add("diagnosis.json", json.dumps(json.loads(diagnosis_json), indent=2), essential=True)
    summary = _summary(cluster, node_name, now, out, calico, time.monotonic() - started)
    await out.add("summary.txt", summary, essential=True)
    data = _tar(out.files, now)
    return Bundle(
        name=f"{root}.tar.gz",
        data=data,
        summary=summary,
        files=[(path, len(content)) for path, content in out.files],
        problems=out.problems,
        notes=out.notes,
    )


async def _pod_files(
    api: _Api, out: _Collector, pod: dict[str, Any], now: datetime, limits: GatherLimits
) -> None:
    namespace, name = _namespace(pod), _name(pod)
    events = await api.list(
        f"/api/v1/namespaces/{namespace}/events",
        [("fieldSelector", f"involvedObject.name={name}")],
        what=f"events of pod {namespace}/{name}",
    )
    await out.add(
        f"describe-pod-{namespace}-{name}.txt", describe_pod(pod, events or [], now=now), essential=True
    )
    await _logs(api, out, pod, limits)


async def _logs(
    api: _Api, out: _Collector, pod: dict[str, Any], limits: GatherLimits, *, only: Sequence[str] = ()
) -> None:
    """Every container's log (the names come from the spec), and the previous one after a restart."""
    namespace, name = _namespace(pod), _name(pod)
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    containers = [
        c.get("name", "") for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
    ]
    statuses = {
        s.get("name"): s
        for s in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    }
    if only:
        missing = [c for c in only if c not in containers]
        for container in missing:
            out.problems.append(
                f"{namespace}/{name} has no container {container!r} (containers: {', '.join(containers)})"
            )
        containers = [c for c in containers if c in only]
    for container in containers:
        state = statuses.get(container, {})
        started = bool(
            (state.get("state") or {}).get("running") or (state.get("state") or {}).get("terminated")
        )
        if started:
            await _one_log(api, out, namespace, name, container, previous=False, limits=limits)
        else:
            out.notes.append(f"{namespace}/{name} -c {container}: not started yet, so no current log")
        if int(state.get("restartCount") or 0) > 0:
            await _one_log(api, out, namespace, name, container, previous=True, limits=limits)


async def _one_log(
    api: _Api,
    out: _Collector,
    namespace: str,
    pod: str,
    container: str,
    *,
    previous: bool,
    limits: GatherLimits,
) -> None:
    params = [
        ("container", container),
        ("tailLines", str(limits.tail_lines)),
        ("limitBytes", str(limits.max_log_bytes)),
    ]
    if previous:
        params.append(("previous", "true"))
    what = f"log {namespace}/{pod} -c {container}{' --previous' if previous else ''}"
    body = await api.log_body(f"/api/v1/namespaces/{namespace}/pods/{pod}/log", params, what=what)
    if body is None:
        return
    suffix = "-previous" if previous else ""
    if body.count(b"\n") >= limits.tail_lines or len(body) >= limits.max_log_bytes:
        out.notes.append(
            f"{what}: only the last {limits.tail_lines:,} lines / {limits.max_log_bytes:,} bytes kept"
        )
    await out.add(f"logs/{pod}-{container}{suffix}.log", body)


class _Api:
    """GETs that record their failure in the bundle's problems instead of raising."""

    def __init__(self, reader: KubeReader, out: _Collector) -> None:
        self.reader = reader
        self.out = out

    async def _raw(
        self, path: str, params: Sequence[tuple[str, str]], accept: str, what: str
    ) -> bytes | None:
        """The body, or None: 404 (the caller says what is missing) or a failure recorded as a problem."""
        try:
            response = await self.reader.call("GET", path, params=params, accept=accept)
        except NotFound:
            return None
        except ApiError as exc:
            self.out.problems.append(f"{what}: HTTP {exc.status} {exc.message}".strip())
            return None
        except KubeError as exc:
            self.out.problems.append(f"{what}: {exc}")
            return None
        return response.body

    async def _object(self, body: bytes | None, what: str) -> dict[str, Any] | None:
        if body is None:
            return None
        try:
            return await self.reader.decode(body, dict[str, Any])
        except KubeError as exc:
            self.out.problems.append(f"{what}: {exc}")
            return None

    async def get(self, path: str, *, what: str) -> dict[str, Any] | None:
        return await self._object(await self._raw(path, (), "application/json", what), what)

    async def list(
        self, path: str, params: Sequence[tuple[str, str]], *, what: str
    ) -> list[dict[str, Any]] | None:
        doc = await self._object(await self._raw(path, params, "application/json", what), what)
        return list(doc.get("items") or []) if doc is not None else None

    async def log_body(self, path: str, params: Sequence[tuple[str, str]], *, what: str) -> bytes | None:
        """A log as the API sent it; decoded (UTF-8, bad bytes replaced) with the redaction, off the loop."""
        return await self._raw(path, params, "text/plain", what)


def _summary(
    cluster: str, node: str, now: datetime, out: _Collector, calico: list[dict[str, Any]], seconds: float
) -> str:
    lines = [
        f"calico-bot gather — cluster {cluster}, worker {node}",
        f"collected {now.strftime('%Y-%m-%d %H:%M:%S UTC')} in {seconds:.1f} s",
        "",
        'The runbook\'s list ("Logs and Data to Gather For Calico Issues"):',
    ]
    for pod in calico:
        lines.append(f"  calico-node pod: {_namespace(pod)}/{_name(pod)}")
    lines += ["", "Files:"]
    lines += [f"  {path.split('/', 1)[1]}  ({len(content):,} bytes)" for path, content in out.files]
    lines += ["", "What could not be collected, and why:"]
    lines += [f"  - {p}" for p in out.problems] or ["  (nothing)"]
    lines += ["", "Notes and limits hit:"]
    lines += [f"  - {n}" for n in out.notes] or ["  (none)"]
    lines += [
        "",
        "Every file was redacted (tokens, passwords, API keys, private keys) before it was written.",
    ]
    return "\n".join(lines) + "\n"


def _tar(files: Sequence[tuple[str, bytes]], now: datetime) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, content in files:
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mtime = int(now.timestamp())
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-._" else "_" for c in text)[:80]


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _namespace(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace", ""))


def _ready(pod: dict[str, Any]) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


async def gather_cluster(
    cluster: str, node_name: str, access: ClusterAccess, *, limits: GatherLimits = GatherLimits()
) -> Bundle:
    """Open the cluster, diagnose it (for diagnosis.json), and gather the worker's bundle."""
    async with open_cluster(cluster, access) as opened:
        diagnosis_json: bytes | None
        try:
            result = await check_open(opened, access)
            diagnosis_json = result.diagnosis.to_json()
        except CheckFailed as failed:
            if failed.result is None:
                raise
            diagnosis_json = failed.result.diagnosis.to_json()
        return await gather(
            opened.transport,
            cluster=opened.name,
            node_name=node_name,
            now=clock.utcnow(),
            limits=limits,
            diagnosis_json=diagnosis_json,
        )
