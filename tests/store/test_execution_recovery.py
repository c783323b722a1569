"""Taking over an approved action whose worker died (issue #10 item 2), with a real Redis, the
simulator as a process and the fake Slack: the record's phase says what the new owner may do.

- died while `planning` (nothing sent): the action runs from the start, once;
- died while `applying` and the cluster shows the effect: the verification is finished, "resumed";
- died while `applying` and the cluster does not show it: nothing is applied, the card, the thread
  and the audit say "outcome unknown — verified state: …";
- an owner that still beats keeps its execution; in every case the cluster's lock ends free.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import utcnow
from bot.cluster.kube import KubeTransport, resolve_cluster
from bot.cluster.sources import ClusterAccess
from bot.queue.jobs import InProcessQueue
from bot.remediation.approvals import ApprovalPolicy
from bot.remediation.flow import Remediation
from bot.slack.api import SlackPoster, make_client
from bot.store.records import Approval, ApprovalState, ExecutionPhase
from bot.store.redis_store import Store
from checks.model import ActionKind
from tests.redis_keys import REDIS_URL, isolated_prefix
from tests.slack.fake_slack import FakeSlack
from tests.slack.processes import sim_process

WORKER = "10.188.156.137"


@pytest.fixture
def clusters(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "clusters"
    directory.mkdir()
    with sim_process(tmp_path, scenario="crashloop-one", nodes=4, cluster="rec") as kubeconfig:
        (directory / "rec.yaml").write_text(kubeconfig.read_text())
        yield directory


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    async with isolated_prefix("recovery") as prefix, Store(REDIS_URL, prefix=prefix) as opened:
        yield opened


def flow(store: Store, fake: FakeSlack, clusters: Path) -> Remediation:
    async def no_groups(group: str) -> frozenset[str]:
        return frozenset()

    return Remediation(
        store=store,
        slack=SlackPoster(make_client(token="xoxb-test", api_url=fake.api_url)),
        policy=ApprovalPolicy(approver_users=frozenset({"U01REQ", "U02APR"})),
        access=ClusterAccess(clusters_dir=str(clusters), timeout=5),
        queue=InProcessQueue(),
        group_members=no_groups,
        deadlines={ActionKind.CORDON: 10},
        worker_id="survivor",
        stale_seconds=15,
    )


async def dead_owner_left(
    store: Store, remediation: Remediation, phase: ExecutionPhase, *, ago: float
) -> Approval:
    """An approved cordon whose execution a worker started `ago` seconds ago, got to `phase`, and
    then stopped beating (it holds the cluster's lock, as a running execution does)."""
    approval = Approval.new(
        cluster="rec", action=ActionKind.CORDON, target=WORKER, reason="r", requester="U01REQ", now=utcnow()
    )
    await store.create(approval)
    await store.transition(
        approval.id,
        from_states={ApprovalState.PENDING},
        to_state=ApprovalState.APPROVED,
        actor="U02APR",
        now=utcnow(),
    )
    then = utcnow() - timedelta(seconds=ago)
    assert (await remediation.executions.claim(approval.id, "dead", then)).ok
    if phase != ExecutionPhase.PLANNING:
        assert await remediation.executions.beat(approval.id, "dead", then, phase, plan_node=WORKER)
    assert await store.acquire_lock("rec", approval.id, lease_seconds=600)
    return approval


async def cordoned(clusters: Path) -> bool:
    transport = KubeTransport(resolve_cluster("rec", clusters_dir=str(clusters)))
    try:
        response = await transport.request("GET", f"/api/v1/nodes/{WORKER}")
    finally:
        transport.close()
    return bool(json.loads(response.body)["spec"].get("unschedulable"))


async def cordon_by_hand(clusters: Path) -> None:
    transport = KubeTransport(resolve_cluster("rec", clusters_dir=str(clusters)))
    try:
        response = await transport.request(
            "PATCH",
            f"/api/v1/nodes/{WORKER}",
            body={"spec": {"unschedulable": True}},
            content_type="application/merge-patch+json",
        )
        assert response.status == 200
    finally:
        transport.close()


def thread_outcome(fake: FakeSlack) -> str:
    return str(
        [c for c in fake.calls("chat.postMessage") if "Next:" in str(c.params.get("text", ""))][-1].params[
            "text"
        ]
    )


async def test_died_before_sending_anything_runs_from_the_start(store: Store, clusters: Path) -> None:
    async with FakeSlack() as fake:
        remediation = flow(store, fake, clusters)
        approval = await dead_owner_left(store, remediation, ExecutionPhase.PLANNING, ago=60)
        await remediation.execute(approval.id, channel="C1", card_ts="1.2")
        record = await store.get(approval.id)
        assert record is not None
        assert record.state == ApprovalState.SUCCEEDED, record.result
        assert record.owner == "survivor"
        assert await cordoned(clusters)
        assert await store.lock_holder("rec") is None


async def test_died_while_applying_with_the_effect_visible_finishes_the_verification(
    store: Store, clusters: Path
) -> None:
    async with FakeSlack() as fake:
        remediation = flow(store, fake, clusters)
        approval = await dead_owner_left(store, remediation, ExecutionPhase.APPLYING, ago=60)
        await cordon_by_hand(clusters)  # what the dead worker had sent
        await remediation.execute(approval.id, channel="C1", card_ts="1.2")
        record = await store.get(approval.id)
        assert record is not None
        assert record.state == ApprovalState.SUCCEEDED, record.result
        assert "resumed after its first worker stopped" in record.result
        assert "✅ done" in thread_outcome(fake)
        assert await store.lock_holder("rec") is None
        history = await store.history("rec")
        assert not [r for r in history if r.kind == "execution"]  # the survivor applied nothing


async def test_died_while_applying_without_a_visible_effect_is_outcome_unknown(
    store: Store, clusters: Path
) -> None:
    async with FakeSlack() as fake:
        remediation = flow(store, fake, clusters)
        approval = await dead_owner_left(store, remediation, ExecutionPhase.APPLYING, ago=60)
        await remediation.execute(approval.id, channel="C1", card_ts="1.2")
        record = await store.get(approval.id)
        assert record is not None
        assert record.state == ApprovalState.FAILED
        assert f"outcome unknown — verified state: worker {WORKER} is schedulable" in record.result
        assert "outcome unknown" in thread_outcome(fake)
        card = [c for c in fake.calls("chat.update") if c.params.get("ts") == "1.2"][-1]
        assert "outcome unknown" in str(card.params)
        assert not await cordoned(clusters)  # never applied by the survivor
        history = await store.history("rec")
        assert any(r.kind == "verification" and "outcome unknown" in r.detail for r in history)
        assert await store.lock_holder("rec") is None


async def test_a_live_owner_keeps_its_execution_and_the_sweep_finds_a_dead_one(
    store: Store, clusters: Path
) -> None:
    async with FakeSlack() as fake:
        remediation = flow(store, fake, clusters)
        alive = await dead_owner_left(store, remediation, ExecutionPhase.VERIFYING, ago=1)
        await remediation.execute(alive.id, channel="C1", card_ts="1.2")
        record = await store.get(alive.id)
        assert record is not None
        assert (record.state, record.owner) == (ApprovalState.EXECUTING, "dead")
        assert await remediation.sweep_stalled() == 0
        await store.release_lock("rec", alive.id)
        silent = await dead_owner_left(store, remediation, ExecutionPhase.VERIFYING, ago=60)
        await store.set_card(silent.id, "C1", "3.4")
        assert await remediation.sweep_stalled() == 1  # queued: the in-process queue runs it now
        await remediation.queue.close()
        record = await store.get(silent.id)
        assert record is not None
        assert record.state in (ApprovalState.SUCCEEDED, ApprovalState.FAILED)
        assert record.owner == "survivor"
