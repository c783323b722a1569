"""Fixtures for the simulator tests: a started SimCluster and a small HTTP helper (real sockets)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from bot.sim import SimCluster

NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)

StartSim = Callable[..., Awaitable[SimCluster]]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


@pytest.fixture
async def start_sim() -> AsyncIterator[StartSim]:
    """`await start_sim("crashloop-one", nodes=5)`: a started simulator, stopped after the test."""
    sims: list[SimCluster] = []

    async def start(scenario: str = "healthy", **kwargs: Any) -> SimCluster:
        kwargs.setdefault("now", NOW)
        sim = SimCluster(scenario, **kwargs)
        await sim.start()
        sims.append(sim)
        return sim

    yield start
    for sim in sims:
        await sim.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    session: aiohttp.ClientSession,
    sim: SimCluster,
    method: str,
    path: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: Any = None,
    content_type: str = "application/json",
    token: str | None = "",
    timeout: float = 10.0,
) -> Reply:
    """One request with the sim's bearer token (`token=None` sends none, a string sends that)."""
    sent = dict(headers or {})
    bearer = sim.token if token == "" else token
    if bearer is not None:
        sent["Authorization"] = f"Bearer {bearer}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = content_type
    async with session.request(
        method,
        sim.url + path,
        params=params,
        headers=sent,
        data=data,
        timeout=aiohttp.ClientTimeout(total=timeout),
        ssl=sim.client_ssl_context() or True,
    ) as resp:
        raw = await resp.read()
        return Reply(resp.status, dict(resp.headers), raw)
