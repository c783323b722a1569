"""An approval's life as the operators see it: `calico_bot_approvals_total` by outcome (in the process
that took each step) and the approval id on the log lines of each step, in serve and in the worker."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.observability.processes import Serve, redis_server, serve_env, serve_process, worker_process
from tests.observability.test_serve_observed import metric_samples, sample
from tests.slack.fake_slack import FakeSlack
from tests.slack.processes import sim_process
from tests.slack.signing import block_actions_body, sign

FORM = "application/x-www-form-urlencoded"
SECRET = "approvals-observed-secret"
WORKER = "10.188.156.137"  # crashloop-one: the worker whose calico-node is bad
CARD_TS = "1700000005.000100"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Path]:
    with sim_process(tmp_path, scenario="crashloop-one", nodes=4, cluster="rem") as kubeconfig:
        yield kubeconfig


async def click(serve: Serve, fake: FakeSlack, action_id: str, value: str, *, user: str, trigger: str) -> str:
    body = block_actions_body(
        action_id,
        value,
        user=user,
        message_ts=CARD_TS,
        trigger_id=trigger,
        response_url=fake.response_url(trigger),
    )
    status, _ = await serve.post(body, sign(body, SECRET, content_type=FORM))
    assert status == 200
    answers = await fake.wait_for_responses(trigger, timeout=30)
    return str(answers[-1].payload.get("text", ""))


EVERY_STEP_ONCE = {"pending": 1, "refused": 1, "approved": 1, "applied": 1, "succeeded": 1}


def approvals_counted(metrics_texts: list[str]) -> dict[str, float]:
    """`calico_bot_approvals_total` by outcome, summed over the processes' expositions."""
    counted: dict[str, float] = {}
    for text in metrics_texts:
        samples = metric_samples(text)
        for outcome in EVERY_STEP_ONCE:
            counted[outcome] = counted.get(outcome, 0) + sample(
                samples, "calico_bot_approvals_total", outcome=outcome
            )
    return counted


async def test_each_step_of_an_approval_is_counted_and_its_lines_name_it(sim: Path, tmp_path: Path) -> None:
    with redis_server(tmp_path) as redis:
        async with FakeSlack() as fake:
            env = serve_env(
                SLACK_BOT_TOKEN="xoxb-approvals-observed",
                SLACK_SIGNING_SECRET=SECRET,
                SLACK_API_URL=fake.api_url,
                REDIS_URL=redis.url,
                KUBECONFIG=str(sim),
                CALICO_BOT_APPROVER_USERS="U01REQ,U02APR",
                LOG_LEVEL="DEBUG",  # the Web API calls of each step are logged under its ids
            )
            async with worker_process(env) as worker, serve_process(env) as serve:
                value = json.dumps({"kind": "cordon", "cluster": "rem", "target": WORKER})
                asked = await click(serve, fake, "calico_action:0", value, user="U01REQ", trigger="1.1.req")
                assert "waiting for an approver" in asked
                card = next(c for c in fake.calls("chat.postMessage") if c.params.get("thread_ts") == CARD_TS)
                [approval_id] = [
                    e["value"]
                    for b in card.params["blocks"]
                    if b["type"] == "actions"
                    for e in b["elements"]
                    if e["action_id"] == "calico_approve"
                ]
                own = await click(
                    serve, fake, "calico_approve", approval_id, user="U01REQ", trigger="2.2.own"
                )
                assert "two-person rule" in own
                ok = await click(serve, fake, "calico_approve", approval_id, user="U02APR", trigger="3.3.ok")
                assert "running it now" in ok
                deadline = time.monotonic() + 60
                while not any("✅ done" in str(c.params.get("text")) for c in fake.calls("chat.postMessage")):
                    assert time.monotonic() < deadline, "no outcome in the thread"
                    await asyncio.sleep(0.1)
                # the verification's audit follows the post: read until every step is counted (or 30 s)
                for _ in range(300):
                    counted = approvals_counted([(await p.get("/metrics"))[1] for p in (serve, worker)])
                    if counted == EVERY_STEP_ONCE:
                        break
                    await asyncio.sleep(0.1)

    assert counted == EVERY_STEP_ONCE

    records = serve.records() + worker.records()
    naming = {r["correlation_id"] for r in records if r.get("approval_id") == approval_id}
    # the request (the click's job), the refused and the accepted decision, the execution they queued
    assert naming >= {"1.1.req", "2.2.own", "3.3.ok"}
    assert None not in naming
    ran = [r for r in worker.records() if r.get("approval_id") == approval_id]
    assert {r["correlation_id"] for r in ran} >= {"1.1.req", "3.3.ok"}
