"""Work that must not run on Slack's 3-second request path: the job queue interface.

`InProcessQueue` runs jobs as asyncio tasks in this process (the embedded default: one replica,
nothing to install); it keeps a reference to every task, refuses a job id it has already seen, and
drains on shutdown. The Redis-backed queue (several replicas, a worker Deployment) will implement
the same `JobQueue` protocol.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)

JobFn = Callable[[], Awaitable[None]]


class JobQueue(Protocol):
    async def enqueue(self, job_id: str, run: JobFn) -> bool:
        """Schedule `run`; False when a job with this id was already taken."""
        ...

    async def close(self) -> None: ...


class InProcessQueue:
    def __init__(self, *, remember: int = 10_000) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._seen: dict[str, None] = {}
        self._remember = remember

    async def enqueue(self, job_id: str, run: JobFn) -> bool:
        if job_id in self._seen:
            return False
        self._seen[job_id] = None
        if len(self._seen) > self._remember:
            self._seen.pop(next(iter(self._seen)))
        task = asyncio.create_task(self._guarded(job_id, run), name=f"job:{job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _guarded(self, job_id: str, run: JobFn) -> None:
        try:
            await run()
        except Exception:  # a job's own error handling failed: log it, keep the queue alive
            log.exception("job %s failed", job_id)

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def close(self, timeout: float = 30.0) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in list(self._tasks):
            task.cancel()
