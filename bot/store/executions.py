"""Who is executing an approved action, and whether they are still alive: the `owner`, `heartbeat_ms`
and `phase` fields of an approval record while it is `executing` (ARCHITECTURE §7).

- `claim`: approved → executing, atomically, with this worker as owner (phase `planning`);
- `beat`: the owner says it is alive (and how far it got), every few seconds;
- `hand_back`: the owner stops (SIGTERM) and lets another worker take over at once;
- `take_over`: a worker adopts an execution whose owner stopped beating (or handed it back);
- `stale`: the executions whose owner has gone quiet (for the periodic recovery sweep).

Each is one Lua script on the record, so two workers never both own an execution. The record's
phase tells the new owner what it may do (`ExecutionPhase`): never apply twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.store.records import (
    APPROVAL_ID,
    Approval,
    ApprovalState,
    ExecutionPhase,
    TransitionOutcome,
    TransitionResult,
    epoch_ms,
)
from bot.store.redis_store import Store, as_fields, awaited

# KEYS[1] = approval. ARGV: 1 owner, 2 now (ms), 3 now (ISO), 4 retention (ms).
_CLAIM = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {0, 'missing', {}} end
if state == 'executing' and redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  return {1, 'done', redis.call('HGETALL', KEYS[1])}
end
if state ~= 'approved' then return {0, 'wrong-state', redis.call('HGETALL', KEYS[1])} end
redis.call('HSET', KEYS[1], 'state', 'executing', 'owner', ARGV[1], 'heartbeat_ms', ARGV[2],
           'phase', 'planning', 'started', ARGV[3], 'updated_at', ARGV[3], 'updated_by', ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl >= 0 and ttl < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return {1, 'done', redis.call('HGETALL', KEYS[1])}
"""

# KEYS[1] = approval. ARGV: 1 owner, 2 heartbeat (ms; 0 = handed back), 3 phase ('' = unchanged),
# 4 plan node, 5 plan object ('' = unchanged).
_BEAT = """
if redis.call('HGET', KEYS[1], 'state') ~= 'executing' then return 0 end
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'heartbeat_ms', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'phase', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'plan_node', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'plan_pod', ARGV[5]) end
return 1
"""

# KEYS[1] = approval. ARGV: 1 new owner, 2 now (ms), 3 stale (ms).
_TAKE_OVER = """
if redis.call('HGET', KEYS[1], 'state') ~= 'executing' then return {0, {}} end
local beat = tonumber(redis.call('HGET', KEYS[1], 'heartbeat_ms') or '0') or 0
local owner = redis.call('HGET', KEYS[1], 'owner') or ''
if owner ~= ARGV[1] and tonumber(ARGV[2]) - beat <= tonumber(ARGV[3]) then return {0, {}} end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'heartbeat_ms', ARGV[2], 'previous_owner', owner)
return {1, redis.call('HGETALL', KEYS[1])}
"""


class Executions:
    def __init__(self, store: Store, *, retention_ms: int = 86_400_000) -> None:
        self.store = store
        self._retention_ms = retention_ms
        redis = store.client
        self._claim = redis.register_script(_CLAIM)
        self._beat = redis.register_script(_BEAT)
        self._take_over = redis.register_script(_TAKE_OVER)

    def _key(self, approval_id: str) -> str:
        return self.store.key(f"approval:{approval_id}")

    async def claim(self, approval_id: str, owner: str, now: datetime) -> TransitionResult:
        """approved → executing with `owner`; ok again for the same owner (a retry after a lost reply)."""
        if not APPROVAL_ID.match(approval_id):
            return TransitionResult(False, TransitionOutcome.MISSING, None)
        args: list[str | int] = [owner, epoch_ms(now), now.astimezone(UTC).isoformat(), self._retention_ms]
        with self.store.guard():
            ok, outcome, flat = await self._claim(keys=[self._key(approval_id)], args=args)
        fields = as_fields(flat)
        return TransitionResult(
            bool(int(ok)), TransitionOutcome(str(outcome)), Approval.from_fields(fields) if fields else None
        )

    async def beat(
        self,
        approval_id: str,
        owner: str,
        now: datetime,
        phase: ExecutionPhase | None = None,
        *,
        plan_node: str = "",
        plan_pod: str = "",
    ) -> bool:
        """The owner is alive (and got to `phase`, with the plan's node and object); False when it
        no longer owns the execution."""
        args: list[str | int] = [owner, epoch_ms(now), phase.value if phase else "", plan_node, plan_pod]
        with self.store.guard():
            done = await self._beat(keys=[self._key(approval_id)], args=args)
        return bool(done)

    async def hand_back(self, approval_id: str, owner: str) -> bool:
        """The owner stops: its heartbeat becomes 0, so the next worker takes over at once."""
        with self.store.guard():
            done = await self._beat(keys=[self._key(approval_id)], args=[owner, 0, "", "", ""])
        return bool(done)

    async def take_over(
        self, approval_id: str, owner: str, now: datetime, *, stale_seconds: float
    ) -> Approval | None:
        """Adopt the execution when its owner is silent for more than `stale_seconds` (or is us);
        None when it is not executing or its owner is alive."""
        if not APPROVAL_ID.match(approval_id):
            return None
        with self.store.guard():
            ok, flat = await self._take_over(
                keys=[self._key(approval_id)], args=[owner, epoch_ms(now), int(stale_seconds * 1000)]
            )
        fields = as_fields(flat)
        return Approval.from_fields(fields) if int(ok) and fields else None

    async def stale(self, now: datetime, *, stale_seconds: float, limit: int = 100) -> list[str]:
        """Ids of executing approvals whose owner has not beaten for `stale_seconds`."""
        cutoff = epoch_ms(now) - int(stale_seconds * 1000)
        found: list[str] = []
        redis = self.store.client
        with self.store.guard():
            async for key in redis.scan_iter(match=self.store.key("approval:*"), count=200):
                state, beat, approval_id = await awaited(redis.hmget(key, ["state", "heartbeat_ms", "id"]))
                if state == ApprovalState.EXECUTING and approval_id and int(beat or 0) < cutoff:
                    found.append(str(approval_id))
                    if len(found) >= limit:
                        break
        return found
