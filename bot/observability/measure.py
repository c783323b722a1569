"""The measurements the bot records, by name: one function each, cheap no-ops until a process
installs a sink (`calico-bot serve` and `worker` install the Prometheus one, `bot.observability.metrics`).

The code that measures imports only this module (standard library), so a one-shot `calico-bot
check` never loads prometheus_client. Every label value is from a small fixed set or cut to a
known shape here, so no measurement can grow the number of series without bound.

| function | records |
|---|---|
| `ack(kind, status, seconds)` | a Slack request answered (HTTP status, or 200 for a Socket Mode ack) and how long it took |
| `job_started(kind)`, `job_finished(kind, outcome, seconds)` / `job_run(kind)` | a job ran: `succeeded`, `failed`, `requeued` (handed back at shutdown, or its worker died) |
| `job_duplicate(kind)` | an enqueue refused because a job with that id was already taken |
| `check(source, outcome, seconds, situations)` | one collection + diagnosis, and the situations it found |
| `approval(outcome)` | an approval's step: `pending`, `approved`, `denied`, `expired`, `withdrawn`, `applied`, `succeeded`, `failed`, `refused`, … |
| `api_error(api, reason)` | a failed call to `kubernetes`, `slack` or `iks` (reason: the error's type or code) |
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

APIS = ("kubernetes", "slack", "iks")
JOB_OUTCOMES = ("succeeded", "failed", "requeued")
_LABEL = re.compile(r"[^a-z0-9_.-]+")
_LABEL_MAX = 48


def label(value: str) -> str:
    """A label value of a bounded shape: lower case, `[a-z0-9_.-]`, at most 48 characters, never empty."""
    cleaned = _LABEL.sub("_", value.strip().lower()).strip("_")[:_LABEL_MAX]
    return cleaned or "unknown"


def job_kind(job_id: str) -> str:
    """The kind part of a job id (`check:<trigger id>` -> `check`)."""
    return label(job_id.partition(":")[0]) if ":" in job_id else "other"


class Sink:
    """Where measurements go. This base drops them all; `metrics.PrometheusSink` records them."""

    def ack(self, kind: str, status: int, seconds: float) -> None:
        return None

    def job(self, kind: str, outcome: str, seconds: float) -> None:
        return None

    def job_duplicate(self, kind: str) -> None:
        return None

    def jobs_running(self, delta: int) -> None:
        return None

    def check(self, source: str, outcome: str, seconds: float, situations: tuple[str, ...]) -> None:
        return None

    def approval(self, outcome: str) -> None:
        return None

    def api_error(self, api: str, reason: str) -> None:
        return None


_sink = Sink()


def install(sink: Sink) -> None:
    global _sink
    _sink = sink


def installed() -> Sink:
    return _sink


def ack(kind: str, status: int, seconds: float) -> None:
    _sink.ack(label(kind), status, seconds)


def job_started(kind: str) -> None:
    _sink.jobs_running(1)


def job_finished(kind: str, outcome: str, seconds: float) -> None:
    """A job that `job_started` counted has finished (one of JOB_OUTCOMES)."""
    _sink.jobs_running(-1)
    _sink.job(label(kind), label(outcome), seconds)


def job_duplicate(kind: str) -> None:
    _sink.job_duplicate(label(kind))


@contextmanager
def job_run(kind: str) -> Iterator[None]:
    """Time one job and count it `succeeded`, or `failed` when it raises (re-raised), or `requeued`
    when it is cancelled (handed back to the queue)."""
    started = time.perf_counter()
    job_started(kind)
    outcome = "failed"
    try:
        yield
        outcome = "succeeded"
    except BaseException as exc:
        outcome = "failed" if isinstance(exc, Exception) else "requeued"
        raise
    finally:
        job_finished(kind, outcome, time.perf_counter() - started)


def check(source: str, outcome: str, seconds: float, situations: Iterable[str] = ()) -> None:
    _sink.check(label(source), label(outcome), seconds, tuple(label(s) for s in situations))


def approval(outcome: str) -> None:
    _sink.approval(label(outcome))


def api_error(api: str, reason: str) -> None:
    _sink.api_error(label(api), label(reason))
