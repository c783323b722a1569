"""The Kubernetes adapter: which cluster a name means, and raw HTTP calls to its API.

The only module that imports the official `kubernetes` package. It is used for what it does
well — loading kubeconfigs (several files in `KUBECONFIG`, exec plugins, OIDC, token refresh,
client certificates) and in-cluster config — and for the HTTP call itself
(`ApiClient.param_serialize` + `call_api`, which applies the auth settings). Responses are *not*
turned into the generated model classes (several times slower on big lists): the raw bytes go
back to the caller, which decodes only what the checks read.

The client is synchronous (urllib3), so every call runs in a thread pool — one per process, shared
by every cluster and every check (`executor`, closed at exit) — and the event loop never blocks.
Every call has the timeout its caller was configured with, as its wall-clock limit: connect and
read share it (urllib3's `Timeout(total=…)`), urllib3 never retries (the pool is built without
its default `Retry(3)`), and the await gives up shortly after even on a trickling answer. A call that gets no HTTP answer raises
`bot.cluster.errors.TransportError` (`Timeout` when the time ran out), told apart by the
exception's type; any HTTP answer comes back as a `RawResponse` for `bot.cluster.reader` to judge.

`kubernetes` (and urllib3 with it) is imported where it is used, not with this module: importing
the package loads all of it (client, dynamic, pydantic, jsonschema: a quarter of a second), and
the paths that only need this module's names — `check --from-dump`, the Slack side — never
touch a cluster.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import http.client
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.cluster.errors import Timeout, TransportError

IN_CLUSTER = "in-cluster"
KUBECONFIG_SUFFIXES = (".yaml", ".yml", ".kubeconfig", ".conf")


class ClusterNotFound(Exception):
    """The name is no known cluster; carries the names that are known."""

    def __init__(self, name: str, known: Sequence[str], where: str) -> None:
        self.name = name
        self.known = tuple(known)
        self.where = where
        shown = ", ".join(self.known[:30]) + (" …" if len(self.known) > 30 else "") if self.known else "none"
        super().__init__(f"unknown cluster {name!r} (looked in {where}); known clusters: {shown}")


class ClusterConfigError(Exception):
    """A kubeconfig that exists but cannot be used (bad YAML, missing credentials, exec failure)."""


@dataclass(frozen=True)
class ClusterTarget:
    """Where a cluster name leads: a kubeconfig (files, context) or the in-cluster config."""

    name: str
    kubeconfig: str | None  # os.pathsep-joined files, as KUBECONFIG allows
    context: str | None
    in_cluster: bool = False

    def describe(self) -> str:
        if self.in_cluster:
            return "in-cluster service account"
        return f"context {self.context or '(current)'} in {self.kubeconfig}"


@dataclass(frozen=True)
class RawResponse:
    status: int
    body: bytes
    reason: str = ""


def _kubeconfig_files(explicit: str | None) -> list[str]:
    raw = explicit if explicit is not None else os.environ.get("KUBECONFIG", "")
    if not raw:
        default = Path.home() / ".kube" / "config"
        return [str(default)] if default.exists() else []
    return [p for p in raw.split(os.pathsep) if p]


def _contexts(files: Sequence[str]) -> list[str]:
    existing = [f for f in files if Path(f).expanduser().exists()]
    if not existing:
        return []
    import kubernetes

    try:
        contexts, _current = kubernetes.config.list_kube_config_contexts(
            config_file=os.pathsep.join(existing)
        )
    except (
        kubernetes.config.ConfigException,
        yaml.YAMLError,
        OSError,
        ValueError,
        TypeError,
        AttributeError,
        KeyError,
    ) as exc:
        raise ClusterConfigError(
            f"cannot read kubeconfig {os.pathsep.join(existing)}: {_one_line(exc)}"
        ) from None
    return [str(c["name"]) for c in contexts or []]


def _dir_clusters(clusters_dir: str | None) -> dict[str, str]:
    if not clusters_dir:
        return {}
    directory = Path(clusters_dir).expanduser()
    if not directory.is_dir():
        return {}
    return {
        path.stem: str(path)
        for path in sorted(directory.iterdir())
        if path.suffix in KUBECONFIG_SUFFIXES and path.is_file()
    }


def known_clusters(*, kubeconfig: str | None = None, clusters_dir: str | None = None) -> list[str]:
    names = list(_dir_clusters(clusters_dir))
    for ctx in _contexts(_kubeconfig_files(kubeconfig)):
        if ctx not in names:
            names.append(ctx)
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        names.append(IN_CLUSTER)
    return names


def resolve_cluster(
    name: str,
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    clusters_dir: str | None = None,
) -> ClusterTarget:
    """Find the cluster a name means.

    Order: an explicit `--kubeconfig` (context = `--context` or the name); a `<name>.yaml` in the
    clusters directory; a context named `name` in `KUBECONFIG` (several files) or ~/.kube/config;
    `in-cluster` when running in a pod. Anything else raises ClusterNotFound with the known names.
    """
    if kubeconfig is not None:
        files = [f for f in kubeconfig.split(os.pathsep) if f]
        missing = [f for f in files if not Path(f).expanduser().exists()]
        if missing or not files:
            raise ClusterConfigError(f"kubeconfig not found: {', '.join(missing) or kubeconfig!r}")
        contexts = _contexts(files)
        wanted = context or name
        if wanted not in contexts:
            raise ClusterNotFound(wanted, contexts, f"kubeconfig {kubeconfig}")
        return ClusterTarget(name=name, kubeconfig=os.pathsep.join(files), context=wanted)

    in_dir = _dir_clusters(clusters_dir)
    if name in in_dir:
        path = in_dir[name]
        contexts = _contexts([path])
        chosen = context or (name if name in contexts else None)
        return ClusterTarget(name=name, kubeconfig=path, context=chosen)

    files = _kubeconfig_files(None)
    contexts = _contexts(files)
    wanted = context or name
    if wanted in contexts:
        return ClusterTarget(name=name, kubeconfig=os.pathsep.join(files), context=wanted)
    if name == IN_CLUSTER and os.environ.get("KUBERNETES_SERVICE_HOST"):
        return ClusterTarget(name=name, kubeconfig=None, context=None, in_cluster=True)
    where = []
    if clusters_dir:
        where.append(f"clusters dir {clusters_dir}")
    where.append("KUBECONFIG " + (os.pathsep.join(files) or "(none)"))
    raise ClusterNotFound(name, known_clusters(clusters_dir=clusters_dir), ", ".join(where))


def _api_client(target: ClusterTarget) -> Any:
    import kubernetes

    try:
        configuration = _configuration()
        if target.in_cluster:
            kubernetes.config.load_incluster_config(client_configuration=configuration)
            return kubernetes.client.ApiClient(configuration)
        return kubernetes.config.new_client_from_config(
            config_file=target.kubeconfig, context=target.context, client_configuration=configuration
        )
    except (
        kubernetes.config.ConfigException,
        yaml.YAMLError,
        OSError,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
    ) as exc:
        raise ClusterConfigError(f"cannot use {target.describe()}: {_one_line(exc)}") from None


def _configuration() -> Any:
    """A client configuration whose connection pool will not retry: urllib3's default `Retry(3)`
    re-sends a timed-out GET three more times, so a 20 s timeout became ~80 s. The pool is built
    from the configuration when the `ApiClient` is made, so this must be set before, not after."""
    import kubernetes

    configuration = kubernetes.client.Configuration()
    configuration.retries = False
    configuration.connection_pool_maxsize = POOL_THREADS
    return configuration


def _one_line(exc: BaseException) -> str:
    """An exception as one line (YAML parser errors span several, with a caret diagram)."""
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:299] + "…"


POOL_THREADS = 16
"""Threads of the process's one pool for Kubernetes calls (a collection runs 8 at a time)."""
WALL_CLOCK_SLACK = 0.5
"""A call is abandoned this long after its timeout even when the server trickles bytes (each read
within urllib3's timeout, the whole answer not)."""
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    """The process's thread pool for Kubernetes calls, made on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="kube")
        return _pool


def close_executor() -> None:
    """Shut the pool down (at exit; a later call makes a new one)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


atexit.register(close_executor)


class KubeTransport:
    """Raw, timed HTTP calls to one cluster's API server, run in the process's thread pool."""

    def __init__(self, target: ClusterTarget) -> None:
        self.target = target
        self._client = _api_client(target)

    @property
    def server(self) -> str:
        return str(self._client.configuration.host)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        accept: str = "application/json",
        body: Any = None,
        content_type: str | None = None,
        timeout: float = 20.0,
    ) -> RawResponse:
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(  # in the caller's context: its log lines keep the correlation id
            executor(),
            contextvars.copy_context().run,
            self._request,
            method,
            path,
            list(params),
            accept,
            body,
            content_type,
            timeout,
        )
        try:  # urllib3's timeouts bound each socket operation; this bounds the whole call
            return await asyncio.wait_for(call, timeout + WALL_CLOCK_SLACK)
        except TimeoutError:
            raise Timeout(f"no complete answer within {timeout:g} s") from None

    def _request(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]],
        accept: str,
        body: Any,
        content_type: str | None,
        timeout: float,
    ) -> RawResponse:
        import kubernetes
        import urllib3

        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            _method, url, header_params, serial_body, post_params = self._client.param_serialize(
                method=method,
                resource_path=path,
                query_params=params,
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self._client.call_api(
                method,
                url,
                header_params=header_params,
                body=serial_body,
                post_params=post_params,
                _request_timeout=timeout,  # urllib3.Timeout(total=…): connect and read share it
            )
            data = response.read()
        except kubernetes.client.exceptions.ApiException as exc:
            if exc.status:
                return RawResponse(
                    status=int(exc.status),
                    body=(exc.body or b"") if isinstance(exc.body, bytes) else str(exc.body or "").encode(),
                    reason=str(exc.reason),
                )
            raise TransportError(
                f"{_first_line(str(exc.reason or exc))} (API server {self.server})"
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _no_answer(exc, server=self.server) from None
        return RawResponse(
            status=int(response.status), body=bytes(data or b""), reason=str(response.reason or "")
        )

    def close(self) -> None:
        """Close this cluster's connections (the shared thread pool stays)."""
        try:
            self._client.close()
        except Exception:  # closing a half-built client must not hide the real error
            return


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what it wraps (urllib3 puts the cause in `args`) and what it was raised from."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [a for a in current.args if isinstance(a, BaseException)]
        todo += [c for c in (current.__cause__, current.__context__) if c is not None]


def _no_answer(exc: BaseException, *, server: str = "") -> TransportError:
    """The TransportError for a call that got no HTTP answer, by the types of what went wrong; any
    other failure (TLS, a reset) in urllib3's words, with the server it was talking to (the log
    needs it; what reaches a channel hides it: `bot.slack.disclosure`)."""
    import urllib3

    causes = list(_causes(exc))
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return TransportError("connection refused")
    truncated = (http.client.IncompleteRead, urllib3.exceptions.IncompleteRead)
    if any(isinstance(c, truncated) for c in causes):
        return TransportError("response cut short (truncated body)")
    connecting = isinstance(exc, urllib3.exceptions.NewConnectionError)  # a subclass of ConnectTimeoutError
    if not connecting and any(isinstance(c, (urllib3.exceptions.TimeoutError, TimeoutError)) for c in causes):
        return Timeout("timed out")
    where = f" (API server {server})" if server else ""
    return TransportError(_first_line(str(exc)) + where)


def _first_line(text: str) -> str:
    return " ".join(text.split())[:200]
