"""`calico-bot sim` and `calico-bot serve` as subprocesses, for the end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot.queue.config import DEFAULT_PREFIX, QueueSettings
from bot.queue.redis_queue import RedisJobQueue
from tests.slack.fake_slack import FakeSlack
from tests.slack.signing import sign, slash_command_body

ROOT = Path(__file__).resolve().parents[2]
SECRET = "e2e-signing-secret"
FORM = "application/x-www-form-urlencoded"


@contextmanager
def sim_process(
    directory: Path, *, scenario: str, nodes: int, cluster: str, extra_args: Sequence[str] = ()
) -> Iterator[Path]:
    """A simulated cluster in its own process; yields its kubeconfig (context = `cluster`)."""
    kubeconfig = directory / f"{cluster}.kubeconfig"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "sim",
            "--scenario",
            scenario,
            "--nodes",
            str(nodes),
            "--cluster",
            cluster,
            "--kubeconfig-out",
            str(kubeconfig),
            "--plain-http",  # these tests read /_sim/ and the IKS routes with plain aiohttp clients
            *extra_args,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while not kubeconfig.exists() and time.time() < deadline:
        assert proc.poll() is None, "the simulator exited"
        time.sleep(0.1)
    try:
        yield kubeconfig
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@dataclass
class Bot:
    url: str
    fake: FakeSlack
    proc: asyncio.subprocess.Process
    redis: tuple[str, str] | None = None
    """(REDIS_URL, key prefix) when jobs go through the Redis queue to a worker."""

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str, float]:
        started = time.perf_counter()
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url + "/slack/events", data=body, headers=headers) as response,
        ):
            text = await response.text()
        return response.status, text, time.perf_counter() - started

    async def idle(self) -> list[str]:
        """The work still in flight in the bot (`GET /_idle`): empty once it has finished."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.url + "/_idle") as response,
        ):
            assert response.status == 200
            answer = await response.json()
        return [str(task) for task in answer["busy"]]

    async def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until the bot has no work in flight: every job, listener and Slack call of the
        requests it answered has finished (what a test checks before asserting nothing happened).
        With the Redis queue, also until no job is queued, running on a worker or waiting to retry:
        serve idle first (it enqueues nothing more), then the queue empty (a job that starts another
        keeps it non-empty in between)."""
        deadline = time.monotonic() + timeout
        while True:
            busy = await self.idle()
            if not busy and self.redis is not None:
                busy = [f"{n} job(s) in the Redis queue"] if (n := await jobs_incomplete(*self.redis)) else []
            if not busy:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot was still busy after {timeout}s: {busy}")
            await asyncio.sleep(0.02)

    async def command(self, text: str, *, channel_id: str = "C1") -> tuple[int, str, float]:
        body = slash_command_body(text, channel_id=channel_id, response_url=self.fake.response_url("cmd"))
        return await self.post(body, sign(body, SECRET, content_type=FORM))


def bot_env(fake: FakeSlack, kubeconfig: Path, **extra_env: str) -> dict[str, str]:
    """The environment of a `serve` or `worker` process of the tests."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(
        SLACK_BOT_TOKEN="xoxb-e2e-test",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.api_url,
        KUBECONFIG=str(kubeconfig),
        CALICO_BOT_ALLOWED_CHANNELS="C1,C2",
        PORT="0",
        HOST="127.0.0.1",
    )
    env.pop("REDIS_URL", None)
    env.update(extra_env)
    return env


@asynccontextmanager
async def serve_process(
    fake: FakeSlack, kubeconfig: Path, *, worker: bool = True, **extra_env: str
) -> AsyncIterator[Bot]:
    """`calico-bot serve` on 127.0.0.1:<free port>, talking to `fake`, reaching clusters by `kubeconfig`.
    With `REDIS_URL`, serve only enqueues: one `calico-bot worker` with the same environment runs the
    jobs too (unless `worker=False`: the test starts its own)."""
    env = bot_env(fake, kubeconfig, **extra_env)
    if worker and env.get("REDIS_URL"):
        async with (
            worker_process(fake, kubeconfig, **extra_env),
            serve_process(fake, kubeconfig, worker=False, **extra_env) as bot,
        ):
            yield bot
        return
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    url = ""
    while not url:
        line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
        assert line, "calico-bot serve exited before listening"
        match = re.search(r"serving on (http://[\d.]+:\d+)", line)
        url = match.group(1) if match else ""
    drain = asyncio.create_task(_drain(proc.stderr))
    redis = (
        (env["REDIS_URL"], env.get("CALICO_BOT_REDIS_PREFIX", DEFAULT_PREFIX))
        if env.get("REDIS_URL")
        else None
    )
    try:
        yield Bot(url=url, fake=fake, proc=proc, redis=redis)
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
        drain.cancel()


async def jobs_incomplete(url: str, prefix: str) -> int:
    """Jobs of the Redis queue under `prefix` that are queued, running or waiting to retry."""
    queue = RedisJobQueue(url, settings=QueueSettings(prefix=prefix))
    try:
        return int(await queue._queue.count("incomplete"))  # SAQ's own count (bot.queue.redis_queue)
    finally:
        await queue.close()


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


def approval_id_of(card: Any) -> str:
    """The approval id an approval card's Approve button carries (card: a recorded chat.postMessage)."""
    return str(
        next(
            e["value"]
            for b in card.params["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "calico_approve"
        )
    )


@dataclass
class Worker:
    proc: asyncio.subprocess.Process
    name: str
    """The worker id it announced (its executions' owner)."""
    lines: list[str]
    """Its stderr so far."""


@asynccontextmanager
async def worker_process(fake: FakeSlack, kubeconfig: Path, **extra_env: str) -> AsyncIterator[Worker]:
    """`calico-bot worker` taking jobs from `REDIS_URL` (with the environment `serve` gets)."""
    env = bot_env(fake, kubeconfig, **extra_env)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "worker",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    lines: list[str] = []
    name = ""
    while not name:
        line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
        assert line, "calico-bot worker exited before taking jobs: " + "".join(lines[-20:])
        lines.append(line)
        match = re.search(r"calico-bot worker (\S+) taking jobs", line)
        name = match.group(1) if match else ""
    drain = asyncio.create_task(_keep(proc.stderr, lines))
    try:
        yield Worker(proc=proc, name=name, lines=lines)
    finally:
        if proc.returncode is None:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 40)
        drain.cancel()


async def _keep(stream: asyncio.StreamReader, lines: list[str]) -> None:
    while line := await stream.readline():
        lines.append(line.decode(errors="replace"))
