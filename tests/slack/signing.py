"""Signed, realistic Slack requests for tests that go through `/slack/events`.

`sign()` computes Slack's v0 request signature itself (HMAC-SHA256 over `v0:{timestamp}:{raw body}`);
the body builders return the exact bytes Slack would send, so a test signs and posts the same bytes::

    body = slash_command_body("diag c1", response_url=fake.response_url("cmd-1"))
    headers = sign(body, SECRET, content_type=FORM)
    await client.post("/slack/events", data=body, headers=headers)

`*_payload`/`*_event` builders return the dict form, which is also what a Socket Mode envelope carries
(`socket_envelope(app_mention_event(...), type="events_api")`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

TEAM_ID = "T1"
TEAM_DOMAIN = "fake-workspace"
API_APP_ID = "A1"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
VERIFICATION_TOKEN = "fake-verification-token"
PLACEHOLDER_RESPONSE_URL = "https://hooks.slack.com/commands/T1/0000000001/fake"

USER_NAMES = {"U1": "alice", "U2": "bob", "U3": "carol"}
CHANNEL_NAMES = {"C1": "calico-ops", "C2": "network-alerts"}

_seq = itertools.count(1)


def sign(
    body: bytes | str, secret: str, timestamp: int | None = None, *, content_type: str | None = None
) -> dict[str, str]:
    """Slack's request-signing headers for `body` (plus `Content-Type` when given).

    `timestamp` defaults to now; pass `int(time.time()) - 301` for a stale request.
    """
    raw = body.encode() if isinstance(body, str) else body
    ts = int(time.time()) if timestamp is None else timestamp
    basestring = b"v0:" + str(ts).encode() + b":" + raw
    digest = hmac.new(secret.encode(), basestring, hashlib.sha256).hexdigest()
    headers = {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return headers


def retry_headers(num: int, reason: str = "http_timeout") -> dict[str, str]:
    """The headers Slack adds when it redelivers an Events API request."""
    return {"X-Slack-Retry-Num": str(num), "X-Slack-Retry-Reason": reason}


@dataclass(frozen=True)
class Signer:
    """A signing secret bound to `sign()`: `signer.sign(body, content_type=FORM)`."""

    secret: str = "test-signing-secret"

    def sign(
        self, body: bytes | str, timestamp: int | None = None, *, content_type: str | None = None
    ) -> dict[str, str]:
        return sign(body, self.secret, timestamp, content_type=content_type)

    def form(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        return self.sign(body, timestamp, content_type=FORM)

    def json(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        return self.sign(body, timestamp, content_type=JSON)


def _trigger_id() -> str:
    return f"{next(_seq)}.{int(time.time())}.fake{next(_seq):08x}"


def _ts() -> str:
    return f"{int(time.time())}.{next(_seq):06d}"


def _json_bytes(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


# ---------------------------------------------------------------------- slash commands


def slash_command_payload(
    text: str,
    *,
    user_id: str = "U1",
    channel_id: str = "C1",
    command: str = "/calico",
    response_url: str = PLACEHOLDER_RESPONSE_URL,
    trigger_id: str | None = None,
    user_name: str | None = None,
    channel_name: str | None = None,
) -> dict[str, str]:
    """The fields of a slash-command request, in Slack's order (all strings)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name or CHANNEL_NAMES.get(channel_id, "directmessage"),
        "user_id": user_id,
        "user_name": user_name or USER_NAMES.get(user_id, user_id.lower()),
        "command": command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _trigger_id(),
    }


def slash_command_body(
    text: str,
    *,
    user_id: str = "U1",
    channel_id: str = "C1",
    command: str = "/calico",
    response_url: str = PLACEHOLDER_RESPONSE_URL,
    trigger_id: str | None = None,
    user_name: str | None = None,
    channel_name: str | None = None,
) -> bytes:
    """A form-encoded slash-command body (`Content-Type: application/x-www-form-urlencoded`)."""
    payload = slash_command_payload(
        text,
        user_id=user_id,
        channel_id=channel_id,
        command=command,
        response_url=response_url,
        trigger_id=trigger_id,
        user_name=user_name,
        channel_name=channel_name,
    )
    return urllib.parse.urlencode(payload).encode()


# ---------------------------------------------------------------------- Events API


def app_mention_event(
    text: str,
    *,
    user: str = "U1",
    channel: str = "C1",
    event_id: str | None = None,
    ts: str | None = None,
    thread_ts: str | None = None,
    bot_user: str = BOT_USER_ID,
    event_time: int | None = None,
) -> dict[str, Any]:
    """An Events API `event_callback` envelope carrying an `app_mention`.

    The mention `<@bot_user>` is prefixed to `text` unless it already contains it, as in real events.
    """
    mention = f"<@{bot_user}>"
    if mention not in text:
        text = f"{mention} {text}".rstrip()
    ts = ts or _ts()
    rest = text.replace(mention, "", 1).lstrip()
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "client_msg_id": f"00000000-0000-4000-8000-{next(_seq):012d}",
        "team": TEAM_ID,
        "blocks": [
            {
                "type": "rich_text",
                "block_id": "fake",
                "elements": [
                    {
                        "type": "rich_text_section",
                        "elements": [
                            {"type": "user", "user_id": bot_user},
                            {"type": "text", "text": f" {rest}"},
                        ],
                    }
                ],
            }
        ],
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "context_team_id": TEAM_ID,
        "context_enterprise_id": None,
        "api_app_id": API_APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_seq):010d}",
        "event_time": event_time if event_time is not None else int(float(ts)),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": bot_user,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-fake-{next(_seq)}",
    }


def app_mention_body(text: str, **kwargs: Any) -> bytes:
    """`app_mention_event(...)` as the JSON bytes Slack POSTs."""
    return _json_bytes(app_mention_event(text, **kwargs))


def url_verification_body(challenge: str) -> bytes:
    return _json_bytes({"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"})


# ---------------------------------------------------------------------- interactivity


def block_actions_payload(
    action_id: str,
    value: str,
    *,
    user: str = "U1",
    channel: str = "C1",
    message_ts: str = "1700000000.000100",
    response_url: str = PLACEHOLDER_RESPONSE_URL,
    block_id: str = "actions",
    trigger_id: str | None = None,
    message: dict[str, Any] | None = None,
    button_text: str = "Approve",
) -> dict[str, Any]:
    """A `block_actions` payload for a button click on a bot message."""
    user_name = USER_NAMES.get(user, user.lower())
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user_name, "name": user_name, "team_id": TEAM_ID},
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id or _trigger_id(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": CHANNEL_NAMES.get(channel, "directmessage")},
        "message": message
        or {
            "type": "message",
            "subtype": "bot_message",
            "text": "",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": message_ts,
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": button_text, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": _ts(),
            }
        ],
    }


def block_actions_body(
    action_id: str,
    value: str,
    *,
    user: str = "U1",
    channel: str = "C1",
    message_ts: str = "1700000000.000100",
    response_url: str = PLACEHOLDER_RESPONSE_URL,
    block_id: str = "actions",
    trigger_id: str | None = None,
    message: dict[str, Any] | None = None,
    button_text: str = "Approve",
) -> bytes:
    """The form-encoded `payload=<json>` body Slack POSTs for a button click."""
    payload = block_actions_payload(
        action_id,
        value,
        user=user,
        channel=channel,
        message_ts=message_ts,
        response_url=response_url,
        block_id=block_id,
        trigger_id=trigger_id,
        message=message,
        button_text=button_text,
    )
    return urllib.parse.urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()


# ---------------------------------------------------------------------- Socket Mode


def socket_envelope(
    payload: dict[str, Any],
    *,
    type: str = "events_api",
    envelope_id: str | None = None,
    retry_attempt: int = 0,
    retry_reason: str = "",
) -> dict[str, Any]:
    """A Socket Mode envelope for `FakeSlack.push_envelope` (`type`: events_api, slash_commands, interactive)."""
    envelope: dict[str, Any] = {
        "envelope_id": envelope_id or f"env-{next(_seq)}",
        "payload": payload,
        "type": type,
        "accepts_response_payload": type == "slash_commands"
        or payload.get("type") in ("view_submission", "block_suggestion"),
    }
    if type == "events_api":
        envelope["retry_attempt"] = retry_attempt
        envelope["retry_reason"] = retry_reason
    return envelope
