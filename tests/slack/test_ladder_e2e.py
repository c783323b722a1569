"""The runbook's ladder for one worker, through Slack, each step requested, approved by someone
else, run once, verified and audited — against the simulator, which serves the IKS API too:
crash-looping calico-node → cordon → delete the pod (still failing) → reboot the worker (fixed)
→ uncordon. The thread tells the whole story and proposes each next rung."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.redis_keys import RedisEnv
from tests.slack.fake_slack import FakeSlack
from tests.slack.processes import Bot, approval_id_of, serve_process, sim_process
from tests.slack.test_remediation_e2e import CARD_TS, click

WORKER = "10.188.156.137"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Path]:
    with sim_process(
        tmp_path, scenario="crashloop-needs-reboot", nodes=4, cluster="lad", extra_args=("--iks-seconds", "1")
    ) as kubeconfig:
        yield kubeconfig


async def _sim_get(kubeconfig: Path, path: str) -> dict[str, Any]:
    config = yaml.safe_load(await asyncio.to_thread(kubeconfig.read_text))
    server, token = config["clusters"][0]["cluster"]["server"], config["users"][0]["user"]["token"]
    async with (
        aiohttp.ClientSession() as session,
        session.get(server + path, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        answer: dict[str, Any] = await response.json()
    return answer


async def step(bot: Bot, fake: FakeSlack, kind: str, target: str, expect: str, n: int) -> str:
    """Request an action (U01REQ), approve it (U02APR), return the outcome message's text."""
    value = json.dumps({"kind": kind, "cluster": "lad", "target": target})
    answer = await click(bot, "calico_action:0", value, user="U01REQ", message_ts=CARD_TS, reply=f"req{n}")
    assert "waiting for an approver" in answer, answer
    cards = [c for c in fake.calls("chat.postMessage") if "Approval needed" in str(c.params)]
    approval_id = approval_id_of(cards[-1])
    own = await click(bot, "calico_approve", approval_id, user="U01REQ", message_ts=CARD_TS, reply=f"own{n}")
    assert "two-person rule" in own
    ok = await click(bot, "calico_approve", approval_id, user="U02APR", message_ts=CARD_TS, reply=f"ok{n}")
    assert "running it now" in ok, ok
    before = len([c for c in fake.calls("chat.postMessage") if "Next:" in str(c.params.get("text", ""))])
    for _ in range(600):
        outcomes = [c for c in fake.calls("chat.postMessage") if "Next:" in str(c.params.get("text", ""))]
        if len(outcomes) > before:
            text = str(outcomes[-1].params["text"])
            assert expect in text, text
            return text
        await asyncio.sleep(0.1)
    raise AssertionError(f"no outcome for {kind}")


async def test_the_whole_ladder(sim: Path, redis_env: RedisEnv) -> None:
    config = yaml.safe_load(await asyncio.to_thread(sim.read_text))
    server = config["clusters"][0]["cluster"]["server"]
    async with (
        FakeSlack() as fake,
        serve_process(
            fake,
            sim,
            **redis_env,
            CALICO_BOT_APPROVER_USERS="U01REQ,U02APR",
            IBMCLOUD_API_KEY="sim-api-key",
            IKS_API_URL=server,
            IAM_URL=server + "/identity/token",
            CALICO_BOT_VERIFY_SECONDS="cordon=20,uncordon=20,delete-pod=5,reboot-worker=60",
        ) as bot,
    ):
        await step(bot, fake, "cordon", WORKER, "✅ done", 1)
        pods = await _sim_get(
            sim, f"/api/v1/pods?labelSelector=k8s-app%3Dcalico-node&fieldSelector=spec.nodeName%3D{WORKER}"
        )
        pod = pods["items"][0]["metadata"]
        failed = await step(
            bot, fake, "delete-pod", f"{pod['namespace']}/{pod['name']}", "❌ did not work", 2
        )
        assert "reboot the worker" in failed
        fixed = await step(bot, fake, "reboot-worker", WORKER, "✅ done", 3)
        assert "uncordon the worker" in fixed
        await step(bot, fake, "uncordon", WORKER, "✅ done", 4)
        node = await _sim_get(sim, f"/api/v1/nodes/{WORKER}")
        assert not node["spec"].get("unschedulable")
        status, _text, _s = await bot.command("history lad")
        assert status == 200
        history = str((await fake.wait_for_responses("cmd", timeout=10))[-1].payload)
        for action in ("cordon", "delete-pod", "reboot-worker", "uncordon"):
            assert action in history, action
