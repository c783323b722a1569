"""Escalation: the hand-off for armada-network, from the terminal (`calico-bot escalate`) and Slack
(`/calico escalate`, the card's Escalate button).

The hand-off is built from a fresh diagnosis (bot.escalation, pure). Paging PagerDuty is optional
and changes who gets woken up, so it is treated like a destructive action: in Slack it needs the
approval flow, which is not built yet — the hand-off says so and nobody is paged; from a terminal
`--page` is the operator's own explicit decision. A PagerDuty failure never stops the hand-off.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

from bot import cards
from bot.check_job import tell_private
from bot.cluster.checking import CheckFailed, CheckResult, ClusterAccess, run_check
from bot.disclosure import channel_safe, public_text
from bot.escalation import (
    EscalationLinks,
    Handoff,
    build_handoff,
    handoff_message,
    pagerduty_event,
    paging_status,
)
from bot.gather_job import GATHER_AUDIT
from bot.pagerduty import ROUTING_KEY_ENV, PagerDutySettings, send_event
from bot.requester import Requester, post_failed
from bot.slack_api import SlackError, SlackPoster
from bot.store.records import AuditEntry
from bot.store.redis_store import Store, StoreUnavailable

log = logging.getLogger(__name__)
CROSSPOST_ENV = "CALICO_BOT_ESCALATION_CHANNEL"
SLACK_PAGING_NOT_YET = (
    "Paging: not done. Triggering PagerDuty needs an approval like a destructive action, and approvals are "
    "not built yet: page armada-network by hand with the escalation policy below."
)


@dataclass(frozen=True)
class EscalateRequest:
    cluster: str
    channel: str
    user: str
    request_id: str
    thread_ts: str | None = None
    response_url: str | None = None

    @property
    def requester(self) -> Requester:
        return Requester(self.channel, self.user, self.response_url)


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


PAGE_BUTTON = "calico_action:page"
PAGING_NEEDS_APPROVAL = (
    "Paging: not yet. Paging wakes someone up, so it needs an approval: press *Page armada-network* "
    "below and another approver confirms."
)


async def run_escalate_job(
    request: EscalateRequest,
    *,
    slack: SlackPoster,
    access: ClusterAccess,
    store: Store | None = None,
    pageable: bool = False,
) -> None:
    try:
        await _escalate(request, slack=slack, access=access, store=store, pageable=pageable)
    except SlackError as exc:
        what = f"the escalation hand-off for `{cards.escape(request.cluster)}`"
        await post_failed(slack, request.requester, exc, what=what)


async def _escalate(
    request: EscalateRequest,
    *,
    slack: SlackPoster,
    access: ClusterAccess,
    store: Store | None,
    pageable: bool,
) -> None:
    try:
        result = await diagnose_for_handoff(request.cluster, access)
    except CheckFailed as failed:
        await slack.post(
            request.channel,
            cards.error_card(
                request.cluster,
                what_failed=public_text(failed.what_failed),
                try_next=public_text(failed.try_next),
                requested_by=request.user,
            ),
            thread_ts=request.thread_ts,
        )
        await tell_private(slack, request.requester, request.cluster, failed)
        return
    actions: list[AuditEntry] = []
    bundle: str | None = None
    if store is not None:
        try:
            actions = await store.actions_taken(request.cluster)
            bundle = next(
                (r.detail for r in await store.history(request.cluster, count=200) if r.kind == GATHER_AUDIT),
                None,
            )
        except StoreUnavailable as exc:
            log.warning("hand-off without the actions taken: %s", exc)
    result = dataclasses.replace(result, diagnosis=channel_safe(result.diagnosis))  # for the channel
    handoff = handoff_for(result, requested_by=request.user, actions=actions, bundle_name=bundle)
    message = handoff_message(
        handoff, result.diagnosis, paging=PAGING_NEEDS_APPROVAL if pageable else SLACK_PAGING_NOT_YET
    )
    if pageable:
        value = json.dumps({"kind": "page", "cluster": request.cluster, "target": request.cluster})
        page = {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": PAGE_BUTTON,
                    "style": "danger",
                    "value": value,
                    "text": {"type": "plain_text", "text": "Page armada-network"},
                }
            ],
        }
        message = cards.Message(
            text=message.text, blocks=[*message.blocks[:49], page], attachments=message.attachments
        )
    await slack.post(request.channel, message, thread_ts=request.thread_ts)
    crosspost = os.environ.get(CROSSPOST_ENV, "").strip()
    if crosspost and crosspost != request.channel:
        try:
            await slack.post(crosspost, message)
        except SlackError as exc:
            log.warning("could not cross-post the hand-off to %s: %s", crosspost, exc.error)
