"""The job queue on Redis, for several `serve` and `worker` replicas: SAQ (`saq`, a maintained
asyncio job queue) underneath, the only module that imports it.

Why SAQ (issue #10): its jobs have a *key* (a duplicate enqueue is refused while the job is
incomplete), a heartbeat and a timeout, and every worker's periodic sweep hands a job whose
heartbeat stopped (its worker was killed) back to the queue for another worker; a job cancelled at
shutdown is re-queued, not forgotten. taskiq-redis' stream broker reclaims an unacknowledged
message only after a later message arrives and knows no heartbeat (a long job is re-delivered while
it still runs). SAQ's cost: it caps redis-py below 8, so calico-bot pins `redis>=5.2,<8`.

- `enqueue` first takes the job's id with `SET NX` for an hour (Slack's retries and double clicks
  arrive after the first job finished, when SAQ alone would accept the key again), then enqueues.
- `work` consumes until `stop` is set: every running job's heartbeat is refreshed by a ticker;
  on stop no new job is fetched, running ones get `shutdown_seconds` to finish, the rest are
  cancelled and re-queued by SAQ for another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from saq.job import Job as SaqJob
from saq.job import Status
from saq.queue.redis import PubSubMultiplexer
from saq.queue.redis import RedisQueue as SaqRedisQueue
from saq.worker import Worker as SaqWorker

from bot.queue.config import QueueSettings
from bot.queue.jobs import Handlers, Job, JobHandler, JobObserver, log_observer

log = logging.getLogger(__name__)

FUNCTION = "calico-bot.job"
"""The one SAQ function: it looks the job's kind up in the registered handlers."""
MAX_ATTEMPTS = 5
DEDUPE_SECONDS = 3600
ABORT_WAIT_SECONDS = 1.0
"""How long a sweep waits for a stalled job's worker to acknowledge the abort (a dead one never
does) before handing the job to another worker."""
DEQUEUE_TIMEOUT = 1.0
"""Seconds one blocking fetch waits: the longest a stop waits for an idle fetch to give up."""
CANCEL_DEADLINE = 3.0
FETCH_GRACE_SECONDS = 0.5


T = TypeVar("T")


async def _awaited(value: Awaitable[T] | T) -> T:
    """A redis-py asyncio call's result (its type says "awaitable or not" before redis-py 8)."""
    if inspect.isawaitable(value):
        return await value
    return value


class QueueUnavailable(Exception):
    """Redis did not take the job (nothing was enqueued)."""

    public = "calico-bot's job queue (Redis) does not answer"


@dataclass(frozen=True)
class QueueDepth:
    depth: int
    oldest_age_seconds: float


_SWEEP_SCRIPT = """
local id_jobs = {}
if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('SETEX', KEYS[1], ARGV[1], 1)
    for i, v in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
        id_jobs[i] = {v, redis.call('GET', v)}
    end
end
return id_jobs
"""
"""SAQ's: once per `lock` seconds across workers, the active jobs with their records."""


class _SaqQueue(SaqRedisQueue):
    """SAQ's Redis queue with every key under calico-bot's prefix (`<prefix>saq:…`, not `saq:…`:
    deployments and test runs sharing a Redis never meet) and a short abort wait in its sweep."""

    def __init__(self, redis: aioredis.Redis, *, prefix: str) -> None:
        self._prefix = prefix
        super().__init__(redis, name="jobs")
        self._pubsub = PubSubMultiplexer(redis.pubsub(), prefix=self.job_id(""))

    def job_id(self, job_key: str) -> str:
        return f"{self._prefix}saq:job:{job_key}"

    def job_key_from_id(self, job_id: str) -> str:
        return job_id[len(self.job_id("")) :]

    def namespace(self, key: str) -> str:
        return f"{self._prefix}saq:{key}"

    async def sweep(self, lock: int = 60, abort: float = 5.0) -> list[str]:
        """SAQ's sweep, except for a job found in the active list but not yet marked active: SAQ
        takes it for abandoned, yet it is usually in the instant between a worker's fetch and its
        first write (and would run twice). It is looked at again a moment later instead."""
        if not self._cleanup_script:
            self._cleanup_script = self.redis.register_script(_SWEEP_SCRIPT)
        pairs = await self._cleanup_script(keys=[self._sweep, self._active], args=[lock], client=self.redis)
        candidates = [(job_id, self.deserialize(job_bytes)) for job_id, job_bytes in pairs]
        if any(job is not None and job.status == Status.QUEUED for _id, job in candidates):
            await asyncio.sleep(FETCH_GRACE_SECONDS)
            active = set(await _awaited(self.redis.lrange(self._active, 0, -1)))
            candidates = [
                (job_id, await self._get_job_by_id(job_id)) for job_id, _job in candidates if job_id in active
            ]
        swept: list[str] = []
        for job_id, job in candidates:
            if job is not None and job.status == Status.ACTIVE and not job.stuck:
                continue
            swept.append(job_id.decode() if isinstance(job_id, bytes) else str(job_id))
            if job is None:
                await _awaited(self.redis.lrem(self._active, 0, job_id))
                await self.redis.zrem(self._incomplete, job_id)
                continue
            log.info("handing back job %s (its worker stopped)", job.key)
            await self.abort(job, error=self.swept_error_message)
            with contextlib.suppress(TimeoutError):
                await job.refresh(min(abort, ABORT_WAIT_SECONDS))
            if job.retryable:
                await self.retry(job, error=self.swept_error_message)
            else:
                await self.finish(job, Status.ABORTED, error=self.swept_error_message)
        return swept


class _SaqWorker(SaqWorker[Any]):
    SIGNALS: list[Any] = []  # noqa: RUF012 - the worker process handles SIGTERM itself (bot.worker)

    upkeep_tasks: list[asyncio.Task[None]]

    async def upkeep(self) -> list[asyncio.Task[None]]:
        self.upkeep_tasks = await super().upkeep()
        return self.upkeep_tasks


class RedisJobQueue:
    def __init__(
        self, redis_url: str, *, settings: QueueSettings, observer: JobObserver = log_observer
    ) -> None:
        self.settings = settings
        self.handlers = Handlers()
        self._observer = observer
        self._redis = aioredis.Redis.from_url(
            redis_url, socket_connect_timeout=5, socket_keepalive=True, health_check_interval=30
        )
        self._queue = _SaqQueue(self._redis, prefix=settings.prefix)
        self.closed = False
        self.running = 0
        """Jobs this process is running now (0 in `serve`, which only enqueues)."""

    def register(self, kind: str, handler: JobHandler) -> None:
        self.handlers.register(kind, handler)

    def _dedupe_key(self, job_id: str) -> str:
        return f"{self.settings.prefix}job:{job_id}"

    async def enqueue(self, job: Job) -> bool:
        key = self._dedupe_key(job.id)
        try:
            if not await self._redis.set(key, "1", nx=True, ex=DEDUPE_SECONDS):
                self._observer(job, "duplicate", 0.0)
                return False
            try:
                queued = await self._queue.enqueue(
                    FUNCTION,
                    key=job.id,
                    timeout=job.timeout,
                    heartbeat=self.settings.stale_seconds,
                    retries=MAX_ATTEMPTS,
                    retry_delay=1.0,
                    retry_backoff=30,
                    ttl=600,
                    description=job.to_dict(),
                )
            except BaseException:
                with contextlib.suppress(RedisError, OSError):
                    await self._redis.delete(key)  # not enqueued: a retry of this request may try again
                raise
        except (RedisError, OSError) as exc:
            raise QueueUnavailable(f"job {job.id} not enqueued: {type(exc).__name__}") from None
        self._observer(job, "enqueued" if queued is not None else "duplicate", 0.0)
        return queued is not None

    async def ping(self) -> bool:
        try:
            return bool(await _awaited(self._redis.ping()))
        except (RedisError, OSError):
            return False

    async def stats(self) -> QueueDepth:
        """Jobs waiting, and how long the oldest has waited."""
        depth = await self._queue.count("queued")
        oldest = 0.0
        first: Any = await _awaited(self._redis.lindex(self._queue.namespace("queued"), 0))
        if first is not None:
            job_id = first.decode() if isinstance(first, bytes) else str(first)
            waiting = await self._queue.job(self._queue.job_key_from_id(job_id))
            if waiting is not None and waiting.queued:
                oldest = max(0.0, time.time() - waiting.queued / 1000)
        return QueueDepth(depth=depth, oldest_age_seconds=oldest)

    async def _run(self, ctx: dict[str, Any], *, description: dict[str, Any]) -> None:
        """The SAQ function: rebuild the job, keep its heartbeat going, run its handler."""
        job = Job.from_dict(description)
        saq_job: SaqJob = ctx["job"]
        ticker = asyncio.create_task(self._beat(saq_job), name=f"heartbeat:{job.id}")
        started = time.monotonic()
        self._observer(job, "started", 0.0)
        self.running += 1
        try:
            await self.handlers.run(job)
        except asyncio.CancelledError:
            self._observer(job, "handed-back", time.monotonic() - started)
            raise
        except Exception:
            self._observer(job, "failed", time.monotonic() - started)
            raise
        else:
            self._observer(job, "done", time.monotonic() - started)
        finally:
            self.running -= 1
            ticker.cancel()

    async def _beat(self, saq_job: SaqJob) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            try:
                await saq_job.update()
            except (RedisError, OSError) as exc:
                log.warning("heartbeat of job %s not written: %s", saq_job.key, type(exc).__name__)

    async def work(self, stop: asyncio.Event, *, worker_id: str) -> None:
        """Run jobs until `stop` is set, then stop fetching, let running jobs finish within
        `shutdown_seconds`, and hand the rest back to the queue."""
        worker = _SaqWorker(
            self._queue,
            functions=[(FUNCTION, self._run)],
            id=worker_id,
            concurrency=self.settings.concurrency,
            timers={
                "schedule": 1,
                "worker_info": 10,
                "sweep": self.settings.sweep_seconds,
                "abort": 1,
            },
            dequeue_timeout=DEQUEUE_TIMEOUT,
            shutdown_grace_period_s=self.settings.shutdown_seconds,
            cancellation_hard_deadline_s=CANCEL_DEADLINE,
        )
        await self._queue.connect()
        running = asyncio.create_task(worker.start(), name="saq-worker")
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        for task in getattr(worker, "upkeep_tasks", []):  # sleeping loops: nothing to finish
            task.cancel()
        worker.event.set()
        await running

    async def close(self) -> None:
        self.closed = True
        with contextlib.suppress(RedisError, OSError):
            await self._queue.disconnect()
