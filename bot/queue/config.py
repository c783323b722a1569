"""The queue's and the worker's settings, from the environment.

| variable | meaning (default) |
|---|---|
| `CALICO_BOT_REDIS_PREFIX` | prefix of every Redis key of this deployment, queue included (`calico-bot:`) |
| `CALICO_BOT_WORKER_CONCURRENCY` | jobs one `calico-bot worker` runs at once (10) |
| `CALICO_BOT_HEARTBEAT_SECONDS` | how often a running job and an executing approval say they are alive (5); three missed beats and another worker takes over |
| `CALICO_BOT_SWEEP_SECONDS` | how often a worker looks for expired requests, stalled executions and jobs of dead workers (15) |
| `CALICO_BOT_SHUTDOWN_SECONDS` | on SIGTERM, how long running jobs may finish before they are handed back to the queue (20; Kubernetes kills at 30) |
| `CALICO_BOT_RATE_LIMIT` | requests one user may make, `<count>/<seconds>` (`20/60`) |
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PREFIX = "calico-bot:"


class QueueConfigError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class RateLimit:
    count: int = 20
    seconds: int = 60


@dataclass(frozen=True)
class QueueSettings:
    prefix: str = DEFAULT_PREFIX
    concurrency: int = 10
    heartbeat_seconds: int = 5
    sweep_seconds: int = 15
    shutdown_seconds: int = 20
    rate_limit: RateLimit = RateLimit()

    @property
    def stale_seconds(self) -> int:
        """A job or an execution whose last heartbeat is older than this belongs to a dead worker."""
        return 3 * self.heartbeat_seconds

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> QueueSettings:
        problems: list[str] = []

        def number(name: str, default: int, low: int, high: int) -> int:
            text = env.get(name, "").strip()
            if not text:
                return default
            if not text.isdigit() or not low <= int(text) <= high:
                problems.append(f"{name} {text!r} is not a whole number from {low} to {high}")
                return default
            return int(text)

        prefix = env.get("CALICO_BOT_REDIS_PREFIX", "").strip() or DEFAULT_PREFIX
        if not re.match(r"^[A-Za-z0-9_.:-]{1,64}$", prefix):
            problems.append(f"CALICO_BOT_REDIS_PREFIX {prefix!r} is not letters, digits and _ . : -")
            prefix = DEFAULT_PREFIX
        limit_text = env.get("CALICO_BOT_RATE_LIMIT", "").strip()
        limit = RateLimit()
        if limit_text:
            match = re.match(r"^([0-9]{1,6})/([0-9]{1,6})$", limit_text)
            if match and int(match.group(1)) > 0 and int(match.group(2)) > 0:
                limit = RateLimit(int(match.group(1)), int(match.group(2)))
            else:
                problems.append(f"CALICO_BOT_RATE_LIMIT {limit_text!r} is not <count>/<seconds>, e.g. 20/60")
        settings = cls(
            prefix=prefix,
            concurrency=number("CALICO_BOT_WORKER_CONCURRENCY", 10, 1, 500),
            heartbeat_seconds=number("CALICO_BOT_HEARTBEAT_SECONDS", 5, 1, 300),
            sweep_seconds=number("CALICO_BOT_SWEEP_SECONDS", 15, 1, 3600),
            shutdown_seconds=number("CALICO_BOT_SHUTDOWN_SECONDS", 20, 0, 3600),
            rate_limit=limit,
        )
        if problems:
            raise QueueConfigError(problems)
        return settings
