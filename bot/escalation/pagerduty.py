"""The PagerDuty Events API v2 adapter: the only module that talks to PagerDuty.

`send_event` POSTs one event (built by `bot.escalation.pagerduty_event`) and never raises: every
failure (an HTTP error, a rate limit, a timeout, PagerDuty unreachable, an unreadable answer) comes
back as `PagingResult(ok=False, message=…)`, so the hand-off is posted whatever PagerDuty does and
says that paging failed. One attempt, no retry: paging is approval-gated and a person can try again.

The routing key is a secret: it is sent in the body only, never logged, and scrubbed from any text
that goes into a `PagingResult` (should PagerDuty or an exception ever echo it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.escalation.handoff import PagingResult

__all__ = ["DEFAULT_EVENTS_URL", "PagerDutySettings", "PagingResult", "send_event"]

log = logging.getLogger(__name__)

DEFAULT_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
_BODY_MAX = 64 * 1024
_DETAIL_MAX = 300


ROUTING_KEY_ENV = "CALICO_BOT_PAGERDUTY_ROUTING_KEY"
EVENTS_URL_ENV = "CALICO_BOT_PAGERDUTY_EVENTS_URL"


@dataclass(frozen=True)
class PagerDutySettings:
    """Where to trigger incidents; the routing key never appears in a repr, a log or a message."""

    routing_key: str = field(repr=False)
    events_url: str = DEFAULT_EVENTS_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PagerDutySettings | None:
        """From CALICO_BOT_PAGERDUTY_ROUTING_KEY (None when unset) and CALICO_BOT_PAGERDUTY_EVENTS_URL."""
        key = env.get(ROUTING_KEY_ENV, "").strip()
        if not key:
            return None
        return cls(routing_key=key, events_url=env.get(EVENTS_URL_ENV, "").strip() or DEFAULT_EVENTS_URL)


async def send_event(
    event: dict[str, Any], *, url: str = DEFAULT_EVENTS_URL, timeout: float = 10
) -> PagingResult:
    """POST `event` to the Events API v2; 202 -> ok with the dedup key PagerDuty returns."""
    routing_key = str(event.get("routing_key") or "")
    sent_key = str(event.get("dedup_key") or "")
    where = _where(url)

    def scrub(text: str) -> str:
        text = " ".join(text.split())
        if routing_key:
            text = text.replace(routing_key, "[routing key]")
        return text[:_DETAIL_MAX]

    def failed(message: str) -> PagingResult:
        message = scrub(message)
        log.warning("PagerDuty event for %s not accepted: %s", sent_key or "(no dedup key)", message)
        return PagingResult(ok=False, dedup_key=sent_key, message=message)

    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.post(url, json=event) as response,
        ):
            status = response.status
            raw = await response.content.read(_BODY_MAX)
    except TimeoutError:
        return failed(f"PagerDuty ({where}) did not answer within {timeout:g} s")
    except aiohttp.ClientConnectionError as exc:
        return failed(f"could not reach PagerDuty ({where}): {type(exc).__name__}: {exc}")
    except aiohttp.ClientError as exc:
        return failed(f"PagerDuty call failed ({where}): {type(exc).__name__}: {exc}")
    except Exception as exc:  # never raise: the hand-off must be posted whatever happens here
        return failed(f"PagerDuty call failed ({where}): {type(exc).__name__}")

    answer = _json(raw)
    said = _said(answer, raw)
    if 200 <= status < 300:
        key = str(answer.get("dedup_key") or sent_key)
        log.info("PagerDuty accepted the event for %s (HTTP %s)", key, status)
        return PagingResult(ok=True, dedup_key=key, message=scrub(said or "Event processed"))
    if status == 429:
        return failed("PagerDuty is rate-limiting events (HTTP 429): try again in a minute, or page by hand")
    if status == 400:
        return failed(f"PagerDuty refused the event (HTTP 400){': ' + said if said else ''}")
    if status in (401, 403, 404):
        return failed(
            f"PagerDuty refused the event (HTTP {status}): check the routing key and the events URL"
            f"{': ' + said if said else ''}"
        )
    return failed(f"PagerDuty answered HTTP {status}{': ' + said if said else ''}")


def _where(url: str) -> str:
    """Scheme and host of the events URL (no path, query or credentials) for messages."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "invalid events URL"
    if not parts.scheme or not parts.hostname:
        return "invalid events URL"
    return f"{parts.scheme}://{parts.hostname}{port}"


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8", errors="replace")) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _said(answer: dict[str, Any], raw: bytes) -> str:
    """PagerDuty's `message` and `errors`, or the start of a non-JSON body."""
    if answer:
        parts = [str(answer.get("message") or "")]
        errors = answer.get("errors")
        if isinstance(errors, list):
            parts += [str(e) for e in errors[:3]]
        return "; ".join(p for p in parts if p)
    return raw[:200].decode("utf-8", errors="replace").strip()
