"""Escalation: the hand-off for armada-network, from the terminal (`calico-bot escalate`) and Slack
(`/calico escalate`, the card's Escalate button).

The hand-off is built from a fresh diagnosis (bot.escalation.handoff, pure). Paging PagerDuty is optional
and changes who gets woken up, so it is treated like a destructive action: in Slack it needs the
approval flow, which is not built yet — the hand-off says so and nobody is paged; from a terminal
`--page` is the operator's own explicit decision. A PagerDuty failure never stops the hand-off.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass

from bot.cluster.checking import CheckFailed
from bot.cluster.sources import ClusterAccess
from bot.escalation.escalate import diagnose_for_handoff, handoff_for
from bot.slack import cards
from bot.slack.api import SlackError, SlackPoster
from bot.slack.blockkit import escape
from bot.slack.disclosure import channel_safe, public_text
from bot.slack.failures import tell_private
from bot.slack.handoff import handoff_message, with_page_button
from bot.slack.requester import Requester, post_failed
from bot.store.records import AuditEntry, AuditKind
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
        what = f"the escalation hand-off for `{escape(request.cluster)}`"
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
                (
                    r.detail
                    for r in await store.history(request.cluster, count=200)
                    if r.kind == AuditKind.GATHER
                ),
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
        message = with_page_button(message, action_id=PAGE_BUTTON, value=value)
    await slack.post(request.channel, message, thread_ts=request.thread_ts)
    crosspost = os.environ.get(CROSSPOST_ENV, "").strip()
    if crosspost and crosspost != request.channel:
        try:
            await slack.post(crosspost, message)
        except SlackError as exc:
            log.warning("could not cross-post the hand-off to %s: %s", crosspost, exc.error)
