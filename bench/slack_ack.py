"""Benchmark: how fast `calico-bot serve` acks Slack, and how long until the card is posted.

    .venv/bin/python bench/slack_ack.py [--requests 100] [--nodes 50]

Runs `calico-bot sim` (a crash-looping cluster of --nodes workers) and `calico-bot serve` as
subprocesses, the fake Slack Web API in this process, and sends signed `/calico check` requests:
1. one command on an idle bot: time to HTTP 200, to the "checking…" post, to the card (chat.update);
2. --requests signed commands one after the other (each starts a real check in the background):
   median, p95 and worst time to HTTP 200 — Slack's limit is 3 s.
A script, not a test: the numbers go into the issue notes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.slack.fake_slack import FakeSlack  # noqa: E402
from tests.slack.signing import sign, slash_command_body  # noqa: E402

SECRET = "bench-secret"
FORM = "application/x-www-form-urlencoded"


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=50)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "sim.kubeconfig"
        sim = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot",
                "sim",
                "--scenario",
                "crashloop-one",
                "--nodes",
                str(args.nodes),
                "--cluster",
                "bench",
                "--kubeconfig-out",
                str(kubeconfig),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while not kubeconfig.exists():
            await asyncio.sleep(0.1)
        async with FakeSlack() as fake:
            env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
            env.update(
                SLACK_BOT_TOKEN="xoxb-bench",
                SLACK_SIGNING_SECRET=SECRET,
                SLACK_API_URL=fake.api_url,
                KUBECONFIG=str(kubeconfig),
                PORT="0",
                HOST="127.0.0.1",
                LOG_LEVEL="WARNING",
            )
            env.pop("REDIS_URL", None)
            bot = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "serve",
                cwd=ROOT,
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            assert bot.stderr is not None
            url = ""
            while not url:
                line = (await bot.stderr.readline()).decode()
                if not line:
                    raise SystemExit("calico-bot serve exited")
                match = re.search(r"serving on (http://[\d.]+:\d+)", line)
                url = match.group(1) if match else ""
            try:
                async with aiohttp.ClientSession() as session:

                    async def command(trigger: str) -> float:
                        body = slash_command_body("check bench", trigger_id=trigger)
                        started = time.perf_counter()
                        async with session.post(
                            url + "/slack/events", data=body, headers=sign(body, SECRET, content_type=FORM)
                        ) as response:
                            await response.read()
                            assert response.status == 200, response.status
                        return time.perf_counter() - started

                    # 1. one command on an idle bot
                    started = time.perf_counter()
                    ack = await command("idle-1")
                    await fake.wait_for("chat.postMessage", timeout=30)
                    posted = time.perf_counter() - started
                    while not any(
                        "Checking" not in str(c.params.get("text", "")) for c in fake.calls("chat.update")
                    ):
                        await asyncio.sleep(0.01)
                    card = time.perf_counter() - started
                    print(
                        f"idle bot, {args.nodes}-worker simulated cluster: ack {ack * 1000:.0f} ms, "
                        f"'checking…' posted {posted * 1000:.0f} ms, card {card:.2f} s after the command"
                    )

                    # 2. many commands in a row, each starting a real check
                    await asyncio.sleep(2)
                    times = [await command(f"load-{i}") for i in range(args.requests)]
                    times.sort()
                    p95 = times[int(len(times) * 0.95) - 1]
                    print(
                        f"{args.requests} signed /calico check requests in a row (checks running behind): "
                        f"ack median {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
                        f"worst {times[-1] * 1000:.0f} ms (Slack allows 3,000 ms)"
                    )
            finally:
                bot.terminate()
                await bot.wait()
                sim.terminate()
                sim.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
