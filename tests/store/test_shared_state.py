"""What replicas share, on a real Redis (a key prefix per test) and in memory:
- execution ownership: one owner at a time; a live owner keeps it; a silent or handed-back one
  loses it to the next worker; the stale sweep finds it;
- one pending request per action and target, freed when it is decided;
- de-duplication, the per-user rate limit, and single flight (concurrent requests share one
  computation; a request made after it finished gets its own), for RedisState and MemoryState.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.store.executions import Executions
from bot.store.records import Approval, ApprovalState, ExecutionPhase
from bot.store.redis_shared import RedisState
from bot.store.redis_store import Store
from bot.store.shared import MemoryState, SharedState
from checks.model import ActionKind
from tests.redis_keys import REDIS_URL, isolated_prefix

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    async with isolated_prefix("shared") as prefix, Store(REDIS_URL, prefix=prefix) as opened:
        yield opened


async def approved(store: Store, target: str = "10.0.0.1") -> Approval:
    approval = Approval.new(
        cluster="c1", action=ActionKind.CORDON, target=target, reason="r", requester="U1", now=T0
    )
    await store.create(approval)
    result = await store.transition(
        approval.id, from_states={ApprovalState.PENDING}, to_state=ApprovalState.APPROVED, actor="U2", now=T0
    )
    assert result.ok
    return approval


async def test_one_owner_at_a_time_and_a_silent_one_is_taken_over(store: Store) -> None:
    executions = Executions(store)
    approval = await approved(store)
    first = await executions.claim(approval.id, "w1", T0)
    assert first.ok
    assert first.approval is not None
    assert (first.approval.owner, first.approval.phase) == ("w1", ExecutionPhase.PLANNING)
    assert not (await executions.claim(approval.id, "w2", T0)).ok
    assert (await executions.claim(approval.id, "w1", T0)).ok  # its own retry
    assert not await executions.beat(approval.id, "w2", T0)  # only the owner beats
    assert await executions.beat(
        approval.id, "w1", T0 + timedelta(seconds=5), ExecutionPhase.APPLYING, plan_node="10.0.0.1"
    )
    fresh = T0 + timedelta(seconds=10)
    assert await executions.take_over(approval.id, "w2", fresh, stale_seconds=15) is None
    assert await executions.stale(fresh, stale_seconds=15) == []
    late = T0 + timedelta(seconds=21)
    assert await executions.stale(late, stale_seconds=15) == [approval.id]
    adopted = await executions.take_over(approval.id, "w2", late, stale_seconds=15)
    assert adopted is not None
    assert (adopted.owner, adopted.previous_owner, adopted.phase, adopted.plan_node) == (
        "w2",
        "w1",
        ExecutionPhase.APPLYING,
        "10.0.0.1",
    )
    assert not await executions.beat(approval.id, "w1", late)  # the old owner is out


async def test_a_handed_back_execution_is_taken_over_at_once(store: Store) -> None:
    executions = Executions(store)
    approval = await approved(store)
    assert (await executions.claim(approval.id, "w1", T0)).ok
    assert await executions.hand_back(approval.id, "w1")
    assert await executions.take_over(approval.id, "w2", T0, stale_seconds=3600) is not None


async def test_one_pending_request_per_action_and_target(store: Store) -> None:
    def request(target: str = "10.0.0.1") -> Approval:
        return Approval.new(
            cluster="c1", action=ActionKind.CORDON, target=target, reason="r", requester="U1", now=T0
        )

    first = request()
    assert await store.claim_slot(first, T0) is None
    await store.create(first)
    second = request()
    holder = await store.claim_slot(second, T0)
    assert holder is not None
    assert holder.id == first.id
    assert await store.claim_slot(request("10.0.0.2"), T0) is None  # another target: its own slot
    await store.transition(
        first.id, from_states={ApprovalState.PENDING}, to_state=ApprovalState.DENIED, actor="U2", now=T0
    )
    assert await store.claim_slot(second, T0) is None  # the holder is decided: the slot is free


@pytest.fixture(params=["redis", "memory"])
async def shared(request: pytest.FixtureRequest, store: Store) -> SharedState:
    return RedisState(store, lease_seconds=2) if request.param == "redis" else MemoryState()


async def test_first_time_and_the_rate_limit(shared: SharedState) -> None:
    assert await shared.first_time("event:Ev1", 60)
    assert not await shared.first_time("event:Ev1", 60)
    assert [(await shared.allow("U1", count=2, seconds=60)).allowed for _ in range(3)] == [True, True, False]
    refused = await shared.allow("U1", count=2, seconds=60)
    assert 0 < refused.retry_after <= 60
    assert (await shared.allow("U2", count=2, seconds=60)).allowed  # per user


async def test_concurrent_requests_share_one_computation(shared: SharedState) -> None:
    calls = 0

    async def compute() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.3)
        return f"result {calls}"

    asked = datetime.now(UTC).timestamp()
    results = await asyncio.gather(
        *(shared.share("check:c1", requested_at=asked, compute=compute) for _ in range(10))
    )
    assert results == ["result 1"] * 10
    assert calls == 1
    later = datetime.now(UTC).timestamp() + 1  # asked after that computation finished
    assert await shared.share("check:c1", requested_at=later, compute=compute) == "result 2"
    assert await shared.share("check:c2", requested_at=asked, compute=compute) == "result 3"


async def test_a_failed_leader_lets_the_others_compute(shared: SharedState) -> None:
    async def fails() -> str:
        await asyncio.sleep(0.1)
        raise RuntimeError("boom")

    async def works() -> str:
        await asyncio.sleep(0.2)
        return "ok"

    asked = datetime.now(UTC).timestamp()
    leader = asyncio.create_task(shared.share("k", requested_at=asked, compute=fails))
    await asyncio.sleep(0.02)
    follower = asyncio.create_task(shared.share("k", requested_at=asked, compute=works))
    with pytest.raises(RuntimeError):
        await leader
    assert await follower == "ok"


async def test_a_job_s_notes_outlive_it(shared: SharedState) -> None:
    assert await shared.recall("check:t1", "ts") is None
    await shared.remember("check:t1", "ts", "1700000000.000100")
    assert await shared.recall("check:t1", "ts") == "1700000000.000100"
