"""Processes for the observability and deploy tests: a private `redis-server` that can be stopped and
started again on its port, and `calico-bot serve` / `worker` whose every stderr line is kept."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RedisServer:
    """`redis-server` on 127.0.0.1:`port`, no persistence; `stop()` and `start()` keep the port."""

    directory: Path
    password: str = ""
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (scripts/test installs it)"
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--dir", str(self.directory)]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.answers():
            assert self.proc.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not answer within 10 s"
            time.sleep(0.05)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                auth = f"AUTH {self.password}\r\n" if self.password else ""
                sock.sendall(f"{auth}PING\r\n".encode())
                answer = b""
                while b"\r\n" not in answer.removeprefix(b"+OK\r\n") and len(answer) < 200:
                    chunk = sock.recv(100)
                    if not chunk:
                        break
                    answer += chunk
                return b"+PONG" in answer
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


@contextmanager
def redis_server(directory: Path, password: str = "") -> Iterator[RedisServer]:
    server = RedisServer(directory=directory, password=password)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Serve:
    url: str
    proc: asyncio.subprocess.Process
    lines: list[str]
    """Every line the process wrote to stderr, as written."""

    def records(self) -> list[dict[str, Any]]:
        """The stderr lines as JSON objects (fails on a line that is not one)."""
        records = []
        for line in self.lines:
            record = json.loads(line)
            assert isinstance(record, dict), line
            records.append(record)
        return records

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as session, session.get(self.url + path) as response:
            return response.status, await response.text()

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url + "/slack/events", data=body, headers=headers) as response,
        ):
            return response.status, await response.text()

    async def wait_idle(self, timeout: float = 30.0) -> None:
        """Until `calico-bot serve` has no work in flight (`GET /_idle`, bot.queue.idle)."""
        deadline = time.monotonic() + timeout
        while True:
            status, text = await self.get("/_idle")
            assert status == 200, text
            busy = json.loads(text)["busy"]
            if not busy:
                return
            assert time.monotonic() < deadline, f"serve still busy after {timeout} s: {busy}"
            await asyncio.sleep(0.02)

    async def wait_for_line(self, pattern: str, timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if re.search(pattern, line):
                    record: dict[str, Any] = json.loads(line)
                    return record
            await asyncio.sleep(0.05)
        raise AssertionError(f"no log line matching {pattern!r} within {timeout} s")


def serve_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    for name in ("REDIS_URL", "SLACK_APP_TOKEN", "IBMCLOUD_API_KEY", "CALICO_BOT_PAGERDUTY_ROUTING_KEY"):
        env.pop(name, None)
    env.update(PORT="0", HOST="127.0.0.1")
    env.update(settings)
    return env


READY_LINE = {
    "serve": r"serving on (http://[\d.]+:\d+)",
    "worker": r"taking jobs from .* on port (\d+)",
}


@asynccontextmanager
async def bot_process(command: str, env: dict[str, str], *, cwd: Path = ROOT) -> AsyncIterator[Serve]:
    """`python -m bot serve|worker` (the image's command lines) with exactly `env`; SIGTERM at the
    end, and the process must exit 0 within 30 s. `url` is where its /healthz, /readyz and /metrics
    answer."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        command,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        limit=1 << 20,
    )
    assert proc.stderr is not None
    lines: list[str] = []
    url = ""
    while not url:
        raw = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert raw, f"calico-bot {command} exited before it was up:\n" + "\n".join(lines)
        lines.append(raw.decode().rstrip("\n"))
        match = re.search(READY_LINE[command], lines[-1])
        if match:
            found = match.group(1)
            url = found if found.startswith("http") else f"http://127.0.0.1:{found}"

    async def keep(stream: asyncio.StreamReader) -> None:
        while raw := await stream.readline():
            lines.append(raw.decode().rstrip("\n"))

    reader = asyncio.create_task(keep(proc.stderr))
    try:
        yield Serve(url=url, proc=proc, lines=lines)
    finally:
        if proc.returncode is None:
            proc.terminate()
        code = await asyncio.wait_for(proc.wait(), 30)
        await asyncio.wait_for(reader, 5)
        assert code == 0, "\n".join(lines[-20:])


def serve_process(env: dict[str, str], *, cwd: Path = ROOT) -> AbstractAsyncContextManager[Serve]:
    return bot_process("serve", env, cwd=cwd)


def worker_process(env: dict[str, str], *, cwd: Path = ROOT) -> AbstractAsyncContextManager[Serve]:
    return bot_process("worker", env, cwd=cwd)
