"""One process's job dependencies, rebuilt from its settings, and every job kind registered on its
queue: `serve` (which consumes the queue itself only in the embedded mode) and `worker` call the
same `wire`, so a job runs the same code wherever it runs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.escalation.pagerduty import PagerDutySettings
from bot.queue.jobs import JobQueue
from bot.remediation.flow import Remediation
from bot.settings import Settings
from bot.slack.api import SlackPoster, make_client
from bot.slack.jobs import SlackJobDeps, register_slack_jobs
from bot.store.redis_shared import RedisState
from bot.store.redis_store import Store
from bot.store.shared import MemoryState, SharedState


@dataclass
class Wired:
    slack: SlackPoster
    shared: SharedState
    """De-duplication, rate limits, single flight: in Redis when there is a store."""
    remediation: Remediation | None
    """Approvals and their execution; None without Redis."""


def wire(
    settings: Settings,
    queue: JobQueue,
    store: Store | None,
    *,
    slack: SlackPoster | None = None,
    env: Mapping[str, str] | None = None,
) -> Wired:
    """Build the dependencies of the jobs and register every kind on `queue`."""
    env = os.environ if env is None else env
    if slack is None:
        slack = SlackPoster(make_client(token=settings.bot_token, api_url=settings.api_url))
    shared: SharedState = (
        RedisState(store, lease_seconds=settings.queue.stale_seconds) if store is not None else MemoryState()
    )
    remediation = None
    pagerduty = PagerDutySettings.from_env(env)
    if store is not None:
        remediation = Remediation(
            store=store,
            slack=slack,
            policy=settings.policy,
            access=settings.access,
            queue=queue,
            group_members=slack.usergroup_members,
            read_only=settings.read_only,
            iks=settings.iks,
            deadlines=settings.verify_deadlines,
            max_not_ready_share=settings.max_not_ready_share,
            pagerduty=pagerduty,
            heartbeat_seconds=settings.queue.heartbeat_seconds,
            stale_seconds=settings.queue.stale_seconds,
        )
    register_slack_jobs(
        queue,
        SlackJobDeps(
            slack=slack,
            access=settings.access,
            shared=shared,
            store=store,
            pageable=remediation is not None and pagerduty is not None,
        ),
    )
    return Wired(slack=slack, shared=shared, remediation=remediation)


def store_for(settings: Settings) -> Store | None:
    """The Redis store of these settings (None in the embedded mode)."""
    if not settings.redis_url:
        return None
    return Store(settings.redis_url, prefix=settings.queue.prefix)
