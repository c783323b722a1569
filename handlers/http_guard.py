"""The door of `POST /slack/events` in HTTP mode: what to answer a request before Bolt parses it.
`bot.serve` runs `refusal_of` as an aiohttp middleware; a refusal is answered in one line.

Bolt's aiohttp adapter parses the body (`payload=` JSON, JSON events) and builds its context
*before* its own signature check runs, and its check calls `int()` on the timestamp header: a
non-numeric `X-Slack-Request-Timestamp`, a `payload=` that is not JSON, or JSON of the wrong shape
were an HTTP 500 with a traceback. Here, in order:

1. the timestamp must be ASCII digits within five minutes of now — else 401;
2. the v0 signature over the raw bytes must match the signing secret — else 401;
3. the body must parse the way Bolt will parse it, into an object of Slack's shape
   (`handlers.payloads.problem_of`) — else 400 with what was wrong;
4. a well-formed request of a kind calico-bot has no listener for is answered 200 and dropped.

Only then does Bolt see the request (and verify the signature again, as it always does).
Pure: no I/O; the clock is passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body

from handlers.payloads import handled, problem_of

MAX_SKEW_SECONDS = 300
"""Slack's replay window: a request more than five minutes old (or ahead) is refused."""
TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str
    answer: str = ""
    """For a 200: the ephemeral text a slash command gets back (empty: an empty 200)."""


MISREAD_COMMAND = (
    "I could not read this command: the Slack library calico-bot uses (slack_bolt) takes any command "
    "containing the word `payload` for a button click and drops it. Nothing was started. If a cluster's "
    "name contains it, run `calico-bot check` / `gather` from a terminal, or give the cluster a kubeconfig "
    "context name without it."
)


def timestamp_problem(value: str | None, now: float) -> str | None:
    """Why the `X-Slack-Request-Timestamp` header cannot be accepted (None: it can)."""
    if value is None or value == "":
        return "missing X-Slack-Request-Timestamp"
    if not TIMESTAMP.match(value):
        return "X-Slack-Request-Timestamp is not a number of seconds"
    if abs(now - int(value)) > MAX_SKEW_SECONDS:
        return "X-Slack-Request-Timestamp is more than five minutes away from now"
    return None


def signature_matches(secret: str, timestamp: str, body: bytes, signature: str | None) -> bool:
    """Slack's v0 request signature: HMAC-SHA256 of `v0:<timestamp>:<raw body>`."""
    if not signature or not SIGNATURE.match(signature):
        return False
    expected = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return hmac.compare_digest("v0=" + expected.hexdigest(), signature)


def parsed_or_refusal(body: bytes, content_type: str | None) -> dict[str, Any] | Refusal:
    """The body as Bolt will parse it, or why it cannot be a request from Slack."""
    if not body.strip():
        return Refusal(400, "empty body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(400, "the body is not UTF-8 text")
    try:
        parsed = parse_body(text, content_type)
    except ValueError:  # json.JSONDecodeError included
        if content_type == "application/json" or text.startswith("{"):
            return Refusal(400, "the body is not the JSON its Content-Type (or its first character) says")
        return Refusal(400, "`payload` is not JSON")
    problem = problem_of(parsed)
    if problem:
        return Refusal(400, problem)
    assert isinstance(parsed, dict)  # problem_of refuses anything else
    return parsed


def _misread_command(body: bytes) -> bool:
    """A form-encoded slash command that Bolt parses as an (empty) interactivity payload: Bolt takes
    any form body containing `payload` for `payload=<json>`, and finds no such field."""
    fields = dict(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
    return "command" in fields and "payload" not in fields


def content_type_of(header: str | None) -> str | None:
    """The media type of a Content-Type header (as Bolt reads it: parameters dropped)."""
    return header.split(";")[0].strip() if header else None


def refusal_of(
    *, headers: Mapping[str, str], body: bytes, query: str, secret: str, now: float
) -> Refusal | None:
    """What to answer instead of letting Bolt handle the request; None: let it through."""
    timestamp = headers.get("X-Slack-Request-Timestamp")
    problem = timestamp_problem(timestamp, now)
    if problem:
        return Refusal(401, problem)
    assert timestamp is not None
    if not signature_matches(secret, timestamp, body, headers.get("X-Slack-Signature")):
        return Refusal(401, "the request signature does not match")
    parsed = parsed_or_refusal(body, content_type_of(headers.get("Content-Type")))
    if isinstance(parsed, Refusal):
        return parsed
    if not handled(parsed):
        if _misread_command(body):
            return Refusal(200, "a slash command Bolt would misread (it contains 'payload')", MISREAD_COMMAND)
        return Refusal(200, f"calico-bot has no listener for a {parsed.get('type') or 'untyped'} request")
    try:  # what Bolt's adapter does next; a shape problem_of missed must not become a 500
        AsyncBoltRequest(body=body.decode(), query=query, headers=dict(headers))
    except Exception as exc:  # any failure here is the request's, not ours
        return Refusal(400, f"the request cannot be read ({type(exc).__name__})")
    return None
