"""The Redis job queue with real processes (issue #10 items 1–4): `calico-bot serve` replicas that
only enqueue, `calico-bot worker` replicas that run the jobs, a real Redis (a key prefix per test),
the simulator and the fake Slack on 127.0.0.1. Heartbeats and sweeps are one second here.

- a check asked of either serve gives one card; SIGKILL of the worker running it: the other
  worker's card still arrives;
- SIGTERM of a worker mid-job: it exits 0 within Kubernetes' 30 s, and the job it handed back is
  finished by another worker;
- SIGKILL of the worker verifying an approved reboot: the reboot is sent to IKS once, the card ends
  done, the cluster lock is free and the next action on the cluster runs;
- the same Slack event delivered to both serves posts once; 30 concurrent checks of one cluster
  read its node list once; five clicks on one button make one approval card.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from pathlib import Path

import aiohttp
import pytest
import yaml

from bot.store.redis_store import Store
from tests.redis_keys import REDIS_URL, isolated_prefix
from tests.slack.fake_slack import Call, FakeSlack
from tests.slack.processes import (
    FORM,
    SECRET,
    Bot,
    Worker,
    approval_id_of,
    serve_process,
    sim_process,
    worker_process,
)
from tests.slack.signing import app_mention_body, block_actions_body, sign, slash_command_body

CARD_TS = "1700000005.000100"
QUICK = {
    "CALICO_BOT_HEARTBEAT_SECONDS": "1",
    "CALICO_BOT_SWEEP_SECONDS": "1",
    "CALICO_BOT_SHUTDOWN_SECONDS": "2",
    "CALICO_BOT_RATE_LIMIT": "100/60",
    "CALICO_BOT_APPROVER_USERS": "U01REQ,U02APR",
}


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    async with isolated_prefix("queue") as name:
        yield name


@pytest.fixture
def slow_sim(tmp_path: Path) -> Iterator[Path]:
    """A 4-worker cluster whose every API call takes 300 ms: a check lasts a few seconds."""
    with sim_process(
        tmp_path, scenario="crashloop-one", nodes=4, cluster="rem", extra_args=("--latency-ms", "300")
    ) as kubeconfig:
        yield kubeconfig


def env_for(prefix: str, **more: str) -> dict[str, str]:
    return {"REDIS_URL": REDIS_URL, "CALICO_BOT_REDIS_PREFIX": prefix, **QUICK, **more}


def is_card(call: Call, cluster: str = "rem") -> bool:
    text = str(call.params.get("text", ""))
    return call.method == "chat.update" and f"{cluster}:" in text and not text.startswith("⏳")


def cards(fake: FakeSlack, cluster: str = "rem") -> list[Call]:
    return [c for c in fake.calls("chat.update") if is_card(c, cluster)]


def checking_posts(fake: FakeSlack) -> list[Call]:
    return [c for c in fake.calls("chat.postMessage") if str(c.params.get("text", "")).startswith("⏳")]


WATCHED: list[Worker] = []
"""The workers of the running test, whose last log lines a timeout shows."""


async def until(ready: object, timeout: float, what: str) -> float:
    """Poll `ready()` every 50 ms; the seconds it took."""
    assert callable(ready)
    started = time.monotonic()
    while not ready():
        if time.monotonic() - started > timeout:
            tails = "\n".join("".join(w.lines[-15:]) for w in WATCHED)
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; the workers said:\n{tails}")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture(autouse=True)
def _watched() -> Iterator[None]:
    WATCHED.clear()
    yield
    WATCHED.clear()


async def command(bot: Bot, text: str, *, trigger: str, user: str = "U1") -> None:
    body = slash_command_body(
        text, user_id=user, trigger_id=trigger, response_url=bot.fake.response_url(trigger)
    )
    status, _text, _s = await bot.post(body, sign(body, SECRET, content_type=FORM))
    assert status == 200


async def watched(stack: AsyncExitStack, starting: AbstractAsyncContextManager[Worker]) -> Worker:
    worker = await stack.enter_async_context(starting)
    WATCHED.append(worker)
    return worker


def running(workers: list[Worker], job_id: str) -> Worker | None:
    """The worker whose log says it started `job_id`."""
    return next((w for w in workers if any(f"job {job_id} started" in line for line in w.lines)), None)


async def sim_requests(kubeconfig: Path, field: str = "count") -> dict[str, int]:
    """The simulator's request log: per route, the requests answered (`count`) or being held by a
    delay fault right now (`held`)."""
    config = yaml.safe_load(await asyncio.to_thread(kubeconfig.read_text))
    server, token = config["clusters"][0]["cluster"]["server"], config["users"][0]["user"]["token"]
    async with (
        aiohttp.ClientSession() as session,
        session.get(server + "/_sim/requests", headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        log = await response.json()
    return {route: stats[field] for route, stats in log.get("routes", log).items()}


async def until_a_log_read_is_held(kubeconfig: Path) -> None:
    """Wait (up to 30 s) until the simulator holds a pod-log read: the check is blocked inside a
    Kubernetes call, in a thread of the client's pool."""
    started = time.monotonic()
    while not any(
        n for route, n in (await sim_requests(kubeconfig, "held")).items() if route.endswith("/log")
    ):
        assert time.monotonic() - started < 30, "no log read reached the simulator"
        await asyncio.sleep(0.05)


async def hold_log_reads(kubeconfig: Path, hold: bool) -> None:
    """While `hold`, every pod-log read of the simulator waits 60 s: a check that has started stays
    mid-collection until the test has stopped its worker, however loaded the machine is."""
    config = yaml.safe_load(await asyncio.to_thread(kubeconfig.read_text))
    server, token = config["clusters"][0]["cluster"]["server"], config["users"][0]["user"]["token"]
    faults = [{"route": "GET */log", "delay_ms": 60_000}] if hold else []
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            server + "/_sim/faults", json=faults, headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        assert response.status == 200, await response.text()


async def test_one_card_from_either_serve_and_a_killed_worker_s_check_still_arrives(
    slow_sim: Path, prefix: str
) -> None:
    env = env_for(prefix)
    async with AsyncExitStack() as stack:
        fake = await stack.enter_async_context(FakeSlack())
        workers = [await watched(stack, worker_process(fake, slow_sim, **env)) for _ in range(2)]
        one = await stack.enter_async_context(serve_process(fake, slow_sim, worker=False, **env))
        two = await stack.enter_async_context(serve_process(fake, slow_sim, worker=False, **env))

        await command(one, "check rem", trigger="t-one")
        await until(lambda: len(cards(fake)) == 1, 60, "the card of the first check")
        await command(two, "check rem", trigger="t-two")
        await until(lambda: len(cards(fake)) == 2, 60, "the card of the second check")
        assert len(checking_posts(fake)) == 2  # one card per command, whichever serve took it

        await hold_log_reads(slow_sim, True)  # the next check cannot finish before its worker dies
        await command(one, "check rem", trigger="t-kill")
        await until(lambda: running(workers, "check:t-kill") is not None, 30, "a worker to start it")
        victim = running(workers, "check:t-kill")
        assert victim is not None
        await until(lambda: len(checking_posts(fake)) == 3, 30, "its checking message")  # mid-collection
        victim.proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        assert len(cards(fake)) == 2  # it was killed before its check could finish
        await hold_log_reads(slow_sim, False)
        await until(lambda: len(cards(fake)) == 3, 60, "the card after the kill")
        recovery = time.monotonic() - killed
        survivor = next(w for w in workers if w is not victim)
        assert any("job check:t-kill started" in line for line in survivor.lines)
        # the retry edits the "checking…" message the dead worker posted, no second one
        assert len(checking_posts(fake)) == 3
        print(f"\ncheck recovered {recovery:.1f} s after SIGKILL of its worker")


async def test_sigterm_mid_job_exits_in_time_and_hands_the_job_back(slow_sim: Path, prefix: str) -> None:
    # No time to finish: it must be handed back. Its Kubernetes read is held for 60 s and may wait that
    # long, longer than Kubernetes' 30 s grace: the exit must not wait for it (it did, until its timeout).
    env = env_for(prefix, CALICO_BOT_SHUTDOWN_SECONDS="0", CALICO_BOT_API_TIMEOUT="60")
    async with AsyncExitStack() as stack:
        fake = await stack.enter_async_context(FakeSlack())
        first = await watched(stack, worker_process(fake, slow_sim, **env))
        bot = await stack.enter_async_context(serve_process(fake, slow_sim, worker=False, **env))
        await hold_log_reads(slow_sim, True)  # the check cannot finish before its worker is stopped
        await command(bot, "check rem", trigger="t-term")
        await until(lambda: running([first], "check:t-term") is not None, 30, "the worker to start it")
        await until_a_log_read_is_held(slow_sim)
        first.proc.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        returncode = await asyncio.wait_for(first.proc.wait(), 30)
        await hold_log_reads(slow_sim, False)
        took = time.monotonic() - stopped
        assert returncode == 0
        assert took < 30
        assert cards(fake) == []  # it did not finish: it was handed back, not dropped
        assert any("handed-back" in line for line in first.lines)
        second = await watched(stack, worker_process(fake, slow_sim, **env))
        await until(lambda: len(cards(fake)) == 1, 60, "the handed-back check's card")
        assert any("job check:t-term started" in line for line in second.lines)
        print(f"\nSIGTERM to exit: {took:.1f} s")


async def test_the_same_event_to_both_serves_posts_once(slow_sim: Path, prefix: str) -> None:
    env = env_for(prefix)
    async with AsyncExitStack() as stack:
        fake = await stack.enter_async_context(FakeSlack())
        await watched(stack, worker_process(fake, slow_sim, **env))
        one = await stack.enter_async_context(serve_process(fake, slow_sim, worker=False, **env))
        two = await stack.enter_async_context(serve_process(fake, slow_sim, worker=False, **env))
        body = app_mention_body("check rem", event_id="Ev0DUPLICATE1", ts="1700000100.000100")
        headers = sign(body, SECRET, content_type="application/json")
        answers = await asyncio.gather(one.post(body, headers), two.post(body, headers))
        assert [status for status, _t, _s in answers] == [200, 200]
        await until(lambda: len(cards(fake)) == 1, 60, "the card")
        await one.post(body, {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
        await asyncio.sleep(1.5)  # a second job would have posted its "checking…" by now
        assert len(checking_posts(fake)) == 1


async def test_thirty_concurrent_checks_read_the_node_list_once(slow_sim: Path, prefix: str) -> None:
    env = env_for(prefix)
    async with AsyncExitStack() as stack:
        fake = await stack.enter_async_context(FakeSlack())
        for _ in range(2):
            await watched(stack, worker_process(fake, slow_sim, **env))
        bots = [
            await stack.enter_async_context(serve_process(fake, slow_sim, worker=False, **env))
            for _ in range(2)
        ]
        before = (await sim_requests(slow_sim)).get("GET /api/v1/nodes", 0)
        await asyncio.gather(
            *(command(bots[n % 2], "check rem", trigger=f"t30-{n}", user=f"U{n:03d}") for n in range(30))
        )
        await until(lambda: len(cards(fake)) == 30, 120, "30 cards")
        assert len({c.params["ts"] for c in cards(fake)}) == 30  # each command its own card
        after = (await sim_requests(slow_sim)).get("GET /api/v1/nodes", 0)
        assert after - before == 1, await sim_requests(slow_sim)


async def test_five_clicks_on_one_button_make_one_approval_card(slow_sim: Path, prefix: str) -> None:
    env = env_for(prefix)
    value = json.dumps({"kind": "cordon", "cluster": "rem", "target": "10.188.156.137"})
    async with AsyncExitStack() as stack:
        fake = await stack.enter_async_context(FakeSlack())
        for _ in range(2):
            await watched(stack, worker_process(fake, slow_sim, **env))
        bots = [
            await stack.enter_async_context(serve_process(fake, slow_sim, worker=False, **env))
            for _ in range(2)
        ]

        async def click(n: int) -> None:
            body = block_actions_body(
                "calico_action:0",
                value,
                user="U01REQ",
                message_ts=CARD_TS,
                response_url=fake.response_url(f"c{n}"),
            )
            status, _t, _s = await bots[n % 2].post(body, sign(body, SECRET, content_type=FORM))
            assert status == 200

        await asyncio.gather(*(click(n) for n in range(5)))
        answers = [
            str((await fake.wait_for_responses(f"c{n}", timeout=60))[-1].payload.get("text", ""))
            for n in range(5)
        ]
        approval_cards = [c for c in fake.calls("chat.postMessage") if "Approval needed" in str(c.params)]
        assert len(approval_cards) == 1
        assert sum("waiting for an approver" in a for a in answers) == 1, answers
        assert sum("already waiting for approval" in a for a in answers) == 4, answers


@pytest.fixture
def iks_sim(tmp_path: Path) -> Iterator[Path]:
    with sim_process(
        tmp_path, scenario="crashloop-needs-reboot", nodes=4, cluster="lad", extra_args=("--iks-seconds", "6")
    ) as kubeconfig:
        yield kubeconfig


async def test_a_killed_worker_mid_reboot_applies_it_once_and_frees_the_lock(
    iks_sim: Path, prefix: str
) -> None:
    config = yaml.safe_load(await asyncio.to_thread(iks_sim.read_text))
    server = config["clusters"][0]["cluster"]["server"]
    env = env_for(
        prefix,
        IBMCLOUD_API_KEY="sim-api-key",
        IKS_API_URL=server,
        IAM_URL=server + "/identity/token",
        CALICO_BOT_VERIFY_SECONDS="cordon=20,reboot-worker=90",
    )
    worker_ip = "10.188.156.137"
    async with AsyncExitStack() as stack:
        fake = await stack.enter_async_context(FakeSlack())
        workers = [await watched(stack, worker_process(fake, iks_sim, **env)) for _ in range(2)]
        bot = await stack.enter_async_context(serve_process(fake, iks_sim, worker=False, **env))
        store = await stack.enter_async_context(Store(REDIS_URL, prefix=prefix))

        async def click(action_id: str, value: str, user: str, reply: str) -> str:
            body = block_actions_body(
                action_id, value, user=user, message_ts=CARD_TS, response_url=fake.response_url(reply)
            )
            status, _t, _s = await bot.post(body, sign(body, SECRET, content_type=FORM))
            assert status == 200
            return str((await fake.wait_for_responses(reply, timeout=60))[-1].payload.get("text", ""))

        async def approved(kind: str, n: int) -> str:
            value = json.dumps({"kind": kind, "cluster": "lad", "target": worker_ip})
            assert "waiting for an approver" in await click("calico_action:0", value, "U01REQ", f"req{n}")
            card = [c for c in fake.calls("chat.postMessage") if "Approval needed" in str(c.params)][-1]
            approval_id = approval_id_of(card)
            assert "running it now" in await click("calico_approve", approval_id, "U02APR", f"ok{n}")
            return approval_id

        def outcomes() -> list[str]:
            return [
                str(c.params["text"])
                for c in fake.calls("chat.postMessage")
                if "Next:" in str(c.params.get("text", ""))
            ]

        approval_id = await approved("reboot-worker", 1)

        async def verifying() -> str:
            record = await store.get(approval_id)
            return record.owner if record is not None and record.phase == "verifying" else ""

        owner = ""
        deadline = time.monotonic() + 60
        while not owner and time.monotonic() < deadline:
            owner = await verifying()
            await asyncio.sleep(0.05)
        assert owner, "the reboot never reached its verification"
        victim = next(w for w in workers if w.name == owner)
        victim.proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        await until(lambda: len(outcomes()) == 1, 120, "the reboot's outcome")
        recovery = time.monotonic() - killed
        assert "✅ done" in outcomes()[0], outcomes()
        assert "resumed after its first worker stopped" in outcomes()[0]
        # the outcome goes to Slack first; the record's state, the audit and the lock follow it
        for _ in range(600):  # up to 30 s
            if await store.lock_holder("lad") is None:
                break
            await asyncio.sleep(0.05)
        record = await store.get(approval_id)
        assert record is not None
        assert record.state == "succeeded"
        assert record.owner != owner  # the survivor finished it
        assert await store.lock_holder("lad") is None
        reboots = {
            r: n for r, n in (await sim_requests(iks_sim)).items() if r.startswith("PUT") and "workers" in r
        }
        assert sum(reboots.values()) == 1, reboots  # sent once, never again by the worker that took over

        await approved("cordon", 2)  # the cluster's lock is free: the next action runs
        await until(lambda: len(outcomes()) == 2, 60, "the next action's outcome")
        assert "✅ done" in outcomes()[1], outcomes()
        print(f"\nreboot recovered {recovery:.1f} s after SIGKILL of its worker")


def test_no_worker_without_redis(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(SLACK_BOT_TOKEN="xoxb-x", SLACK_SIGNING_SECRET="s")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "needs REDIS_URL" in done.stderr
