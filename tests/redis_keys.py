"""Redis for the tests: the server at `REDIS_URL`, shared with anything else that runs on this machine
(another test run, a developer's bot), so every test keeps to a key prefix of its own and deletes only
the keys under it. Nothing in the tests empties a database (no FLUSHDB, no FLUSHALL).

A prefix names the run (pytest-xdist worker and a random token per process) and the test, so two
runs at once, or two workers of one run, never meet:

    async with isolated_prefix("remediation") as prefix:
        store = Store(REDIS_URL, prefix=prefix)                 # in this process
        serve_process(..., CALICO_BOT_REDIS_PREFIX=prefix)      # or in a child
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

import redis.asyncio as aioredis

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{secrets.token_hex(4)}"
"""This test process: its xdist worker (`gw0`, … or `main`) and a token no other process shares."""

_serial = itertools.count(1)


class RedisEnv(TypedDict):
    """The environment that points a `serve` or `worker` child at this Redis under a prefix."""

    REDIS_URL: str
    CALICO_BOT_REDIS_PREFIX: str


def unique_prefix(label: str) -> str:
    """A key prefix no other test, worker or run uses: `calico-bot-test:<run>:<label>:<n>:`."""
    return f"calico-bot-test:{RUN}:{label}:{next(_serial)}:"


async def keys_under(prefix: str, url: str = REDIS_URL) -> list[str]:
    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        return sorted([key async for key in client.scan_iter(match=f"{prefix}*", count=1000)])
    finally:
        await client.aclose()


async def delete_prefix(prefix: str, url: str = REDIS_URL) -> int:
    """Delete the keys under `prefix` (and nothing else); how many there were."""
    assert prefix.startswith("calico-bot-test:"), prefix
    assert prefix.endswith(":"), prefix
    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
        return len(keys)
    finally:
        await client.aclose()


@asynccontextmanager
async def isolated_prefix(label: str, url: str = REDIS_URL) -> AsyncIterator[str]:
    """A fresh prefix for one test; its keys are deleted afterwards, whatever the outcome."""
    prefix = unique_prefix(label)
    try:
        yield prefix
    finally:
        await delete_prefix(prefix, url)
