"""The Slack side of one `/calico check`: post "checking…", run the very same check as the CLI,
replace the message with the diagnosis card, put the details and the JSON in the thread.

Runs as a job, off Slack's request path. Progress is the collector's own (`bot.cluster.progress`):
this side listens to it and edits the message at most once per `PROGRESS_INTERVAL`, one edit at a
time; a check that cannot run ends in an error card that says what failed and what
to try — never silence. The card says only what is safe in a channel; the private part of a
failure (kubeconfig paths, the other clusters the bot knows, a server address) goes to the
requester alone (`bot.slack.requester.tell`). When the channel refuses the bot's first post (not a
member, Slack down), the requester is told through the command's `response_url`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

import msgspec

from bot.cluster.checking import CheckFailed, run_check
from bot.cluster.progress import Progress
from bot.cluster.sources import ClusterAccess
from bot.slack import cards
from bot.slack.api import SlackError, SlackPoster
from bot.slack.blockkit import Message, escape
from bot.slack.disclosure import channel_safe
from bot.slack.failures import failure_card, tell_private
from bot.slack.requester import Requester, post_failed
from bot.store.redis_store import StoreUnavailable
from bot.store.shared import SharedState
from checks.model import Diagnosis

log = logging.getLogger(__name__)
PROGRESS_INTERVAL = 3.0


@dataclass(frozen=True)
class CheckRequest:
    cluster: str
    node: str
    channel: str
    user: str
    request_id: str
    response_url: str | None = None
    """The slash command's (or click's) private answer channel; None for a mention."""

    @property
    def requester(self) -> Requester:
        return Requester(self.channel, self.user, self.response_url)


@dataclass(frozen=True)
class Sharing:
    """What lets a check cooperate with the other jobs: `state` single-flights the collection of a
    cluster (everyone who asked before it finished gets its result) and keeps the "checking…"
    message's ts for a retry of this job (`job_id`), which then edits it instead of posting anew."""

    state: SharedState
    job_id: str
    requested_at: float


async def run_check_job(
    request: CheckRequest, *, slack: SlackPoster, access: ClusterAccess, sharing: Sharing | None = None
) -> None:
    what = f"the check of `{escape(request.cluster)}`"
    try:
        ts = await _checking_message(request, slack, sharing)
    except SlackError as exc:
        await post_failed(slack, request.requester, exc, what=what)
        return
    try:
        await _check(request, ts, slack=slack, access=access, sharing=sharing)
    except SlackError as exc:  # the card or its thread could not be posted
        await post_failed(slack, request.requester, exc, what=what)


async def _checking_message(request: CheckRequest, slack: SlackPoster, sharing: Sharing | None) -> str:
    """Post "checking…" — or, in a retry of a job whose worker died, find the one it posted."""
    message = cards.checking_message(request.cluster, requested_by=request.user)
    if sharing is None:
        return await slack.post(request.channel, message)
    try:
        earlier = await sharing.state.recall(sharing.job_id, "ts")
    except StoreUnavailable:
        earlier = None
    if earlier:
        return earlier
    ts = await slack.post(request.channel, message)
    try:
        await sharing.state.remember(sharing.job_id, "ts", ts)
    except StoreUnavailable as exc:
        log.info("the checking message of %s is not remembered for a retry: %s", sharing.job_id, exc)
    return ts


async def _diagnose(
    request: CheckRequest, access: ClusterAccess, progress: Progress, sharing: Sharing | None
) -> Diagnosis:
    """The diagnosis of the cluster: collected here, or shared with the checks of the same
    cluster asked for at the same time (a CheckFailed is shared too)."""
    if sharing is None:
        return (await run_check(request.cluster, access, progress=progress)).diagnosis

    async def collect() -> str:
        try:
            diagnosis = (await run_check(request.cluster, access, progress=progress)).diagnosis
        except CheckFailed as failed:
            return encode_outcome(failed)
        return encode_outcome(diagnosis)

    try:
        shared = await sharing.state.share(
            f"check:{request.cluster}", requested_at=sharing.requested_at, compute=collect
        )
    except StoreUnavailable as exc:
        log.warning("single flight unavailable, collecting %s alone: %s", request.cluster, exc)
        shared = await collect()
    outcome = decode_outcome(shared)
    if isinstance(outcome, CheckFailed):
        raise outcome
    return outcome


def encode_outcome(outcome: Diagnosis | CheckFailed) -> str:
    """A check's outcome as text, for the jobs that share it."""
    if isinstance(outcome, CheckFailed):
        failed = {
            "what_failed": outcome.what_failed,
            "try_next": outcome.try_next,
            "private": outcome.private,
        }
        return json.dumps({"failed": failed})
    return '{"diagnosis":' + msgspec.json.encode(outcome).decode() + "}"


def decode_outcome(text: str) -> Diagnosis | CheckFailed:
    data = json.loads(text)
    if "failed" in data:
        failed = data["failed"]
        return CheckFailed(failed["what_failed"], failed["try_next"], private=failed.get("private", ""))
    return msgspec.convert(data["diagnosis"], type=Diagnosis, strict=False)


async def _check(
    request: CheckRequest,
    ts: str,
    *,
    slack: SlackPoster,
    access: ClusterAccess,
    sharing: Sharing | None = None,
) -> None:
    progress = Progress(total=0)
    updater = _ProgressEdits(request, ts, slack)
    progress.listen(updater, every=PROGRESS_INTERVAL)
    try:
        diagnosis = await _diagnose(request, access, progress, sharing)
    except (
        Exception
    ) as exc:  # CheckFailed says what to try; anything else: the user hears, the log has the details
        if not isinstance(exc, CheckFailed):
            log.exception("check of %s failed", request.cluster)
        await updater.stop()
        await _replace(
            slack,
            request,
            ts,
            failure_card(
                request.cluster,
                exc,
                user=request.user,
                doing="the check",
                terminal=f"calico-bot check {request.cluster}",
            ),
        )
        await tell_private(slack, request.requester, request.cluster, exc)
        return
    await updater.stop()
    diagnosis = channel_safe(diagnosis)  # card, thread and JSON are read in the channel
    card = cards.diagnosis_card(diagnosis, requested_by=request.user, node_filter=request.node or None)
    ts = await _replace(slack, request, ts, card)
    if not diagnosis.healthy:  # a healthy card says it all; the JSON still goes to the thread
        for message in cards.thread_details(diagnosis):
            await slack.post(request.channel, message, thread_ts=ts)
    try:
        await slack.upload(
            request.channel,
            ts,
            filename=f"calico-{request.cluster.replace('/', '_')}-diagnosis.json",
            content=diagnosis.to_json().decode(),
            title=f"calico-bot diagnosis of {request.cluster}",
            comment="The full diagnosis (the `calico-bot check --json` schema).",
        )
    except SlackError as exc:
        log.warning("could not upload the diagnosis JSON: %s", exc)


class _ProgressEdits:
    """Listens to the check's progress and edits the "checking…" message: one edit in flight at a
    time (a slow Slack is skipped, not queued), never after the check is over."""

    def __init__(self, request: CheckRequest, ts: str, slack: SlackPoster) -> None:
        self.request, self.ts, self.slack = request, ts, slack
        self.shown = (-1, -1)
        self.editing: asyncio.Task[None] | None = None
        self.stopped = False

    def __call__(self, progress: Progress) -> None:
        state = (progress.done, progress.total)
        if self.stopped or progress.total == 0 or progress.phase == "done" or state == self.shown:
            return
        if self.editing is not None and not self.editing.done():
            return
        self.shown = state
        message = cards.progress_message(
            self.request.cluster,
            requested_by=self.request.user,
            phase=progress.phase,
            done=progress.done,
            total=progress.total,
        )
        self.editing = asyncio.create_task(self._edit(message))

    async def _edit(self, message: Message) -> None:
        try:
            await self.slack.update(self.request.channel, self.ts, message)
        except SlackError as exc:
            log.info("progress update skipped: %s", exc)

    async def stop(self) -> None:
        """No more edits; the one in flight is cancelled (the card replaces the message next)."""
        self.stopped = True
        if self.editing is not None:
            self.editing.cancel()
            # wait() does not raise the edit's cancellation, and lets this job's own through (a
            # suppressed CancelledError here swallowed a shutdown's: the job ran on, then ran again)
            await asyncio.wait([self.editing])


async def _replace(slack: SlackPoster, request: CheckRequest, ts: str, message: Message) -> str:
    """Edit the "checking…" message; if it is gone (deleted), post the result anew."""
    try:
        await slack.update(request.channel, ts, message)
        return ts
    except SlackError as exc:
        log.warning("could not update the message (%s); posting a new one", exc)
        return await slack.post(request.channel, message)
