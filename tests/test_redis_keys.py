"""The tests' Redis isolation (tests/redis_keys.py): every prefix is new, and cleaning one up
deletes its keys and nobody else's."""

from __future__ import annotations

import redis.asyncio as aioredis

from tests.redis_keys import REDIS_URL, RUN, delete_prefix, isolated_prefix, keys_under, unique_prefix


def test_prefixes_name_the_run_and_never_repeat() -> None:
    first, second = unique_prefix("x"), unique_prefix("x")
    assert first != second
    assert first.startswith(f"calico-bot-test:{RUN}:x:")
    assert first.endswith(":")


async def test_cleaning_a_prefix_leaves_every_other_key() -> None:
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    async with isolated_prefix("neighbour") as neighbour:
        try:
            async with isolated_prefix("mine") as mine:
                await client.set(f"{mine}a", "1")
                await client.set(f"{mine}b:c", "2")
                await client.set(f"{neighbour}a", "3")
                assert await keys_under(mine) == [f"{mine}a", f"{mine}b:c"]
            assert await keys_under(mine) == []
            assert await client.get(f"{neighbour}a") == "3"
            assert await delete_prefix(neighbour) == 1
        finally:
            await client.aclose()
