"""Slack listeners: `/calico`, `@calico-bot` mentions, and the card's buttons.

Thin on purpose: each listener parses, acks within Slack's 3 seconds, and hands the work to the job
queue. Before any listener, global middleware:
- `_shape_guard`: a request whose fields are not of Slack's types is answered 400 in one line (in
  HTTP mode `handlers.http_guard` has already done this before Bolt parsed; this covers Socket Mode);
- `_dedupe_events`: Slack's retried events are handled once (by event id, which also covers Socket
  Mode's `retry_num` 0 on first delivery), whichever replica receives the retry (`SharedState`: in
  Redis when there is one);
- `_channel_guard`: the channel allow-list, for commands, mentions and every button alike — a request
  from elsewhere is refused ephemerally, audited (Redis, or the log without it), and nothing runs.
The bot's own messages are ignored by Bolt's built-in middleware.

Work is handed to the queue as a `Job` whose id comes from Slack's ids (`check:<trigger_id>`,
`event:<event_id>`, `click:<action_ts>:<user>`), so a duplicate delivery enqueues nothing, and
each user may start at most `CALICO_BOT_RATE_LIMIT` jobs a window (a clear ephemeral answer
otherwise).

Buttons are dispatched exactly: each family of `action_id` (`handlers.incoming.ACTION_FAMILIES`)
has one listener, and the catch-all only ever sees ids calico-bot never made.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.response import BoltResponse

from bot.clock import utcnow
from bot.queue.jobs import Job, JobQueue
from bot.remediation.flow import REQUEST_JOB, Remediation
from bot.settings import Settings
from bot.slack.api import SlackPoster
from bot.slack.check_job import CheckRequest
from bot.slack.escalate_job import EscalateRequest
from bot.slack.gather_job import GatherRequest
from bot.slack.jobs import job_for
from bot.slack.requester import Requester, tell
from bot.store.records import APPROVAL_ID, AuditKind
from bot.store.redis_store import StoreUnavailable
from bot.store.shared import SharedState
from handlers.incoming import ACTION_FAMILIES, Incoming, button_value, family_of, family_pattern, incoming
from handlers.parsing import USAGE, Command, UsageError, Verb, parse, strip_mention
from handlers.payloads import problem_of

__all__ = ["ACTION_FAMILIES", "COMMAND", "EVENTS", "Deps", "family_of", "refusal", "register"]

log = logging.getLogger(__name__)
COMMAND = "/calico"
EVENTS = ("app_mention",)
NO_CLUSTER = "(no cluster)"
"""The audit stream of refusals that name no cluster."""
REFUSAL_SECONDS = 15.0
"""How long a refusal's ephemeral answer and audit entry may take (off the ack path)."""

NO_REDIS = (
    "Approval-gated actions and their history need Redis (REDIS_URL), and this calico-bot runs without it: "
    "nothing was changed on the cluster. Follow the runbook step by hand, or ask in #armada-network."
)
UNKNOWN_BUTTON = (
    "That is not a button calico-bot knows (`{action_id}`): nothing was done. "
    "Run the check again for a fresh card, or see `/calico help`."
)


@dataclass
class Deps:
    settings: Settings
    queue: JobQueue
    slack: SlackPoster
    shared: SharedState
    """Event de-duplication and the rate limit, shared by the replicas (Redis) or this process's."""
    remediation: Remediation | None = None
    """Approvals, execution and history; None without REDIS_URL."""
    background: set[asyncio.Task[None]] = field(default_factory=set)
    """Refusal answers and audits in flight (kept referenced until done)."""

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(_bounded(work), name="calico-bot:refusal")
        self.background.add(task)
        task.add_done_callback(self.background.discard)


async def _bounded(work: Coroutine[Any, Any, None]) -> None:
    try:
        await asyncio.wait_for(work, REFUSAL_SECONDS)
    except TimeoutError:
        log.warning("a refusal's answer or audit took longer than %.0f s and was dropped", REFUSAL_SECONDS)


def refusal(settings: Settings) -> str:
    allowed = ", ".join(f"<#{c}>" for c in settings.allowed_channels)
    return f"calico-bot only answers in {allowed}. Ask there, please."


def register(app: AsyncApp, deps: Deps) -> None:
    app.middleware(_shape_guard())
    app.middleware(_dedupe_events(deps))
    app.middleware(_channel_guard(deps))

    @app.command(COMMAND)
    async def on_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        channel, user = command.get("channel_id", ""), command.get("user_id", "")
        parsed = parse(command.get("text", ""))
        if isinstance(parsed, UsageError):
            await ack(text=parsed.message)
            return
        reply = _immediate_reply(parsed)
        if reply is not None:
            await ack(text=reply)
            return
        await ack()
        response_url = command.get("response_url") or None
        if parsed.verb == Verb.HISTORY:
            await tell(
                deps.slack, Requester(channel, user, response_url), await _history(deps, parsed.cluster)
            )
            return
        await _start(
            deps,
            parsed,
            channel=channel,
            user=user,
            job_id=f"{parsed.verb.value}:{command.get('trigger_id', '') or time.time()}",
            response_url=response_url,
        )

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], body: dict[str, Any]) -> None:
        channel, user = event.get("channel", ""), event.get("user", "")
        parsed = parse(strip_mention(event.get("text", "")))
        if isinstance(parsed, UsageError):
            await tell(deps.slack, Requester(channel, user), parsed.message)
            return
        reply = _immediate_reply(parsed)
        if parsed.verb == Verb.HISTORY:
            reply = await _history(deps, parsed.cluster)
        if reply is not None:
            await tell(deps.slack, Requester(channel, user), reply)
            return
        event_id = body.get("event_id") or f"{channel}:{event.get('ts', '')}"
        await _start(deps, parsed, channel=channel, user=user, job_id=f"event:{event_id}")

    @app.action(family_pattern("link"))
    async def on_link_button(ack: AsyncAck) -> None:
        await ack()  # a link button: Slack opens the URL; nothing to do

    async def start_from_button(body: dict[str, Any], verb: Verb) -> None:
        """A read-only card button (Gather, Escalate) runs the same job as the command, in the card's thread."""
        click = _Click.of(body)
        words = f"{verb.value} {click.value.get('cluster', '')}"
        if verb == Verb.GATHER:
            words += f" {click.value.get('target', '')}"
        parsed = parse(words)
        if isinstance(parsed, UsageError) or not click.channel:
            usage = (
                "/calico gather <cluster> <worker>" if verb == Verb.GATHER else "/calico escalate <cluster>"
            )
            await click.answer(deps, f"This card does not name what to {verb.value}. Use `{usage}`.")
            return
        await _start(
            deps,
            parsed,
            channel=click.channel,
            user=click.user,
            job_id=click.job_id,
            thread_ts=click.thread,
            response_url=click.response_url,
        )

    @app.action(family_pattern("escalate"))
    async def on_escalate_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await start_from_button(body, Verb.ESCALATE)

    @app.action(family_pattern("gather"))
    async def on_gather_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await start_from_button(body, Verb.GATHER)

    @app.action(family_pattern("decide"))
    async def on_decision(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        click = _Click.of(body)
        if deps.remediation is None:
            await click.answer(deps, NO_REDIS)
            return
        answer = await deps.remediation.decide(
            approval_id=click.raw_value,
            user=click.user,
            approve=click.action_id == "calico_approve",
            channel=click.channel,
            card_ts=click.thread or "",
        )
        await click.answer(deps, answer)

    @app.action(family_pattern("request"))
    async def on_remediation_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        click = _Click.of(body)
        if deps.remediation is None:
            clicked = f"{click.value.get('kind', '')} {click.value.get('target', '')}".strip()
            await click.answer(deps, NO_REDIS + (f"\nYou clicked: {clicked}" if clicked else ""))
            return
        if not await _within_rate(deps, Requester(click.channel, click.user, click.response_url)):
            return
        job = Job(
            kind=REQUEST_JOB,
            id=click.job_id,
            fields={
                "cluster": str(click.value.get("cluster", "")),
                "kind": str(click.value.get("kind", "")),
                "target": str(click.value.get("target", "")),
                "requester": click.user,
                "channel": click.channel,
                "thread_ts": click.thread,
                "response_url": click.response_url,
            },
        )
        await _enqueue(deps, job, Requester(click.channel, click.user, click.response_url))

    async def unknown_button(body: dict[str, Any]) -> bool:
        return family_of(_Click.of(body).action_id) is None

    @app.action(re.compile(r".*"), matchers=[unknown_button])
    async def on_unknown_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        click = _Click.of(body)
        log.warning(
            "a click on unknown button %r by %s in %s: nothing done",
            click.action_id,
            click.user,
            click.channel,
        )
        await click.answer(deps, UNKNOWN_BUTTON.format(action_id=click.action_id[:60].replace("`", "'")))


@dataclass(frozen=True)
class _Click:
    """Who clicked which of our buttons where: the fields of a block_actions payload we use."""

    action_id: str
    raw_value: str
    value: dict[str, Any]
    channel: str
    user: str
    thread: str | None
    action_ts: str
    response_url: str | None

    @classmethod
    def of(cls, body: dict[str, Any]) -> _Click:
        actions = body.get("actions")
        first = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
        container = _object(body.get("container"))
        channel = _object(body.get("channel"))
        user = _object(body.get("user"))
        raw = str(first.get("value") or "")
        return cls(
            action_id=str(first.get("action_id") or ""),
            raw_value=raw,
            value=button_value(raw),
            channel=str(channel.get("id") or container.get("channel_id") or ""),
            user=str(user.get("id") or ""),
            thread=str(container.get("message_ts") or "") or None,
            action_ts=str(first.get("action_ts") or ""),
            response_url=str(body.get("response_url") or "") or None,
        )

    @property
    def job_id(self) -> str:
        """One click, whichever replica gets it (Slack's action_ts is per click)."""
        return f"click:{self.action_ts}:{self.user}:{self.action_id}"

    async def answer(self, deps: Deps, text: str) -> None:
        """An ephemeral answer to the clicker (never replacing the card)."""
        await tell(deps.slack, Requester(self.channel, self.user, self.response_url), text)


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _immediate_reply(command: Command) -> str | None:
    return USAGE if command.verb == Verb.HELP else None


async def _history(deps: Deps, cluster: str) -> str:
    if deps.remediation is None:
        return NO_REDIS
    return await deps.remediation.history(cluster)


async def _start(
    deps: Deps,
    command: Command,
    *,
    channel: str,
    user: str,
    job_id: str,
    thread_ts: str | None = None,
    response_url: str | None = None,
) -> None:
    """Hand a check, a gather or an escalation to the job queue (the same request twice runs once)."""
    who = Requester(channel, user, response_url)
    if not await _within_rate(deps, who):
        return
    request: CheckRequest | GatherRequest | EscalateRequest
    if command.verb == Verb.ESCALATE:
        request = EscalateRequest(
            cluster=command.cluster,
            channel=channel,
            user=user,
            request_id=job_id,
            thread_ts=thread_ts,
            response_url=response_url,
        )
    elif command.verb == Verb.GATHER:
        request = GatherRequest(
            cluster=command.cluster,
            node=command.node,
            channel=channel,
            user=user,
            request_id=job_id,
            thread_ts=thread_ts,
            response_url=response_url,
        )
    else:
        request = CheckRequest(
            cluster=command.cluster,
            node=command.node,
            channel=channel,
            user=user,
            request_id=job_id,
            response_url=response_url,
        )
    await _enqueue(deps, job_for(request, job_id), who)


RATE_LIMITED = (
    "You have started {count} requests in the last {seconds} s, the most calico-bot takes from one person: "
    "nothing was started. Try again in {wait} s (the running ones will still answer)."
)
QUEUE_DOWN = "Nothing was started: {public}. Try again in a minute."


async def _within_rate(deps: Deps, who: Requester) -> bool:
    """Count one request of the user; False (and the user told why) when over the limit."""
    limit = deps.settings.queue.rate_limit
    try:
        decision = await deps.shared.allow(who.user, count=limit.count, seconds=limit.seconds)
    except StoreUnavailable:
        return True  # the queue will say whether Redis is back
    if decision.allowed:
        return True
    log.info("rate limit: %s asked more than %d times in %d s", who.user, limit.count, limit.seconds)
    wait = max(1, int(decision.retry_after + 0.999))
    await tell(deps.slack, who, RATE_LIMITED.format(count=limit.count, seconds=limit.seconds, wait=wait))
    return False


async def _enqueue(deps: Deps, job: Job, who: Requester) -> None:
    try:
        queued = await deps.queue.enqueue(job)
    except Exception as exc:  # the queue's own "unavailable" (Redis): say so, never a silent drop
        log.warning("job %s not queued: %s", job.id, exc)
        await tell(deps.slack, who, QUEUE_DOWN.format(public=getattr(exc, "public", "the job queue failed")))
        return
    if not queued:
        log.info("duplicate request %s ignored", job.id)


# --- global middleware ----------------------------------------------------------------------------

Next = Callable[[], Awaitable[None]]
Middleware = Callable[..., Awaitable[BoltResponse | None]]


def _shape_guard() -> Middleware:
    """A request of the wrong shape never reaches a listener (Socket Mode; HTTP is checked earlier)."""

    async def shape(body: dict[str, Any], next: Next) -> BoltResponse | None:
        problem = problem_of(body)
        if problem:
            log.warning("refused a request of the wrong shape: %s", problem)
            return BoltResponse(status=400, body=f"calico-bot: {problem}")
        await next()
        return None

    return shape


def _channel_guard(deps: Deps) -> Middleware:
    """The channel allow-list, in one place for commands, mentions and every button."""

    async def guard(body: dict[str, Any], next: Next) -> BoltResponse | None:
        request = incoming(body)
        if request is None or deps.settings.channel_allowed(request.channel):
            await next()
            return None
        text = refusal(deps.settings)
        deps.spawn(_refuse(deps, request, text))
        if request.kind == "command":  # the ack itself is the ephemeral answer
            answer = json.dumps({"response_type": "ephemeral", "text": text})
            return BoltResponse(status=200, body=answer, headers={"content-type": "application/json"})
        return BoltResponse(status=200, body="")

    return guard


async def _refuse(deps: Deps, request: Incoming, text: str) -> None:
    """Tell the refused user (not for a command: its ack said it), and audit the refusal."""
    log.warning(
        "refused %s by %s from channel %s (not in CALICO_BOT_ALLOWED_CHANNELS)",
        request.what,
        request.user,
        request.channel,
    )
    if request.kind != "command":
        await tell(deps.slack, Requester(request.channel, request.user, request.response_url), text)
    if deps.remediation is None:
        return  # no store: the log line above is the record
    store = deps.remediation.store
    cluster, action, target = request.cluster, request.action, request.target
    approval_id = request.approval_id if APPROVAL_ID.match(request.approval_id) else ""
    try:
        if approval_id:
            approval = await store.get(approval_id)
            if approval is not None:
                cluster, action, target = approval.cluster, approval.action.value, approval.target
        await store.audit(
            cluster or NO_CLUSTER,
            kind=AuditKind.REFUSAL,
            actor=request.user,
            action=action,
            target=target,
            approval_id=approval_id,
            outcome="refused",
            detail=f"{request.what} from channel {request.channel}, outside CALICO_BOT_ALLOWED_CHANNELS",
            at=utcnow(),
        )
    except StoreUnavailable as exc:
        log.warning("audit of a refusal lost: %s", exc)


EVENT_MEMORY_SECONDS = 3600


def _dedupe_events(deps: Deps) -> Middleware:
    """Handle each Events API delivery once, whatever its retry number and whichever replica gets
    it (by event id, in the shared state); with the shared state unreachable it is handled (a
    duplicate answer is better than none)."""

    async def dedupe(body: dict[str, Any], next: Next) -> BoltResponse | None:
        event_id = body.get("event_id") if isinstance(body, dict) else None
        if event_id:
            try:
                fresh = await deps.shared.first_time(f"event:{event_id}", EVENT_MEMORY_SECONDS)
            except StoreUnavailable as exc:
                log.warning("event %s not checked for a duplicate: %s", event_id, exc)
                fresh = True
            if not fresh:
                return BoltResponse(status=200, body="")
        await next()
        return None

    return dedupe
