"""`calico-bot serve`: the Slack app (Bolt `AsyncApp`) in HTTP mode or Socket Mode.

HTTP mode serves `/slack/events` (commands, events, interactivity) on aiohttp, behind
`slack_request_guard` (timestamp, signature and shape checked before Bolt parses); Socket Mode
(`SLACK_APP_TOKEN` set) connects out to Slack instead. Both serve `/healthz` and `/readyz`.
Without `REDIS_URL` (the embedded default) jobs run in this process and state lives in memory:
one replica only, which the start-up log says loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.escalation.pagerduty import PagerDutySettings
from bot.queue.idle import busy_tasks
from bot.queue.jobs import InProcessQueue, JobQueue
from bot.remediation.flow import Remediation
from bot.settings import ConfigError, Settings, load_settings
from bot.slack.api import SlackPoster, make_client
from bot.store.redis_store import Store, StoreUnavailable
from handlers.http_guard import refusal_of
from handlers.slack import Deps, register

log = logging.getLogger("calico-bot")


def build_app(
    settings: Settings, queue: JobQueue, store: Store | None = None
) -> tuple[AsyncApp, Remediation | None]:
    client = make_client(token=settings.bot_token, api_url=settings.api_url)
    app = AsyncApp(
        client=client,
        signing_secret=settings.signing_secret or "socket-mode-has-no-signing-secret",
        request_verification_enabled=not settings.socket_mode,
    )
    slack = SlackPoster(client)
    remediation = None
    if store is not None:
        remediation = Remediation(
            store=store,
            slack=slack,
            policy=settings.policy,
            access=settings.access,
            queue=queue,
            group_members=slack.usergroup_members,
            read_only=settings.read_only,
            iks=settings.iks,
            deadlines=settings.verify_deadlines,
            max_not_ready_share=settings.max_not_ready_share,
            pagerduty=PagerDutySettings.from_env(os.environ),
        )
    register(app, Deps(settings=settings, queue=queue, slack=slack, seen_events={}, remediation=remediation))
    return app, remediation


SWEEP_SECONDS = 30.0


async def _sweep_forever(remediation: Remediation | None) -> None:
    """Every SWEEP_SECONDS, expire the approval requests nobody decided in time (cards say so)."""
    if remediation is None:
        return
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            swept = await remediation.sweep_expired()
            if swept:
                log.info("expired %d approval request(s)", swept)
        except StoreUnavailable as exc:
            log.warning("expiry sweep skipped: %s", exc)
        except Exception:  # the sweeper must survive a bad record
            log.exception("expiry sweep failed")


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


def build_web_app(app: AsyncApp, settings: Settings, queue: InProcessQueue) -> web.Application:
    web_app = web.Application() if settings.socket_mode else app.web_app(path="/slack/events")
    if not settings.socket_mode:  # bad requests are answered in one line before Bolt parses them
        web_app.middlewares.append(slack_request_guard(settings.signing_secret, path="/slack/events"))

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def readyz(_request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": True, "mode": "socket" if settings.socket_mode else "http", "jobs": queue.running}
        )

    async def idle(_request: web.Request) -> web.Response:
        busy = busy_tasks()  # end-to-end tests wait for this instead of sleeping (bot.queue.idle)
        return web.json_response({"idle": not busy, "busy": busy})

    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/readyz", readyz)
    web_app.router.add_get("/_idle", idle)
    return web_app


async def serve(settings: Settings) -> None:
    store = Store(settings.redis_url) if settings.redis_url else None
    if store is None:
        log.warning(
            "EMBEDDED MODE: no REDIS_URL, so jobs run inside this process, state is in memory and "
            "approval-gated actions are off; run a single replica only"
        )
    elif not await store.ping():
        log.warning("Redis at %s does not answer yet: approvals will fail until it does", store.url)
    if settings.read_only:
        log.warning("READ-ONLY MODE: every approved action is a dry run")
    queue = InProcessQueue()
    app, remediation = build_app(settings, queue, store)
    runner = web.AppRunner(build_web_app(app, settings, queue), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else settings.port
    mode = "Socket Mode" if settings.socket_mode else "HTTP mode, POST /slack/events"
    print(f"calico-bot serving on http://{settings.host}:{port} ({mode})", file=sys.stderr, flush=True)

    socket_handler = None
    if settings.socket_mode:
        socket_handler = AsyncSocketModeHandler(app, settings.app_token)
        await socket_handler.connect_async()

    sweeper = asyncio.create_task(_sweep_forever(remediation), name="approval-sweeper")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down: finishing running jobs")
    sweeper.cancel()
    if socket_handler is not None:
        await socket_handler.close_async()
    await queue.close()
    if store is not None:
        await store.close()
    await runner.cleanup()


def run_serve() -> int:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings(os.environ)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"calico-bot: {problem}", file=sys.stderr)
        return 2
    asyncio.run(serve(settings))
    return 0
