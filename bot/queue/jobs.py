"""Work that must not run on Slack's 3-second request path: job descriptions and the queue interface.

A `Job` is a serialisable description — a kind, an id derived from Slack's ids (`check:<trigger_id>`,
`event:<event_id>`, `click:<action_ts>:<user>`, `approval:<id>`), the request's fields — never a
closure, so any process can run it: the same handler (registered per kind with `register`) runs it
in the embedded `InProcessQueue` and in a `calico-bot worker` fed by `bot.queue.redis_queue`.
Enqueueing an id that was already taken is a no-op that returns False.

`InProcessQueue` runs jobs as asyncio tasks in this process (the embedded default: one replica,
nothing to install); it keeps a reference to every task, remembers the ids it has seen, and drains
on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.observability import correlation, measure

log = logging.getLogger(__name__)

DEFAULT_JOB_TIMEOUT = 900
"""Seconds a job may run before the queue gives up on it (an approved action sets its own)."""


@dataclass(frozen=True)
class Job:
    kind: str
    id: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    """The request, JSON-serialisable: what the handler of `kind` rebuilds its request from."""
    requested_at: float = field(default_factory=time.time)
    """Epoch seconds of the request (single-flight checks share a collection with anyone who asked
    before it finished)."""
    timeout: int = DEFAULT_JOB_TIMEOUT
    correlation_id: str = field(default_factory=lambda: correlation.current().correlation_id)
    """The correlation id of the request that made the job (Slack's id for it, taken from the
    context it is created in), so the worker that runs it logs the same id (bot.observability)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "fields": dict(self.fields),
            "requested_at": self.requested_at,
            "timeout": self.timeout,
            "correlation_id": self.correlation_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Job:
        return cls(
            kind=str(data["kind"]),
            id=str(data["id"]),
            fields=dict(data.get("fields") or {}),
            requested_at=float(data.get("requested_at") or time.time()),
            timeout=int(data.get("timeout") or DEFAULT_JOB_TIMEOUT),
            correlation_id=str(data.get("correlation_id") or ""),
        )


JobHandler = Callable[[Job], Awaitable[None]]
JobObserver = Callable[[Job, str, float], None]
"""Told `(job, event, seconds)` for `enqueued`, `duplicate`, `started`, `done`, `failed`,
`handed-back`: a hook for metrics (seconds: how long it ran, or 0)."""


_FINISHED = {"done": "succeeded", "failed": "failed", "handed-back": "requeued"}


def log_observer(job: Job, event: str, seconds: float) -> None:
    """The default observer: one structured log line per job event, and the job measurements
    (`calico_bot_jobs_total`, `calico_bot_job_seconds`, `calico_bot_jobs_running`, duplicates)."""
    with correlation.fresh(slack_id=job.correlation_id, job_id=job.id):
        log.info("job %s %s", job.id, event, extra={"job_kind": job.kind, "job_seconds": seconds})
    if event == "started":
        measure.job_started(job.kind)
    elif event in _FINISHED:
        measure.job_finished(job.kind, _FINISHED[event], seconds)
    elif event == "duplicate":
        measure.job_duplicate(job.kind)


class UnknownJobKind(LookupError):
    """A job of a kind nothing registered a handler for (a newer serve than this worker?)."""


class JobQueue(Protocol):
    def register(self, kind: str, handler: JobHandler) -> None:
        """The function that runs jobs of `kind` (in whichever process consumes the queue)."""
        ...

    async def enqueue(self, job: Job) -> bool:
        """Schedule `job`; False when a job with its id was already taken."""
        ...

    async def close(self) -> None: ...


class Handlers:
    """Kind -> handler, shared by every queue implementation."""

    def __init__(self) -> None:
        self._handlers: dict[str, JobHandler] = {}

    def register(self, kind: str, handler: JobHandler) -> None:
        self._handlers[kind] = handler

    def kinds(self) -> frozenset[str]:
        return frozenset(self._handlers)

    async def run(self, job: Job) -> None:
        """Run `job` with its handler, every line it logs correlated (the request's id, the job's id)."""
        handler = self._handlers.get(job.kind)
        if handler is None:
            raise UnknownJobKind(f"no handler for job kind {job.kind!r} (job {job.id})")
        with correlation.fresh(slack_id=job.correlation_id, job_id=job.id):
            await handler(job)


class InProcessQueue:
    """Runs each job as a task of this process, at once (no waiting room)."""

    def __init__(self, *, remember: int = 10_000, observer: JobObserver = log_observer) -> None:
        self.handlers = Handlers()
        self._tasks: set[asyncio.Task[None]] = set()
        self._seen: dict[str, None] = {}
        self._remember = remember
        self._observer = observer
        self.closed = False

    def register(self, kind: str, handler: JobHandler) -> None:
        self.handlers.register(kind, handler)

    async def enqueue(self, job: Job) -> bool:
        if job.id in self._seen or self.closed:
            self._observer(job, "duplicate", 0.0)
            return False
        self._seen[job.id] = None
        if len(self._seen) > self._remember:
            self._seen.pop(next(iter(self._seen)))
        task = asyncio.create_task(self._guarded(job), name=f"job:{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._observer(job, "enqueued", 0.0)
        return True

    async def _guarded(self, job: Job) -> None:
        started = time.monotonic()
        self._observer(job, "started", 0.0)
        try:
            await asyncio.wait_for(self.handlers.run(job), job.timeout)
        except Exception:  # a job's own error handling failed: log it, keep the queue alive
            log.exception("job %s failed", job.id)
            self._observer(job, "failed", time.monotonic() - started)
        else:
            self._observer(job, "done", time.monotonic() - started)

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def close(self, timeout: float = 25.0) -> None:
        """Stop taking jobs; wait up to `timeout` for the running ones, then cancel the rest (in
        this process there is nobody to hand them back to)."""
        self.closed = True
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in list(self._tasks):
            task.cancel()
