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
from bot.jobs import JobQueue
from bot.settings import Settings
from bot.slack_api import SlackPoster
from handlers.parsing import USAGE, Command, UsageError, Verb, parse, strip_mention

log = logging.getLogger(__name__)
COMMAND = "/calico"
EVENTS = ("app_mention",)
BUTTONS = re.compile(r"^calico_")

NOT_YET = {
    Verb.GATHER: "`gather` (the runbook's data bundle) is not built yet. Until then: `calico-bot check {cluster} --json` "
    "and the kubectl commands in the runbook's “Logs and Data to Gather” section.",
    Verb.HISTORY: "`history` needs the audit log of approved actions, which is not built yet: no action has ever been "
    "run by calico-bot on {cluster}.",
    Verb.ESCALATE: "`escalate` is not built yet. Escalate by hand: PagerDuty “Alchemy - Containers Tribe - "
    "armada-network”, #armada-network, or an armada-network GHE issue, with the diagnosis card of {cluster}.",
}
BUTTON_NOT_YET = (
    "Approval-gated actions are not built yet, so this button does nothing: nothing was changed on the cluster. "
    "Follow the runbook step by hand, or ask in #armada-network."
)


@dataclass
class Deps:
    settings: Settings
    queue: JobQueue
    slack: SlackPoster
    seen_events: dict[str, float]


def refusal(settings: Settings) -> str:
    allowed = ", ".join(f"<#{c}>" for c in settings.allowed_channels)
    return f"calico-bot only answers in {allowed}. Ask there, please."


def register(app: AsyncApp, deps: Deps) -> None:
    app.middleware(_dedupe_events(deps))

    @app.command(COMMAND)
    async def on_command(ack: AsyncAck, command: dict[str, Any]) -> None:
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
        await _start_check(
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
        if reply is not None:
            await deps.slack.ephemeral(channel, user, reply)
            return
        await _start_check(
            deps, parsed, channel=channel, user=user, request_id=f"{channel}:{event.get('ts', '')}"
        )

    @app.action(BUTTONS)
    async def on_button(ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any]) -> None:
        await ack()
        clicked = _clicked(body)
        text = BUTTON_NOT_YET + (f"\nYou clicked: {clicked}" if clicked else "")
        await respond(text=text, response_type="ephemeral", replace_original=False)


def _clicked(body: dict[str, Any]) -> str:
    """`cordon 10.1.2.3` from a button's JSON value (empty when it is not ours)."""
    actions = body.get("actions") or [{}]
    try:
        value = json.loads(actions[0].get("value") or "{}")
    except json.JSONDecodeError:
        return ""
    if not isinstance(value, dict):
        return ""
    return f"{value.get('kind', '')} {value.get('target', '')}".strip()


def _immediate_reply(command: Command) -> str | None:
    if command.verb == Verb.HELP:
        return USAGE
    if command.verb in NOT_YET:
        return NOT_YET[command.verb].format(cluster=command.cluster)
    return None


async def _start_check(deps: Deps, command: Command, *, channel: str, user: str, request_id: str) -> None:
    request = CheckRequest(
        cluster=command.cluster, node=command.node, channel=channel, user=user, request_id=request_id
    )

    async def job() -> None:
        await run_check_job(request, slack=deps.slack, access=deps.settings.access)

    accepted = await deps.queue.enqueue(f"check:{request_id}", job)
    if not accepted:
        log.info("duplicate check request %s ignored", request_id)


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
