"""Approval-gated remediation end to end: `calico-bot serve` with a real Redis, the simulator and
the fake Slack as processes/servers on 127.0.0.1.
- a Cordon button becomes a request: planned on a fresh read, an approval card in the thread;
- the requester cannot approve it (two-person rule), a non-approver cannot either;
- another approver approves: it runs once, is verified on the cluster, the thread says so;
- a late click is told who approved; `/calico history` shows request, decision, execution, result;
- read-only mode runs nothing and says so.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import yaml

from bot.cluster.kube import KubeTransport, resolve_cluster
from tests.redis_keys import RedisEnv
from tests.slack.fake_slack import Call, FakeSlack
from tests.slack.processes import FORM, SECRET, Bot, approval_id_of, serve_process, sim_process
from tests.slack.signing import block_actions_body, sign

WORKER = "10.188.156.137"
CARD_TS = "1700000005.000100"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Path]:
    with sim_process(tmp_path, scenario="crashloop-one", nodes=4, cluster="rem") as kubeconfig:
        yield kubeconfig


async def click(bot: Bot, action_id: str, value: str, *, user: str, message_ts: str, reply: str) -> str:
    body = block_actions_body(
        action_id,
        value,
        user=user,
        channel="C1",
        message_ts=message_ts,
        response_url=bot.fake.response_url(reply),
    )
    status, _text, _s = await bot.post(body, sign(body, SECRET, content_type=FORM))
    assert status == 200
    answers = await bot.fake.wait_for_responses(reply, timeout=30)
    return str(answers[-1].payload.get("text", ""))


async def posted(fake: FakeSlack, text: str, timeout: float = 30) -> Call:
    """The first chat.postMessage whose text contains `text` (waits for it)."""
    deadline = time.monotonic() + timeout
    while True:
        found = next(
            (c for c in fake.calls("chat.postMessage") if text in str(c.params.get("text", ""))), None
        )
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no message with {text!r}: {[c.params.get('text') for c in fake.calls('chat.postMessage')]}"
            )
        await fake.wait_for(
            "chat.postMessage", count=len(fake.calls("chat.postMessage")) + 1, timeout=timeout
        )


async def updated(fake: FakeSlack, text: str, timeout: float = 60) -> Call:
    """The first chat.update whose text contains `text` (waits for it)."""
    deadline = time.monotonic() + timeout
    while True:
        found = next((c for c in fake.calls("chat.update") if text in str(c.params.get("text", ""))), None)
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no update with {text!r}: {[c.params.get('text') for c in fake.calls('chat.update')]}"
            )
        await fake.wait_for("chat.update", count=len(fake.calls("chat.update")) + 1, timeout=timeout)


async def sim_requests(kubeconfig: Path) -> dict[str, dict[str, int]]:
    """The simulator's request log (count and bytes per route)."""
    config = yaml.safe_load(await asyncio.to_thread(kubeconfig.read_text))
    server = config["clusters"][0]["cluster"]["server"]
    token = config["users"][0]["user"]["token"]
    async with (
        aiohttp.ClientSession() as session,
        session.get(server + "/_sim/requests", headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        log = await response.json()
    routes: dict[str, dict[str, int]] = log.get("routes", log)
    return routes


async def node_unschedulable(kubeconfig: Path) -> bool:
    transport = KubeTransport(resolve_cluster("rem", kubeconfig=str(kubeconfig)))
    try:
        response = await transport.request("GET", f"/api/v1/nodes/{WORKER}")
    finally:
        transport.close()
    return bool(json.loads(response.body).get("spec", {}).get("unschedulable"))


async def test_cordon_needs_another_approver_runs_once_and_is_audited(sim: Path, redis_env: RedisEnv) -> None:
    async with (
        FakeSlack() as fake,
        serve_process(fake, sim, **redis_env, CALICO_BOT_APPROVER_USERS="U01REQ,U02APR") as bot,
    ):
        value = json.dumps({"kind": "cordon", "cluster": "rem", "target": WORKER})
        answer = await click(bot, "calico_action:0", value, user="U01REQ", message_ts=CARD_TS, reply="req")
        assert "waiting for an approver" in answer
        card = next(c for c in fake.calls("chat.postMessage") if c.params.get("thread_ts") == CARD_TS)
        assert "Approval needed" in str(card.params)
        assert "two-person rule" in str(card.params)
        approve = next(
            e
            for b in card.params["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "calico_approve"
        )
        approval_id = approve["value"]

        own = await click(bot, "calico_approve", approval_id, user="U01REQ", message_ts=CARD_TS, reply="own")
        assert "two-person rule" in own
        stranger = await click(
            bot, "calico_approve", approval_id, user="U03OTH", message_ts=CARD_TS, reply="u3"
        )
        assert "cannot decide" in stranger
        assert not await node_unschedulable(sim)

        ok = await click(bot, "calico_approve", approval_id, user="U02APR", message_ts=CARD_TS, reply="u2")
        assert "running it now" in ok
        done = await posted(fake, "✅ done")
        assert "Next: gather the data" in str(done.params["text"])
        assert await node_unschedulable(sim)

        late = await click(
            bot, "calico_approve", approval_id, user="U02APR", message_ts=CARD_TS, reply="late"
        )
        assert "Already approved by <@U02APR>" in late

        status, _text, _s = await bot.command("history rem")
        assert status == 200
        history = await fake.wait_for_responses("cmd", timeout=10)
        text = str(history[-1].payload)
        for kind in ("request", "decision", "execution", "verification", "refusal"):
            assert kind in text, kind

        status, _text, _s = await bot.command(f"gather rem {WORKER}")
        assert status == 200
        await fake.wait_for_upload(timeout=30)
        status, _text, _s = await bot.command("escalate rem")
        assert status == 200
        handoff = await posted(fake, "Escalation")
        shown = str(handoff.params)
        assert "cordon" in shown
        assert WORKER in shown
        assert "U02APR" in shown  # who approved the action taken
        assert f"calico-gather-rem-{WORKER}-" in shown  # the bundle gathered before


async def test_read_only_mode_runs_nothing(sim: Path, redis_env: RedisEnv) -> None:
    async with (
        FakeSlack() as fake,
        serve_process(
            fake,
            sim,
            **redis_env,
            CALICO_BOT_APPROVER_USERS="U01REQ,U02APR",
            CALICO_BOT_READ_ONLY="1",
        ) as bot,
    ):
        value = json.dumps({"kind": "cordon", "cluster": "rem", "target": WORKER})
        await click(bot, "calico_action:0", value, user="U01REQ", message_ts=CARD_TS, reply="req")
        card = next(c for c in fake.calls("chat.postMessage") if c.params.get("thread_ts") == CARD_TS)
        assert "read-only mode" in str(card.params)
        approval_id = approval_id_of(card)
        await click(bot, "calico_approve", approval_id, user="U02APR", message_ts=CARD_TS, reply="u2")
        await posted(fake, "read-only mode: nothing changed")
        assert not await node_unschedulable(sim)


SECRET_B64 = "c2ltdWxhdGVkLWJncC1wYXNzd29yZC1ub3QtcmVhbA=="


async def test_copy_bgp_secret_through_slack_fixes_the_migration(tmp_path: Path, redis_env: RedisEnv) -> None:
    import base64

    with sim_process(tmp_path, scenario="bgp-password-migration", nodes=4, cluster="bgp") as kubeconfig:
        async with (
            FakeSlack() as fake,
            serve_process(fake, kubeconfig, **redis_env, CALICO_BOT_APPROVER_USERS="U01REQ,U02APR") as bot,
        ):
            value = json.dumps({"kind": "copy-bgp-secret", "cluster": "bgp", "target": "bgp"})
            await click(bot, "calico_action:0", value, user="U01REQ", message_ts=CARD_TS, reply="req")
            card = next(c for c in fake.calls("chat.postMessage") if c.params.get("thread_ts") == CARD_TS)
            approval_id = approval_id_of(card)
            await click(bot, "calico_approve", approval_id, user="U02APR", message_ts=CARD_TS, reply="ok")
            done = await posted(fake, "✅ done")
            assert "copied secret calico-bgp-password to calico-system" in str(done.params["text"])
            await bot.command("check bgp")
            card = await updated(fake, "bgp:")
            assert str(card.params["text"]).startswith("✅"), card.params["text"]
            everything = str([c.params for c in fake.calls()])
    plain = base64.b64decode(SECRET_B64).decode()
    assert SECRET_B64 not in everything
    assert plain not in everything


async def test_fifty_approve_clicks_on_two_replicas_execute_once(sim: Path, redis_env: RedisEnv) -> None:
    approvers = "U01REQ,U02APR,U04APR"
    async with (
        FakeSlack() as fake,
        serve_process(fake, sim, **redis_env, CALICO_BOT_APPROVER_USERS=approvers) as one,
        serve_process(fake, sim, **redis_env, CALICO_BOT_APPROVER_USERS=approvers) as two,
    ):
        value = json.dumps({"kind": "cordon", "cluster": "rem", "target": WORKER})
        await click(one, "calico_action:0", value, user="U01REQ", message_ts=CARD_TS, reply="req")
        card = next(c for c in fake.calls("chat.postMessage") if c.params.get("thread_ts") == CARD_TS)
        approval_id = approval_id_of(card)

        async def approve(i: int) -> str:
            bot = one if i % 2 else two
            user = "U02APR" if i % 3 else "U04APR"
            return await click(
                bot, "calico_approve", approval_id, user=user, message_ts=CARD_TS, reply=f"c{i}"
            )

        answers = await asyncio.gather(*(approve(i) for i in range(50)))
        running = [a for a in answers if "running it now" in a]
        assert len(running) == 1, answers
        others = [a for a in answers if a not in running]
        assert all("Already approved by <@U0" in a for a in others), others
        await posted(fake, "✅ done")
        await one.wait_idle(timeout=60)  # both replicas, and every job on the queue, finished
        await two.wait_idle(timeout=60)
        outcomes = [c for c in fake.calls("chat.postMessage") if "✅ done" in str(c.params.get("text", ""))]
        assert len(outcomes) == 1
        assert await node_unschedulable(sim)
        routes = await sim_requests(sim)
        assert routes["PATCH /api/v1/nodes/{name}"]["count"] == 1  # the cluster saw one cordon


async def test_paging_from_slack_needs_an_approval(sim: Path, redis_env: RedisEnv) -> None:
    from tests.escalation.test_escalation import FakePagerDuty

    routing_key = "R0UT1NG-KEY-FOR-TESTS-0000000"
    async with (
        FakePagerDuty() as pagerduty,
        FakeSlack() as fake,
        serve_process(
            fake,
            sim,
            **redis_env,
            CALICO_BOT_APPROVER_USERS="U01REQ,U02APR",
            CALICO_BOT_PAGERDUTY_ROUTING_KEY=routing_key,
            CALICO_BOT_PAGERDUTY_EVENTS_URL=pagerduty.url,
        ) as bot,
    ):
        await bot.command("escalate rem")
        handoff = await posted(fake, "Escalation")
        assert "needs an approval" in str(handoff.params)
        page = next(
            e
            for b in handoff.params["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "calico_action:page"
        )
        assert pagerduty.events == []  # nobody is paged by the hand-off itself
        answer = await click(
            bot, "calico_action:page", page["value"], user="U01REQ", message_ts=CARD_TS, reply="p"
        )
        assert "waiting for an approver" in answer
        card = [c for c in fake.calls("chat.postMessage") if "Approval needed" in str(c.params)][-1]
        own = await click(
            bot, "calico_approve", approval_id_of(card), user="U01REQ", message_ts=CARD_TS, reply="own"
        )
        assert "two-person rule" in own
        await click(
            bot, "calico_approve", approval_id_of(card), user="U02APR", message_ts=CARD_TS, reply="ok"
        )
        done = await posted(fake, "✅ done")
        assert "PagerDuty incident triggered (dedup key `calico-bot/rem`)" in str(done.params["text"])
        assert [e["dedup_key"] for e in pagerduty.events] == ["calico-bot/rem"]
        assert routing_key not in str([c.params for c in fake.calls()])
