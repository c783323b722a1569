"""Benchmark: Slack ack latency and command-to-card time with the Redis job queue in the path.

    .venv/bin/python bench/queue_ack.py [--requests 100] [--nodes 50] [--redis redis://127.0.0.1:6379/0]

Runs `calico-bot sim` (a crash-looping cluster of --nodes workers), one `calico-bot serve` and one
`calico-bot worker` on a real Redis (keys under a prefix of this run, deleted at the end), and the
fake Slack Web API in this process, then:
1. one `/calico check` on an idle bot: time to HTTP 200, to the "checking…" post, to the card;
2. --requests signed commands one after the other (each enqueues a real check): p50, p99 and worst
   time to HTTP 200 (Slack's limit is 3 s), and the time until every card is posted;
and the same two in the embedded mode (no REDIS_URL: serve runs the jobs itself), for comparison.
A script, not a test: the numbers go into the issue notes.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.slack.fake_slack import FakeSlack  # noqa: E402
from tests.slack.processes import serve_process, sim_process  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def cards(fake: FakeSlack) -> int:
    return sum(
        1
        for c in fake.calls("chat.update")
        if "bench:" in str(c.params.get("text", "")) and not str(c.params.get("text", "")).startswith("⏳")
    )


async def run(label: str, fake: FakeSlack, kubeconfig: Path, requests: int, env: dict[str, str]) -> None:
    async with serve_process(fake, kubeconfig, CALICO_BOT_RATE_LIMIT="10000/60", **env) as bot:
        started = time.perf_counter()
        _status, _text, ack = await bot.command("check bench")
        await fake.wait_for("chat.postMessage", timeout=60)
        posted = time.perf_counter() - started
        while cards(fake) < 1:
            await asyncio.sleep(0.01)
        card = time.perf_counter() - started
        print(
            f"[{label}] idle bot: ack {ack * 1000:.0f} ms, 'checking…' posted {posted * 1000:.0f} ms, "
            f"card {card:.2f} s after the command"
        )
        await asyncio.sleep(1)
        times = []
        started = time.perf_counter()
        for _ in range(requests):
            status, _text, seconds = await bot.command("check bench")
            assert status == 200, status
            times.append(seconds)
        sent = time.perf_counter() - started
        while cards(fake) < requests + 1:
            await asyncio.sleep(0.05)
        done = time.perf_counter() - started
        print(
            f"[{label}] {requests} /calico check in a row: ack p50 {statistics.median(times) * 1000:.0f} ms, "
            f"p99 {percentile(times, 0.99) * 1000:.0f} ms, worst {max(times) * 1000:.0f} ms; "
            f"all sent in {sent:.1f} s, every card posted {done:.1f} s after the first command"
        )


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    prefix = f"calico-bot-bench:{secrets.token_hex(4)}:"
    with (
        tempfile.TemporaryDirectory() as tmp,
        sim_process(Path(tmp), scenario="crashloop-one", nodes=args.nodes, cluster="bench") as kubeconfig,
    ):
        try:
            async with FakeSlack() as fake:
                await run(
                    "redis queue",
                    fake,
                    kubeconfig,
                    args.requests,
                    {"REDIS_URL": args.redis, "CALICO_BOT_REDIS_PREFIX": prefix},
                )
            async with FakeSlack() as fake:
                await run("embedded", fake, kubeconfig, args.requests, {})
        finally:
            client = aioredis.Redis.from_url(args.redis)
            keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
            if keys:
                await client.delete(*keys)
            await client.aclose()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
