"""State that replicas share so a request is handled once, whichever replica gets it:
de-duplication of Slack deliveries, the per-user rate limit, single-flight collections, and a job's
notes for its own retry. `SharedState` is the interface; `MemoryState` keeps it in this process
(the embedded default, one replica); `bot.store.redis_shared.RedisState` keeps it in Redis.

Single flight (`share`): concurrent requests for the same thing (30 `/calico check c1` at once)
share one computation. A result is reused by every request made before that computation finished;
a request made later gets a computation of its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

Compute = Callable[[], Awaitable[str]]


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after: float = 0.0
    """Seconds until the user may ask again (when not allowed)."""


class SharedState(Protocol):
    async def first_time(self, key: str, ttl_seconds: int = 3600) -> bool:
        """True the first time `key` is seen within `ttl_seconds`."""
        ...

    async def allow(self, user: str, *, count: int, seconds: int) -> RateDecision:
        """Count one request of `user`: at most `count` per `seconds`."""
        ...

    async def share(self, key: str, *, requested_at: float, compute: Compute) -> str:
        """`compute()`'s result, or that of a computation of `key` that finished after
        `requested_at` (running now or just done)."""
        ...

    async def remember(self, scope: str, name: str, value: str, ttl_seconds: int = 3600) -> None:
        """Note `name = value` for `scope` (a job id): a retry of the job reads it back."""
        ...

    async def recall(self, scope: str, name: str) -> str | None: ...


class MemoryState:
    """`SharedState` in this process's memory: for the embedded mode (one replica)."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._requests: dict[str, list[float]] = {}
        self._flights: dict[str, asyncio.Future[str]] = {}
        self._results: dict[str, tuple[float, str]] = {}
        self._notes: dict[tuple[str, str], tuple[float, str]] = {}

    async def first_time(self, key: str, ttl_seconds: int = 3600) -> bool:
        now = self._clock()
        if len(self._seen) > 50_000:
            self._seen = {k: t for k, t in self._seen.items() if t > now}
        if self._seen.get(key, 0.0) > now:
            return False
        self._seen[key] = now + ttl_seconds
        return True

    async def allow(self, user: str, *, count: int, seconds: int) -> RateDecision:
        now = self._clock()
        recent = [t for t in self._requests.get(user, []) if t > now - seconds]
        if len(recent) >= count:
            self._requests[user] = recent
            return RateDecision(False, retry_after=max(0.0, recent[0] + seconds - now))
        recent.append(now)
        self._requests[user] = recent
        return RateDecision(True)

    async def share(self, key: str, *, requested_at: float, compute: Compute) -> str:
        while True:
            done = self._results.get(key)
            if done is not None and requested_at <= done[0]:
                return done[1]
            flight = self._flights.get(key)
            if flight is None:
                break
            try:
                return await asyncio.shield(flight)
            except Exception:  # noqa: S112 - the leader failed: try again, maybe as the leader
                continue
        flight = asyncio.get_running_loop().create_future()
        self._flights[key] = flight
        try:
            result = await compute()
        except BaseException as exc:
            if not isinstance(exc, Exception):
                exc = RuntimeError("the shared computation was cancelled")
            flight.set_exception(exc)
            flight.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        finally:
            del self._flights[key]
        self._results[key] = (self._clock(), result)
        flight.set_result(result)
        return result

    async def remember(self, scope: str, name: str, value: str, ttl_seconds: int = 3600) -> None:
        self._notes[(scope, name)] = (self._clock() + ttl_seconds, value)

    async def recall(self, scope: str, name: str) -> str | None:
        note = self._notes.get((scope, name))
        return note[1] if note is not None and note[0] > self._clock() else None
