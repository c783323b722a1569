"""The IBM Cloud Kubernetes Service (IKS) adapter: the only module that talks to the IKS API and to
IBM Cloud IAM (reference `calico-iks.md` §6, IAM roles §7.2).

* `IksSettings` — where the APIs are and the API key (`IKS_API_URL`, `IAM_URL`, `IBMCLOUD_API_KEY`).
* `IksClient` — one aiohttp session; exchanges the API key for an IAM bearer token
  (`grant_type=urn:ibm:params:oauth:grant-type:apikey`), caches it until 80 % of its `expires_in`,
  and calls the worker and master endpoints: list/get workers (v2), reboot/reload (v1 PUT),
  replace (v2, classic or VPC path), master refresh (v1 PUT). One 401 from IKS drops the cached
  token and retries once with a fresh one (a revoked or early-expired token); nothing else is
  retried: the actions change a worker, a person can try again.
* Every failure is an `IksError` whose text says what to do: which IAM role is missing (403), which
  cluster/worker IKS does not know (404), that an operation is already running (409), that IKS did
  not answer (5xx, timeout, connection). IKS's own `description` (or IAM's `errorMessage`) is
  appended, truncated.
* `worker_id_for(node)` and `guard_worker_action(...)` are pure helpers for the planner.

Secrets: the API key is sent in the IAM form body only and the token in the `Authorization` header
only. Neither is logged, and both are scrubbed from every `IksError` text (should IBM ever echo
them); exceptions from aiohttp are not chained (`from None`), so a traceback carries no request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from bot.observability import measure
from checks.objects import Node

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_IAM_URL",
    "IksClient",
    "IksConfigError",
    "IksError",
    "IksRefused",
    "IksSettings",
    "Worker",
    "guard_worker_action",
    "not_ready_share",
    "parse_worker",
    "worker_id_for",
]

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://containers.cloud.ibm.com/global"
DEFAULT_IAM_URL = "https://iam.cloud.ibm.com/identity/token"
APIKEY_GRANT_TYPE = "urn:ibm:params:oauth:grant-type:apikey"
TOKEN_REFRESH_SHARE = 0.8  # use a token for 80 % of its lifetime, then exchange the key again
DEFAULT_TOKEN_LIFETIME = 3600.0  # IAM's usual `expires_in`, when an answer lacks it

_DETAIL_MAX = 300  # characters of IBM's own error text kept in a message
_BODY_MAX = 32 * 1024 * 1024  # a getWorkers answer for thousands of workers stays well below this
_REDACTED = "[redacted]"
# Cluster names/IDs and worker IDs: letters, digits, '-', '_', '.'; nothing that could change a path.
_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")

# Worker lifecycle states (v2 `lifecycle.actualState`, v1 `state`) the guard rail looks for.
FAILED_STATES = frozenset({"deploy_failed", "provision_failed"})
BUSY_STATES = frozenset({"deploying", "provisioning", "provision_pending", "reloading"})


# =================================================================================================
# Settings and errors
# =================================================================================================


class IksConfigError(ValueError):
    """The IKS settings are unusable; `problems` has one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class IksError(Exception):
    """An IKS or IAM call failed. `status` is the HTTP status, or None when no HTTP answer came
    (timeout, connection) or the adapter itself refused. `code` / `incident_id` are IBM's, if sent."""

    def __init__(self, status: int | None, message: str, *, code: str = "", incident_id: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.incident_id = incident_id


class IksRefused(IksError):
    """The adapter refused an action before calling IKS (e.g. reload of a VPC virtual worker)."""

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


@dataclass(frozen=True, kw_only=True)
class IksSettings:
    api_key: str = field(repr=False)
    api_url: str = DEFAULT_API_URL
    iam_url: str = DEFAULT_IAM_URL
    timeout: float = 30

    def __post_init__(self) -> None:
        problems = _setting_problems(self.api_key, self.api_url, self.iam_url, self.timeout)
        if problems:
            raise IksConfigError(problems)
        object.__setattr__(self, "api_url", self.api_url.rstrip("/"))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> IksSettings:
        """`IBMCLOUD_API_KEY` (required), `IKS_API_URL`, `IAM_URL`; every problem at once."""
        api_key = env.get("IBMCLOUD_API_KEY", "").strip()
        api_url = env.get("IKS_API_URL", "").strip() or DEFAULT_API_URL
        iam_url = env.get("IAM_URL", "").strip() or DEFAULT_IAM_URL
        problems = _setting_problems(api_key, api_url, iam_url, 30)
        if problems:
            raise IksConfigError(problems)
        return cls(api_key=api_key, api_url=api_url, iam_url=iam_url)


def _setting_problems(api_key: str, api_url: str, iam_url: str, timeout: float) -> list[str]:
    problems = []
    if not api_key:
        problems.append(
            "IBMCLOUD_API_KEY is not set: worker and master actions (reboot-worker, reload-worker, "
            "replace-worker, refresh-master) need an IBM Cloud API key, best a Service ID key with the "
            "IAM Operator role on Kubernetes Service (containers-kubernetes) for the cluster"
        )
    elif any(c.isspace() for c in api_key):
        problems.append("IBMCLOUD_API_KEY contains whitespace: copy the key again")
    for name, url in (("IKS_API_URL", api_url), ("IAM_URL", iam_url)):
        if not re.match(r"^https?://[^/\s]+", url):
            problems.append(f"{name} {url!r} is not an http(s) URL")
    if not timeout > 0:
        problems.append(f"the IKS API timeout {timeout!r} is not a positive number of seconds")
    return problems


# =================================================================================================
# Workers
# =================================================================================================


@dataclass(frozen=True)
class Worker:
    """One IKS worker, from a v2 (or v1) worker JSON object."""

    id: str
    state: str = ""  # lifecycle.actualState (v2) / state (v1): deployed, reloading, deploy_failed, …
    health_state: str = ""  # health.state: normal, warning, critical, pending, unknown
    health_message: str = ""
    pending_operation: str = ""
    pool: str = ""
    zone: str = ""
    private_ip: str = ""
    kube_version: str = ""
    flavor: str = ""
    provider: str = "classic"  # "classic" or "vpc"

    @property
    def is_vpc(self) -> bool:
        return self.provider == "vpc"


def parse_worker(data: Mapping[str, Any]) -> Worker:
    """A `Worker` from a `/v2/getWorker(s)` object (classic or VPC shape) or a v1 worker object.

    Provider: an explicit `provider` field when present ("vpc-gen2", "vpc-classic" → vpc), else the
    VPC shape (`networkInterfaces`) → vpc, else classic (`networkInformation` or v1 VLAN fields).
    """
    lifecycle = _mapping(data.get("lifecycle"))
    health = _mapping(data.get("health"))
    kube = data.get("kubeVersion")
    kube_version = _text(_mapping(kube).get("actual")) if isinstance(kube, Mapping) else _text(kube)
    v1_state = _text(data.get("state")).lower()
    state = _text(lifecycle.get("actualState")).lower() or v1_state
    health_state = _text(health.get("state")).lower()
    if not health and v1_state in ("normal", "warning", "critical", "pending", "unknown"):
        health_state = v1_state
    interfaces = data.get("networkInterfaces")
    provider_field = _text(data.get("provider")).lower()
    if provider_field:
        provider = "vpc" if "vpc" in provider_field else "classic"
    else:
        provider = "vpc" if isinstance(interfaces, list) else "classic"
    return Worker(
        id=_text(data.get("id")),
        state=state,
        health_state=health_state,
        health_message=_text(health.get("message"))
        or _text(data.get("status"))
        or _text(data.get("errorMessage")),
        pending_operation=_text(lifecycle.get("pendingOperation")) or _text(data.get("pendingOperation")),
        pool=_text(data.get("poolName")),
        zone=_text(data.get("location")),
        private_ip=_private_ip(data, interfaces),
        kube_version=kube_version,
        flavor=_text(data.get("flavor")) or _text(data.get("machineType")),
        provider=provider,
    )


def _private_ip(data: Mapping[str, Any], interfaces: Any) -> str:
    if isinstance(interfaces, list):
        nics = [_mapping(n) for n in interfaces]
        primary = [n for n in nics if n.get("primary") is True] or nics
        for nic in primary:
            address = _text(nic.get("ipAddress"))
            if address:
                return address
    network = _mapping(data.get("networkInformation"))
    return _text(network.get("privateIP")) or _text(data.get("privateIP"))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def worker_id_for(node: Node) -> str:
    """The IKS worker ID of a node: label `ibm-cloud.kubernetes.io/worker-id`, else the last segment
    of `spec.providerID` (`ibm://<account>///<cluster>/<worker-id>`)."""
    worker_id = node.worker_id
    if not worker_id:
        raise ValueError(
            f"node {node.name or '(unnamed)'} has neither the label ibm-cloud.kubernetes.io/worker-id nor a "
            "spec.providerID: cannot tell which IKS worker it is"
        )
    return worker_id


def not_ready_share(nodes: Sequence[Node], *, excluding: str = "") -> float:
    """Share (0..1) of `nodes` whose Ready condition is not True, leaving out the node named
    `excluding` (the action's own target, which is usually NotReady itself)."""
    others = [n for n in nodes if n.name != excluding]
    if not others:
        return 0.0
    bad = 0
    for node in others:
        ready = node.condition("Ready")
        if ready is None or ready.status != "True":
            bad += 1
    return bad / len(others)


def guard_worker_action(
    workers: Sequence[Worker],
    *,
    target_id: str,
    not_ready_share: float,
    max_not_ready_share: float = 0.3,
) -> str | None:
    """Why a reboot/reload/replace of `target_id` must not go ahead now, or None when it may.

    Refuses while another worker is failing to deploy or provision (IBM: reload no further workers
    until that is fixed) or is itself deploying/provisioning/reloading, and while the share of
    NotReady workers (`not_ready_share`, 0..1, best computed without the target: `not_ready_share()`)
    is above `max_not_ready_share`.
    """
    if not 0 <= max_not_ready_share <= 1:
        raise ValueError(f"max_not_ready_share must be between 0 and 1, not {max_not_ready_share!r}")
    if not 0 <= not_ready_share <= 1:
        raise ValueError(f"not_ready_share must be between 0 and 1, not {not_ready_share!r}")
    for worker in workers:
        if worker.id == target_id:
            continue
        detail = f" ({_clip(worker.health_message, 120)})" if worker.health_message else ""
        if worker.state in FAILED_STATES:
            return (
                f"worker {worker.id} is in state {worker.state}{detail}: IBM advises not to reboot, reload or "
                "replace further workers until that worker is fixed"
            )
        if worker.state in BUSY_STATES:
            return (
                f"worker {worker.id} is {worker.state}{detail}: wait until it is back (deployed/normal) before "
                "rebooting, reloading or replacing another worker"
            )
    if not_ready_share > max_not_ready_share:
        return (
            f"{not_ready_share:.0%} of the other workers are already NotReady (the limit is "
            f"{max_not_ready_share:.0%}): taking one more worker down could take the cluster's workloads "
            "with it; find the common cause first"
        )
    return None


# =================================================================================================
# The client
# =================================================================================================


@dataclass(frozen=True)
class _Call:
    """What a request does, for messages: the action's name, the IAM role it needs, its target."""

    action: str
    role: str
    cluster: str
    worker: str = ""
    master: bool = False

    def what(self) -> str:
        if self.worker:
            return f"{self.action} for worker {self.worker} in cluster {self.cluster}"
        return f"{self.action} for cluster {self.cluster}"


class IksClient:
    """`async with IksClient(settings) as iks: await iks.list_workers("mycluster")`."""

    def __init__(self, settings: IksSettings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()
        self._token = ""
        self._token_good_until = 0.0
        self._seen_tokens: list[str] = []  # scrubbed from messages

    def __repr__(self) -> str:
        return f"IksClient(api_url={self._settings.api_url!r}, iam_url={self._settings.iam_url!r})"

    async def __aenter__(self) -> IksClient:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._settings.timeout),
                headers={"User-Agent": "calico-bot"},
            )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        session, self._session = self._session, None
        self._token, self._token_good_until = "", 0.0
        if session is not None:
            await session.close()

    # --- IAM ---------------------------------------------------------------------------------

    async def token(self) -> str:
        """A valid IAM access token; exchanges the API key once for all concurrent callers."""
        if self._token_fresh():
            return self._token
        async with self._lock:
            if self._token_fresh():
                return self._token
            asked_at = self._clock()
            token, lifetime = await self._exchange()
            self._token = token
            self._token_good_until = asked_at + TOKEN_REFRESH_SHARE * lifetime
            self._seen_tokens = [*self._seen_tokens[-4:], token]
            log.info(
                "IBM Cloud IAM token obtained (valid for %.0f s, refreshed after %.0f s)",
                lifetime,
                TOKEN_REFRESH_SHARE * lifetime,
            )
            return token

    def _token_fresh(self) -> bool:
        return bool(self._token) and self._clock() < self._token_good_until

    async def _exchange(self) -> tuple[str, float]:
        session = self._require_session()
        where = _where(self._settings.iam_url)
        form = {"grant_type": APIKEY_GRANT_TYPE, "apikey": self._settings.api_key}
        try:
            async with session.post(
                self._settings.iam_url, data=form, headers={"Accept": "application/json"}
            ) as response:
                status = response.status
                raw = await _read(response)
        except TimeoutError:
            raise self._error(
                None,
                f"IBM Cloud IAM ({where}) did not answer within {self._settings.timeout:g} s when asked for a token",
            ) from None
        except aiohttp.ClientError as exc:
            raise self._error(
                None, f"IBM Cloud IAM ({where}) could not be reached: {type(exc).__name__}: {exc}"
            ) from None
        answer = _json_object(raw)
        said = _iam_said(answer, raw)
        if status in (400, 401, 403):
            raise self._error(
                status,
                f"IBM Cloud rejected the API key (IAM answered HTTP {status}{': ' + said if said else ''}): "
                "check IBMCLOUD_API_KEY, and that the key and its Service ID still exist",
                code=_text(answer.get("errorCode")),
            )
        if status != 200:
            raise self._error(
                status,
                f"IBM Cloud IAM ({where}) did not give a token (HTTP {status}{': ' + said if said else ''}); "
                "try again in a few minutes",
                code=_text(answer.get("errorCode")),
            )
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise self._error(status, f"IBM Cloud IAM ({where}) answered without an access token")
        expires_in = answer.get("expires_in")
        lifetime = (
            float(expires_in)
            if isinstance(expires_in, int | float) and expires_in > 0
            else DEFAULT_TOKEN_LIFETIME
        )
        return token, lifetime

    # --- workers -----------------------------------------------------------------------------

    async def list_workers(self, cluster: str) -> list[Worker]:
        call = _Call("listing workers", "Viewer", _ident(cluster, "cluster"))
        answer = await self._request(
            "GET", "/v2/getWorkers", call, query={"cluster": cluster, "showDeleted": "false"}
        )
        if isinstance(answer, Mapping) and isinstance(answer.get("workers"), list):
            answer = answer["workers"]
        if not isinstance(answer, list):
            raise self._error(
                200, f"the IKS API answered {call.what()} with something that is not a worker list"
            )
        return [parse_worker(item) for item in answer if isinstance(item, Mapping)]

    async def get_worker(self, cluster: str, worker_id: str) -> Worker:
        call = _Call("reading the worker", "Viewer", _ident(cluster, "cluster"), _ident(worker_id, "worker"))
        answer = await self._request(
            "GET", "/v2/getWorker", call, query={"cluster": cluster, "worker": worker_id}
        )
        if not isinstance(answer, Mapping):
            raise self._error(200, f"the IKS API answered {call.what()} with something that is not a worker")
        return parse_worker(answer)

    async def reboot(self, cluster: str, worker_id: str) -> None:
        """Soft reboot (`os_reboot`, no force): `ibmcloud ks worker reboot`."""
        call = _Call("reboot-worker", "Operator", _ident(cluster, "cluster"), _ident(worker_id, "worker"))
        await self._request(
            "PUT", _worker_path(cluster, worker_id), call, body={"action": "os_reboot", "force": False}
        )

    async def reload(self, cluster: str, worker_id: str, *, vpc: bool | None = None) -> None:
        """Reload (classic): `ibmcloud ks worker reload`. VPC virtual workers are refused (replace them);
        `vpc=None` asks IKS which kind the worker is first."""
        call = _Call("reload-worker", "Operator", _ident(cluster, "cluster"), _ident(worker_id, "worker"))
        if vpc is None:
            vpc = (await self.get_worker(cluster, worker_id)).is_vpc
        if vpc:
            raise IksRefused(
                f"worker {worker_id} is a VPC virtual worker: VPC virtual workers cannot be reloaded — replace "
                "them instead (replace-worker gives a new worker with a new ID and IP and deletes the old one)"
            )
        await self._request(
            "PUT", _worker_path(cluster, worker_id), call, body={"action": "reload", "force": False}
        )

    async def replace(self, cluster: str, worker_id: str, *, vpc: bool) -> None:
        """`ibmcloud ks worker replace` (no update). The new worker has a new ID: list the workers again."""
        call = _Call("replace-worker", "Operator", _ident(cluster, "cluster"), _ident(worker_id, "worker"))
        path = "/v2/vpc/replaceWorker" if vpc else "/v2/replaceWorker"
        await self._request(
            "POST", path, call, body={"cluster": cluster, "workerID": worker_id, "update": False}
        )

    async def refresh_master(self, cluster: str) -> None:
        """`ibmcloud ks cluster master refresh` (legacy `cluster-refresh`)."""
        call = _Call("refresh-master", "Operator", _ident(cluster, "cluster"), master=True)
        await self._request(
            "PUT", f"/v1/clusters/{quote(cluster, safe='')}/masters", call, body={"action": "refresh"}
        )

    # --- plumbing ----------------------------------------------------------------------------

    def _require_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("IksClient is not open: use `async with IksClient(settings) as iks:`")
        return self._session

    async def _request(
        self,
        method: str,
        path: str,
        call: _Call,
        *,
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        session = self._require_session()
        url = self._settings.api_url + path
        status, raw = 0, b""
        for attempt in (1, 2):
            token = await self.token()
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            try:
                async with session.request(method, url, params=query, json=body, headers=headers) as response:
                    status = response.status
                    raw = await _read(response)
            except TimeoutError:
                raise self._error(
                    None, f"the IKS API did not answer within {self._settings.timeout:g} s ({call.what()})"
                ) from None
            except aiohttp.ClientConnectionError as exc:
                raise self._error(
                    None,
                    f"the IKS API did not answer ({call.what()}): could not reach {_where(url)}: "
                    f"{type(exc).__name__}: {exc}",
                ) from None
            except aiohttp.ClientError as exc:
                raise self._error(
                    None, f"the IKS API did not answer properly ({call.what()}): {type(exc).__name__}: {exc}"
                ) from None
            if status == 401 and attempt == 1:
                log.info("IKS refused the IAM token (%s); exchanging the API key again", call.what())
                self._forget(token)
                continue
            break
        if 200 <= status < 300:
            log.info("IKS %s: HTTP %s", call.what(), status)
            return _json_any(raw)
        raise self._http_error(status, raw, call)

    def _forget(self, token: str) -> None:
        if self._token == token:
            self._token, self._token_good_until = "", 0.0

    def _http_error(self, status: int, raw: bytes, call: _Call) -> IksError:
        answer = _json_object(raw)
        said = _iks_said(answer, raw)
        tail = f" (IKS: {said})" if said else ""
        code = _text(answer.get("code"))
        incident = _text(answer.get("incidentID"))
        if status == 401:
            message = (
                f"IBM Cloud rejected the API key (the IKS API refused its IAM token for {call.action}{tail}): "
                "check IBMCLOUD_API_KEY and that the key is still active"
            )
        elif status == 403:
            needs = f"{call.action} needs {call.role}"
            if call.worker and call.role == "Operator":
                needs += '; on classic, the API key owner also needs the infrastructure permission "OS Reloads and Rescue Kernel"'
            message = (
                f"the API key's identity lacks the IAM {call.role} role on containers-kubernetes for cluster "
                f"{call.cluster} ({needs}){tail}"
            )
        elif status == 404:
            target = (
                f"worker {call.worker} in cluster {call.cluster}"
                if call.worker
                else f"cluster {call.cluster}"
            )
            message = (
                f"IKS does not know {target}{tail}: check the name or ID, and that the API key belongs to the "
                "cluster's account"
            )
        elif status == 409:
            if call.worker:
                target = f"worker {call.worker}"
            elif call.master:
                target = f"the master of cluster {call.cluster}"
            else:
                target = f"cluster {call.cluster}"
            message = (
                f"an operation is already running on {target} "
                f"({said or 'IKS answered 409 Conflict'}): wait for it to finish, then check again"
            )
        elif status >= 500:
            message = (
                f"the IKS API did not answer {call.what()} (HTTP {status}{': ' + said if said else ''}); "
                "try again in a few minutes"
            )
        else:
            message = f"the IKS API refused {call.what()} (HTTP {status}{': ' + said if said else ''})"
        return self._error(status, message, code=code, incident_id=incident)

    def _error(self, status: int | None, message: str, *, code: str = "", incident_id: str = "") -> IksError:
        message = self._scrub(message)
        log.warning("IKS/IAM call failed: %s", message)
        measure.api_error("iks", f"http_{status}" if status else "unreachable")
        return IksError(status, message, code=self._scrub(code), incident_id=self._scrub(incident_id))

    def _scrub(self, text: str) -> str:
        for secret in (self._settings.api_key, *self._seen_tokens):
            if secret:
                text = text.replace(secret, _REDACTED)
        return text


def _ident(value: str, kind: str) -> str:
    if not _IDENT.match(value):
        raise ValueError(f"{value!r} is not a valid IKS {kind} name or ID")
    return value


def _worker_path(cluster: str, worker_id: str) -> str:
    return f"/v1/clusters/{quote(cluster, safe='')}/workers/{quote(worker_id, safe='')}"


async def _read(response: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > _BODY_MAX:
            raise aiohttp.ClientPayloadError(f"answer larger than {_BODY_MAX} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _json_any(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError:
        return None


def _json_object(raw: bytes) -> Mapping[str, Any]:
    value = _json_any(raw)
    return value if isinstance(value, Mapping) else {}


def _iks_said(answer: Mapping[str, Any], raw: bytes) -> str:
    """IKS's `description` (or `message`) and `code`, or the start of a non-JSON body."""
    if answer:
        text = _text(answer.get("description")) or _text(answer.get("message"))
        code = _text(answer.get("code"))
        errors = answer.get("errors")
        if not text and isinstance(errors, list) and errors:
            first = _mapping(errors[0])
            text = _text(first.get("message")) or _text(first.get("description"))
            code = code or _text(first.get("code"))
        text, code = _clip(text, _DETAIL_MAX), _clip(code, 40)
        return f"{text} [{code}]" if text and code else text or code
    return _clip(raw[: _DETAIL_MAX * 2].decode("utf-8", errors="replace"), _DETAIL_MAX)


def _iam_said(answer: Mapping[str, Any], raw: bytes) -> str:
    """IAM's `errorCode` and `errorMessage`, or the start of a non-JSON body."""
    if answer:
        parts = [_text(answer.get("errorCode")), _text(answer.get("errorMessage"))]
        return _clip(" ".join(p for p in parts if p), _DETAIL_MAX)
    return _clip(raw[: _DETAIL_MAX * 2].decode("utf-8", errors="replace"), _DETAIL_MAX)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _where(url: str) -> str:
    """Scheme, host and port of a URL (no path, query or credentials), for messages."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "an invalid URL"
    return f"{parts.scheme}://{parts.hostname}{port}" if parts.hostname else "an invalid URL"
