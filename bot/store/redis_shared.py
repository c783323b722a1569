"""`SharedState` in Redis, for several replicas (keys under the store's prefix):

| key | type | what |
|---|---|---|
| `seen:<key>` | string | a Slack delivery (event id, trigger id, click) handled once: `SET NX EX` |
| `rate:<user>` | sorted set | the user's requests of the last window (score = epoch ms), `PEXPIRE` = the window |
| `flight:<key>:lock` | string | who computes `key` now (`SET NX PX`, renewed while it runs) |
| `flight:<key>:result` | hash | `finished` (epoch s) and `data`, kept `RESULT_SECONDS` |
| `note:<scope>` | hash | a job's notes for its own retry, `EXPIRE` |

Every Redis failure is raised as `StoreUnavailable` (the caller decides what that means).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

from bot.store.redis_store import Store, StoreUnavailable, awaited
from bot.store.shared import Compute, RateDecision

LEASE_SECONDS = 15.0
"""The single-flight lock's lease, renewed every third of it while the computation runs: a leader
that died frees it within this time."""
RESULT_SECONDS = 300
POLL_SECONDS = 0.2
MAX_WAIT_SECONDS = 1800.0

# KEYS[1] = rate zset. ARGV: 1 now (ms), 2 window (ms), 3 count, 4 member.
_ALLOW = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + tonumber(ARGV[2]) - tonumber(ARGV[1])}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, 0}
"""

_EXTEND = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
"""


class RedisState:
    def __init__(self, store: Store, *, lease_seconds: float = LEASE_SECONDS) -> None:
        self.store = store
        self._lease_ms = int(lease_seconds * 1000)
        redis = store.client
        self._allow = redis.register_script(_ALLOW)
        self._extend = redis.register_script(_EXTEND)
        self._release = redis.register_script(_RELEASE)

    async def first_time(self, key: str, ttl_seconds: int = 3600) -> bool:
        with self.store.guard():
            fresh = await self.store.client.set(self.store.key(f"seen:{key}"), "1", nx=True, ex=ttl_seconds)
        return bool(fresh)

    async def allow(self, user: str, *, count: int, seconds: int) -> RateDecision:
        now_ms = int(time.time() * 1000)
        with self.store.guard():
            ok, wait_ms = await self._allow(
                keys=[self.store.key(f"rate:{user}")],
                args=[now_ms, seconds * 1000, count, f"{now_ms}-{uuid.uuid4().hex[:8]}"],
            )
        return RateDecision(bool(int(ok)), retry_after=max(0.0, float(wait_ms) / 1000))

    async def share(self, key: str, *, requested_at: float, compute: Compute) -> str:
        redis = self.store.client
        lock = self.store.key(f"flight:{key}:lock")
        result = self.store.key(f"flight:{key}:result")
        token = uuid.uuid4().hex
        deadline = time.monotonic() + MAX_WAIT_SECONDS
        while time.monotonic() < deadline:
            with self.store.guard():
                finished, data = await awaited(redis.hmget(result, ["finished", "data"]))
            if finished is not None and data is not None and requested_at <= float(finished):
                return str(data)
            with self.store.guard():
                leader = await redis.set(lock, token, nx=True, px=self._lease_ms)
            if leader:
                return await self._lead(lock, result, token, compute)
            await asyncio.sleep(POLL_SECONDS)
        raise StoreUnavailable(f"waited {MAX_WAIT_SECONDS:.0f} s for the shared computation of {key}")

    async def _lead(self, lock: str, result: str, token: str, compute: Compute) -> str:
        renew = asyncio.create_task(self._renew(lock, token))
        try:
            data = await compute()
            with self.store.guard():
                async with self.store.client.pipeline(transaction=True) as pipe:
                    pipe.hset(result, mapping={"finished": repr(time.time()), "data": data})
                    pipe.expire(result, RESULT_SECONDS)
                    await pipe.execute()
            return data
        finally:
            renew.cancel()
            with contextlib.suppress(StoreUnavailable), self.store.guard():
                await self._release(keys=[lock], args=[token])

    async def _renew(self, lock: str, token: str) -> None:
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            with contextlib.suppress(StoreUnavailable), self.store.guard():
                await self._extend(keys=[lock], args=[token, self._lease_ms])

    async def remember(self, scope: str, name: str, value: str, ttl_seconds: int = 3600) -> None:
        key = self.store.key(f"note:{scope}")
        with self.store.guard():
            async with self.store.client.pipeline(transaction=True) as pipe:
                pipe.hset(key, name, value)
                pipe.expire(key, ttl_seconds)
                await pipe.execute()

    async def recall(self, scope: str, name: str) -> str | None:
        with self.store.guard():
            value = await awaited(self.store.client.hget(self.store.key(f"note:{scope}"), name))
        return None if value is None else str(value)
