"""The Slack jobs as queue jobs: a request (`CheckRequest`, `GatherRequest`, `EscalateRequest`) ↔
a serialisable `bot.queue.jobs.Job`, and the handlers that run each kind, registered on a queue by
`register_slack_jobs` in whichever process consumes it (the embedded `serve`, or a worker).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from bot.cluster.sources import ClusterAccess
from bot.queue.jobs import Job, JobQueue
from bot.slack.api import SlackPoster
from bot.slack.check_job import CheckRequest, Sharing, run_check_job
from bot.slack.escalate_job import EscalateRequest, run_escalate_job
from bot.slack.gather_job import GatherRequest, run_gather_job
from bot.store.redis_store import Store
from bot.store.shared import SharedState

CHECK = "check"
GATHER = "gather"
ESCALATE = "escalate"

Request = CheckRequest | GatherRequest | EscalateRequest
_KINDS: dict[type[Any], str] = {CheckRequest: CHECK, GatherRequest: GATHER, EscalateRequest: ESCALATE}


def job_for(request: Request, job_id: str) -> Job:
    """The job that runs `request`; `job_id` is derived from Slack's ids (a retry has the same)."""
    return Job(kind=_KINDS[type(request)], id=job_id, fields=dataclasses.asdict(request))


@dataclass(frozen=True)
class SlackJobDeps:
    slack: SlackPoster
    access: ClusterAccess
    shared: SharedState
    store: Store | None = None
    pageable: bool = False
    """PagerDuty is configured (the hand-off offers the approval-gated page button)."""


def register_slack_jobs(queue: JobQueue, deps: SlackJobDeps) -> None:
    async def check(job: Job) -> None:
        sharing = Sharing(state=deps.shared, job_id=job.id, requested_at=job.requested_at)
        await run_check_job(CheckRequest(**job.fields), slack=deps.slack, access=deps.access, sharing=sharing)

    async def gather(job: Job) -> None:
        await run_gather_job(
            GatherRequest(**job.fields), slack=deps.slack, access=deps.access, store=deps.store
        )

    async def escalate(job: Job) -> None:
        await run_escalate_job(
            EscalateRequest(**job.fields),
            slack=deps.slack,
            access=deps.access,
            store=deps.store,
            pageable=deps.pageable,
        )

    queue.register(CHECK, check)
    queue.register(GATHER, gather)
    queue.register(ESCALATE, escalate)
