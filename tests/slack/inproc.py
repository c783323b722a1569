"""calico-bot's Slack app (`build_app` + `build_web_app`, exactly what `calico-bot serve` runs) in
this process: on 127.0.0.1:<free port>, in a thread with its own event loop, talking to a `FakeSlack`
served by the same loop. Tests drive it with plain blocking calls, which lets hypothesis (whose
`@given` tests are synchronous) post hundreds of signed requests to it.

    with InProcessBot(allowed="C1") as bot:
        status, text = bot.post_form(block_actions_body(...))
        bot.run(bot.fake.wait_for_responses("r1"))
        assert bot.queue.ids == []

What it records: `queue.ids` (every job id handed to the queue), `records` (every log record at
INFO and above, from any logger), and the fake's calls. With `redis_url`, a `Store` under a key
prefix of its own (`prefix`) is used, and its keys are deleted on exit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web

from bot.queue.idle import busy_tasks
from bot.queue.jobs import InProcessQueue, Job
from bot.serve import build_app, build_web_app
from bot.settings import load_settings
from bot.store.redis_store import Store
from tests.slack.fake_slack import FakeSlack
from tests.slack.signing import FORM, JSON, sign

T = TypeVar("T")
SECRET = "inproc-signing-secret"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


class RecordingQueue(InProcessQueue):
    """The in-process queue, remembering the id of every job it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []

    async def enqueue(self, job: Job) -> bool:
        self.ids.append(job.id)
        return await super().enqueue(job)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class InProcessBot:
    def __init__(
        self,
        *,
        allowed: str = "C1,C2",
        redis_url: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.env = {
            "SLACK_BOT_TOKEN": "xoxb-inproc-test",
            "SLACK_SIGNING_SECRET": SECRET,
            "CALICO_BOT_ALLOWED_CHANNELS": allowed,
            "CALICO_BOT_SIMULATORS": "1",
            **(env or {}),
        }
        self.redis_url = redis_url
        self.prefix = f"test:slack:{uuid.uuid4().hex}:"
        self.queue = RecordingQueue()
        self.fake = FakeSlack()
        self.store: Store | None = None
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="inproc-bot", daemon=True)
        self._runner: web.AppRunner | None = None
        self._records = _Records()
        self._level = logging.NOTSET
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> InProcessBot:
        root = logging.getLogger()
        self._level = root.level
        root.setLevel(min(root.level or logging.WARNING, logging.INFO))
        root.addHandler(self._records)
        self._thread.start()
        self.run(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.run(self._stop(), timeout=60)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._loop.close()
            logging.getLogger().removeHandler(self._records)
            logging.getLogger().setLevel(self._level)

    async def _start(self) -> None:
        await self.fake.start()
        settings = load_settings({**self.env, "SLACK_API_URL": self.fake.api_url})
        if self.redis_url:
            self.store = Store(self.redis_url, prefix=self.prefix)
        app, _remediation = build_app(settings, self.queue, self.store)
        self._runner = web.AppRunner(build_web_app(app, settings, self.queue), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def _stop(self) -> None:
        await self.queue.close(timeout=30)
        if self._runner is not None:
            await self._runner.cleanup()
        if self.store is not None:
            await self.store.close()
            if self.redis_url == REDIS_URL:  # a deliberately dead Redis has nothing to clean
                import redis.asyncio as aioredis

                raw = aioredis.Redis.from_url(self.redis_url or "")
                keys = [key async for key in raw.scan_iter(match=f"{self.prefix}*", count=1000)]
                if keys:
                    await raw.delete(*keys)
                await raw.aclose()
        await self.fake.stop()

    # ------------------------------------------------------------------ driving it

    def run(self, coro: Coroutine[Any, Any, T] | Awaitable[T], timeout: float = 30.0) -> T:
        """Run a coroutine on the bot's loop (e.g. `bot.fake.wait_for(...)`) and return its result."""

        async def wrapped() -> T:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrapped(), self._loop).result(timeout)

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        request = urllib.request.Request(
            self.url + "/slack/events", data=body, headers=headers, method="POST"
        )
        try:
            with self._opener.open(request, timeout=30) as response:
                return int(response.status), response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return int(error.code), error.read().decode(errors="replace")

    def post_form(self, body: bytes) -> tuple[int, str]:
        return self.post(body, sign(body, SECRET, content_type=FORM))

    def post_json(self, body: bytes) -> tuple[int, str]:
        return self.post(body, sign(body, SECRET, content_type=JSON))

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the bot is idle: no request, listener, job or Slack call in flight on its loop
        (`bot.queue.idle`), so what has not happened by then will not happen."""

        async def idle() -> None:
            deadline = time.monotonic() + timeout
            while busy := busy_tasks():
                if time.monotonic() > deadline:
                    raise AssertionError(f"the bot was still busy after {timeout}s: {busy}")
                await asyncio.sleep(0.01)

        self.run(idle(), timeout=timeout + 5)

    def wait_until(self, ready: Callable[[], bool], timeout: float = 10.0, what: str = "a condition") -> None:
        """Poll `ready` from the calling thread (it may use `run`) until it is true."""
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.02)

    # ------------------------------------------------------------------ what happened

    @property
    def records(self) -> list[logging.LogRecord]:
        return list(self._records.records)

    def tracebacks(self) -> list[str]:
        """Log records at ERROR or above that carry a stack (what must never follow bad input)."""
        return [
            f"{r.name}: {r.getMessage()}"
            for r in self.records
            if r.levelno >= logging.ERROR and (r.exc_info or r.stack_info or "Traceback" in r.getMessage())
        ]

    def logged(self, text: str) -> list[str]:
        return [r.getMessage() for r in self.records if text in r.getMessage()]

    def response_texts(self, id: str) -> list[str]:
        return [str(r.payload.get("text", "")) for r in self.fake.responses_for(id)]
