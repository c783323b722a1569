"""Is a parsed Slack request something calico-bot can take? A pure check of its shape, run before
Bolt sees it.

Bolt reads many fields of a request while building its context and matching listeners, and it
assumes Slack's types: a signed request whose `user` is a number, whose `actions` is a string, or
whose `event` is a list raises inside Bolt (HTTP 500, a traceback in the log). `problem_of` names
the first field that is not what Slack sends, in one line, or returns None. `handled` says whether
calico-bot has a listener for the request's kind at all (a slash command, an Events API callback,
a button click, or Slack's own URL verification and SSL check).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

HANDLED_TYPES = frozenset({"block_actions", "event_callback", "url_verification"})

_STRING_FIELDS = (
    "type",
    "token",
    "team_id",
    "enterprise_id",
    "user_id",
    "channel_id",
    "api_app_id",
    "trigger_id",
    "thread_ts",
    "command",
    "text",
    "event_id",
    "callback_id",
    "function_execution_id",
    "bot_access_token",
    "context_team_id",
    "context_enterprise_id",
    "challenge",
)
"""Top-level fields that, when present and not null, are strings."""
_ID_OBJECTS = ("user", "channel", "team", "enterprise")
"""Either an id string or an object whose `id` is a string (Bolt reads both forms)."""
_OBJECTS = (
    "view",
    "message",
    "previous_message",
    "item",
    "assistant_thread",
    "function_data",
    "container",
    "state",
    "workflow_step",
)
_EVENT_STRINGS = (
    "type",
    "user",
    "channel",
    "text",
    "ts",
    "thread_ts",
    "event_ts",
    "team",
    "user_team",
    "bot_id",
    "subtype",
    "channel_type",
    "bot_access_token",
    "function_execution_id",
)
_ACTION_STRINGS = ("action_id", "block_id", "value", "action_ts", "type")


def handled(body: Mapping[str, Any]) -> bool:
    """A request calico-bot has listeners (or Bolt has built-ins) for."""
    if "command" in body or "ssl_check" in body:
        return True
    return body.get("type") in HANDLED_TYPES


def problem_of(body: object) -> str | None:
    """The first thing wrong with a parsed request body, in one line; None when its shape is Slack's."""
    if not isinstance(body, Mapping):
        return f"the request is a JSON {_kind(body)}, not an object"
    problem = _common(body)
    if problem:
        return problem
    if "command" in body:
        return _command(body)
    kind = body.get("type")
    if kind == "event_callback":
        return _event(body.get("event"))
    if kind == "block_actions":
        return _click(body)
    return None


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Sequence):
        return "list"
    return "object" if isinstance(value, Mapping) else type(value).__name__


def _not_string(where: str, value: object) -> str:
    return f"{where} is a {_kind(value)}, not a string"


def _common(body: Mapping[str, Any]) -> str | None:
    for name in _STRING_FIELDS:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            return _not_string(f"`{name}`", value)
    for name in _ID_OBJECTS:
        problem = _id_object(f"`{name}`", body.get(name))
        if problem:
            return problem
    for name in _OBJECTS:
        value = body.get(name)
        if value is not None and not isinstance(value, Mapping):
            return f"`{name}` is a {_kind(value)}, not an object"
    if "event" in body and not isinstance(body["event"], Mapping):
        return f"`event` is a {_kind(body['event'])}, not an object"
    if "response_urls" in body:
        return "`response_urls` (modal submissions) is not something calico-bot handles"
    url = body.get("response_url")
    if url is not None and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
        return "`response_url` is not an http(s) URL"
    authorizations = body.get("authorizations")
    if authorizations is not None:
        if not isinstance(authorizations, list) or not all(isinstance(a, Mapping) for a in authorizations):
            return "`authorizations` is not a list of objects"
        for entry in authorizations:
            for name in ("team_id", "enterprise_id", "user_id"):
                value = entry.get(name)
                if value is not None and not isinstance(value, str):
                    return _not_string(f"`authorizations[].{name}`", value)
    return None


def _id_object(where: str, value: object) -> str | None:
    if value is None or isinstance(value, str):
        return None
    if not isinstance(value, Mapping):
        return f"{where} is a {_kind(value)}, not an id or an object"
    inner = value.get("id")
    if inner is not None and not isinstance(inner, str):
        return _not_string(f"{where}.id", inner)
    if (
        "enterprise_id" in value
        and value["enterprise_id"] is not None
        and not isinstance(value["enterprise_id"], str)
    ):
        return _not_string(f"{where}.enterprise_id", value["enterprise_id"])
    return None


def _command(body: Mapping[str, Any]) -> str | None:
    for name in ("command", "text", "channel_id", "user_id"):
        if not isinstance(body.get(name), str):
            return f"the slash command has no `{name}`"
    return None


def _event(event: object) -> str | None:
    if not isinstance(event, Mapping):
        return f"`event` is a {_kind(event)}, not an object"
    if not isinstance(event.get("type"), str):
        return "`event.type` is missing or not a string"
    for name in _EVENT_STRINGS:
        value = event.get(name)
        if value is not None and not isinstance(value, str):
            return _not_string(f"`event.{name}`", value)
    for name in ("message", "previous_message", "item", "function", "assistant_thread"):
        value = event.get(name)
        if value is not None and not isinstance(value, Mapping):
            return f"`event.{name}` is a {_kind(value)}, not an object"
    return None


def _click(body: Mapping[str, Any]) -> str | None:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        return "`actions` is not a non-empty list"
    for action in actions:
        if not isinstance(action, Mapping):
            return "`actions` holds something that is not an object"
        if not isinstance(action.get("action_id"), str):
            return "`actions[].action_id` is missing or not a string"
        for name in _ACTION_STRINGS:
            value = action.get(name)
            if value is not None and not isinstance(value, str):
                return _not_string(f"`actions[].{name}`", value)
    channel = body.get("channel")
    if channel is not None and not isinstance(channel, Mapping):
        return f"`channel` is a {_kind(channel)}, not an object"
    user = body.get("user")
    if not isinstance(user, Mapping) or not isinstance(user.get("id"), str):
        return "`user` is missing or has no id"
    if not isinstance(body.get("response_url"), str):
        return "`response_url` is missing"
    container = body.get("container")
    if isinstance(container, Mapping):
        for name in ("message_ts", "channel_id", "thread_ts"):
            value = container.get(name)
            if value is not None and not isinstance(value, str):
                return _not_string(f"`container.{name}`", value)
    return None
