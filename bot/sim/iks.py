"""The IBM Cloud side of the simulator: the IAM token endpoint and the IKS worker/master API.

`SimCluster` mounts these routes on its own aiohttp app (same port): `sim.iam_url` is the IAM
token URL (`IAM_URL`), `sim.iks_url` the IKS API base (`IKS_API_URL`). Shapes follow reference
`calico-iks.md` §6.1–6.3 and what `bot.iks.parse_worker` reads.

Routes (their keys in the request log and for faults in brackets):

- `POST /identity/token` [`POST /identity/token`]: form `grant_type=urn:ibm:params:oauth:grant-type:apikey`
  and `apikey=…`. Any key except the literal `invalid` gets a `sim-iam-<random>` bearer token
  (`expires_in` 3600); `invalid` → 400 `BXNIM0415E`.
- Every IKS route needs `Authorization: Bearer <a token issued above>` (else 401); the Kubernetes
  token does not work here, nor an IAM token on the Kubernetes routes.
- `GET /v2/getWorkers?cluster=…` and `GET /v2/getWorker?cluster=…&worker=…` (also under
  `/v2/vpc/` and `/v2/classic/`): one worker per simulated Node, v2 shape. `health` follows the
  Node's Ready condition (True → normal/Ready, else critical/NotReady); `lifecycle` shows a running
  operation. The cluster is the scenario's cluster name or its ID (6th segment of `providerID`);
  unknown → 404 `G0004`, unknown worker → 404 `E0011`.
- `PUT /v1/clusters/{cluster}/workers/{worker}` [same key] with `{"action": "os_reboot" | "reboot"
  | "reload", "force": false}` → 200 `{}`; 409 `E0021` while an operation is pending on the worker;
  `reload` of a VPC worker → 400 (VPC virtual workers are replaced, not reloaded).
- `POST /v2/replaceWorker` and `POST /v2/vpc/replaceWorker` (`{"cluster", "workerID", "update"}`)
  → 200 `{}`. **Simplification**: a real replace gives a new worker with a new ID, IP and node
  name; here the worker keeps its ID and its Node keeps its name and IP.
- `PUT /v1/clusters/{cluster}/masters` `{"action": "refresh"}` → 200 `{}`; after `iks_seconds` a
  deleted calico-node DaemonSet is recreated (same uid as generated) with a pod on every worker
  that has none, as the redeploy of a master refresh would. 409 while a refresh is pending.

Worker operations: at once `lifecycle.pendingOperation` is `reboot`/`reload`/`replace` and
`actualState` `reloading` (a reboot stays `deployed`), and the Node goes NotReady as when its kubelet
stops (Ready/MemoryPressure/DiskPressure/PIDPressure `Unknown`, `NodeStatusUnknown`, "Kubelet stopped
posting node status.", `node.kubernetes.io/unreachable` NoSchedule + NoExecute taints; pod logs on
it fail). After `SimCluster(iks_seconds=…)` the operation ends: a new boot ID, the Lease renewed,
and the worker's calico-node pod replaced by a fresh one started now. When the scenario's
`fixed_by` for that worker names the action (default: all three; healthy workers are always
"fixed"), the Node is Ready with healthy conditions and taints removed and the pod is healthy;
otherwise the Node's conditions/taints are restored as they were before the operation and the pod
is broken exactly as before (the scenario's `calico_node` overrides and `logs`).

Faults (`sim.set_faults`) apply with the keys above: `status` answers an IKS-shaped error
(`{"incidentID","code","description","type"}`; IAM: `{"errorCode","errorMessage"}`), `delay_ms` and
`truncate` work as on the Kubernetes routes, `gone_on_page` is ignored. The 401/400 codes other
than those named above (`BXNIM0415E`, `G0004`, `E0011`, `E0021`) are invented.
"""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.sim.generate import DAEMONSETS, LEASES, NODES, PODS
from bot.sim.scenario import Json
from bot.sim.store import rfc3339

if TYPE_CHECKING:
    from bot.sim.server import SimCluster

APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
TOKEN_PREFIX = "sim-iam-"  # noqa: S105 - a prefix, not a secret
WORKER_ID_LABEL = "ibm-cloud.kubernetes.io/worker-id"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
_ACTIONS = {"os_reboot": "reboot", "reboot": "reboot", "reload": "reload"}
_KUBELET_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
_HEALED_TAINTS = (UNREACHABLE_TAINT, "node.kubernetes.io/not-ready", "node.kubernetes.io/network-unavailable")
_PREFIXES = ("/v1/clusters", "/v2/")


class IksFailure(Exception):
    """An IKS (or IAM) error answer."""

    def __init__(self, status: int, body: Json) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body

    def response(self) -> web.Response:
        return _json(self.body, self.status)


def iks_error(status: int, code: str, description: str, kind: str = "General") -> IksFailure:
    return IksFailure(
        status, {"incidentID": str(uuid.uuid4()), "code": code, "description": description, "type": kind}
    )


def iam_error(status: int, code: str, message: str) -> IksFailure:
    return IksFailure(
        status,
        {
            "context": {"requestId": uuid.uuid4().hex, "requestType": "incoming.Identity_Token"},
            "errorCode": code,
            "errorMessage": message,
        },
    )


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        content_type="application/json",
        headers={"X-Request-Id": str(uuid.uuid4())},
    )


def _cluster_not_found() -> IksFailure:
    return iks_error(404, "G0004", "The specified cluster could not be found.")


def _worker_not_found() -> IksFailure:
    return iks_error(404, "E0011", "The specified worker node could not be found.")


@dataclass
class WorkerState:
    """A worker's IKS lifecycle beside its Node."""

    actual: str = "deployed"
    pending: str = ""  # "" | reboot | reload | replace
    message: str = ""
    saved_conditions: list[Json] | None = None
    saved_taints: list[Json] | None = None


class SimIks:
    """The IAM and IKS routes of one `SimCluster` (see the module docstring)."""

    def __init__(self, sim: SimCluster) -> None:
        self.sim = sim
        self.tokens: set[str] = set()
        self.states: dict[str, WorkerState] = {}  # by node name
        self.master_pending = False

    # --- routing ---------------------------------------------------------------------------

    @staticmethod
    def handles(path: str) -> bool:
        return path == "/identity/token" or path.startswith(_PREFIXES)

    @staticmethod
    def route_key(method: str, path: str) -> str:
        segs = [s for s in path.split("/") if s]
        if segs[:2] == ["v1", "clusters"] and len(segs) >= 3:
            rest = segs[3:]
            if rest[:1] == ["workers"] and len(rest) == 2:
                return f"{method} /v1/clusters/{{cluster}}/workers/{{worker}}"
            tail = "/" + "/".join(rest) if rest else ""
            return f"{method} /v1/clusters/{{cluster}}{tail}"
        return f"{method} /" + "/".join(segs)

    async def entry(self, request: web.Request) -> web.StreamResponse:
        sim = self.sim
        key = self.route_key(request.method, request.path)
        iam = request.path == "/identity/token"
        if sim.latency_ms:
            await asyncio.sleep(sim.latency_ms / 1000)
        if not iam and not self._authorized(request):
            failure = iks_error(401, "E0003", "Unauthorized: the IAM token is missing, invalid or expired.")
            return sim.record(key, failure.response())
        faults = sim.fire_faults(key, request)
        for fault in faults:
            if fault.delay_ms:
                await asyncio.sleep(fault.delay_ms / 1000)
        for fault in faults:
            if fault.status is not None:
                status = fault.status
                message = fault.message or f"the simulator answered {status} as told"
                failure = (
                    iam_error(status, fault.reason or "BXNIM0000E", message)
                    if iam
                    else iks_error(status, fault.reason or f"SIM{status}", message)
                )
                return sim.record(key, failure.response())
        try:
            response = await self._dispatch(key, request)
        except IksFailure as failure:
            response = failure.response()
        truncate = next((f.truncate for f in faults if f.truncate), "")
        if truncate and response.body is not None:
            return await sim.truncated(key, request, response, truncate)
        return sim.record(key, response)

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and token.startswith(TOKEN_PREFIX) and token in self.tokens

    async def _dispatch(self, key: str, request: web.Request) -> web.Response:
        query = request.query
        if key == "POST /identity/token":
            return await self._token(request)
        if key in ("GET /v2/getWorkers", "GET /v2/vpc/getWorkers", "GET /v2/classic/getWorkers"):
            self._cluster(query.get("cluster", ""))
            return _json([self._worker_json(name) for name in self._worker_names()])
        if key in ("GET /v2/getWorker", "GET /v2/vpc/getWorker", "GET /v2/classic/getWorker"):
            self._cluster(query.get("cluster", ""))
            return _json(self._worker_json(self._worker(query.get("worker", ""))))
        if key == "PUT /v1/clusters/{cluster}/workers/{worker}":
            segs = [s for s in request.path.split("/") if s]
            self._cluster(segs[2])
            name = self._worker(segs[4])
            body = await self._body(request)
            action = str(body.get("action", ""))
            op = _ACTIONS.get(action)
            if op is None:
                raise iks_error(
                    400,
                    "E0012",
                    f"The action {action!r} is not supported; use os_reboot, reboot or reload.",
                    "BadRequest",
                )
            if op == "reload" and self.sim.scenario.cluster.is_vpc:
                raise iks_error(
                    400,
                    "E0182",
                    "The reload action is not supported for VPC virtual worker nodes. Replace the worker "
                    "node instead.",
                    "BadRequest",
                )
            self._start(name, op)
            return _json({})
        if key in ("POST /v2/replaceWorker", "POST /v2/vpc/replaceWorker"):
            body = await self._body(request)
            self._cluster(str(body.get("cluster", "")))
            if key == "POST /v2/vpc/replaceWorker" and not self.sim.scenario.cluster.is_vpc:
                raise iks_error(400, "E0036", "The cluster is not a VPC cluster.", "BadRequest")
            self._start(self._worker(str(body.get("workerID", ""))), "replace")
            return _json({})
        if key == "PUT /v1/clusters/{cluster}/masters":
            segs = [s for s in request.path.split("/") if s]
            self._cluster(segs[2])
            body = await self._body(request)
            if body.get("action") != "refresh":
                raise iks_error(400, "E0012", "The only supported master action is refresh.", "BadRequest")
            if self.master_pending:
                raise iks_error(409, "E0021", "A master operation is already in progress on the cluster.")
            self.master_pending = True
            self.sim.call_later(self.sim.iks_seconds, self._master_refreshed)
            return _json({})
        raise iks_error(
            404, "E0001", f"The requested resource {request.method} {request.path} was not found."
        )

    @staticmethod
    async def _body(request: web.Request) -> Json:
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            raise iks_error(400, "E0002", "The request body is not valid JSON.", "BadRequest") from None
        if not isinstance(body, dict):
            raise iks_error(400, "E0002", "The request body must be a JSON object.", "BadRequest")
        return body

    # --- IAM -------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant, apikey = str(form.get("grant_type", "")), str(form.get("apikey", ""))
        if grant != APIKEY_GRANT:
            raise iam_error(400, "BXNIM0103E", f"Unsupported grant_type {grant!r}")
        if not apikey or apikey == "invalid":
            raise iam_error(400, "BXNIM0415E", "Provided API key could not be found")
        token = TOKEN_PREFIX + secrets.token_urlsafe(24)
        self.tokens.add(token)
        return _json(
            {
                "access_token": token,
                "refresh_token": "sim-refresh-" + secrets.token_urlsafe(16),
                "ims_user_id": 0,
                "token_type": "Bearer",
                "expires_in": 3600,
                "expiration": int(time.time()) + 3600,
                "scope": "ibm openid",
            }
        )

    # --- workers ---------------------------------------------------------------------------

    def _cluster(self, wanted: str) -> None:
        facts = self.sim.builder.facts
        if not wanted or wanted not in (facts.cluster, facts.cluster_id):
            raise _cluster_not_found()

    def _worker_names(self) -> list[str]:
        store = self.sim.store
        return [w.name for w in self.sim.builder.workers if store.find(NODES, "", w.name) is not None]

    def _worker_id(self, name: str) -> str:
        obj = self.sim.store.find(NODES, "", name)
        labels = ((obj.doc().get("metadata") or {}).get("labels") or {}) if obj is not None else {}
        return str(labels.get(WORKER_ID_LABEL) or self.sim.builder.by_node[name].worker_id)

    def _worker(self, worker_id: str) -> str:
        for name in self._worker_names():
            if self._worker_id(name) == worker_id:
                return name
        raise _worker_not_found()

    def _worker_json(self, name: str) -> Json:
        sim = self.sim
        facts = sim.builder.facts
        w = sim.builder.by_node[name]
        obj = sim.store.find(NODES, "", name)
        doc = obj.doc() if obj is not None else {}
        labels = (doc.get("metadata") or {}).get("labels") or {}
        ready: Json = next(
            (c for c in (doc.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), {}
        )
        healthy = ready.get("status") == "True"
        state = self.states.get(name) or WorkerState()
        version = str(labels.get("ibm-cloud.kubernetes.io/worker-version") or facts.worker_version)
        out: Json = {
            "id": self._worker_id(name),
            "provider": "vpc-gen2" if facts.vpc else "classic",
            "flavor": str(labels.get("ibm-cloud.kubernetes.io/machine-type") or facts.machine_type),
            "location": w.zone,
            "poolID": w.pool_id,
            "poolName": w.pool,
            "kubeVersion": {"actual": version, "desired": "", "target": version},
            "health": {
                "state": "normal" if healthy else "critical",
                "message": "Ready" if healthy else "NotReady",
            },
            "lifecycle": {
                "desiredState": "deployed",
                "actualState": state.actual,
                "message": state.message,
                "messageDetails": "",
                "pendingOperation": state.pending,
                "reasonForDelete": "",
                "actualOperatingSystem": str(labels.get("ibm-cloud.kubernetes.io/os") or "UBUNTU_24_64"),
            },
            "isolation": "public" if not facts.vpc else "",
        }
        if facts.vpc:
            out["networkInterfaces"] = [
                {
                    "cidr": f"{'.'.join(name.split('.')[:3])}.0/24",
                    "ipAddress": name,
                    "primary": True,
                    "subnetID": str(
                        labels.get("ibm-cloud.kubernetes.io/subnet-id") or w.values.get("subnet_id", "")
                    ),
                }
            ]
        else:
            out["networkInformation"] = {
                "privateIP": name,
                "privateVLAN": str(labels.get("privateVLAN") or w.values.get("private_vlan", "")),
                "publicIP": w.values.get("public_ip", ""),
                "publicVLAN": str(labels.get("publicVLAN") or w.values.get("public_vlan", "")),
            }
        return out

    # --- operations ------------------------------------------------------------------------

    def _start(self, name: str, op: str) -> None:
        state = self.states.setdefault(name, WorkerState())
        if state.pending:
            raise iks_error(
                409,
                "E0021",
                f"An action is already in progress on the worker node ({state.pending}). Wait for it to "
                "complete, then try again.",
            )
        state.pending = op
        state.actual = "deployed" if op == "reboot" else "reloading"
        state.message = {
            "reboot": "Rebooting the worker node.",
            "reload": "Reloading the worker node.",
            "replace": "Replacing the worker node.",
        }[op]
        self._node_down(name, state)
        self.sim.call_later(self.sim.iks_seconds, self._finish, name, op)

    def _node_down(self, name: str, state: WorkerState) -> None:
        obj = self.sim.store.find(NODES, "", name)
        if obj is None:
            return
        doc = obj.doc()
        stamp = rfc3339(self.sim.now_time())
        status = doc.setdefault("status", {})
        spec = doc.setdefault("spec", {})
        conditions: list[Json] = status.get("conditions") or []
        state.saved_conditions = copy.deepcopy(conditions)
        state.saved_taints = copy.deepcopy(spec.get("taints") or [])
        for cond in conditions:
            if cond.get("type") in _KUBELET_CONDITIONS and cond.get("status") != "Unknown":
                cond.update(
                    status="Unknown",
                    reason="NodeStatusUnknown",
                    message="Kubelet stopped posting node status.",
                    lastTransitionTime=stamp,
                )
        taints: list[Json] = [t for t in spec.get("taints") or [] if t.get("key") != UNREACHABLE_TAINT]
        taints.append({"key": UNREACHABLE_TAINT, "effect": "NoSchedule", "timeAdded": stamp})
        taints.append({"key": UNREACHABLE_TAINT, "effect": "NoExecute", "timeAdded": stamp})
        spec["taints"] = taints
        self.sim.store.put(doc, rtype=NODES)

    def _finish(self, name: str, op: str) -> None:
        sim = self.sim
        builder, store = sim.builder, sim.store
        state = self.states.setdefault(name, WorkerState())
        w = builder.by_node.get(name)
        if w is None:
            return
        fixed = w.broken is None or name in builder.fixed_nodes or op in w.broken.fixed_by
        if fixed and w.broken is not None:
            builder.fixed_nodes.add(name)
        stamp = sim.now_time()
        obj = store.find(NODES, "", name)
        if obj is not None:
            doc = obj.doc()
            status = doc.setdefault("status", {})
            spec = doc.setdefault("spec", {})
            if fixed:
                status["conditions"] = builder.healthy_node_conditions(name)
                taints = [t for t in spec.get("taints") or [] if t.get("key") not in _HEALED_TAINTS]
            else:
                status["conditions"] = copy.deepcopy(state.saved_conditions or status.get("conditions") or [])
                taints = [
                    t for t in state.saved_taints or [] if t.get("key") != "node.kubernetes.io/unschedulable"
                ]
                taints += [
                    t for t in spec.get("taints") or [] if t.get("key") == "node.kubernetes.io/unschedulable"
                ]
            if taints:
                spec["taints"] = taints
            else:
                spec.pop("taints", None)
            info = status.get("nodeInfo")
            if isinstance(info, dict):
                info["bootID"] = str(uuid.uuid4())
            store.put(doc, rtype=NODES)
        lease = store.find(LEASES, "kube-node-lease", name)
        if lease is not None:
            ldoc = lease.doc()
            ldoc.setdefault("spec", {})["renewTime"] = (
                stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond:06d}Z"
            )
            store.put(ldoc, rtype=LEASES)
        self._replace_pod(name, broken=not fixed)
        state.pending, state.actual, state.message = "", "deployed", ""
        state.saved_conditions = state.saved_taints = None

    def _replace_pod(self, name: str, *, broken: bool) -> None:
        sim = self.sim
        builder, store = sim.builder, sim.store
        ns = sim.scenario.calico_namespace
        for pod in sim.calico_pods_on(name):
            store.remove(PODS, ns, pod.name)
            store.next_rv()
            builder.pod_event("DELETED", pod.doc())
        if store.find(DAEMONSETS, ns, "calico-node") is None:
            builder.refresh_derived()
            return
        doc = builder.fresh_calico_pod(name, broken=broken)
        if doc is not None:
            store.put(doc, rtype=PODS)
            builder.pod_event("ADDED", doc)
            if broken:
                builder.copy_broken_logs(name)
        builder.refresh_derived()

    # --- master ----------------------------------------------------------------------------

    def _master_refreshed(self) -> None:
        sim = self.sim
        builder, store = sim.builder, sim.store
        self.master_pending = False
        ns = sim.scenario.calico_namespace
        if store.find(DAEMONSETS, ns, "calico-node") is not None or builder.daemonset_doc is None:
            return
        doc = copy.deepcopy(builder.daemonset_doc)
        meta = doc.setdefault("metadata", {})
        meta.pop("resourceVersion", None)
        meta["creationTimestamp"] = rfc3339(sim.now_time())
        doc["status"] = {}
        builder.pinned.discard((DAEMONSETS.key, ns, "calico-node"))
        store.put(doc, rtype=DAEMONSETS)
        for pod_name in list(builder.calico_pod_ready):
            if store.find(PODS, ns, pod_name) is None:
                builder.pod_event(
                    "DELETED",
                    {"metadata": {"name": pod_name, "namespace": ns, "labels": {"k8s-app": "calico-node"}}},
                )
        for name in self._worker_names():
            sim.recreate_calico_pod(name)
        builder.refresh_derived()
