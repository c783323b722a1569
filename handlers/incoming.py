"""Who asked for what, from which channel: the fields of a slash command, an `app_mention` or a
button click that the channel allow-list and its audit entry need. Pure: no Slack, no I/O.

Also the button families: every `action_id` calico-bot puts on a message belongs to exactly one
family (`family_of`), and each family has exactly one listener; anything else is unknown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from handlers.parsing import Command, parse, strip_mention

ACTION_FAMILIES: dict[str, str] = {
    "request": r"calico_action:(?:[0-9]{1,3}|page)",
    "decide": r"calico_(?:approve|deny)",
    "gather": r"calico_gather(?::[0-9]{1,3})?",
    "escalate": r"calico_escalate(?::[0-9]{1,3})?",
    "link": r"calico_(?:runbook|escalation_link)(?::[0-9]{1,3})?",
}
"""Button family → the whole `action_id` (a full match): remediation requests (`calico_action:<n>`,
the hand-off's `calico_action:page`), Approve/Deny on an approval card, Gather, Escalate, and URL
buttons (Slack still sends their clicks)."""

_FAMILY_PATTERNS = {name: re.compile(rf"\A(?:{pattern})\Z") for name, pattern in ACTION_FAMILIES.items()}


def family_pattern(name: str) -> re.Pattern[str]:
    """The compiled full-match pattern of one family, for `app.action(...)`."""
    return _FAMILY_PATTERNS[name]


def family_of(action_id: str) -> str | None:
    """The family of a button's `action_id`; None when calico-bot never made such a button."""
    return next((name for name, pattern in _FAMILY_PATTERNS.items() if pattern.match(action_id)), None)


@dataclass(frozen=True)
class Incoming:
    kind: Literal["command", "mention", "click"]
    channel: str
    user: str
    what: str
    """For the log: `/calico gather c1 10.1.2.3`, `@calico-bot check c1`, `button calico_gather:1`."""
    action: str = ""
    """For the audit entry: the verb, or the button's action kind (`cordon`, `approve`, `gather`)."""
    cluster: str = ""
    target: str = ""
    approval_id: str = ""
    """Approve/Deny buttons carry only the approval's id."""
    response_url: str | None = None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _from_words(command: object) -> tuple[str, str, str]:
    if isinstance(command, Command):
        return command.verb.value, command.cluster, command.node
    return "", "", ""


def incoming(body: Mapping[str, Any]) -> Incoming | None:
    """The request's who/where/what; None for anything that is not a command, mention or click."""
    if "command" in body:
        text = _text(body.get("text"))
        verb, cluster, node = _from_words(parse(text))
        return Incoming(
            "command",
            channel=_text(body.get("channel_id")),
            user=_text(body.get("user_id")),
            what=f"{_text(body.get('command'))} {text}".strip()[:200],
            action=verb,
            cluster=cluster,
            target=node,
            response_url=_text(body.get("response_url")) or None,
        )
    kind = body.get("type")
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, Mapping) or event.get("type") != "app_mention":
            return None
        text = strip_mention(_text(event.get("text")))
        verb, cluster, node = _from_words(parse(text))
        return Incoming(
            "mention",
            channel=_text(event.get("channel")),
            user=_text(event.get("user")),
            what=f"@calico-bot {text}".strip()[:200],
            action=verb,
            cluster=cluster,
            target=node,
        )
    if kind == "block_actions":
        return _click(body)
    return None


def _click(body: Mapping[str, Any]) -> Incoming:
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], Mapping) else {}
    action_id = _text(first.get("action_id"))
    value = _text(first.get("value"))
    channel = body.get("channel")
    container = body.get("container")
    channel_id = _text(channel.get("id")) if isinstance(channel, Mapping) else ""
    if not channel_id and isinstance(container, Mapping):
        channel_id = _text(container.get("channel_id"))
    user = body.get("user")
    click = Incoming(
        "click",
        channel=channel_id,
        user=_text(user.get("id")) if isinstance(user, Mapping) else "",
        what=f"button {action_id}"[:200],
        response_url=_text(body.get("response_url")) or None,
    )
    if family_of(action_id) == "decide":
        return replace(click, action=action_id.removeprefix("calico_"), approval_id=value[:64])
    fields = button_value(value)
    return replace(
        click,
        action=_text(fields.get("kind"))[:40],
        cluster=_text(fields.get("cluster"))[:100],
        target=_text(fields.get("target"))[:260],
    )


def button_value(value: str) -> dict[str, Any]:
    """A button's JSON value as a dict ({} when it is not one of ours)."""
    try:
        fields = json.loads(value or "{}")
    except ValueError:
        return {}
    return fields if isinstance(fields, dict) else {}
