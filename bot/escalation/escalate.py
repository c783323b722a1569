"""Escalating a cluster, the same from a terminal (`calico-bot escalate`), Slack (`/calico escalate`,
the card's Escalate button) and the approval-gated `page` action: a fresh diagnosis, the hand-off
built from it (`handoff`, pure), and the PagerDuty trigger (`pagerduty`). A cluster that could not
be read still yields its all-unknown diagnosis, and a PagerDuty failure is an outcome, not a crash.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from bot.cluster.checking import CheckFailed, CheckResult, run_check
from bot.cluster.sources import ClusterAccess
from bot.escalation.handoff import EscalationLinks, Handoff, build_handoff, pagerduty_event, paging_status
from bot.escalation.pagerduty import ROUTING_KEY_ENV, PagerDutySettings, send_event
from bot.store.records import AuditEntry


async def diagnose_for_handoff(cluster: str, access: ClusterAccess) -> CheckResult:
    """A fresh diagnosis; a cluster that could not be read still yields its (unknown) diagnosis."""
    try:
        return await run_check(cluster, access)
    except CheckFailed as failed:
        if failed.result is None:
            raise
        return failed.result


async def page(result: CheckResult, settings: PagerDutySettings | None) -> tuple[bool, str]:
    """Trigger PagerDuty for the diagnosed cluster; (ok, the paging line for the hand-off)."""
    if settings is None:
        return False, f"Paging: not configured ({ROUTING_KEY_ENV} is not set)."
    event = pagerduty_event(result.diagnosis, routing_key=settings.routing_key)
    outcome = await send_event(event, url=settings.events_url)
    return outcome.ok, paging_status(outcome)


def handoff_for(
    result: CheckResult,
    *,
    requested_by: str | None,
    actions: Sequence[AuditEntry] = (),
    bundle_name: str | None = None,
) -> Handoff:
    return build_handoff(
        result.diagnosis,
        links=EscalationLinks.from_env(os.environ),
        actions=actions,
        bundle_name=bundle_name,
        requested_by=requested_by,
    )
