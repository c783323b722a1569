"""`calico-bot worker`: run the jobs `serve` replicas put on the Redis queue — checks, gathers,
escalations, remediation requests, approved actions — plus the sweeps (expired requests, executions
whose worker died).

Same image and environment as `serve` (it needs `REDIS_URL`). On SIGTERM (or SIGINT) it stops
fetching jobs, gives the running ones `CALICO_BOT_SHUTDOWN_SECONDS` to finish, hands the rest back
to the queue (an approved action is handed back to the next worker, which resumes it without
applying it again), and exits 0 — inside Kubernetes' 30-second grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal

from bot.observability.endpoints import queue_stats, readiness_checks, start_probe_server
from bot.observability.logs import configure_logging
from bot.queue.redis_queue import RedisJobQueue
from bot.remediation.flow import default_worker_id
from bot.settings import ConfigError, Settings, load_settings
from bot.worker.exit import finish
from bot.worker.sweeps import sweep_forever
from bot.worker.wiring import store_for, wire

log = logging.getLogger("calico-bot.worker")

NEEDS_REDIS = (
    "calico-bot worker needs REDIS_URL: it runs the jobs that `serve` replicas put on the Redis queue "
    "(without REDIS_URL, `serve` runs its jobs itself)"
)


async def work(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Consume the queue until `stop` is set (or SIGTERM / SIGINT arrives)."""
    store = store_for(settings)
    assert store is not None  # run_worker refuses to start without REDIS_URL
    queue = RedisJobQueue(settings.redis_url, settings=settings.queue)
    wired = wire(settings, queue, store)
    worker_id = wired.remediation.worker_id if wired.remediation is not None else default_worker_id()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if not await store.ping():
        log.warning("Redis at %s does not answer yet: jobs start when it does", store.url)
    sweeper = None
    if wired.remediation is not None:
        sweeper = asyncio.create_task(
            sweep_forever(wired.remediation, settings.queue.sweep_seconds), name="worker-sweeps"
        )
    if settings.read_only:
        log.warning("READ-ONLY MODE: every approved action is a dry run")
    probes = await start_probe_server(
        settings.host,
        settings.port,
        checks=readiness_checks(redis=store.ping, queue=queue),
        queue_stats=lambda: queue_stats(queue),
        details=lambda: {"jobs": queue.running},
    )
    log.info(
        f"calico-bot worker {worker_id} taking jobs from {store.url} "
        f"(queue {settings.queue.prefix}saq:, {settings.queue.concurrency} at a time); /healthz, /readyz and /metrics on port %s",
        probes.addresses[0][1] if probes.addresses else settings.port,
    )
    try:
        await queue.work(stop, worker_id=worker_id)
    finally:
        log.info("worker %s stopped taking jobs", worker_id)
        if sweeper is not None:
            sweeper.cancel()
        await queue.close()
        await store.close()
        await probes.cleanup()


def run_worker() -> int:
    configure_logging(process="worker", env=os.environ)
    try:
        settings = load_settings(os.environ)
    except ConfigError as exc:
        for problem in exc.problems:
            log.error("calico-bot: %s", problem)
        return 2
    if not settings.redis_url:
        log.error("calico-bot: %s", NEEDS_REDIS)
        return 2
    asyncio.run(work(settings))
    return finish(0)
