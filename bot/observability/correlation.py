"""The correlation id of the work in flight, for every log line it writes.

One chain per user request: Slack's id for it (a slash command's or a button's `trigger_id`, an
event's `event_id`) -> the id of the job it became -> the approval it created or decided.
`correlation_id` is the first link known (Slack's id, else the job id, else the approval id), so the
serve replica that took the request and the worker that ran its job log the same value; `job_id`
and `approval_id` are logged beside it once known.

A contextvar: asyncio copies it into every task created under it (Bolt's listener tasks, the
in-process queue's jobs), so setting it where a request enters covers all the work it starts. A
process that runs a job handed over by another (the worker) binds the ids the job carries.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Correlation:
    slack_id: str = ""
    job_id: str = ""
    approval_id: str = ""

    @property
    def correlation_id(self) -> str:
        return self.slack_id or self.job_id or self.approval_id

    def log_fields(self) -> dict[str, str | None]:
        """What a log line carries: always `correlation_id` (None outside any request), the
        job and approval ids when known."""
        fields: dict[str, str | None] = {"correlation_id": self.correlation_id or None}
        if self.job_id:
            fields["job_id"] = self.job_id
        if self.approval_id:
            fields["approval_id"] = self.approval_id
        return fields

    def extended(
        self, *, slack_id: str | None = None, job_id: str | None = None, approval_id: str | None = None
    ) -> Correlation:
        """This chain with the links given (an empty or None link keeps the one known)."""
        return replace(
            self,
            slack_id=slack_id or self.slack_id,
            job_id=job_id or self.job_id,
            approval_id=approval_id or self.approval_id,
        )


NONE = Correlation()
_CURRENT: contextvars.ContextVar[Correlation] = contextvars.ContextVar("calico_bot_correlation", default=NONE)


def current() -> Correlation:
    return _CURRENT.get()


def bind(*, slack_id: str | None = None, job_id: str | None = None, approval_id: str | None = None) -> None:
    """Add links to the chain for the rest of the current task (a job or a listener runs in its own
    task, so this never leaks into another request)."""
    _CURRENT.set(_CURRENT.get().extended(slack_id=slack_id, job_id=job_id, approval_id=approval_id))


@contextmanager
def correlated(
    *, slack_id: str | None = None, job_id: str | None = None, approval_id: str | None = None
) -> Iterator[Correlation]:
    """Add links to the chain inside the block only."""
    token = _CURRENT.set(_CURRENT.get().extended(slack_id=slack_id, job_id=job_id, approval_id=approval_id))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)


@contextmanager
def fresh(*, slack_id: str = "", job_id: str = "", approval_id: str = "") -> Iterator[Correlation]:
    """A new chain inside the block (a new request, a job picked from the queue): nothing inherited."""
    token = _CURRENT.set(Correlation(slack_id=slack_id, job_id=job_id, approval_id=approval_id))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)


# --- Slack's ids ----------------------------------------------------------------------------------

REQUEST_KINDS = ("command", "event", "action", "view", "other")
"""The kinds of Slack request, a bounded label for metrics."""

_INTERACTIVE_KINDS = {"block_actions": "action", "view_submission": "view", "view_closed": "view"}
_ID_MAX = 120


def slack_ids(payload: Mapping[str, Any]) -> tuple[str, str]:
    """(kind, Slack's id) of one request's payload, as HTTP mode parses it or Socket Mode hands it over.

    A slash command (has `command`) -> its `trigger_id`; an Events API callback -> its `event_id`;
    a button or a view -> its `trigger_id` (else the first action's `action_ts`). Anything else is
    kind `other` with no id.
    """
    if "command" in payload:
        return "command", _text(payload.get("trigger_id"))
    kind = _text(payload.get("type"))
    if kind == "event_callback":
        return "event", _text(payload.get("event_id"))
    if kind in _INTERACTIVE_KINDS:
        found = _text(payload.get("trigger_id"))
        if not found:
            actions = payload.get("actions")
            first = (
                actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
            )
            found = _text(first.get("action_ts"))
        return _INTERACTIVE_KINDS[kind], found
    return "other", ""


def request_ids(body: bytes, content_type: str) -> tuple[str, str]:
    """(kind, Slack's id) of an HTTP request to /slack/events: a form (a command, or `payload=` JSON
    for buttons and views) or a JSON body (events). A body that parses as neither is `other`."""
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json"):
            parsed = json.loads(text)
            return slack_ids(parsed) if isinstance(parsed, dict) else ("other", "")
        form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items() if v}
        if "payload" in form:
            parsed = json.loads(form["payload"])
            return slack_ids(parsed) if isinstance(parsed, dict) else ("other", "")
        return slack_ids(form)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return "other", ""


def _text(value: object) -> str:
    return value[:_ID_MAX] if isinstance(value, str) else ""
