"""/readyz's probes: all must answer True in time; one that says no, raises or stays silent is named,
and the probes run together (a silent one costs one deadline)."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.observability.readiness import Check, Readiness, ReadinessLog, evaluate


async def yes() -> bool:
    return True


async def no() -> bool:
    return False


async def broken() -> bool:
    raise ConnectionError("refused")


async def silent() -> bool:
    await asyncio.sleep(60)
    return True


async def test_ready_when_every_probe_answers_yes() -> None:
    readiness = await evaluate([Check("redis", yes), Check("queue", yes)])
    assert readiness == Readiness(ready=True, checks={"redis": True, "queue": True})
    assert readiness.to_json() == {"ok": True, "checks": {"redis": True, "queue": True}}
    assert (await evaluate([])).ready


async def test_each_failing_probe_is_named_with_its_reason() -> None:
    started = time.perf_counter()
    readiness = await evaluate(
        [
            Check("redis", silent, deadline=0.3),
            Check("queue", broken),
            Check("other", no, deadline=0.3),
            Check("fine", yes),
        ]
    )
    elapsed = time.perf_counter() - started
    assert not readiness.ready
    assert readiness.checks == {"redis": False, "queue": False, "other": False, "fine": True}
    assert readiness.reasons == {
        "redis": "no answer in 0.3 s",
        "queue": "ConnectionError",
        "other": "answered not ready",
    }
    assert elapsed < 1.0  # together, not one after another
    assert readiness.to_json()["reasons"] == readiness.reasons


def test_a_change_of_readiness_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.observability.readiness")
    changes = ReadinessLog()
    down = Readiness(ready=False, checks={"redis": False}, reasons={"redis": "no answer in 2.0 s"})
    up = Readiness(ready=True, checks={"redis": True})
    for state in (up, up, down, down, down, up):
        changes.note(state)
    assert [r.getMessage() for r in caplog.records] == [
        "ready: redis",
        "not ready: redis (no answer in 2.0 s)",
        "ready: redis",
    ]
