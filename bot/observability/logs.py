"""JSON logs (the only importer of structlog): one JSON object per line on stderr, for `serve` and `worker`.

Every line the process writes through `logging` — the bot's own loggers, Bolt's, aiohttp's, the
Kubernetes client's — goes through one handler:

    {"ts": "2026-11-29T18:12:44.123456Z", "level": "info", "logger": "handlers.slack",
     "process": "serve", "event": "duplicate check request … ignored",
     "correlation_id": "13345224609.738474920.8088930838d88f008e0", "job_id": "check:…"}

- `correlation_id` is on every line: the request in flight (`bot.observability.correlation`), null
  when the line belongs to no request (start-up, the sweeper); `job_id` and `approval_id` are added
  once known; fields given with `extra={...}` are kept;
- an exception is one `exception` field (the traceback as text, no local variables);
- no secret value: every string field goes through `bot.redact` (tokens, URL passwords,
  Authorization headers, `name=value` secrets) and the values of the process's secret settings
  (`SLACK_BOT_TOKEN`, `SLACK_SIGNING_SECRET`, `SLACK_APP_TOKEN`, `IBMCLOUD_API_KEY`, the PagerDuty
  routing key, the Redis password, any variable named *TOKEN/*SECRET/*PASSWORD/*KEY) are replaced
  wherever they appear, in the fields and again in the finished line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, TextIO
from urllib.parse import urlsplit

import structlog

from bot.observability import correlation
from bot.redact import REDACTED, redact

SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|_KEY|APIKEY)($|_)", re.IGNORECASE)
QUIET_LOGGERS = {"saq": logging.WARNING}
"""Libraries whose INFO lines say what ours already say with the correlation id (saq's "Processing
Job<…>" / "Finished Job<…>", with every field of the request, and a "Dequeue timed out" a second at
DEBUG): only their warnings and errors are kept."""
MIN_SECRET_LENGTH = 8
"""Shorter values are not masked by value (they would mask ordinary words); the shapes still apply."""


def secret_values(env: Mapping[str, str]) -> tuple[str, ...]:
    """The values of the secret settings in `env` (longest first), and the password in REDIS_URL."""
    found = {v.strip() for k, v in env.items() if SECRET_NAME.search(k) and v.strip()}
    for name in ("REDIS_URL",):
        try:
            password = urlsplit(env.get(name, "")).password
        except ValueError:
            password = None
        if password:
            found.add(password)
    return tuple(sorted((v for v in found if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True))


class Scrubber:
    """Text without secret values: the redaction shapes, then the known values."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = tuple(secrets)
        escaped = {json.dumps(s, ensure_ascii=False)[1:-1] for s in self.secrets}
        self._in_json = tuple(sorted(escaped | set(self.secrets), key=len, reverse=True))

    def text(self, value: str) -> str:
        cleaned = str(redact(value))
        for secret in self.secrets:
            if secret in cleaned:
                cleaned = cleaned.replace(secret, REDACTED)
        return cleaned

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {str(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(v) for v in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.text(str(value))

    def line(self, rendered: str) -> str:
        """The finished JSON line, once more: a secret that reached it in any field, escaped or not."""
        for secret in self._in_json:
            if secret in rendered:
                rendered = rendered.replace(secret, REDACTED)
        return rendered


def _add_correlation(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    for key, value in correlation.current().log_fields().items():
        event.setdefault(key, value)
    return event


def _processors(process: str, scrubber: Scrubber) -> list[Any]:
    def add_process(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
        event.setdefault("process", process)
        return event

    def scrub(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
        return {k: (v if k.startswith("_") else scrubber.value(v)) for k, v in event.items()}

    return [
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        add_process,
        _add_correlation,
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        scrub,
    ]


class _JsonLine:
    """The last processor: the event as one JSON line, then the finished line scrubbed once more."""

    def __init__(self, scrubber: Scrubber) -> None:
        self._scrubber = scrubber

    def __call__(self, _logger: Any, _method: str, event: MutableMapping[str, Any]) -> str:
        return self._scrubber.line(json.dumps(event, ensure_ascii=False, default=str))


def configure_logging(
    *, process: str, env: Mapping[str, str], level: str | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """Send every log line of this process to `stream` (stderr) as JSON; returns the handler.

    Called once by each process entry point (`serve`, `worker`) before anything logs. `env` gives the
    secret values to mask and LOG_LEVEL (default INFO; `level` overrides it).
    """
    scrubber = Scrubber(secret_values(env))
    chain = _processors(process, scrubber)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *chain],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _JsonLine(scrubber)],
    )
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel((level or env.get("LOG_LEVEL") or "INFO").upper())
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(quiet)
    logging.captureWarnings(True)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *chain,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return handler


def unconfigure_logging(handler: logging.Handler) -> None:
    """Undo `configure_logging` (tests that configure it in-process)."""
    logging.getLogger().removeHandler(handler)
    logging.captureWarnings(False)
    structlog.reset_defaults()
