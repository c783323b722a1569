"""`calico-bot serve`: the Slack app (Bolt `AsyncApp`) in HTTP mode or Socket Mode.

HTTP mode serves `/slack/events` (commands, events, interactivity) on aiohttp, behind
`slack_request_guard` (timestamp, signature and shape checked before Bolt parses); Socket Mode
(`SLACK_APP_TOKEN` set) connects out to Slack instead. Both serve `/healthz`, `/readyz` (Redis
with `REDIS_URL` set, and the queue, must answer) and `/metrics`; every log line is JSON with the
correlation id of the request in flight (`bot.observability`).
Without `REDIS_URL` (the embedded default) jobs run in this process and state lives in memory:
one replica only, which the start-up log says loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.observability import correlation, measure
from bot.observability.endpoints import add_probe_routes, queue_stats, readiness_checks, slack_ack_timer
from bot.observability.logs import configure_logging
from bot.queue.idle import busy_tasks
from bot.queue.jobs import InProcessQueue, JobQueue
from bot.queue.redis_queue import RedisJobQueue
from bot.remediation.flow import Remediation
from bot.settings import ConfigError, Settings, load_settings
from bot.slack.api import SlackPoster, make_client
from bot.store.redis_store import Store
from bot.worker.exit import finish
from bot.worker.wiring import store_for, wire
from handlers.http_guard import refusal_of
from handlers.slack import Deps, register

log = logging.getLogger("calico-bot")


def build_app(
    settings: Settings, queue: JobQueue, store: Store | None = None
) -> tuple[AsyncApp, Remediation | None]:
    """The Slack app, and every job kind registered on `queue` (`bot.worker.wiring`): the embedded
    in-process queue runs them here; the Redis queue leaves them to `calico-bot worker`."""
    client = make_client(token=settings.bot_token, api_url=settings.api_url)
    app = AsyncApp(
        client=client,
        signing_secret=settings.signing_secret or "socket-mode-has-no-signing-secret",
        request_verification_enabled=not settings.socket_mode,
    )
    wired = wire(settings, queue, store, slack=SlackPoster(client))
    deps = Deps(
        settings=settings, queue=queue, slack=wired.slack, shared=wired.shared, remediation=wired.remediation
    )
    register(app, deps)
    return app, wired.remediation


def slack_request_guard(
    signing_secret: str, *, path: str = "/slack/events", clock: Callable[[], float] = time.time
) -> Middleware:
    """Bad requests to `path` answered in one line before Bolt parses them (`handlers.http_guard`)."""

    @web.middleware
    async def guard(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path != path or request.method != "POST":
            return await handler(request)
        body = await request.read()  # aiohttp keeps it: Bolt's adapter reads the same bytes again
        refusal = refusal_of(
            headers=request.headers, body=body, query=request.query_string, secret=signing_secret, now=clock()
        )
        if refusal is None:
            return await handler(request)
        if refusal.status == 200:
            log.info("ignored a request to %s: %s", path, refusal.reason)
            if refusal.answer:
                return web.json_response({"response_type": "ephemeral", "text": refusal.answer})
            return web.Response(status=200, text="")
        level = logging.WARNING if refusal.status == 400 else logging.INFO
        log.log(level, "refused a request to %s: HTTP %d, %s", path, refusal.status, refusal.reason)
        return web.Response(status=refusal.status, text=f"calico-bot: {refusal.reason}\n")

    return guard


def build_web_app(
    app: AsyncApp, settings: Settings, queue: InProcessQueue | RedisJobQueue, store: Store | None = None
) -> web.Application:
    web_app = web.Application() if settings.socket_mode else app.web_app(path="/slack/events")
    if not settings.socket_mode:
        # outermost: the correlation id and the ack timing cover refusals too
        web_app.middlewares.insert(0, slack_ack_timer(path="/slack/events"))
        # bad requests are answered in one line before Bolt parses them
        web_app.middlewares.append(slack_request_guard(settings.signing_secret, path="/slack/events"))
    add_probe_routes(
        web_app,
        checks=readiness_checks(redis=store.ping if store is not None else None, queue=queue),
        queue_stats=lambda: queue_stats(queue),
        details=lambda: {"mode": "socket" if settings.socket_mode else "http", "jobs": queue.running},
    )
    web_app.router.add_get("/_idle", idle_endpoint)
    return web_app


async def idle_endpoint(request: web.Request) -> web.Response:
    """`GET /_idle`: the work in flight (bot.queue.idle), for end-to-end tests and drills that wait
    for the bot instead of sleeping. It names the bot's running tasks, so it answers only callers on
    this machine (in a pod: its own loopback); anyone else gets 404."""
    if not _from_loopback(request):
        raise web.HTTPNotFound()
    busy = busy_tasks()
    return web.json_response({"idle": not busy, "busy": busy})


def _from_loopback(request: web.Request) -> bool:
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


class ObservedSocketModeHandler(AsyncSocketModeHandler):
    """Socket Mode with what `slack_ack_timer` gives HTTP mode: a fresh correlation chain with
    Slack's id for each envelope, and the ack measured (received -> acknowledged over the socket)."""

    async def handle(self, client: Any, req: Any) -> None:
        payload = req.payload if isinstance(req.payload, dict) else {}
        kind, slack_id = correlation.slack_ids(payload)
        started = time.perf_counter()
        with correlation.fresh(slack_id=slack_id):
            try:
                await super().handle(client, req)
            finally:
                measure.ack(kind, 200, time.perf_counter() - started)


async def serve(settings: Settings) -> None:
    store = store_for(settings)
    queue: InProcessQueue | RedisJobQueue
    if store is None:
        log.warning(
            "EMBEDDED MODE: no REDIS_URL, so jobs run inside this process, state is in memory and "
            "approval-gated actions are off; run a single replica only"
        )
        queue = InProcessQueue()
    else:
        if not await store.ping():
            log.warning("Redis at %s does not answer yet: requests will fail until it does", store.url)
        log.info(
            "jobs go to the Redis queue %sjobs: run `calico-bot worker` to run them", settings.queue.prefix
        )
        queue = RedisJobQueue(settings.redis_url, settings=settings.queue)
    if settings.read_only:
        log.warning("READ-ONLY MODE: every approved action is a dry run")
    app, _remediation = build_app(settings, queue, store)
    runner = web.AppRunner(build_web_app(app, settings, queue, store), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else settings.port
    mode = "Socket Mode" if settings.socket_mode else "HTTP mode, POST /slack/events"
    log.info("calico-bot serving on http://%s:%s (%s)", settings.host, port, mode)

    socket_handler = None
    if settings.socket_mode:
        socket_handler = ObservedSocketModeHandler(app, settings.app_token)
        await socket_handler.connect_async()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down: finishing running jobs")
    if socket_handler is not None:
        await socket_handler.close_async()
    await queue.close()
    if store is not None:
        await store.close()
    await runner.cleanup()


def run_serve() -> int:
    configure_logging(process="serve", env=os.environ)
    try:
        settings = load_settings(os.environ)
    except ConfigError as exc:
        for problem in exc.problems:
            log.error("calico-bot: %s", problem)
        return 2
    asyncio.run(serve(settings))
    return finish(0)
