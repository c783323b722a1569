"""The Redis adapter: approvals (atomic transitions), the audit streams, per-cluster locks, event
dedupe and the Slack user group cache. The only module besides `bot.queue` that imports redis.

Keys (all under `prefix`, default `calico-bot:`):

| key | type | what |
|---|---|---|
| `approval:<id>` | hash | `Approval.to_fields()` plus `updated_at`, `updated_by`, `token`; kept until a day (`retention`) after its expiry or its last transition |
| `audit:<cluster>` / `audit` | stream | audit entries of one cluster (trimmed `MAXLEN ~ 1000`) / of all (`~ 10000`) |
| `lock:<cluster>` | string | holder of the cluster's worker-level action lock, with a lease (PX) |
| `seen:<key>` | string | event dedupe (`SET NX EX`) |
| `pending:<cluster>|<action>|<target>` | string | the one pending approval of that action (`claim_slot`), PX = its expiry |
| `usergroup:<id>` | string | JSON list of a Slack user group's members (`EX 300`) |

Every transition of an approval is one Lua script (compare-and-set): however many clicks arrive on
however many replicas, one wins. Any connection problem is raised as `StoreUnavailable`, whose
message never contains the password of the URL (and its `public` text not even the address); the
caller then does nothing and says so.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import redis.asyncio as aioredis
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from bot.redact import redact
from bot.store.records import (
    APPROVAL_ID,
    Approval,
    ApprovalState,
    AuditEntry,
    AuditKind,
    AuditRecord,
    TransitionOutcome,
    TransitionResult,
    check_transition,
    epoch_ms,
)

DEFAULT_PREFIX = "calico-bot:"
AUDIT_MAXLEN_CLUSTER = 1000
AUDIT_MAXLEN_GLOBAL = 10000
RETENTION = timedelta(days=1)
"""How long a record outlives its expiry or its last transition (for history and late clicks)."""

_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError, TimeoutError)
"""Connection refused or lost, timeouts, authentication, a replica during failover: nothing to do but wait."""

# KEYS[1] = approval hash. ARGV[1] = TTL in ms, ARGV[2..] = field/value pairs.
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""

# KEYS[1] = approval hash.
# ARGV: 1 now (epoch ms), 2 to_state, 3 actor, 4 now (ISO), 5 result, 6 retention (ms), 7 token,
#       8.. the states the record may be in.
# Returns {1|0, outcome, HGETALL}: 'done', 'missing', 'wrong-state', 'expired' (it expired in this
# call), 'not-expired' (a pending -> expired before its time).
_TRANSITION = """
local key = KEYS[1]
local now_ms = tonumber(ARGV[1])
local to_state = ARGV[2]
local state = redis.call('HGET', key, 'state')
if not state then return {0, 'missing', {}} end

local function keep()
  local ttl = redis.call('PTTL', key)
  local retain = tonumber(ARGV[6])
  if ttl >= 0 and ttl < retain then redis.call('PEXPIRE', key, retain) end
end

if redis.call('HGET', key, 'token') == ARGV[7] then
  -- the same call again (a retry after a lost reply): report what it did the first time
  if state == to_state then return {1, 'done', redis.call('HGETALL', key)} end
  if state == 'expired' then return {0, 'expired', redis.call('HGETALL', key)} end
end

local allowed = false
for i = 8, #ARGV do
  if ARGV[i] == state then allowed = true break end
end
if not allowed then return {0, 'wrong-state', redis.call('HGETALL', key)} end

if state == 'pending' then
  local expires_ms = tonumber(redis.call('HGET', key, 'expires_ms') or '0')
  local is_expired = now_ms >= expires_ms
  if to_state == 'expired' then
    if not is_expired then return {0, 'not-expired', redis.call('HGETALL', key)} end
  elseif is_expired then
    redis.call('HSET', key, 'state', 'expired', 'decided_at', ARGV[4],
               'updated_at', ARGV[4], 'updated_by', ARGV[3], 'token', ARGV[7])
    keep()
    return {0, 'expired', redis.call('HGETALL', key)}
  end
end

local fields = {'state', to_state, 'updated_at', ARGV[4], 'updated_by', ARGV[3], 'token', ARGV[7]}
if state == 'pending' then
  table.insert(fields, 'decided_at')
  table.insert(fields, ARGV[4])
  if to_state ~= 'expired' then
    table.insert(fields, 'approver')
    table.insert(fields, ARGV[3])
  end
end
if ARGV[5] ~= '' then
  table.insert(fields, 'result')
  table.insert(fields, ARGV[5])
end
redis.call('HSET', key, unpack(fields))
keep()
return {1, 'done', redis.call('HGETALL', key)}
"""

# KEYS[1] = lock. ARGV: 1 owner, 2 lease (ms). Acquire, or renew when the owner already holds it.
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

_EXTEND = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""


# KEYS[1] = request slot. ARGV: 1 approval id, 2 TTL (ms), 3 the holder it may replace ('' = none).
_CLAIM_SLOT = """
local holder = redis.call('GET', KEYS[1])
if (not holder) or holder == ARGV[3] or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1, ARGV[1]}
end
return {0, holder}
"""


class StoreUnavailable(Exception):
    """Redis could not be reached (or timed out); nothing was changed by this call, or nothing is known.

    The message names Redis' address and the client's error: for the log. `public` says the same
    without the address, for anything shown in Slack.
    """

    public = "calico-bot's Redis does not answer"


class DuplicateApproval(ValueError):
    """`create` with an id that already names another record."""


def safe_url(url: str) -> str:
    """The Redis URL without its password (or query, which may carry one)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(unparseable Redis URL)"
    if ":" in host:
        host = f"[{host}]"
    netloc = (f"{parts.username}@" if parts.username else "") + host + (f":{port}" if port else "")
    return f"{parts.scheme}://{netloc}{parts.path}"


def _secrets_of(url: str) -> list[str]:
    found: list[str] = []
    try:
        parts = urlsplit(url)
        if parts.password:
            found.append(parts.password)
        found += parse_qs(parts.query).get("password", [])
    except ValueError:
        pass
    return [s for s in found if s]


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _as_fields(flat: Iterable[Any]) -> dict[str, str]:
    items = [str(x) for x in flat]
    return dict(zip(items[::2], items[1::2], strict=True))


T = TypeVar("T")


async def awaited(value: Awaitable[T] | T) -> T:
    """The result of a redis-py asyncio call, whose type says "awaitable or not" (one client class
    for both APIs in redis-py < 8)."""
    if inspect.isawaitable(value):
        return await value
    return value


as_fields = _as_fields
"""A flat Redis reply `[k1, v1, k2, v2, …]` as a dict (for the store's other modules)."""


def _text_map(raw: Mapping[Any, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in raw.items()}


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class Store:
    def __init__(
        self,
        redis_url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        audit_maxlen_cluster: int = AUDIT_MAXLEN_CLUSTER,
        audit_maxlen_global: int = AUDIT_MAXLEN_GLOBAL,
        retention: timedelta = RETENTION,
        connect_timeout: float = 2.0,
        timeout: float = 5.0,
    ) -> None:
        self.prefix = prefix
        self.url = safe_url(redis_url)
        self._secrets = _secrets_of(redis_url)
        self._maxlen_cluster = audit_maxlen_cluster
        self._maxlen_global = audit_maxlen_global
        self._retention_ms = _ms(retention.total_seconds())
        self._redis = aioredis.Redis.from_url(
            redis_url,
            decode_responses=True,
            socket_connect_timeout=connect_timeout,
            socket_timeout=timeout,
            retry=Retry(ExponentialWithJitterBackoff(cap=0.5, base=0.05), 2),
        )
        self._create = self._redis.register_script(_CREATE)
        self._transition = self._redis.register_script(_TRANSITION)
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._extend = self._redis.register_script(_EXTEND)
        self._release = self._redis.register_script(_RELEASE)
        self._claim = self._redis.register_script(_CLAIM_SLOT)

    def __repr__(self) -> str:
        return f"Store({self.url!r}, prefix={self.prefix!r})"

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        with contextlib.suppress(*_UNAVAILABLE):
            await self._redis.aclose()

    @property
    def client(self) -> aioredis.Redis:
        """The Redis client, for the store's other modules (`executions`, `shared`): same pool."""
        return self._redis

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def guard(self) -> contextlib.AbstractContextManager[None]:
        """Redis failures inside the block are raised as StoreUnavailable (no password in it)."""
        return self._guard()

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except _UNAVAILABLE as exc:
            text = _one_line(str(exc)) or type(exc).__name__
            for secret in self._secrets:
                text = text.replace(secret, "***")
            raise StoreUnavailable(f"Redis at {self.url} is unreachable: {text}") from None

    async def ping(self) -> bool:
        """True when Redis answers; False (never an exception) when it does not."""
        try:
            with self._guard():
                return bool(await awaited(self._redis.ping()))
        except StoreUnavailable:
            return False

    # --- keys ------------------------------------------------------------------------------------

    def _approval_key(self, approval_id: str) -> str:
        return f"{self.prefix}approval:{approval_id}"

    def _audit_key(self, cluster: str | None) -> str:
        return f"{self.prefix}audit:{cluster}" if cluster is not None else f"{self.prefix}audit"

    def _lock_key(self, cluster: str) -> str:
        return f"{self.prefix}lock:{cluster}"

    # --- approvals -------------------------------------------------------------------------------

    async def create(self, approval: Approval) -> None:
        """Store a new record; DuplicateApproval when its id names another one. Kept until a day
        (`retention`) after it expires."""
        fields = approval.to_fields()
        life = approval.expires - approval.created
        ttl_ms = max(_ms(life.total_seconds()), 1) + self._retention_ms
        args: list[str | int] = [ttl_ms]
        for name, value in fields.items():
            args += [name, value]
        with self._guard():
            created = await self._create(keys=[self._approval_key(approval.id)], args=args)
        if not created:
            existing = await self.get(approval.id)
            if existing != approval:  # the same record again is a retry of this create: fine
                raise DuplicateApproval(f"approval id {approval.id} is already taken")

    async def claim_slot(self, approval: Approval, now: datetime) -> Approval | None:
        """Make `approval` the one pending request for its action on its target (`Approval.slot`).
        None when it is; else the pending request that already holds the slot (five clicks on one
        button: one approval card). A holder that is no longer pending (decided, expired, gone)
        gives the slot up."""
        key = self._slot_key(approval.slot)
        ttl_ms = max(1, epoch_ms(approval.expires) - epoch_ms(now))
        expected = ""
        for _ in range(3):
            with self._guard():
                taken, holder = await self._claim(keys=[key], args=[approval.id, ttl_ms, expected])
            if int(taken):
                return None
            current = await self.get(str(holder))
            if current is not None and current.state == ApprovalState.PENDING and not current.expired_at(now):
                return current
            expected = str(holder)
        raise StoreUnavailable(f"the request slot {approval.slot!r} keeps changing hands")

    async def release_slot(self, approval: Approval) -> None:
        """The request left pending: another request for the same action may be made."""
        with self._guard():
            await self._release(keys=[self._slot_key(approval.slot)], args=[approval.id])

    def _slot_key(self, slot: str) -> str:
        return f"{self.prefix}pending:{slot}"

    async def set_card(self, approval_id: str, channel: str, ts: str) -> None:
        """Remember where the approval card is, so a sweeper can mark it expired later."""
        key = self._approval_key(approval_id)
        with self._guard():
            if await self._redis.exists(key):
                await awaited(self._redis.hset(key, mapping={"card_channel": channel, "card_ts": ts}))

    async def card_of(self, approval_id: str) -> tuple[str, str] | None:
        with self._guard():
            channel, ts = await awaited(
                self._redis.hmget(self._approval_key(approval_id), ["card_channel", "card_ts"])
            )
        return (str(channel), str(ts)) if channel and ts else None

    async def overdue(self, now: datetime, *, limit: int = 500) -> list[str]:
        """Ids of pending approvals whose time is up at `now` (for the expiry sweeper)."""
        found: list[str] = []
        cutoff = epoch_ms(now)
        with self._guard():
            async for key in self._redis.scan_iter(match=f"{self.prefix}approval:*", count=200):
                state, expires_ms, approval_id = await awaited(
                    self._redis.hmget(key, ["state", "expires_ms", "id"])
                )
                if (
                    state == ApprovalState.PENDING
                    and expires_ms
                    and int(expires_ms) <= cutoff
                    and approval_id
                ):
                    found.append(str(approval_id))
                    if len(found) >= limit:
                        break
        return found

    async def get(self, approval_id: str) -> Approval | None:
        if not APPROVAL_ID.match(approval_id):
            return None
        with self._guard():
            fields = await awaited(self._redis.hgetall(self._approval_key(approval_id)))
        return Approval.from_fields(_text_map(fields)) if fields else None

    async def transition(
        self,
        approval_id: str,
        *,
        from_states: Iterable[ApprovalState],
        to_state: ApprovalState,
        actor: str,
        now: datetime,
        result: str = "",
        idempotency_key: str | None = None,
    ) -> TransitionResult:
        """Move the record from one of `from_states` to `to_state`, atomically.

        From pending, the request must not have expired at `now`: an expired one becomes `expired`
        in the same step (outcome EXPIRED, not ok). A decision (pending -> approved/denied) records
        `actor` as the approver and `now` as decided_at; later arrows keep them. `result` (when
        given) is written too. Calling again with the same `idempotency_key` after a lost reply
        reports the first call's success instead of a conflict with itself.
        """
        sources = [ApprovalState(s) for s in from_states]
        check_transition(sources, to_state)
        if not APPROVAL_ID.match(approval_id):
            return TransitionResult(False, TransitionOutcome.MISSING, None)
        args: list[str | int] = [
            epoch_ms(now),
            str(to_state),
            actor,
            now.astimezone(UTC).isoformat(),
            result,
            self._retention_ms,
            idempotency_key or uuid.uuid4().hex,
            *(str(s) for s in sources),
        ]
        with self._guard():
            reply = await self._transition(keys=[self._approval_key(approval_id)], args=args)
        ok, outcome, flat = int(reply[0]), str(reply[1]), reply[2] if len(reply) > 2 else []
        fields = _as_fields(flat)
        return TransitionResult(
            ok=bool(ok),
            outcome=TransitionOutcome(outcome),
            approval=Approval.from_fields(fields) if fields else None,
        )

    # --- audit -----------------------------------------------------------------------------------

    async def audit(
        self,
        cluster: str,
        *,
        kind: AuditKind | str,
        actor: str,
        action: str = "",
        target: str = "",
        approval_id: str = "",
        outcome: str = "",
        detail: str = "",
        requester: str = "",
        approver: str = "",
        at: datetime,
    ) -> str:
        """Append one entry to the cluster's stream and to the global one (both in one MULTI);
        returns the cluster stream's entry id. Free text is redacted on the way in."""
        if not cluster:
            raise ValueError("an audit entry needs a cluster")
        fields: dict[str, str] = {
            "cluster": cluster,
            "kind": str(kind),
            "actor": actor,
            "at": at.astimezone(UTC).isoformat(),
            "action": action,
            "target": redact(target),
            "approval_id": approval_id,
            "outcome": redact(outcome),
            "detail": redact(detail),
            "requester": requester,
            "approver": approver,
        }
        with self._guard():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xadd(self._audit_key(cluster), fields, maxlen=self._maxlen_cluster, approximate=True)  # type: ignore[arg-type]
                pipe.xadd(self._audit_key(None), fields, maxlen=self._maxlen_global, approximate=True)  # type: ignore[arg-type]
                ids = await pipe.execute()
        return str(ids[0])

    async def history(self, cluster: str | None, count: int = 20) -> list[AuditRecord]:
        """The latest `count` entries of a cluster (None: of all clusters), newest first."""
        with self._guard():
            entries = await self._redis.xrevrange(self._audit_key(cluster), "+", "-", count=count)
        return [
            AuditRecord.from_stream(str(entry_id), _text_map(fields or {}))
            for entry_id, fields in entries or []
        ]

    async def actions_taken(self, cluster: str, count: int = 50) -> list[AuditEntry]:
        """The executed actions of a cluster (`AuditKind.EXECUTION`), newest first, for the hand-off."""
        records = await self.history(cluster, count=self._maxlen_cluster)
        return [r.to_audit_entry() for r in records if r.kind == AuditKind.EXECUTION][:count]

    # --- locks -----------------------------------------------------------------------------------

    async def acquire_lock(self, cluster: str, owner: str, *, lease_seconds: float) -> bool:
        """Take the cluster's action lock for `lease_seconds` (SET NX PX). The owner that already
        holds it gets True again and a renewed lease; anyone else gets False."""
        with self._guard():
            got = await self._acquire(keys=[self._lock_key(cluster)], args=[owner, _ms(lease_seconds)])
        return bool(got)

    async def extend_lock(self, cluster: str, owner: str, lease_seconds: float) -> bool:
        """Set the lease to `lease_seconds` from now, only if `owner` holds the lock."""
        with self._guard():
            done = await self._extend(keys=[self._lock_key(cluster)], args=[owner, _ms(lease_seconds)])
        return bool(done)

    async def release_lock(self, cluster: str, owner: str) -> bool:
        """Release the lock, only if `owner` holds it."""
        with self._guard():
            done = await self._release(keys=[self._lock_key(cluster)], args=[owner])
        return bool(done)

    async def lock_holder(self, cluster: str) -> str | None:
        with self._guard():
            holder = await self._redis.get(self._lock_key(cluster))
        return str(holder) if holder is not None else None

    # --- event dedupe ----------------------------------------------------------------------------

    async def first_time(self, key: str, ttl_seconds: int = 3600) -> bool:
        """True the first time `key` is seen within `ttl_seconds` (Slack's retried events: False)."""
        with self._guard():
            fresh = await self._redis.set(f"{self.prefix}seen:{key}", "1", nx=True, ex=ttl_seconds)
        return bool(fresh)

    # --- Slack user group cache -------------------------------------------------------------------

    async def cached_members(
        self, group: str, loader: Callable[[], Awaitable[frozenset[str]]], ttl: int = 300
    ) -> frozenset[str]:
        """The members of a Slack user group, from the cache or from `loader` (then cached `ttl`
        seconds). A failing loader is not cached; concurrent misses may each call it."""
        key = f"{self.prefix}usergroup:{group}"
        with self._guard():
            cached = await self._redis.get(key)
        if cached is not None:
            return frozenset(str(member) for member in json.loads(cached))
        members = await loader()
        with self._guard():
            await self._redis.set(key, json.dumps(sorted(members)), ex=ttl)
        return frozenset(members)
