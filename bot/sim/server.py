"""`SimCluster`: a Kubernetes API server on 127.0.0.1 that serves a generated scenario cluster.

Real HTTP (aiohttp), the wire formats of kube-apiserver, bearer-token auth, and the behaviour tests
and benchmarks need on top:

- **request log** per route key (`GET /api/v1/nodes`, `GET /api/v1/namespaces/{ns}/pods/{name}/log`):
  `sim.requests` in process, `GET /_sim/requests` over HTTP, `POST /_sim/reset-log`;
- **latency** added to every API request (`latency_ms`);
- **faults** per route key (fnmatch patterns allowed), from the scenario, `sim.set_faults([...])` or
  `POST /_sim/faults` (a JSON list); each fault is a mapping::

      {"route": "GET /api/v1/nodes", "status": 403, "times": 1}        # RBAC-style Forbidden Status
      {"route": "GET /api/v1/pods", "status": 500, "message": "etcdserver: request timed out"}
      {"route": "GET /api/v1/pods", "delay_ms": 5000}                  # slow answer (client timeouts)
      {"route": "GET /api/v1/nodes", "truncate": true}                 # half a chunked body, then the
                                                                        # connection is cut
      {"route": "GET /api/v1/nodes", "truncate": "eof"}                # half a body without length,
                                                                        # connection closed: "200" + bad JSON
      {"route": "GET /api/v1/nodes", "gone_on_page": 2, "times": 1}    # 410 Expired on page 2 of a list

  `times` omitted = forever. `status` may carry `reason` and `message` overrides;
- `POST /_sim/compact` expires every outstanding continue token (as an etcd compaction does);
- the DaemonSet controller: a deleted calico-node pod is recreated on its node after
  `pod_recreate_delay_s` (healthy, or as broken again per the scenario; Pending on a worker whose
  kubelet is down), and cordoning a node adds the `node.kubernetes.io/unschedulable` taint;
- pod logs on a worker whose kubelet is down fail like the apiserver's kubelet proxy does (500);
- the IBM Cloud side on the same port (`bot.sim.iks`): IAM token endpoint `sim.iam_url`, IKS API
  `sim.iks_url` (workers, reboot/reload/replace, master refresh), with workers that go NotReady and
  come back after `iks_seconds`; their routes have their own keys in the request log and for faults
  (`PUT /v1/clusters/{cluster}/workers/{worker}`) and their own bearer tokens.

Writers: `write_kubeconfig` (loads with the official `kubernetes` client) and
`write_cluster_info_dump` (the layout of `kubectl cluster-info dump --output-directory`, in
`bot.sim.dump_writer`). Route keys and faults: `bot.sim.routes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import secrets
import ssl
import uuid
from collections.abc import Callable, Coroutine, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import yaml
from aiohttp import web

from bot.sim import printing
from bot.sim.clock import SimClock
from bot.sim.dump_writer import DUMP_NAMESPACES as DUMP_NAMESPACES  # re-exported: callers of write_dump
from bot.sim.dump_writer import write_dump as write_dump
from bot.sim.generate import DAEMONSETS, NODES, PODS, ClusterBuilder, rtype
from bot.sim.iks import SimIks
from bot.sim.liveness import Liveness
from bot.sim.routes import STATUS_REASONS, VERBS, Fault, Route, RouteStats, parse_route
from bot.sim.scenario import Scenario, load_scenario
from bot.sim.store import (
    RESOURCE_TYPES,
    ApiError,
    Json,
    ResourceType,
    Store,
    StoredObject,
    bad_request,
    encode,
    expired,
    page_of,
    resource_not_served,
    rfc3339,
)
from bot.sim.tls import SimTls
from bot.sim.watch import serve_watch

SECRETS, ROLES, ROLE_BINDINGS = (
    rtype("secrets"),
    rtype("roles", "rbac.authorization.k8s.io"),
    rtype("rolebindings", "rbac.authorization.k8s.io"),
)
BGP_SECRET, BGP_RBAC = "calico-bgp-password", "bgp-secret-access"
DEFAULT_USER = "system:serviceaccount:calico-bot:calico-bot"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
LIVENESS_STEP_S = 5.0
"""With a moving clock, the cluster is brought up to date at least every 5 simulated seconds."""


def _status_response(err: ApiError) -> web.Response:
    body = err.status_body()
    if not err.reason:
        body.pop("reason", None)
    return web.Response(
        status=err.code,
        body=encode(body),
        content_type="application/json",
        headers={"Cache-Control": "no-cache, private", "Audit-Id": str(uuid.uuid4()), **err.headers},
    )


def _json_response(data: bytes, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=data,
        content_type="application/json",
        headers={"Cache-Control": "no-cache, private", "Audit-Id": str(uuid.uuid4())},
    )


def _negotiate(accept: str, *, is_list: bool) -> str:
    """ "json", "meta" (PartialObjectMetadata[List]), "table" / "table-v1beta1" (server-side printing,
    meta.k8s.io Table); 406 when nothing acceptable is offered. The first acceptable entry wins."""
    if not accept.strip():
        return "json"
    wanted = "PartialObjectMetadataList" if is_list else "PartialObjectMetadata"
    for media in accept.split(","):
        kind, *params = [p.strip() for p in media.split(";")]
        opts = dict(p.split("=", 1) for p in params if "=" in p)
        if kind not in (
            "application/json",
            "*/*",
            "application/*",
            "application/yaml",
            "application/vnd.kubernetes.protobuf",
        ):
            continue
        as_ = opts.get("as")
        if as_ is None:
            return "json"
        if opts.get("g") != "meta.k8s.io" or opts.get("v") not in ("v1", "v1beta1"):
            continue
        if as_ == wanted:
            return "meta"
        if as_ == "Table":
            return "table" if opts.get("v") == "v1" else "table-v1beta1"
    raise ApiError(
        406,
        "NotAcceptable",
        "only the following media types are accepted: application/json, "
        "application/yaml, application/vnd.kubernetes.protobuf",
    )


def _include_object(query: Any) -> str:
    value = str(query.get("includeObject", "") or "Metadata")
    if value not in ("None", "Metadata", "Object"):
        raise bad_request(
            f'includeObject: Unsupported value: {value!r}: supported values: "None", "Metadata", "Object"'
        )
    return value


def _partial(doc: Json) -> Json:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": doc.get("metadata") or {},
    }


class ApiServer:
    """The Kubernetes API over real HTTP for the objects of a `Store`: auth, discovery, list/get with
    selectors and paging, writes, logs, the request log and faults. No controllers but the node
    `unschedulable` taint; subclasses add their cluster's behaviour (`SimCluster`, `DumpCluster`)."""

    def __init__(
        self,
        *,
        latency_ms: float = 0,
        now: datetime | None = None,
        token: str | None = None,
        user: str = DEFAULT_USER,
        cluster_name: str = "sim",
        tls: bool = True,
        time_scale: float | None = None,
    ) -> None:
        self.clock = SimClock(now, time_scale)
        self.now = self.clock.start
        """When the cluster was built (the scenario's `@now`); `now_time()` is the running clock."""
        self.latency_ms = latency_ms
        self.token = token or secrets.token_urlsafe(24)
        self.user = user
        self.cluster_name = cluster_name
        self.tls: SimTls | None = SimTls() if tls else None
        self.store = Store(now=self._clock)
        self.store.listeners.append(self._on_change)
        self._requests: dict[str, RouteStats] = {}
        self._faults: list[Fault] = []
        self._runner: web.AppRunner | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self.plain_port = 0
        """With TLS: a second, plain-HTTP listener for what is not the Kubernetes API (the IKS and
        IAM routes, whose clients trust only public CAs); 0 without TLS."""
        self.host = "127.0.0.1"

    # --- hooks for subclasses --------------------------------------------------------------

    async def _special(self, request: web.Request) -> web.StreamResponse | None:
        """A response for a path outside the Kubernetes API (e.g. the IKS routes), or None."""
        return None

    def _info(self) -> Json:
        """What `GET /_sim/info` answers."""
        return {"cluster": self.cluster_name, "now": rfc3339(self.now)}

    def _version(self) -> tuple[int, str]:
        """(minor, gitVersion) for `GET /version`."""
        return 29, "v1.29.10"

    def _on_change(self, event: str, obj: StoredObject) -> None:
        """Called after every write through the API: the node `unschedulable` taint follows cordons."""
        if obj.rtype is NODES and event == "MODIFIED":
            self._sync_unschedulable_taint(obj)

    # --- public API ------------------------------------------------------------------------

    def _clock(self) -> datetime:
        return self.clock()

    def _advance(self) -> None:
        """Bring the cluster to the clock's now (subclasses: heartbeats, leases, repeating events)."""
        return None

    @property
    def url(self) -> str:
        """The Kubernetes API: `https://127.0.0.1:<port>` (plain `http://` when built with `tls=False`)."""
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def plain_url(self) -> str:
        """Plain HTTP on this server: the API's own URL without TLS, else the second listener."""
        return f"http://{self.host}:{self.plain_port or self.port}"

    def client_ssl_context(self) -> ssl.SSLContext | None:
        """An SSL context that trusts this run's CA (None without TLS), for raw HTTP clients."""
        return self.tls.client_context() if self.tls else None

    def now_time(self) -> datetime:
        """The simulator's clock (fixed when `now=` was given)."""
        return self._clock()

    def call_later(self, delay: float, callback: Callable[..., object], *args: object) -> None:
        """Run `callback(*args)` on the running loop after `delay` seconds (cancelled by `stop`)."""
        loop = asyncio.get_running_loop()
        self._timers = [t for t in self._timers if not t.cancelled() and t.when() > loop.time()]
        self._timers.append(loop.call_later(max(0.0, delay), callback, *args))

    @property
    def requests(self) -> dict[str, RouteStats]:
        return self._requests

    def reset_requests(self) -> None:
        self._requests = {}

    @property
    def faults(self) -> list[Json]:
        return [f.as_dict() for f in self._faults]

    def set_faults(self, faults: Iterable[Any]) -> None:
        """Replace the active faults (ValueError for a malformed one; nothing changes then)."""
        self._faults = [Fault.parse(f) for f in faults]

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._runner is not None:
            return self.url
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._entry)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        ssl_context = self.tls.server_context() if self.tls else None
        site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
        await site.start()
        self._runner = runner
        self.host, self.port = host, int(runner.addresses[0][1])
        if self.tls:
            plain = web.TCPSite(runner, host, 0)
            await plain.start()
            self.plain_port = int(runner.addresses[1][1])
        if self.clock.moving:
            self._spawn(self._tick())
        return self.url

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tick(self) -> None:
        """A moving clock: the cluster keeps living between requests (watches see it)."""
        while True:
            await asyncio.sleep(min(1.0, max(0.05, self.clock.wall_seconds(LIVENESS_STEP_S))))
            self._advance()

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def write_kubeconfig(self, path: str | Path, context: str | None = None) -> Path:
        """A kubeconfig with one cluster/user/context pointing at this server (start it first): the
        API URL, this run's CA (`certificate-authority-data`, with TLS) and the bearer token."""
        if not self.port:
            raise RuntimeError("start the simulator before writing its kubeconfig")
        name = context or self.cluster_name
        cluster: Json = {"server": self.url}
        if self.tls:
            cluster["certificate-authority-data"] = self.tls.ca_data
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": cluster}],
            "users": [{"name": f"{name}-user", "user": {"token": self.token}}],
            "contexts": [
                {"name": name, "context": {"cluster": name, "user": f"{name}-user", "namespace": "default"}}
            ],
            "current-context": name,
            "preferences": {},
        }
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        out.chmod(0o600)
        return out

    def write_cluster_info_dump(
        self, directory: str | Path, *, namespaces: Sequence[str] = DUMP_NAMESPACES, extras: bool = False
    ) -> Path:
        """Write what `kubectl cluster-info dump --output-directory DIR --namespaces …` writes.

        With `extras`, also `DIR/extras/<plural>.json`: what cluster-info dump leaves out and the bot
        reads (webhooks, Calico/operator custom resources, leases, Calico RBAC, BGP secret
        *metadata*, namespaces) and `DIR/extras/apis.json` (the API groups served, so a reader can
        tell "CRD not installed" from "not dumped").
        """
        return write_dump(self.store, Path(directory), namespaces=namespaces, extras=extras)

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return secrets.compare_digest(header.encode(), f"Bearer {self.token}".encode())

    async def _entry(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if self.tls and not request.secure:  # the plain listener: only what is not the Kubernetes API
            special = await self._special(request)
            if special is not None:
                return special
            return web.Response(status=400, text="Client sent an HTTP request to an HTTPS server.\n")
        self._advance()
        if path.startswith("/_sim/"):
            if not self._authorized(request):
                return _status_response(ApiError(401, "Unauthorized", "Unauthorized"))
            return await self._control(request)
        special = await self._special(request)
        if special is not None:
            return special
        route = parse_route(request.method, path)
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        if not self._authorized(request):
            return self._record(route.key, _status_response(ApiError(401, "Unauthorized", "Unauthorized")))
        faults = self._firing(route, request)
        delay_ms = sum(fault.delay_ms for fault in faults if fault.delay_ms)
        if delay_ms:
            stats = self._requests.setdefault(route.key, RouteStats())
            stats.held += 1
            try:
                await asyncio.sleep(delay_ms / 1000)
            finally:
                stats.held -= 1
        for fault in faults:
            if fault.status is not None:
                return self._record(route.key, _status_response(self._fault_error(fault, route, request)))
            if fault.gone_on_page is not None:
                return self._record(route.key, _status_response(expired()))
        try:
            response = await self._dispatch(route, request)
        except ApiError as err:
            response = _status_response(err)
        truncate = next((f.truncate for f in faults if f.truncate), "")
        if truncate and isinstance(response, web.Response) and response.body is not None:
            return await self._truncated(route.key, request, response, truncate)
        return self._record(route.key, response)

    def record(self, key: str, response: web.StreamResponse) -> web.StreamResponse:
        """Count a response in the request log under `key`."""
        return self._record(key, response)

    def fire_faults(self, key: str, request: web.Request) -> list[Fault]:
        """The faults that fire for a request with route key `key` (used by the IKS routes)."""
        return self._firing(Route(key, "iks"), request)

    async def truncated(
        self, key: str, request: web.Request, full: web.Response, mode: str
    ) -> web.StreamResponse:
        return await self._truncated(key, request, full, mode)

    def _record(self, key: str, response: web.StreamResponse) -> web.StreamResponse:
        stats = self._requests.setdefault(key, RouteStats())
        stats.count += 1
        if isinstance(response, web.Response) and response.body is not None:
            body = response.body
            stats.bytes += len(body) if isinstance(body, bytes | bytearray) else 0
        return response

    def _firing(self, route: Route, request: web.Request) -> list[Fault]:
        fired: list[Fault] = []
        for fault in self._faults:
            if not fnmatch.fnmatchcase(route.key, fault.route):
                continue
            if (
                fault.gone_on_page is not None
                and page_of(request.query.get("continue", "")) != fault.gone_on_page
            ):
                continue
            if fault.times is not None:
                if fault.times <= 0:
                    continue
                fault.times -= 1
            fired.append(fault)
        return fired

    def _fault_error(self, fault: Fault, route: Route, request: web.Request) -> ApiError:
        code = fault.status or 500
        reason = fault.reason or STATUS_REASONS.get(code, "")
        if code == 403 and not fault.message:
            return self._forbidden(route, request)
        message = fault.message or {
            429: "Too many requests, please try again later.",
            500: "Internal error occurred: the simulator was told to fail this request",
            503: "The server is currently unable to handle the request",
            504: "Timeout: request did not complete within the allotted timeout",
            401: "Unauthorized",
            404: "the server could not find the requested resource",
        }.get(code, f"the simulator answered {code} as told")
        headers = {"Retry-After": "1"} if code == 429 else {}
        details: Json | None = {"retryAfterSeconds": 1} if code == 429 else None
        return ApiError(code, reason, message, details=details, headers=headers)

    def _forbidden(self, route: Route, request: web.Request) -> ApiError:
        rt = route.rtype
        resource = rt.plural if rt is not None else route.key.split("/")[-1]
        group = rt.group if rt is not None else route.group
        verb = VERBS.get(request.method, request.method.lower())
        if request.method == "GET" and not route.name:
            verb = "list"
        what = resource + (f"/{route.subresource}" if route.subresource else "")
        scope = f'in the namespace "{route.namespace}"' if route.namespace else "at the cluster scope"
        subject = f'{resource} "{route.name}"' if route.name else resource
        message = (
            f'{subject} is forbidden: User "{self.user}" cannot {verb} resource "{what}" '
            f'in API group "{group}" {scope}'
        )
        details: Json = {"kind": resource}
        if route.name:
            details = {"name": route.name, **({"group": group} if group else {}), "kind": resource}
        elif group:
            details = {"group": group, "kind": resource}
        return ApiError(403, "Forbidden", message, details=details)

    async def _truncated(
        self, key: str, request: web.Request, full: web.Response, mode: str
    ) -> web.StreamResponse:
        body = full.body
        assert isinstance(body, bytes | bytearray)
        half = bytes(body[: len(body) // 2])
        response = web.StreamResponse(status=full.status, headers={"Content-Type": full.content_type})
        if mode == "eof":
            # no Content-Length and no chunking: the body ends when the socket closes
            response._length_check = False
            response.force_close()
        else:
            response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(half)
        if mode == "eof":
            await response.write_eof()
        else:
            transport = request.transport
            if transport is not None:
                transport.close()
        stats = self._requests.setdefault(key, RouteStats())
        stats.count += 1
        stats.bytes += len(half)
        return response

    async def _control(self, request: web.Request) -> web.StreamResponse:
        path, method = request.path, request.method
        if path == "/_sim/requests" and method == "GET":
            data = {
                k: {"count": v.count, "bytes": v.bytes, "held": v.held}
                for k, v in sorted(self._requests.items())
            }
            return _json_response(encode(data))
        if path == "/_sim/reset-log" and method == "POST":
            self.reset_requests()
            return _json_response(b'{"ok":true}')
        if path == "/_sim/faults" and method == "GET":
            return _json_response(encode(self.faults))
        if path == "/_sim/faults" and method == "POST":
            try:
                raw = await request.json()
                if not isinstance(raw, list):
                    raise ValueError("POST a JSON list of faults")
                self.set_faults(raw)
            except ValueError as exc:
                return _status_response(bad_request(str(exc)))
            return _json_response(encode(self.faults))
        if path == "/_sim/compact" and method == "POST":
            self.store.compact()
            return _json_response(encode({"compactedResourceVersion": str(self.store.compacted_rv)}))
        if path == "/_sim/info" and method == "GET":
            return _json_response(encode(self._info()))
        return _status_response(
            ApiError(404, "NotFound", "the server could not find the requested resource", details={})
        )

    async def _dispatch(self, route: Route, request: web.Request) -> web.StreamResponse:
        if route.kind == "discovery":
            if request.method != "GET":
                raise ApiError(
                    405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
                )
            return _json_response(self._discovery(route))
        if route.kind != "resource" or route.rtype is None:
            if request.path.startswith(("/api/", "/apis/")):
                raise resource_not_served()
            return web.Response(status=404, text="404 page not found\n")
        rt = route.rtype
        if not self.store.served(rt):
            raise resource_not_served()
        if route.namespace is not None and not rt.namespaced:
            raise resource_not_served()
        if rt.namespaced and route.namespace is None and route.name:
            raise resource_not_served()
        if route.subresource and route.subresource not in rt.subresources:
            raise resource_not_served()
        method = request.method
        query = request.query
        if query.get("watch") in ("true", "1"):
            if method != "GET" or route.subresource:
                raise ApiError(
                    405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
                )
            mode = _negotiate(request.headers.get("Accept", ""), is_list=False)
            query = request.query
            return await serve_watch(
                self.store,
                rt,
                route.namespace,
                request,
                mode=mode,
                render=lambda docs, headers: self.table(rt, docs, mode, query, headers=headers),
            )
        ns = route.namespace or ""
        if not route.name:
            if method == "GET":
                return self._list(route, request)
            if method == "POST":
                body = await self._body(request)
                obj = self.store.create(rt, ns, body, dry_run="dryRun" in query)
                return _json_response(obj.full_bytes(), 201)
            raise ApiError(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
            )
        if route.subresource == "log":
            if method != "GET":
                raise ApiError(
                    405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
                )
            return self._log(route, request)
        if route.subresource == "eviction":
            if method != "POST":
                raise ApiError(
                    405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
                )
            self.store.delete(rt, ns, route.name)
            return _json_response(
                encode(
                    {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
                ),
                201,
            )
        if route.subresource and route.subresource != "status":
            raise ApiError(
                405, "MethodNotAllowed", f"the simulator does not serve {rt.plural}/{route.subresource}"
            )
        if method == "GET":
            obj = self.store.get(rt, ns, route.name)
            mode = _negotiate(request.headers.get("Accept", ""), is_list=False)
            if mode == "meta":
                return _json_response(encode(_partial(obj.doc())))
            if mode.startswith("table"):
                return _json_response(encode(self.table(rt, [obj.doc()], mode, request.query)))
            return _json_response(obj.full_bytes())
        if method == "PATCH":
            body = await self._body(request)
            obj = self.store.patch(rt, ns, route.name, body, request.headers.get("Content-Type", ""))
            return _json_response(obj.full_bytes())
        if method == "PUT":
            body = await self._body(request)
            obj = self.store.replace(rt, ns, route.name, body)
            return _json_response(obj.full_bytes())
        if method == "DELETE":
            obj = self.store.delete(rt, ns, route.name)
            doc = obj.doc()
            doc = {
                "kind": rt.kind,
                "apiVersion": rt.api_version,
                **{k: v for k, v in doc.items() if k not in ("kind", "apiVersion")},
            }
            if rt is PODS:
                doc["metadata"]["deletionTimestamp"] = rfc3339(self._clock())
                grace = (doc.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
                doc["metadata"]["deletionGracePeriodSeconds"] = grace
            return _json_response(encode(doc))
        raise ApiError(
            405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
        )

    @staticmethod
    async def _body(request: web.Request) -> Any:
        raw = await request.read()
        if not raw:
            raise bad_request("the body of the request was empty")
        try:
            return json.loads(raw)
        except ValueError:
            try:
                return yaml.safe_load(raw)
            except yaml.YAMLError:
                raise bad_request("the body of the request was in an unknown format") from None

    def _list(self, route: Route, request: web.Request) -> web.Response:
        assert route.rtype is not None
        rt = route.rtype
        query = request.query
        mode = _negotiate(request.headers.get("Accept", ""), is_list=True)
        try:
            limit = int(query.get("limit", "0") or 0)
        except ValueError:
            raise bad_request(f"limit: invalid value {query.get('limit')!r}") from None
        result = self.store.list(
            rt,
            route.namespace,
            label_selector=query.get("labelSelector", ""),
            field_selector=query.get("fieldSelector", ""),
            limit=limit,
            continue_=query.get("continue", ""),
        )
        meta = b'{"resourceVersion":"%s"' % result.resource_version.encode()
        if result.continue_token:
            meta += b',"continue":"%s"' % result.continue_token.encode()
        if result.remaining is not None:
            meta += b',"remainingItemCount":%d' % result.remaining
        meta += b"}"
        if mode.startswith("table"):
            list_meta: Json = {"resourceVersion": result.resource_version}
            if result.continue_token:
                list_meta["continue"] = result.continue_token
            if result.remaining is not None:
                list_meta["remainingItemCount"] = result.remaining
            docs = [obj.doc() for obj in result.items]
            return _json_response(encode(self.table(rt, docs, mode, query, list_meta=list_meta)))
        if mode == "meta":
            head = b'{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":'
            items = [encode(_partial(obj.doc())) for obj in result.items]
        else:
            head = b'{"kind":"%s","apiVersion":"%s","metadata":' % (
                rt.list_kind.encode(),
                rt.api_version.encode(),
            )
            items = [obj.item for obj in result.items]
        return _json_response(b"".join((head, meta, b',"items":[', b",".join(items), b"]}")))

    def table(
        self,
        rt: ResourceType,
        docs: list[Json],
        mode: str,
        query: Any,
        *,
        list_meta: Json | None = None,
        headers: bool = True,
    ) -> Json:
        """Server-side printing (`bot.sim.printing`) of `docs`, aged by the simulator's clock."""
        return printing.table(
            rt,
            docs,
            self._clock(),
            list_meta=list_meta,
            headers=headers,
            include=_include_object(query),
            api_version="meta.k8s.io/v1" if mode == "table" else "meta.k8s.io/v1beta1",
        )

    def _log(self, route: Route, request: web.Request) -> web.Response:
        query = request.query
        ns = route.namespace or ""

        def int_param(name: str) -> int | None:
            value = query.get(name)
            if value is None or value == "":
                return None
            try:
                return int(value)
            except ValueError:
                raise bad_request(f"{name}: invalid value {value!r}") from None

        previous = query.get("previous", "false").lower() in ("true", "1")
        container = query.get("container", "")
        tail = int_param("tailLines")
        limit_bytes = int_param("limitBytes")
        pod = self.store.get(PODS, ns, route.name)
        text = self.store.read_log(
            ns, route.name, container=container, previous=previous, tail_lines=tail, limit_bytes=limit_bytes
        )
        node = (pod.doc().get("spec") or {}).get("nodeName", "")
        if node and self._kubelet_down(node):
            chosen = container or "calico-node"
            raise ApiError(
                500,
                "",
                f'Get "https://{node}:10250/containerLogs/{ns}/{route.name}/{chosen}'
                f'{"?tailLines=" + str(tail) if tail is not None else ""}": dial tcp {node}:10250: '
                "i/o timeout",
            )
        return web.Response(
            body=text.encode(),
            content_type="text/plain",
            charset="utf-8",
            headers={"Cache-Control": "no-cache, private", "Audit-Id": str(uuid.uuid4())},
        )

    def _kubelet_down(self, node_name: str) -> bool:
        node = self.store.find(NODES, "", node_name)
        if node is None:
            return False
        for cond in (node.doc().get("status") or {}).get("conditions") or []:
            if cond.get("type") == "Ready":
                return bool(cond.get("status") == "Unknown")
        return False

    def _discovery(self, route: Route) -> bytes:
        store = self.store
        parts = route.parts
        minor, git_version = self._version()
        if parts == ("version",):
            return encode(
                {
                    "major": "1",
                    "minor": str(minor),
                    "gitVersion": git_version,
                    "gitCommit": "6c4a1b3f0d8e2a9c7b5d4e3f2a1b0c9d8e7f6a5b",
                    "gitTreeState": "clean",
                    "buildDate": "2024-10-23T10:03:15Z",
                    "goVersion": "go1.22.8",
                    "compiler": "gc",
                    "platform": "linux/amd64",
                }
            )
        if parts == ("api",):
            return encode(
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": f"{self.host}:{self.port}"}
                    ],
                }
            )
        if parts == ("apis",):
            groups = [self._group_doc(g) for g in store.served_groups() if g]
            return encode({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        group = route.group
        if group and group not in store.served_groups():
            raise resource_not_served()
        if parts[0] == "apis" and len(parts) == 2:
            return encode({"kind": "APIGroup", "apiVersion": "v1", **self._group_doc(group)})
        if route.version != "v1":
            raise resource_not_served()
        resources: list[Json] = []
        for rt in RESOURCE_TYPES:
            if rt.group != group:
                continue
            entry: Json = {
                "name": rt.plural,
                "singularName": rt.singular,
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": list(rt.verbs),
            }
            if rt.short_names:
                entry["shortNames"] = list(rt.short_names)
            entry["storageVersionHash"] = uuid.uuid5(uuid.NAMESPACE_URL, rt.key).hex[:12]
            resources.append(entry)
            for sub in rt.subresources:
                verbs = {
                    "log": ["get"],
                    "status": ["get", "patch", "update"],
                    "eviction": ["create"],
                    "scale": ["get", "patch", "update"],
                    "binding": ["create"],
                    "exec": ["create", "get"],
                    "proxy": ["create", "delete", "get", "patch", "update"],
                    "finalize": ["update"],
                    "ephemeralcontainers": ["get", "patch", "update"],
                }.get(sub, ["get"])
                sub_entry: Json = {
                    "name": f"{rt.plural}/{sub}",
                    "singularName": "",
                    "namespaced": rt.namespaced,
                    "kind": {
                        "log": "Pod",
                        "eviction": "Eviction",
                        "scale": "Scale",
                        "binding": "Binding",
                        "exec": "PodExecOptions",
                        "proxy": "NodeProxyOptions" if rt.kind == "Node" else "PodProxyOptions",
                    }.get(sub, rt.kind),
                    "verbs": verbs,
                }
                if sub == "eviction":
                    sub_entry.update({"group": "policy", "version": "v1"})
                if sub == "scale":
                    sub_entry.update({"group": "autoscaling", "version": "v1"})
                resources.append(sub_entry)
        body: Json = {
            "kind": "APIResourceList",
            "groupVersion": f"{group}/v1" if group else "v1",
            "resources": resources,
        }
        if group:
            body = {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": f"{group}/v1",
                "resources": resources,
            }
        return encode(body)

    @staticmethod
    def _group_doc(group: str) -> Json:
        version = {"groupVersion": f"{group}/v1", "version": "v1"}
        return {"name": group, "versions": [version], "preferredVersion": version}

    def _sync_unschedulable_taint(self, obj: StoredObject) -> None:
        doc = obj.doc()
        spec = doc.setdefault("spec", {})
        taints: list[Json] = list(spec.get("taints") or [])
        has = any(t.get("key") == UNSCHEDULABLE_TAINT for t in taints)
        if spec.get("unschedulable") and not has:
            taints.append(
                {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule", "timeAdded": rfc3339(self._clock())}
            )
        elif not spec.get("unschedulable") and has:
            taints = [t for t in taints if t.get("key") != UNSCHEDULABLE_TAINT]
        else:
            return
        if taints:
            spec["taints"] = taints
        else:
            spec.pop("taints", None)
        self.store.put(doc, rtype=NODES)


class SimCluster(ApiServer):
    """A simulated IKS/ROKS cluster served over real HTTP. See the module docstring."""

    def __init__(
        self,
        scenario: Scenario | str | Path,
        *,
        nodes: int | None = None,
        latency_ms: float = 0,
        now: datetime | None = None,
        token: str | None = None,
        seed: int | None = None,
        cluster_name: str | None = None,
        pod_recreate_delay_s: float | None = 2.0,
        user: str = DEFAULT_USER,
        iks_seconds: float = 5.0,
        tls: bool = True,
        time_scale: float | None = None,
    ) -> None:
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        super().__init__(
            latency_ms=latency_ms, now=now, token=token, user=user, tls=tls, time_scale=time_scale
        )
        self.pod_recreate_delay_s = pod_recreate_delay_s
        self.iks_seconds = iks_seconds
        self.builder = ClusterBuilder(
            self.scenario, store=self.store, nodes=nodes, now=self.now, seed=seed, cluster_name=cluster_name
        )
        self.builder.build()
        self.store.log_source = self.builder.default_log
        self.cluster_name = self.builder.facts.cluster
        self.set_faults(self.scenario.faults)
        self.iks = SimIks(self)
        self.liveness = Liveness(self.store, declared_dead=self._lease_declared_dead)

    def _lease_declared_dead(self, node: str) -> bool:
        """The scenario gave this worker's Lease (a stale one) and no IKS action fixed the worker since."""
        worker = self.builder.by_node.get(node)
        return (
            worker is not None
            and worker.broken is not None
            and bool(worker.broken.lease)
            and node not in self.builder.fixed_nodes
        )

    def _advance(self) -> None:
        if self.clock.moving:
            self.liveness.catch_up(self.clock())

    async def _special(self, request: web.Request) -> web.StreamResponse | None:
        if self.iks.handles(request.path):
            return await self.iks.entry(request)
        return None

    def _info(self) -> Json:
        return {
            "scenario": self.scenario.name,
            "cluster": self.cluster_name,
            "nodes": self.nodes,
            "calicoNamespace": self.scenario.calico_namespace,
            "builtAt": rfc3339(self.now),
            "now": rfc3339(self._clock()),
            "timeScale": None if self.clock.fixed else self.clock.scale,
            "iksUrl": self.iks_url,
            "iamUrl": self.iam_url,
        }

    def _version(self) -> tuple[int, str]:
        return self.builder.facts.minor, self.builder.facts.kubelet

    @property
    def iks_url(self) -> str:
        """Base URL of the simulated IKS API (`IKS_API_URL`): plain HTTP, so a client that trusts only
        public CAs (the bot's IKS client) reaches it while the Kubernetes API serves this run's TLS."""
        return self.plain_url

    @property
    def iam_url(self) -> str:
        """The simulated IAM token endpoint (`IAM_URL`)."""
        return f"{self.plain_url}/identity/token"

    def calico_pods_on(self, node: str) -> list[StoredObject]:
        """The calico-node pods bound to `node`."""
        ns = self.scenario.calico_namespace
        found = []
        for pod in self.store.objects(PODS, ns):
            doc = pod.doc()
            if (doc.get("spec") or {}).get("nodeName") == node and self._is_ds_pod(doc):
                found.append(pod)
        return found

    def recreate_calico_pod(self, node: str) -> None:
        """The DaemonSet controller's pass for one node: a pod if it has none."""
        self._recreate(node)

    @property
    def nodes(self) -> int:
        return len(self.builder.workers)

    def _on_change(self, event: str, obj: StoredObject) -> None:
        if obj.rtype is PODS:
            doc = obj.doc()
            self.builder.pod_event(event, doc)
            if event == "DELETED" and self._is_ds_pod(doc):
                self._schedule_recreate(str((doc.get("spec") or {}).get("nodeName", "")))
            self.builder.refresh_derived()
        elif obj.rtype is NODES and event == "MODIFIED":
            self._sync_unschedulable_taint(obj)
        elif obj.rtype is DAEMONSETS and event == "DELETED":
            self.builder.pinned.add((DAEMONSETS.key, obj.namespace, obj.name))
        elif (
            obj.rtype in (SECRETS, ROLES, ROLE_BINDINGS)
            and event == "ADDED"
            and obj.namespace == "calico-system"
        ):
            self._bgp_password_readable()

    def _bgp_password_readable(self) -> None:
        """confd in calico-system can read the BGP password again (the runbook's fix, S6): BGP peers
        establish and the calico-node pods that only failed BGP turn Ready."""
        have = (
            self.store.find(SECRETS, "calico-system", BGP_SECRET) is not None
            and self.store.find(ROLES, "calico-system", BGP_RBAC) is not None
            and self.store.find(ROLE_BINDINGS, "calico-system", BGP_RBAC) is not None
        )
        if not have:
            return
        stamp = rfc3339(self._clock())
        for pod in list(self.store.iter_all()):
            if pod.rtype is not PODS or pod.namespace != "calico-system":
                continue
            doc = pod.doc()
            if (doc.get("metadata") or {}).get("labels", {}).get("k8s-app") != "calico-node":
                continue
            status = doc.get("status") or {}
            main = [c for c in status.get("containerStatuses") or [] if c.get("name") == "calico-node"]
            if not main or main[0].get("ready") or "running" not in (main[0].get("state") or {}):
                continue
            main[0]["ready"] = True
            for cond in status.get("conditions") or []:
                if cond.get("type") in ("Ready", "ContainersReady") and cond.get("status") != "True":
                    cond.update(status="True", lastTransitionTime=stamp)
            self.store.put(doc, rtype=PODS)
        self.builder.refresh_derived()

    def _is_ds_pod(self, doc: Json) -> bool:
        meta = doc.get("metadata") or {}
        owners = meta.get("ownerReferences") or []
        return (
            meta.get("namespace") == self.scenario.calico_namespace
            and (meta.get("labels") or {}).get("k8s-app") == "calico-node"
            and any(o.get("kind") == "DaemonSet" and o.get("name") == "calico-node" for o in owners)
        )

    def _schedule_recreate(self, node: str) -> None:
        if self.pod_recreate_delay_s is None or not node:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._timers = [t for t in self._timers if not t.cancelled()]
        self._timers.append(loop.call_later(self.pod_recreate_delay_s, self._recreate, node))

    def _recreate(self, node: str) -> None:
        """The DaemonSet controller: a new calico-node pod for `node` (if its DaemonSet still exists)."""
        ns = self.scenario.calico_namespace
        if self.store.find(DAEMONSETS, ns, "calico-node") is None or self.store.find(NODES, "", node) is None:
            return
        if self.calico_pods_on(node):  # one pod per node (e.g. an IKS reboot already made one)
            return
        doc = self.builder.fresh_calico_pod(node)
        if doc is None:
            return
        if self._kubelet_down(node):
            doc["status"] = {
                "phase": "Pending",
                "qosClass": doc["status"].get("qosClass", "BestEffort"),
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "True",
                        "lastProbeTime": None,
                        "lastTransitionTime": rfc3339(self._clock()),
                    }
                ],
            }
        elif not self.builder.recreates_broken(node):
            self._heal_node(node)
        self.store.put(doc, rtype=PODS)
        self.builder.pod_event("ADDED", doc)
        self.builder.refresh_derived()

    def _heal_node(self, node: str) -> None:
        """Calico starts on the worker: NetworkUnavailable False/CalicoIsUp, kubelet network ready again."""
        obj = self.store.find(NODES, "", node)
        if obj is None:
            return
        doc = obj.doc()
        stamp = rfc3339(self._clock())
        changed = False
        for cond in (doc.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "NetworkUnavailable" and cond.get("status") != "False":
                cond.update(
                    status="False",
                    reason="CalicoIsUp",
                    message="Calico is running on this node",
                    lastHeartbeatTime=stamp,
                    lastTransitionTime=stamp,
                )
                changed = True
            if (
                cond.get("type") == "Ready"
                and cond.get("status") == "False"
                and "NetworkReady=false" in str(cond.get("message", ""))
            ):
                cond.update(
                    status="True",
                    reason="KubeletReady",
                    message="kubelet is posting ready status",
                    lastHeartbeatTime=stamp,
                    lastTransitionTime=stamp,
                )
                changed = True
        taints = (doc.get("spec") or {}).get("taints")
        if taints:
            kept = [
                t
                for t in taints
                if t.get("key")
                not in ("node.kubernetes.io/not-ready", "node.kubernetes.io/network-unavailable")
            ]
            if kept != taints:
                doc["spec"]["taints"] = kept
                changed = True
        if changed:
            self.store.put(doc, rtype=NODES)
