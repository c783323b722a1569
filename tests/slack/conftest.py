"""Fixtures for the Slack tests: a started `FakeSlack` and a `Signer`; no proxies.

slack_sdk reads HTTPS_PROXY/HTTP_PROXY (and lower-case) on its own and ignores NO_PROXY, so a proxy in
the developer's or CI's environment would swallow every call to 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.redis_keys import REDIS_URL, RedisEnv, isolated_prefix
from tests.slack.fake_slack import FakeSlack
from tests.slack.signing import Signer

PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def redis_env() -> AsyncIterator[RedisEnv]:
    """`REDIS_URL` and a key prefix of this test's own, for the `serve` and `worker` children
    (`CALICO_BOT_REDIS_PREFIX`); every key under it is deleted afterwards (tests/redis_keys.py)."""
    async with isolated_prefix("e2e") as prefix:
        yield RedisEnv(REDIS_URL=REDIS_URL, CALICO_BOT_REDIS_PREFIX=prefix)


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A started FakeSlack on 127.0.0.1:<random>; stopped after the test."""
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def signer() -> Signer:
    return Signer(secret="test-signing-secret")
