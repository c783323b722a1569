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
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.slack.fake_slack import FakeSlack  # noqa: E402
from tests.slack.processes import serve_process, sim_process  # noqa: E402

SECRET = "bench-secret"
FORM = "application/x-www-form-urlencoded"


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=50)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        sim_process(Path(tmp), scenario="crashloop-one", nodes=args.nodes, cluster="bench") as kubeconfig,
    ):
        async with FakeSlack() as fake, serve_process(fake, kubeconfig, LOG_LEVEL="WARNING") as bot:
            # 1. one command on an idle bot
            started = time.perf_counter()
            _status, _text, ack = await bot.command("check bench", trigger_id="idle-1")
            await fake.wait_for("chat.postMessage", timeout=30)
            posted = time.perf_counter() - started
            while not any("Checking" not in str(c.params.get("text", "")) for c in fake.calls("chat.update")):
                await asyncio.sleep(0.01)
            card = time.perf_counter() - started
            print(
                f"idle bot, {args.nodes}-worker simulated cluster: ack {ack * 1000:.0f} ms, "
                f"'checking…' posted {posted * 1000:.0f} ms, card {card:.2f} s after the command"
            )

            # 2. many commands in a row, each starting a real check
            await asyncio.sleep(2)
            times = []
            for i in range(args.requests):
                status, _text, seconds = await bot.command("check bench", trigger_id=f"load-{i}")
                assert status == 200, status
                times.append(seconds)
            times.sort()
            p95 = times[int(len(times) * 0.95) - 1]
            print(
                f"{args.requests} signed /calico check requests in a row (checks running behind): "
                f"ack median {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
                f"worst {times[-1] * 1000:.0f} ms (Slack allows 3,000 ms)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
