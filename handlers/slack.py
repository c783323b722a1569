"""Slack listeners: `/calico`, `@calico-bot` mentions, and the card's buttons.

Thin on purpose: each listener checks the channel, parses, acks within Slack's 3 seconds, and
hands the work to the job queue. Slack's retried events are handled once (de-duplicated by
event id, which also covers Socket Mode's `retry_num` 0 on first delivery); the bot's own
messages are ignored by Bolt's built-in middleware.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.response import BoltResponse

from bot.check_job import CheckRequest, run_check_job
from bot.escalate_job import EscalateRequest, run_escalate_job
from bot.gather_job import GatherRequest, run_gather_job
from bot.jobs import JobQueue
from bot.remediation import Remediation
from bot.settings import Settings
from bot.slack_api import SlackPoster
from handlers.parsing import USAGE, Command, UsageError, Verb, parse, strip_mention

log = logging.getLogger(__name__)
COMMAND = "/calico"
EVENTS = ("app_mention",)
BUTTONS = re.compile(r"^calico_")

NO_REDIS = (
    "Approval-gated actions and their history need Redis (REDIS_URL), and this calico-bot runs without it: "
    "nothing was changed on the cluster. Follow the runbook step by hand, or ask in #armada-network."
)


@dataclass
class Deps:
    settings: Settings
    queue: JobQueue
    slack: SlackPoster
    seen_events: dict[str, float]
    remediation: Remediation | None = None
    """Approvals, execution and history; None without REDIS_URL."""


def refusal(settings: Settings) -> str:
    allowed = ", ".join(f"<#{c}>" for c in settings.allowed_channels)
    return f"calico-bot only answers in {allowed}. Ask there, please."


def register(app: AsyncApp, deps: Deps) -> None:
    app.middleware(_dedupe_events(deps))

    @app.command(COMMAND)
    async def on_command(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        channel, user = command.get("channel_id", ""), command.get("user_id", "")
        if not deps.settings.channel_allowed(channel):
            await ack(text=refusal(deps.settings))
            return
        parsed = parse(command.get("text", ""))
        if isinstance(parsed, UsageError):
            await ack(text=parsed.message)
            return
        reply = _immediate_reply(parsed)
        if reply is not None:
            await ack(text=reply)
            return
        await ack()
        if parsed.verb == Verb.HISTORY:
            await respond(text=await _history(deps, parsed.cluster), response_type="ephemeral")
            return
        await _start(
            deps,
            parsed,
            channel=channel,
            user=user,
            request_id=command.get("trigger_id", "") or f"cmd-{time.time()}",
        )

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any]) -> None:
        channel, user = event.get("channel", ""), event.get("user", "")
        if not deps.settings.channel_allowed(channel):
            await deps.slack.ephemeral(channel, user, refusal(deps.settings))
            return
        parsed = parse(strip_mention(event.get("text", "")))
        if isinstance(parsed, UsageError):
            await deps.slack.ephemeral(channel, user, parsed.message)
            return
        reply = _immediate_reply(parsed)
        if parsed.verb == Verb.HISTORY:
            reply = await _history(deps, parsed.cluster)
        if reply is not None:
            await deps.slack.ephemeral(channel, user, reply)
            return
        await _start(deps, parsed, channel=channel, user=user, request_id=f"{channel}:{event.get('ts', '')}")

    @app.action(re.compile(r"^calico_(runbook|escalation_link)"))
    async def on_link_button(ack: AsyncAck) -> None:
        await ack()  # a link button: Slack opens the URL; nothing to do

    async def start_from_button(respond: AsyncRespond, body: dict[str, Any], verb: Verb) -> None:
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
            await respond(
                text=f"This card does not name what to {verb.value}. Use `{usage}`.",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        request_id = f"button:{click.thread}:{verb.value}:{parsed.node}:{click.action_ts}"
        await _start(
            deps,
            parsed,
            channel=click.channel,
            user=click.user,
            request_id=request_id,
            thread_ts=click.thread,
        )

    @app.action(re.compile(r"^calico_escalate"))
    async def on_escalate_button(ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any]) -> None:
        await ack()
        await start_from_button(respond, body, Verb.ESCALATE)

    @app.action(re.compile(r"^calico_gather"))
    async def on_gather_button(ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any]) -> None:
        await ack()
        await start_from_button(respond, body, Verb.GATHER)

    @app.action(re.compile(r"^calico_(approve|deny)"))
    async def on_decision(ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any]) -> None:
        await ack()
        click = _Click.of(body)
        if deps.remediation is None:
            await respond(text=NO_REDIS, response_type="ephemeral", replace_original=False)
            return
        action_id = str((body.get("actions") or [{}])[0].get("action_id", ""))
        approval_id = str((body.get("actions") or [{}])[0].get("value", ""))
        answer = await deps.remediation.decide(
            approval_id=approval_id,
            user=click.user,
            approve=action_id.startswith("calico_approve"),
            channel=click.channel,
            card_ts=click.thread or "",
        )
        await respond(text=answer, response_type="ephemeral", replace_original=False)

    @app.action(BUTTONS)
    async def on_remediation_button(ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any]) -> None:
        await ack()
        click = _Click.of(body)
        if deps.remediation is None:
            clicked = _clicked(body)
            await respond(
                text=NO_REDIS + (f"\nYou clicked: {clicked}" if clicked else ""),
                response_type="ephemeral",
                replace_original=False,
            )
            return
        answer = await deps.remediation.request(
            cluster=str(click.value.get("cluster", "")),
            kind=str(click.value.get("kind", "")),
            target=str(click.value.get("target", "")),
            requester=click.user,
            channel=click.channel,
            thread_ts=click.thread,
        )
        await respond(text=answer, response_type="ephemeral", replace_original=False)


@dataclass(frozen=True)
class _Click:
    """Who clicked which of our buttons where: the fields of a block_actions payload we use."""

    value: dict[str, Any]
    channel: str
    user: str
    thread: str | None
    action_ts: str

    @classmethod
    def of(cls, body: dict[str, Any]) -> _Click:
        return cls(
            value=_button_value(body),
            channel=(body.get("channel") or {}).get("id", ""),
            user=(body.get("user") or {}).get("id", ""),
            thread=(body.get("container") or {}).get("message_ts") or None,
            action_ts=str((body.get("actions") or [{}])[0].get("action_ts", "")),
        )


def _button_value(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON value of the clicked button ({} when it is not ours)."""
    actions = body.get("actions") or [{}]
    try:
        value = json.loads(actions[0].get("value") or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _clicked(body: dict[str, Any]) -> str:
    """`cordon 10.1.2.3` from a button's JSON value (empty when it is not ours)."""
    value = _button_value(body)
    return f"{value.get('kind', '')} {value.get('target', '')}".strip()


def _immediate_reply(command: Command) -> str | None:
    return USAGE if command.verb == Verb.HELP else None


async def _history(deps: Deps, cluster: str) -> str:
    if deps.remediation is None:
        return NO_REDIS
    return await deps.remediation.history(cluster)


async def _start(
    deps: Deps, command: Command, *, channel: str, user: str, request_id: str, thread_ts: str | None = None
) -> None:
    """Hand a check or a gather to the job queue (the same request twice runs once)."""
    if command.verb == Verb.ESCALATE:
        escalate = EscalateRequest(
            cluster=command.cluster, channel=channel, user=user, request_id=request_id, thread_ts=thread_ts
        )

        async def job() -> None:
            store = deps.remediation.store if deps.remediation is not None else None
            pageable = deps.remediation is not None and deps.remediation.pagerduty is not None
            await run_escalate_job(
                escalate, slack=deps.slack, access=deps.settings.access, store=store, pageable=pageable
            )

    elif command.verb == Verb.GATHER:
        gather = GatherRequest(
            cluster=command.cluster,
            node=command.node,
            channel=channel,
            user=user,
            request_id=request_id,
            thread_ts=thread_ts,
        )

        async def job() -> None:
            store = deps.remediation.store if deps.remediation is not None else None
            await run_gather_job(gather, slack=deps.slack, access=deps.settings.access, store=store)

    else:
        check = CheckRequest(
            cluster=command.cluster, node=command.node, channel=channel, user=user, request_id=request_id
        )

        async def job() -> None:
            await run_check_job(check, slack=deps.slack, access=deps.settings.access)

    if not await deps.queue.enqueue(f"{command.verb.value}:{request_id}", job):
        log.info("duplicate %s request %s ignored", command.verb.value, request_id)


EVENT_MEMORY_SECONDS = 3600.0


def _dedupe_events(deps: Deps) -> Callable[..., Awaitable[BoltResponse | None]]:
    """Handle each Events API delivery once, whatever its retry number (by event id)."""

    async def dedupe(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        event_id = body.get("event_id") if isinstance(body, dict) else None
        if event_id:
            now = time.monotonic()
            seen = deps.seen_events
            if event_id in seen and now - seen[event_id] < EVENT_MEMORY_SECONDS:
                return BoltResponse(status=200, body="")
            seen[event_id] = now
            if len(seen) > 50_000:
                for key in [k for k, t in seen.items() if now - t > EVENT_MEMORY_SECONDS]:
                    del seen[key]
        await next()
        return None

    return dedupe
