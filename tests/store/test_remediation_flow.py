"""The approval flow's edges, with a real Redis, a real simulated cluster and the fake Slack,
and the clock injected:
- a click after the request expired is refused, audited, and the card turns "expired";
- Redis unreachable when someone approves: nothing is decided or run, the user is told, and the
  same approval works once Redis is back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.cluster.sources import ClusterAccess
from bot.queue.jobs import InProcessQueue
from bot.remediation.approvals import ApprovalPolicy
from bot.remediation.flow import Remediation
from bot.sim.source import SIMULATED
from bot.slack.api import SlackPoster, make_client
from bot.store.records import ApprovalState
from bot.store.redis_store import Store
from tests.redis_keys import REDIS_URL, isolated_prefix
from tests.slack.fake_slack import FakeSlack
from tests.slack.processes import approval_id_of

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """This test's own Redis keys (deleted afterwards)."""
    async with isolated_prefix("remediation-flow") as name:
        yield name


def remediation(store: Store, fake: FakeSlack, clock: Clock, queue: InProcessQueue) -> Remediation:
    async def no_groups(group: str) -> frozenset[str]:
        return frozenset()

    return Remediation(
        store=store,
        slack=SlackPoster(make_client(token="xoxb-test", api_url=fake.api_url)),
        policy=ApprovalPolicy(approver_users=frozenset({"U01REQ", "U02APR"})),
        access=ClusterAccess(sources=(SIMULATED,)),
        queue=queue,
        group_members=no_groups,
        now=clock,
    )


async def request_cordon(flow: Remediation, fake: FakeSlack) -> str:
    answer = await flow.request(
        cluster="sim:crashloop-one",
        kind="cordon",
        target="10.188.156.137",
        requester="U01REQ",
        channel="C1",
        thread_ts="1700000000.000100",
    )
    assert "waiting for an approver" in answer, answer
    card = [c for c in fake.calls("chat.postMessage") if "Approval needed" in str(c.params)][-1]
    return approval_id_of(card)


async def test_a_late_click_is_refused_audited_and_the_card_expires(prefix: str) -> None:
    clock, queue = Clock(), InProcessQueue()
    async with FakeSlack() as fake, Store(REDIS_URL, prefix=prefix) as store:
        flow = remediation(store, fake, clock, queue)
        approval_id = await request_cordon(flow, fake)
        clock.now = T0 + timedelta(minutes=16)
        answer = await flow.decide(
            approval_id=approval_id, user="U02APR", approve=True, channel="C1", card_ts="1700000001.000100"
        )
        assert "expired" in answer
        assert "nothing was done" in answer
        record = await store.get(approval_id)
        assert record is not None
        assert record.state == ApprovalState.EXPIRED
        history = await store.history("sim:crashloop-one")
        assert any(r.kind == "refusal" and "expired" in r.detail for r in history)
        updates = fake.calls("chat.update")
        assert updates
        assert "expired" in str(updates[-1].params)
        await queue.close()


async def test_redis_down_at_approval_then_back(prefix: str) -> None:
    clock, queue = Clock(), InProcessQueue()
    async with (
        FakeSlack() as fake,
        Store(REDIS_URL, prefix=prefix) as store,
        Store("redis://:s3cretpw@127.0.0.1:1/0") as down,
    ):
        approval_id = await request_cordon(remediation(store, fake, clock, queue), fake)
        broken = remediation(down, fake, clock, queue)
        answer = await broken.decide(
            approval_id=approval_id, user="U02APR", approve=True, channel="C1", card_ts="1700000001.000100"
        )
        assert "Nothing was decided and nothing runs" in answer
        assert "s3cretpw" not in answer
        record = await store.get(approval_id)
        assert record is not None
        assert record.state == ApprovalState.PENDING
        back = remediation(store, fake, clock, queue)
        answer = await back.decide(
            approval_id=approval_id, user="U02APR", approve=True, channel="C1", card_ts="1700000001.000100"
        )
        assert "running it now" in answer
        await queue.close(timeout=60)
        record = await store.get(approval_id)
        assert record is not None
        assert record.state == ApprovalState.SUCCEEDED, record.result


async def test_the_sweeper_expires_undecided_requests_and_updates_their_cards(prefix: str) -> None:
    clock, queue = Clock(), InProcessQueue()
    async with FakeSlack() as fake, Store(REDIS_URL, prefix=prefix) as store:
        flow = remediation(store, fake, clock, queue)
        approval_id = await request_cordon(flow, fake)
        assert await flow.sweep_expired() == 0  # not due yet
        clock.now = T0 + timedelta(minutes=15, seconds=1)
        assert await flow.sweep_expired() == 1
        assert await flow.sweep_expired() == 0  # once
        record = await store.get(approval_id)
        assert record is not None
        assert record.state == ApprovalState.EXPIRED
        update = fake.calls("chat.update")[-1]
        assert "expired" in str(update.params)
        assert "calico_approve" not in str(update.params)  # the buttons are gone
        assert update.params["channel"] == "C1"
        history = await store.history("sim:crashloop-one")
        assert history[0].kind == "expiry"
        await queue.close()
