"""The Slack side of `/calico gather <cluster> <worker>` (and the card's Gather button):
post "gathering…", build the runbook's bundle with the same code as `calico-bot gather`, upload it
into the thread with a short account of what it holds, or end in an error card (private details
to the requester alone). When the channel refuses the first post, the requester is told how to fix
it through the command's `response_url`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.clock import utcnow
from bot.cluster.checking import CheckFailed
from bot.cluster.sources import ClusterAccess
from bot.escalation.gather import Bundle, GatherLimits, gather_cluster
from bot.slack import cards
from bot.slack.api import SlackError, SlackPoster
from bot.slack.blockkit import escape, text_message
from bot.slack.disclosure import public_text
from bot.slack.failures import failure_card, tell_private
from bot.slack.requester import Requester, post_failed
from bot.store.records import AuditKind
from bot.store.redis_store import Store, StoreUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GatherRequest:
    cluster: str
    node: str
    channel: str
    user: str
    request_id: str
    thread_ts: str | None = None
    response_url: str | None = None

    @property
    def requester(self) -> Requester:
        return Requester(self.channel, self.user, self.response_url)


def bundle_comment(bundle: Bundle, cluster: str, node: str) -> str:
    """What the uploaded bundle holds, in a few lines."""
    logs = sum(1 for path, _size in bundle.files if "/logs/" in path)
    describes = sum(1 for path, _size in bundle.files if "/describe-" in path)
    lines = [
        f"📦 Runbook data for worker `{node}` on *{escape(cluster)}*: {describes} `describe` outputs, "
        f"{logs} container logs, the diagnosis JSON and `summary.txt` (redacted)."
    ]
    for problem in bundle.problems[:5]:
        lines.append(f"⚠️ {escape(public_text(problem))}")  # a failed read may name the API server
    if len(bundle.problems) > 5:
        lines.append(f"… {len(bundle.problems) - 5} more in summary.txt")
    if bundle.notes:
        lines.append(f"ℹ️ {len(bundle.notes)} note(s) (limits hit, containers not started) in summary.txt")
    return "\n".join(lines)


async def run_gather_job(
    request: GatherRequest,
    *,
    slack: SlackPoster,
    access: ClusterAccess,
    limits: GatherLimits | None = None,
    store: Store | None = None,
) -> None:
    progress = text_message(
        f"📦 Gathering the runbook's data for worker `{request.node}` on *{escape(request.cluster)}*… "
        f"(requested by <@{request.user}>)"
    )
    what = f"the data gathered from `{request.node}` on `{escape(request.cluster)}`"
    try:
        ts = await slack.post(request.channel, progress, thread_ts=request.thread_ts)
    except SlackError as exc:
        await post_failed(slack, request.requester, exc, what=what)
        return
    try:
        await _gather(request, ts, slack=slack, access=access, limits=limits, store=store)
    except SlackError as exc:
        await post_failed(slack, request.requester, exc, what=what)


async def _gather(
    request: GatherRequest,
    ts: str,
    *,
    slack: SlackPoster,
    access: ClusterAccess,
    limits: GatherLimits | None,
    store: Store | None,
) -> None:
    thread = request.thread_ts or ts
    try:
        bundle = await gather_cluster(
            request.cluster, request.node, access, limits=limits or GatherLimits(timeout=access.timeout)
        )
    except (
        Exception
    ) as exc:  # CheckFailed says what to try; anything else: the user hears, the log has the details
        if not isinstance(exc, CheckFailed):
            log.exception("gather of %s %s failed", request.cluster, request.node)
        terminal = f"calico-bot gather {request.cluster} {request.node}"
        await slack.update(
            request.channel,
            ts,
            failure_card(request.cluster, exc, user=request.user, doing="gathering", terminal=terminal),
        )
        await tell_private(slack, request.requester, request.cluster, exc)
        return
    comment = bundle_comment(bundle, request.cluster, request.node)
    try:
        await slack.upload(
            request.channel,
            thread,
            filename=bundle.name,
            content=bundle.data,
            title=bundle.name,
            comment=comment,
        )
    except SlackError as exc:
        await slack.update(
            request.channel,
            ts,
            cards.error_card(
                request.cluster,
                what_failed=f"the bundle was built but Slack refused the upload ({exc.error})",
                try_next="check that the app has files:write and is in this channel, or run `calico-bot gather` in a terminal",
                requested_by=request.user,
            ),
        )
        return
    await slack.update(request.channel, ts, text_message(comment))
    if store is not None:  # the escalation hand-off names the latest bundle
        try:
            await store.audit(
                request.cluster,
                kind=AuditKind.GATHER,
                actor=request.user,
                action="gather",
                target=request.node,
                outcome="uploaded",
                detail=bundle.name,
                at=utcnow(),
            )
        except StoreUnavailable as exc:
            log.warning("gather not recorded in the audit stream: %s", exc)
