"""`bot.store.Store` against the real Redis at `REDIS_URL` (default `redis://127.0.0.1:6379/0`).

Each test works under its own key prefix and deletes its keys afterwards. No mocks: concurrency
is real (two Store instances, two connection pools, one Redis), and "Redis down" is a closed port.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.slack.approval_card import transition_message
from bot.store.records import Approval, ApprovalState, AuditEntry, AuditKind, TransitionOutcome
from bot.store.redis_store import DuplicateApproval, Store, StoreUnavailable
from checks.model import ActionKind

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
DOWN_URL = "redis://:s3cretpw@127.0.0.1:1/0"
NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
REQUESTER = "U0REQ"

PENDING = {ApprovalState.PENDING}
APPROVED = {ApprovalState.APPROVED}
EXECUTING = {ApprovalState.EXECUTING}


@pytest.fixture
async def raw() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        pong = client.ping()  # typed `Awaitable[bool] | bool` by some redis-py releases
        assert isinstance(pong, Awaitable)
        await pong
    except Exception as exc:  # a missing Redis is a failure, not a skip
        pytest.fail(f"these tests need a Redis at {REDIS_URL}: {exc}")
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(raw: aioredis.Redis) -> AsyncIterator[str]:
    name = f"test:{uuid4().hex}:"
    yield name
    keys = [key async for key in raw.scan_iter(match=f"{name}*", count=1000)]
    if keys:
        await raw.delete(*keys)
    assert [key async for key in raw.scan_iter(match=f"{name}*")] == []


@pytest.fixture
async def store(prefix: str) -> AsyncIterator[Store]:
    async with Store(REDIS_URL, prefix=prefix) as instance:
        yield instance


@pytest.fixture
async def other(prefix: str) -> AsyncIterator[Store]:
    """A second app instance: its own Store, its own connection pool, the same Redis and prefix."""
    async with Store(REDIS_URL, prefix=prefix) as instance:
        yield instance


@pytest.fixture
async def down() -> AsyncIterator[Store]:
    async with Store(DOWN_URL, prefix=f"test:{uuid4().hex}:") as instance:
        yield instance


def new_request(action: ActionKind = ActionKind.CORDON, ttl: timedelta = timedelta(minutes=15)) -> Approval:
    return Approval.new(
        cluster="prod-1",
        action=action,
        target="10.0.0.7",
        reason="calico-node not ready",
        requester=REQUESTER,
        now=NOW,
        ttl=ttl,
    )


async def until(condition: Callable[[], Awaitable[bool]], *, seconds: float = 5.0) -> None:
    """Wait until `await condition()` is true, or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"condition not met within {seconds}s")


# --- approvals -------------------------------------------------------------------------------------


async def test_create_get_round_trip(store: Store, other: Store, raw: aioredis.Redis, prefix: str) -> None:
    approval = new_request()
    await store.create(approval)
    assert await other.get(approval.id) == approval
    assert await store.get("no-such-id") is None
    assert await store.get("../../etc") is None  # not an id: no lookup at all
    # kept for a day after it expires
    ttl_ms = await raw.pttl(f"{prefix}approval:{approval.id}")
    assert timedelta(days=1) < timedelta(milliseconds=ttl_ms) <= timedelta(days=1, minutes=15)


async def test_create_is_unique_by_id(store: Store) -> None:
    approval = new_request()
    await store.create(approval)
    await store.create(approval)  # the same record again (a retried create) is harmless
    with pytest.raises(DuplicateApproval):
        await store.create(
            Approval.new(
                cluster="other",
                action=ActionKind.REBOOT_WORKER,
                target="x",
                reason="",
                requester="U9",
                now=NOW,
                id=approval.id,
            )
        )
    assert await store.get(approval.id) == approval


async def test_fifty_clicks_on_two_instances_approve_once(store: Store, other: Store) -> None:
    assert store._redis.connection_pool is not other._redis.connection_pool
    approval = new_request()
    await store.create(approval)
    clickers = [f"U{n:04d}" for n in range(50)]
    results = await asyncio.gather(
        *(
            (store if n % 2 else other).transition(
                approval.id, from_states=PENDING, to_state=ApprovalState.APPROVED, actor=user, now=NOW
            )
            for n, user in enumerate(clickers)
        )
    )
    winners = [(user, r) for user, r in zip(clickers, results, strict=True) if r.ok]
    assert len(winners) == 1
    winner, won = winners[0]
    assert won.outcome == TransitionOutcome.DONE
    assert won.approval is not None
    assert won.approval.approver == winner
    for result in results:
        if not result.ok:
            assert result.outcome == TransitionOutcome.WRONG_STATE
            assert result.approval is not None
            assert result.approval.approver == winner
            assert f"Already approved by <@{winner}>" in transition_message(result)
    stored = await other.get(approval.id)
    assert stored is not None
    assert (stored.state, stored.approver, stored.decided_at) == (ApprovalState.APPROVED, winner, NOW)


async def test_execution_is_claimed_once(store: Store, other: Store) -> None:
    approval = new_request()
    await store.create(approval)
    approved = await store.transition(
        approval.id, from_states=PENDING, to_state=ApprovalState.APPROVED, actor="U0APP", now=NOW
    )
    assert approved.ok
    later = NOW + timedelta(minutes=30)  # past the request's expiry: execution is not bound by it
    claims = await asyncio.gather(
        *(
            (store if n % 2 else other).transition(
                approval.id,
                from_states=APPROVED,
                to_state=ApprovalState.EXECUTING,
                actor=f"worker-{n}",
                now=later,
            )
            for n in range(50)
        )
    )
    assert sum(c.ok for c in claims) == 1
    assert {c.outcome for c in claims if not c.ok} == {TransitionOutcome.WRONG_STATE}
    done = await other.transition(
        approval.id,
        from_states=EXECUTING,
        to_state=ApprovalState.SUCCEEDED,
        actor="worker-1",
        now=later,
        result="cordoned 10.0.0.7",
    )
    assert done.ok
    assert done.approval is not None
    # the approver and the decision time stay those of the decision
    assert (done.approval.approver, done.approval.decided_at) == ("U0APP", NOW)
    assert done.approval.result == "cordoned 10.0.0.7"
    again = await store.transition(
        approval.id, from_states=EXECUTING, to_state=ApprovalState.FAILED, actor="worker-2", now=later
    )
    assert not again.ok
    assert again.approval is not None
    assert again.approval.state == ApprovalState.SUCCEEDED


async def test_a_late_approval_expires_the_request(store: Store) -> None:
    approval = new_request()
    await store.create(approval)
    late = await store.transition(
        approval.id, from_states=PENDING, to_state=ApprovalState.APPROVED, actor="U0APP", now=approval.expires
    )
    assert not late.ok
    assert late.outcome == TransitionOutcome.EXPIRED
    assert late.approval is not None
    assert (late.approval.state, late.approval.approver) == (ApprovalState.EXPIRED, "")
    assert "Too late" in transition_message(late)
    assert "expired" in transition_message(late)
    # the next click is told it is expired, and nothing moves
    later = await store.transition(
        approval.id,
        from_states=PENDING,
        to_state=ApprovalState.DENIED,
        actor="U0OTH",
        now=approval.expires + timedelta(minutes=1),
    )
    assert (later.ok, later.outcome) == (False, TransitionOutcome.WRONG_STATE)
    assert "Already expired" in transition_message(later)
    stored = await store.get(approval.id)
    assert stored is not None
    assert stored.state == ApprovalState.EXPIRED


async def test_one_millisecond_before_expiry_is_in_time(store: Store) -> None:
    approval = new_request()
    await store.create(approval)
    result = await store.transition(
        approval.id,
        from_states=PENDING,
        to_state=ApprovalState.APPROVED,
        actor="U0APP",
        now=approval.expires - timedelta(milliseconds=1),
    )
    assert result.ok


async def test_expiring_explicitly_only_when_due(store: Store) -> None:
    approval = new_request()
    await store.create(approval)
    early = await store.transition(
        approval.id, from_states=PENDING, to_state=ApprovalState.EXPIRED, actor="sweeper", now=NOW
    )
    assert (early.ok, early.outcome) == (False, TransitionOutcome.NOT_EXPIRED)
    due = await store.transition(
        approval.id,
        from_states=PENDING,
        to_state=ApprovalState.EXPIRED,
        actor="sweeper",
        now=approval.expires,
    )
    assert due.ok
    assert due.approval is not None
    assert due.approval.state == ApprovalState.EXPIRED


async def test_denied_cannot_be_approved(store: Store) -> None:
    approval = new_request()
    await store.create(approval)
    denied = await store.transition(
        approval.id, from_states=PENDING, to_state=ApprovalState.DENIED, actor="U0DEN", now=NOW
    )
    assert denied.ok
    late = await store.transition(
        approval.id, from_states=PENDING, to_state=ApprovalState.APPROVED, actor="U0APP", now=NOW
    )
    assert (late.ok, late.outcome) == (False, TransitionOutcome.WRONG_STATE)
    assert "Already denied by <@U0DEN>" in transition_message(late)
    with pytest.raises(ValueError, match="not a transition"):
        await store.transition(
            approval.id,
            from_states={ApprovalState.DENIED},
            to_state=ApprovalState.APPROVED,
            actor="U0APP",
            now=NOW,
        )
    stored = await store.get(approval.id)
    assert stored is not None
    assert (stored.state, stored.approver) == (ApprovalState.DENIED, "U0DEN")


async def test_a_decided_record_is_kept_for_the_retention(prefix: str, raw: aioredis.Redis) -> None:
    async with Store(REDIS_URL, prefix=prefix, retention=timedelta(seconds=60)) as store:
        approval = new_request()
        await store.create(approval)
        key = f"{prefix}approval:{approval.id}"
        await raw.pexpire(key, 500)  # about to vanish
        decided = await store.transition(
            approval.id, from_states=PENDING, to_state=ApprovalState.APPROVED, actor="U0APP", now=NOW
        )
        assert decided.ok
        assert await raw.pttl(key) > 50_000


async def test_missing_approval(store: Store) -> None:
    result = await store.transition(
        "nope", from_states=PENDING, to_state=ApprovalState.APPROVED, actor="U0APP", now=NOW
    )
    assert (result.ok, result.outcome, result.approval) == (False, TransitionOutcome.MISSING, None)
    assert "no longer exists" in transition_message(result)


async def test_a_repeated_call_is_not_a_conflict_with_itself(store: Store, other: Store) -> None:
    approval = new_request()
    await store.create(approval)
    first = await store.transition(
        approval.id,
        from_states=PENDING,
        to_state=ApprovalState.APPROVED,
        actor="U0APP",
        now=NOW,
        idempotency_key="click-1",
    )
    replay = await other.transition(
        approval.id,
        from_states=PENDING,
        to_state=ApprovalState.APPROVED,
        actor="U0APP",
        now=NOW,
        idempotency_key="click-1",
    )
    someone_else = await other.transition(
        approval.id,
        from_states=PENDING,
        to_state=ApprovalState.APPROVED,
        actor="U0APP",
        now=NOW,
        idempotency_key="click-2",
    )
    assert (first.ok, replay.ok, someone_else.ok) == (True, True, False)


# --- Redis unreachable -----------------------------------------------------------------------------


async def test_unreachable_redis_is_one_clear_error_without_the_password(down: Store) -> None:
    assert "s3cretpw" not in repr(down)
    assert await down.ping() is False
    calls = [
        down.get("abc"),
        down.create(new_request()),
        down.transition("abc", from_states=PENDING, to_state=ApprovalState.APPROVED, actor="U1", now=NOW),
        down.audit("prod-1", kind=AuditKind.REQUEST, actor="U1", at=NOW),
        down.history("prod-1"),
        down.acquire_lock("prod-1", "me", lease_seconds=5),
        down.extend_lock("prod-1", "me", 5),
        down.release_lock("prod-1", "me"),
        down.lock_holder("prod-1"),
        down.first_time("evt"),
    ]
    for call in calls:
        with pytest.raises(StoreUnavailable) as caught:
            await call
        message = str(caught.value)
        assert message.startswith("Redis at redis://127.0.0.1:1/0 is unreachable: ")
        assert "\n" not in message
        assert "s3cretpw" not in message
        assert "s3cretpw" not in repr(caught.value)
        assert caught.value.__cause__ is None


@pytest.mark.parametrize(
    ("url", "shown", "secret"),
    [
        ("redis://:pw1secret@127.0.0.1:1/0", "redis://127.0.0.1:1/0", "pw1secret"),
        ("redis://bob:pw2secret@127.0.0.1:1/3", "redis://bob@127.0.0.1:1/3", "pw2secret"),
        ("redis://127.0.0.1:1/0?password=pw3secret", "redis://127.0.0.1:1/0", "pw3secret"),
    ],
)
async def test_the_password_never_shows(url: str, shown: str, secret: str) -> None:
    async with Store(url) as unreachable:
        assert unreachable.url == shown
        with pytest.raises(StoreUnavailable, match=f"^Redis at {shown} is unreachable") as caught:
            await unreachable.first_time("evt")
        assert secret not in str(caught.value)
        # even when the driver's own message were to quote it
        with pytest.raises(StoreUnavailable) as quoted, unreachable._guard():
            raise RedisConnectionError(f"AUTH {secret} refused")
        assert secret not in str(quoted.value)
        assert "AUTH *** refused" in str(quoted.value)


async def test_a_wrong_password_is_reported_without_it(raw: aioredis.Redis) -> None:
    url = REDIS_URL.replace("redis://", "redis://nobody-here:wrongpw9@", 1)
    async with Store(url) as refused:
        with pytest.raises(StoreUnavailable) as caught:
            await refused.get("abc")
    assert "wrongpw9" not in str(caught.value)
    assert "nobody-here@" in str(caught.value)


async def test_nothing_happens_while_redis_is_down_and_it_works_when_back(down: Store, store: Store) -> None:
    approval = new_request()
    await store.create(approval)
    down_view = Store(DOWN_URL, prefix=store.prefix)  # the same keys, through a Redis that is not there
    try:
        with pytest.raises(StoreUnavailable):
            await down_view.transition(
                approval.id, from_states=PENDING, to_state=ApprovalState.APPROVED, actor="U0APP", now=NOW
            )
    finally:
        await down_view.close()
    assert await store.get(approval.id) == approval  # nothing changed
    back = await store.transition(
        approval.id, from_states=PENDING, to_state=ApprovalState.APPROVED, actor="U0APP", now=NOW
    )
    assert back.ok


async def test_the_loader_is_not_called_when_redis_is_down(down: Store) -> None:
    called = []

    async def loader() -> frozenset[str]:
        called.append(1)
        return frozenset({"U1"})

    with pytest.raises(StoreUnavailable):
        await down.cached_members("S0OPS", loader)
    assert called == []


# --- audit -----------------------------------------------------------------------------------------


async def test_audit_per_cluster_and_global(store: Store, other: Store) -> None:
    base = NOW
    await store.audit(
        "prod-1",
        kind=AuditKind.REQUEST,
        actor=REQUESTER,
        action="cordon",
        target="10.0.0.7",
        approval_id="a1",
        outcome="pending",
        at=base,
    )
    await other.audit(
        "prod-2",
        kind=AuditKind.REFUSAL,
        actor=REQUESTER,
        action="cordon",
        approval_id="a2",
        detail="two-person rule",
        at=base + timedelta(seconds=1),
    )
    await store.audit(
        "prod-1",
        kind=AuditKind.EXECUTION,
        actor="worker-1",
        action="cordon",
        target="10.0.0.7",
        approval_id="a1",
        outcome="succeeded",
        requester=REQUESTER,
        approver="U0APP",
        detail="token=abc123",
        at=base + timedelta(seconds=2),
    )

    one = await other.history("prod-1")
    assert [r.kind for r in one] == ["execution", "request"]  # newest first
    assert all(r.cluster == "prod-1" for r in one)
    assert one[0].approval_id == "a1"
    assert one[0].at == base + timedelta(seconds=2)
    assert "abc123" not in one[0].detail  # free text is redacted on the way in

    everything = await store.history(None)
    assert [(r.cluster, r.kind) for r in everything] == [
        ("prod-1", "execution"),
        ("prod-2", "refusal"),
        ("prod-1", "request"),
    ]
    assert [r.detail for r in await store.history("prod-2")] == ["two-person rule"]
    assert await store.history("prod-3") == []

    entry = one[0].to_audit_entry()
    assert entry == AuditEntry(
        at=base + timedelta(seconds=2),
        action="cordon",
        target="10.0.0.7",
        requested_by=REQUESTER,
        approved_by="U0APP",
        outcome="succeeded",
    )
    assert await store.actions_taken("prod-1") == [entry]


async def test_history_count_and_order(store: Store) -> None:
    for n in range(25):
        await store.audit("prod-1", kind=AuditKind.DECISION, actor=f"U{n:04d}", at=NOW + timedelta(seconds=n))
    latest = await store.history("prod-1")
    assert len(latest) == 20
    assert [r.actor for r in latest] == [f"U{n:04d}" for n in range(24, 4, -1)]
    assert [r.actor for r in await store.history("prod-1", count=3)] == ["U0024", "U0023", "U0022"]


async def test_audit_streams_are_trimmed(prefix: str, raw: aioredis.Redis) -> None:
    node = int(str((await raw.config_get("stream-node-max-entries"))["stream-node-max-entries"]))
    async with Store(REDIS_URL, prefix=prefix, audit_maxlen_cluster=10, audit_maxlen_global=20) as small:
        written = 3 * node + 17
        for n in range(written):
            await small.audit(f"c{n % 2}", kind=AuditKind.REQUEST, actor=f"U{n:04d}", at=NOW)
        newest = await small.history(None, count=1)
    # "MAXLEN ~": Redis keeps at least the limit and drops whole nodes, so at most a node more
    cluster_len = await raw.xlen(f"{prefix}audit:c0")
    global_len = await raw.xlen(f"{prefix}audit")
    assert 10 <= cluster_len < 10 + node
    assert 20 <= global_len < 20 + node
    assert global_len < written
    assert newest[0].actor == f"U{written - 1:04d}"


# --- locks -----------------------------------------------------------------------------------------


async def test_lock_is_exclusive_and_released_by_its_owner_only(store: Store, other: Store) -> None:
    assert await store.lock_holder("prod-1") is None
    assert await store.acquire_lock("prod-1", "approval-a", lease_seconds=30)
    assert not await other.acquire_lock("prod-1", "approval-b", lease_seconds=30)
    assert await other.acquire_lock("prod-2", "approval-b", lease_seconds=30)  # per cluster
    assert await other.lock_holder("prod-1") == "approval-a"
    assert not await other.release_lock("prod-1", "approval-b")
    assert await other.lock_holder("prod-1") == "approval-a"
    assert await store.release_lock("prod-1", "approval-a")
    assert not await store.release_lock("prod-1", "approval-a")  # once
    assert await store.lock_holder("prod-1") is None
    assert await other.acquire_lock("prod-1", "approval-b", lease_seconds=30)


async def test_many_contenders_one_holder(store: Store, other: Store) -> None:
    got = await asyncio.gather(
        *(
            (store if n % 2 else other).acquire_lock("prod-1", f"owner-{n}", lease_seconds=30)
            for n in range(40)
        )
    )
    assert sum(got) == 1
    assert await store.lock_holder("prod-1") == f"owner-{got.index(True)}"


async def test_lock_extension_by_owner_only(
    store: Store, other: Store, raw: aioredis.Redis, prefix: str
) -> None:
    assert await store.acquire_lock("prod-1", "approval-a", lease_seconds=0.3)
    assert not await other.extend_lock("prod-1", "approval-b", 30)
    assert await raw.pttl(f"{prefix}lock:prod-1") <= 300
    assert await other.extend_lock("prod-1", "approval-a", 30)
    assert await raw.pttl(f"{prefix}lock:prod-1") > 20_000
    await asyncio.sleep(0.5)  # past the first lease
    assert await store.lock_holder("prod-1") == "approval-a"
    assert not await store.extend_lock("prod-2", "approval-a", 30)  # not held at all


async def test_lock_lease_expires(store: Store, other: Store) -> None:
    started = time.monotonic()
    assert await store.acquire_lock("prod-1", "approval-a", lease_seconds=0.2)

    async def free() -> bool:
        return await other.lock_holder("prod-1") is None

    await until(free, seconds=3)
    assert time.monotonic() - started >= 0.15
    assert await other.acquire_lock("prod-1", "approval-b", lease_seconds=30)
    assert not await store.extend_lock("prod-1", "approval-a", 30)  # an expired owner cannot revive it


# --- dedupe and the user group cache ---------------------------------------------------------------


async def test_first_time(store: Store, other: Store) -> None:
    assert await store.first_time("Ev01")
    assert not await other.first_time("Ev01")
    assert not await store.first_time("Ev01")
    assert await other.first_time("Ev02")
    assert await store.first_time("Ev03", ttl_seconds=1)

    async def forgotten() -> bool:
        return await store.first_time("Ev03", ttl_seconds=1)

    await until(forgotten, seconds=4)


async def test_user_group_cache(store: Store, other: Store) -> None:
    calls: list[str] = []

    async def loader() -> frozenset[str]:
        calls.append("S0OPS")
        return frozenset({"U1", "U2"})

    assert await store.cached_members("S0OPS", loader, ttl=1) == {"U1", "U2"}
    assert await store.cached_members("S0OPS", loader, ttl=1) == {"U1", "U2"}
    assert await other.cached_members("S0OPS", loader, ttl=1) == {"U1", "U2"}  # shared by replicas
    assert calls == ["S0OPS"]

    async def reloaded() -> bool:
        await store.cached_members("S0OPS", loader, ttl=1)
        return len(calls) == 2

    await until(reloaded, seconds=4)


async def test_a_failing_loader_is_not_cached(store: Store) -> None:
    async def broken() -> frozenset[str]:
        raise RuntimeError("usergroups.users.list: ratelimited")

    async def working() -> frozenset[str]:
        return frozenset()

    with pytest.raises(RuntimeError, match="ratelimited"):
        await store.cached_members("S0OPS", broken)
    assert await store.cached_members("S0OPS", working) == frozenset()
    assert await store.cached_members("S0OPS", broken) == frozenset()  # an empty group is cached too
