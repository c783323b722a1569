"""A fake IBM Cloud IAM token endpoint and IKS API, over real HTTP on 127.0.0.1:<random>.

One aiohttp app serves
  POST /identity/token                                 (IAM: API key -> bearer token)
  GET  /global/v2/getWorkers?cluster=&showDeleted=
  GET  /global/v2/getWorker?cluster=&worker=
  PUT  /global/v1/clusters/{cluster}/workers/{worker}  {"action": "os_reboot"|"reload", "force": false}
  POST /global/v2/replaceWorker  |  /global/v2/vpc/replaceWorker  {"cluster", "workerID", "update"}
  PUT  /global/v1/clusters/{cluster}/masters           {"action": "refresh"}

Workers come from the constructor (`{cluster: [FakeWorker, ...]}`); their lifecycle moves with the
fake's clock (inject a `ManualClock` to step it): a reboot puts the worker in `reloading` with its
node NotReady for `reboot_seconds`, then `deployed`/`normal`; a reload likewise for
`reload_seconds`; a replace puts the old worker in `deleting` (gone after `replace_seconds`) and adds
a new worker (new ID, new IP) that is `provisioning`, then `deploying`, then `deployed`. Whether the
node is Ready after an action is per worker (`FakeWorker.fixed_by`), so a scenario can say "a reboot
does not help, a reload does". An action on a worker whose operation is still running gets a 409.

Every request is recorded in `calls` (method, path, query, body, Authorization and Accept headers);
`token_exchanges` counts IAM exchanges. `fail(route, status, …)` scripts IKS-style error answers
(`{"incidentID", "code", "description", "type"}`) and `hang(route)` makes a route never answer.

The error codes and descriptions here are made up for the fake (shaped like IKS's), not IBM's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

from aiohttp import web

ROUTES = ("token", "getWorkers", "getWorker", "workerAction", "replaceWorker", "vpcReplaceWorker", "masters")
APIKEY_GRANT_TYPE = "urn:ibm:params:oauth:grant-type:apikey"


class ManualClock:
    """A clock that moves only when told: `clock.advance(30)`."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeWorker:
    id: str
    provider: str = "classic"  # "classic" or "vpc"
    pool: str = "default"
    zone: str = "dal10"
    private_ip: str = "10.0.0.1"
    flavor: str = ""
    kube_version: str = "1.30.4_1540"
    state: str = "deployed"
    health_state: str = "normal"
    health_message: str = "Ready"
    node_ready: bool = True
    fixed_by: frozenset[str] = frozenset({"reboot", "reload", "replace"})
    # the running operation ("reboot", "reload", "delete", "provision") and its end on the fake's clock
    operation: str = ""
    started: float = 0.0
    until: float = 0.0
    deleted: bool = False

    def __post_init__(self) -> None:
        if not self.flavor:
            self.flavor = "bx2.4x16" if self.provider == "vpc" else "b3c.4x16"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str = ""
    accept: str = ""
    content_type: str = ""


@dataclass
class _Scripted:
    status: int
    code: str
    description: str
    type: str
    times: int


class FakeIks:
    def __init__(
        self,
        workers: Mapping[str, Sequence[FakeWorker]],
        *,
        api_key: str = "fake-api-key-0123456789",
        token_expires_in: int = 3600,
        reboot_seconds: float = 60.0,
        reload_seconds: float = 300.0,
        replace_seconds: float = 600.0,
        master_refresh_seconds: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.workers: dict[str, list[FakeWorker]] = {c: [replace(w) for w in ws] for c, ws in workers.items()}
        self.api_key = api_key
        self.token_expires_in = token_expires_in
        self.reboot_seconds = reboot_seconds
        self.reload_seconds = reload_seconds
        self.replace_seconds = replace_seconds
        self.master_refresh_seconds = master_refresh_seconds
        self.clock = clock
        self.token_delay = 0.0  # seconds the IAM endpoint waits before answering
        self.calls: list[Call] = []
        self.token_exchanges = 0
        self.issued_tokens: list[str] = []
        self.replacements: dict[tuple[str, str], str] = {}  # (cluster, old worker) -> new worker
        self.master_refreshed_until: dict[str, float] = {}
        self._tokens: dict[str, float] = {}  # token -> expiry on the fake's clock
        self._scripted: dict[str, list[_Scripted]] = {}
        self._hanging: set[str] = set()
        self._release = asyncio.Event()
        self._incidents = 0
        self._new_ids = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # --- lifecycle of the fake itself --------------------------------------------------------

    @property
    def iam_url(self) -> str:
        return f"{self.base_url}/identity/token"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/global"

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/identity/token", self._token)
        app.router.add_get("/global/v2/getWorkers", self._get_workers)
        app.router.add_get("/global/v2/getWorker", self._get_worker)
        app.router.add_put("/global/v1/clusters/{cluster}/workers/{worker}", self._worker_action)
        app.router.add_post("/global/v2/replaceWorker", self._replace_classic)
        app.router.add_post("/global/v2/vpc/replaceWorker", self._replace_vpc)
        app.router.add_put("/global/v1/clusters/{cluster}/masters", self._masters)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeIks:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- scripting and inspection ------------------------------------------------------------

    def fail(
        self,
        route: str,
        status: int,
        description: str = "Something went wrong.",
        *,
        code: str = "E0000",
        kind: str = "General",
        times: int = 1,
    ) -> None:
        """The next `times` requests to `route` (one of ROUTES) answer `status` with an IKS-style body
        (`kind` goes into its `type` field)."""
        assert route in ROUTES, route
        self._scripted.setdefault(route, []).append(_Scripted(status, code, description, kind, times))

    def hang(self, route: str) -> None:
        """Requests to `route` never answer (until the fake stops)."""
        assert route in ROUTES, route
        self._hanging.add(route)

    def revoke_tokens(self) -> None:
        self._tokens.clear()

    def worker(self, cluster: str, worker_id: str) -> FakeWorker:
        found = self._find(cluster, worker_id, include_deleted=True)
        assert found is not None, f"no worker {worker_id} in {cluster}"
        self._settle(cluster, found)
        return found

    def node_ready(self, cluster: str, worker_id: str) -> bool:
        """Whether the worker's Kubernetes node is Ready now (False while an action runs)."""
        worker = self.worker(cluster, worker_id)
        return worker.node_ready and not worker.deleted

    def calls_to(self, path_suffix: str) -> list[Call]:
        return [c for c in self.calls if c.path.endswith(path_suffix)]

    # --- the worker lifecycle ----------------------------------------------------------------

    def _find(self, cluster: str, worker_id: str, *, include_deleted: bool = False) -> FakeWorker | None:
        for worker in self.workers.get(cluster, []):
            if worker.id == worker_id and (include_deleted or not worker.deleted):
                return worker
        return None

    def _settle(self, cluster: str, worker: FakeWorker) -> None:
        """Move `worker` along its running operation to where the clock says it is."""
        if not worker.operation:
            return
        now = self.clock()
        op = worker.operation
        if now >= worker.until:
            worker.operation = ""
            if op == "delete":
                worker.deleted = True
                worker.state = "deleted"
                worker.node_ready = False
                return
            worker.state = "deployed"
            worker.node_ready = op == "provision" or op in worker.fixed_by
            if worker.node_ready:
                worker.health_state, worker.health_message = "normal", "Ready"
            else:
                worker.health_state, worker.health_message = "critical", "Not Ready"
            return
        worker.node_ready = False
        if op in ("reboot", "reload"):
            worker.state = "reloading"
            worker.health_state = "warning"
            worker.health_message = "Rebooting" if op == "reboot" else "Reloading"
        elif op == "delete":
            worker.state = "deleting"
            worker.health_state, worker.health_message = "warning", "Deleting"
        elif op == "provision":
            halfway = worker.started + (worker.until - worker.started) / 2
            worker.state = "provisioning" if now < halfway else "deploying"
            worker.health_state, worker.health_message = "pending", "Provisioning"

    def _start(self, worker: FakeWorker, operation: str, seconds: float) -> None:
        worker.operation = operation
        worker.started = self.clock()
        worker.until = worker.started + seconds

    def _settle_all(self, cluster: str) -> None:
        for worker in self.workers.get(cluster, []):
            self._settle(cluster, worker)

    def _worker_json(self, worker: FakeWorker) -> dict[str, Any]:
        pending = {"reboot": "os_reboot", "reload": "reload", "delete": "delete", "provision": ""}
        data: dict[str, Any] = {
            "id": worker.id,
            "flavor": worker.flavor,
            "location": worker.zone,
            "poolID": f"{worker.pool}-pool-id",
            "poolName": worker.pool,
            "lifecycle": {
                "desiredState": "deleted" if worker.operation == "delete" else "deployed",
                "actualState": worker.state,
                "message": worker.health_message,
                "messageDetails": "",
                "pendingOperation": pending.get(worker.operation, ""),
                "reasonForDelete": "replace" if worker.operation == "delete" else "",
            },
            "health": {"state": worker.health_state, "message": worker.health_message},
            "kubeVersion": {"actual": worker.kube_version, "desired": "", "target": worker.kube_version},
        }
        if worker.provider == "vpc":
            data["networkInterfaces"] = [
                {
                    "subnetID": f"{worker.zone}-subnet",
                    "ipAddress": worker.private_ip,
                    "cidr": "10.240.0.0/24",
                    "primary": True,
                }
            ]
        else:
            data["networkInformation"] = {
                "privateIP": worker.private_ip,
                "publicIP": "",
                "privateVLAN": "2900001",
                "publicVLAN": "",
            }
        return data

    # --- request plumbing --------------------------------------------------------------------

    async def _record(self, request: web.Request) -> Any:
        body: Any = None
        content_type = request.content_type if request.can_read_body else ""
        if request.can_read_body:
            if request.content_type == "application/x-www-form-urlencoded":
                body = dict(await request.post())
            else:
                try:
                    body = await request.json()
                except ValueError:
                    body = await request.text()
        self.calls.append(
            Call(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                body=body,
                authorization=request.headers.get("Authorization", ""),
                accept=request.headers.get("Accept", ""),
                content_type=content_type,
            )
        )
        return body

    def _iks_error(self, status: int, code: str, description: str, kind: str = "General") -> web.Response:
        self._incidents += 1
        return web.json_response(
            {
                "incidentID": f"fake-incident-{self._incidents}",
                "code": code,
                "description": description,
                "type": kind,
            },
            status=status,
        )

    async def _gate(self, route: str, request: web.Request, *, auth: bool = True) -> web.Response | None:
        """Hang, check the bearer token, or answer a scripted error; None lets the route answer."""
        if route in self._hanging:
            await self._release.wait()
            return web.Response(status=503)
        if auth:
            header = request.headers.get("Authorization", "")
            token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
            expiry = self._tokens.get(token)
            if expiry is None or self.clock() >= expiry:
                return self._iks_error(
                    401,
                    "E0401",
                    "The IAM token in the request is not valid or has expired.",
                    "Authentication",
                )
        queue = self._scripted.get(route)
        if queue:
            scripted = queue[0]
            scripted.times -= 1
            if scripted.times <= 0:
                queue.pop(0)
            return self._iks_error(scripted.status, scripted.code, scripted.description, scripted.type)
        return None

    def _cluster_or_404(self, cluster: str) -> web.Response | None:
        if cluster not in self.workers:
            return self._iks_error(404, "E0404C", f"The specified cluster '{cluster}' could not be found.")
        return None

    def _worker_or_404(self, cluster: str, worker_id: str) -> FakeWorker | web.Response:
        missing = self._cluster_or_404(cluster)
        if missing is not None:
            return missing
        worker = self._find(cluster, worker_id)
        if worker is None:
            return self._iks_error(
                404, "E0404W", f"The specified worker node '{worker_id}' could not be found."
            )
        self._settle(cluster, worker)
        if worker.deleted:
            return self._iks_error(
                404, "E0404W", f"The specified worker node '{worker_id}' could not be found."
            )
        return worker

    def _busy_or_none(self, worker: FakeWorker) -> web.Response | None:
        if worker.operation:
            return self._iks_error(
                409,
                "E0409",
                f"The worker node '{worker.id}' has a pending operation ({worker.state}). Wait for it to complete.",
            )
        return None

    # --- handlers ----------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.StreamResponse:
        form = await self._record(request)
        gate = await self._gate("token", request, auth=False)
        if gate is not None:
            return gate
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        form = form if isinstance(form, dict) else {}
        if form.get("grant_type") != APIKEY_GRANT_TYPE:
            return web.json_response(
                {"errorCode": "BXNIM0109E", "errorMessage": "Property missing or empty: grant_type"},
                status=400,
            )
        if form.get("apikey") != self.api_key:
            return web.json_response(
                {"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found."},
                status=400,
            )
        self.token_exchanges += 1
        token = f"fake-iam-token-{self.token_exchanges}"
        self.issued_tokens.append(token)
        self._tokens[token] = self.clock() + self.token_expires_in
        return web.json_response(
            {
                "access_token": token,
                "refresh_token": "not-supported",
                "token_type": "Bearer",
                "expires_in": self.token_expires_in,
                "expiration": int(time.time()) + self.token_expires_in,
                "scope": "ibm openid",
            }
        )

    async def _get_workers(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        gate = await self._gate("getWorkers", request)
        if gate is not None:
            return gate
        cluster = request.query.get("cluster", "")
        missing = self._cluster_or_404(cluster)
        if missing is not None:
            return missing
        self._settle_all(cluster)
        show_deleted = request.query.get("showDeleted", "false") == "true"
        return web.json_response(
            [self._worker_json(w) for w in self.workers[cluster] if show_deleted or not w.deleted]
        )

    async def _get_worker(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        gate = await self._gate("getWorker", request)
        if gate is not None:
            return gate
        found = self._worker_or_404(request.query.get("cluster", ""), request.query.get("worker", ""))
        if isinstance(found, web.Response):
            return found
        return web.json_response(self._worker_json(found))

    async def _worker_action(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request)
        gate = await self._gate("workerAction", request)
        if gate is not None:
            return gate
        cluster = request.match_info["cluster"]
        found = self._worker_or_404(cluster, request.match_info["worker"])
        if isinstance(found, web.Response):
            return found
        action = body.get("action") if isinstance(body, dict) else None
        if action not in ("os_reboot", "reload"):
            return self._iks_error(400, "E0400", f"The action '{action}' is not supported by this fake.")
        busy = self._busy_or_none(found)
        if busy is not None:
            return busy
        if action == "reload" and found.provider == "vpc":
            return self._iks_error(
                400, "E0400V", "Reload is not supported for VPC worker nodes. Replace the worker."
            )
        if action == "os_reboot":
            self._start(found, "reboot", self.reboot_seconds)
        else:
            self._start(found, "reload", self.reload_seconds)
        self._settle(cluster, found)
        return web.Response(status=204)

    async def _replace_classic(self, request: web.Request) -> web.StreamResponse:
        return await self._replace(request, "replaceWorker", "classic")

    async def _replace_vpc(self, request: web.Request) -> web.StreamResponse:
        return await self._replace(request, "vpcReplaceWorker", "vpc")

    async def _replace(self, request: web.Request, route: str, provider: str) -> web.StreamResponse:
        body = await self._record(request)
        gate = await self._gate(route, request)
        if gate is not None:
            return gate
        body = body if isinstance(body, dict) else {}
        cluster, worker_id = str(body.get("cluster", "")), str(body.get("workerID", ""))
        found = self._worker_or_404(cluster, worker_id)
        if isinstance(found, web.Response):
            return found
        if found.provider != provider:
            return self._iks_error(
                400,
                "E0400P",
                f"Worker '{worker_id}' is a {found.provider} worker; use the {found.provider} API.",
            )
        busy = self._busy_or_none(found)
        if busy is not None:
            return busy
        self._new_ids += 1
        new_id = f"{worker_id.rsplit('-', 1)[0]}-r{self._new_ids:07d}"
        octets = found.private_ip.split(".")
        new_ip = ".".join([*octets[:3], str((int(octets[3]) + 100 + self._new_ids) % 250 + 1)])
        new = FakeWorker(
            id=new_id,
            provider=found.provider,
            pool=found.pool,
            zone=found.zone,
            private_ip=new_ip,
            flavor=found.flavor,
            kube_version=found.kube_version,
            node_ready=False,
        )
        self._start(new, "provision", self.replace_seconds)
        self._start(found, "delete", self.replace_seconds)
        self.workers[cluster].append(new)
        self.replacements[(cluster, worker_id)] = new_id
        self._settle(cluster, found)
        self._settle(cluster, new)
        return web.json_response({})

    async def _masters(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request)
        gate = await self._gate("masters", request)
        if gate is not None:
            return gate
        cluster = request.match_info["cluster"]
        missing = self._cluster_or_404(cluster)
        if missing is not None:
            return missing
        if not isinstance(body, dict) or body.get("action") != "refresh":
            return self._iks_error(400, "E0400", "The master action is not supported by this fake.")
        if self.clock() < self.master_refreshed_until.get(cluster, float("-inf")):
            return self._iks_error(
                409, "E0409M", "A master operation is already in progress for this cluster."
            )
        self.master_refreshed_until[cluster] = self.clock() + self.master_refresh_seconds
        return web.Response(status=204)


def default_workers() -> dict[str, list[FakeWorker]]:
    """Two clusters: classic `c1` (w1..w3) and VPC `v1` (w1..w2)."""
    return {
        "c1": [
            FakeWorker(id=f"kube-c1abc-classic-default-0000000{i}", private_ip=f"10.0.0.{i}")
            for i in (1, 2, 3)
        ],
        "v1": [
            FakeWorker(id=f"kube-v1xyz-vpc-default-0000000{i}", provider="vpc", private_ip=f"10.240.0.{i}")
            for i in (1, 2)
        ],
    }


__all__ = ["ROUTES", "Call", "FakeIks", "FakeWorker", "ManualClock", "default_workers"]
