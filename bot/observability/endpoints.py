"""The HTTP side of observability (aiohttp): `/healthz`, `/readyz`, `/metrics`, and the ack timer.

- `add_probe_routes(app, checks=…, queue_stats=…)` adds the three endpoints to any aiohttp app:
  `serve` adds them beside `/slack/events`; a process without a web app (the worker) runs them
  alone with `start_probe_server`.
  `/healthz` is 200 while the event loop answers (liveness); `/readyz` is 200 when every probe
  answers (`bot.observability.readiness`) and 503 naming the ones that do not; `/metrics` reads the
  queue's depth and oldest age first, then answers Prometheus' text format.
- `slack_ack_timer()` is the outermost middleware of `/slack/events`: it starts a fresh correlation
  chain with Slack's id for the request (every line logged while handling it, and every task it
  starts, carry it) and records the ack (kind, HTTP status, seconds from receipt to answer).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot.observability import correlation, measure, metrics
from bot.observability.readiness import Check, Probe, ReadinessLog, evaluate


@dataclass(frozen=True)
class QueueStats:
    depth: int
    oldest_age_seconds: float = 0.0


QueueStatsFn = Callable[[], Awaitable[QueueStats]]
Details = Callable[[], dict[str, object]]


def readiness_checks(*, redis: Probe | None, queue: object) -> list[Check]:
    """What `/readyz` asks in `serve` and `worker`: Redis (when configured) and the job queue."""
    checks = [Check("queue", lambda: queue_answers(queue))]
    if redis is not None:
        checks.insert(0, Check("redis", redis))
    return checks


async def queue_answers(queue: object) -> bool:
    """A queue with a `ping()` (the Redis queue) is asked; the in-process queue answers while this
    process's event loop does, unless it was closed."""
    ping = getattr(queue, "ping", None)
    if callable(ping):
        return bool(await ping())
    return not getattr(queue, "closed", False)


async def queue_stats(queue: object) -> QueueStats:
    """Depth and oldest age from a queue with `stats()` (the Redis queue: anything with `depth` and
    `oldest_age_seconds`); the in-process queue has no waiting room (every job starts at once)."""
    stats = getattr(queue, "stats", None)
    if callable(stats):
        result = await stats()
        return QueueStats(depth=int(result.depth), oldest_age_seconds=float(result.oldest_age_seconds))
    return QueueStats(depth=0, oldest_age_seconds=0.0)


def add_probe_routes(
    app: web.Application,
    *,
    checks: Sequence[Check] = (),
    queue_stats: QueueStatsFn | None = None,
    details: Details | None = None,
) -> None:
    """`/healthz`, `/readyz` (the `checks`, plus `details()` in its JSON) and `/metrics`; from now on
    the process records every measurement (`metrics.install`)."""
    metrics.install()
    changes = ReadinessLog()

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def readyz(_request: web.Request) -> web.Response:
        readiness = await evaluate(checks)
        metrics.readiness(readiness.checks)
        changes.note(readiness)
        body = {**readiness.to_json(), **(details() if details else {})}
        return web.json_response(body, status=200 if readiness.ready else 503)

    async def metrics_text(_request: web.Request) -> web.Response:
        if queue_stats is not None:
            try:
                stats = await queue_stats()
            except Exception:  # a scrape must not fail because the queue cannot be read right now
                stats = None
            if stats is not None:
                metrics.queue_state(stats.depth, stats.oldest_age_seconds)
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = metrics.CONTENT_TYPE
        return response

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_text)


def slack_ack_timer(
    path: str = "/slack/events", clock: Callable[[], float] = time.perf_counter
) -> Middleware:
    """Correlation id and ack measurement for every POST to `path` (outermost middleware)."""

    @web.middleware
    async def timer(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != path or request.method != "POST":
            return await handler(request)
        started = clock()
        body = await request.read()  # aiohttp keeps it: the guard and Bolt read the same bytes
        kind, slack_id = correlation.request_ids(body, request.content_type)
        status = 500
        with correlation.fresh(slack_id=slack_id):
            try:
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as exc:
                status = exc.status
                raise
            finally:
                measure.ack(kind, status, clock() - started)

    return timer


async def start_probe_server(
    host: str,
    port: int,
    *,
    checks: Sequence[Check] = (),
    queue_stats: QueueStatsFn | None = None,
    details: Details | None = None,
) -> web.AppRunner:
    """`/healthz`, `/readyz` and `/metrics` alone on host:port (the worker); `await runner.cleanup()` stops it.
    The bound port is `runner.addresses[0][1]` (port 0 picks a free one)."""
    app = web.Application()
    add_probe_routes(app, checks=checks, queue_stats=queue_stats, details=details)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
