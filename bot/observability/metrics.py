"""The Prometheus instruments (the only importer of prometheus_client) and the `/metrics` text.

Every series is `calico_bot_*` in one registry of its own (plus the process and Python collectors):

| metric | type | labels | what |
|---|---|---|---|
| `calico_bot_slack_acks_total` | counter | kind, status | Slack requests answered (command, event, action, view, other; the HTTP status) |
| `calico_bot_slack_ack_seconds` | histogram | kind | request received -> answer sent (Slack's limit is 3 s) |
| `calico_bot_jobs_total` | counter | kind, outcome | jobs finished: succeeded, failed, requeued (handed back) |
| `calico_bot_job_seconds` | histogram | kind | how long a job ran |
| `calico_bot_jobs_duplicate_total` | counter | kind | enqueues refused: a job with that id was already taken |
| `calico_bot_jobs_running` | gauge | | jobs running in this process |
| `calico_bot_queue_depth` | gauge | | jobs waiting in the queue (read when scraped) |
| `calico_bot_queue_oldest_age_seconds` | gauge | | age of the oldest waiting job (0 when none) |
| `calico_bot_check_seconds` | histogram | source, outcome | one collection + diagnosis (outcome healthy, problems, unknown, failed) |
| `calico_bot_situations_total` | counter | situation | runbook situations found by checks |
| `calico_bot_approvals_total` | counter | outcome | approval steps: pending, approved, denied, expired, withdrawn, applied, succeeded, failed, refused |
| `calico_bot_api_errors_total` | counter | api, reason | failed calls to the Kubernetes, Slack and IKS APIs |
| `calico_bot_ready` | gauge | check | last `/readyz` result per probe (1 ready, 0 not) |
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

from bot.observability import measure

REGISTRY = CollectorRegistry(auto_describe=True)
process_collector.ProcessCollector(registry=REGISTRY)
platform_collector.PlatformCollector(registry=REGISTRY)
gc_collector.GCCollector(registry=REGISTRY)

CONTENT_TYPE = CONTENT_TYPE_LATEST
_ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
_JOB_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)

ACKS = Counter(
    "calico_bot_slack_acks",
    "Slack requests answered, by kind and HTTP status",
    ["kind", "status"],
    registry=REGISTRY,
)
ACK_SECONDS = Histogram(
    "calico_bot_slack_ack_seconds",
    "Seconds from a Slack request received to its answer sent",
    ["kind"],
    buckets=_ACK_BUCKETS,
    registry=REGISTRY,
)
JOBS = Counter(
    "calico_bot_jobs", "Jobs finished, by kind and outcome", ["kind", "outcome"], registry=REGISTRY
)
JOB_SECONDS = Histogram(
    "calico_bot_job_seconds", "Seconds a job ran, by kind", ["kind"], buckets=_JOB_BUCKETS, registry=REGISTRY
)
JOBS_DUPLICATE = Counter(
    "calico_bot_jobs_duplicate",
    "Enqueues refused because the job id was already taken",
    ["kind"],
    registry=REGISTRY,
)
JOBS_RUNNING = Gauge("calico_bot_jobs_running", "Jobs running in this process", registry=REGISTRY)
QUEUE_DEPTH = Gauge("calico_bot_queue_depth", "Jobs waiting in the queue", registry=REGISTRY)
QUEUE_OLDEST = Gauge(
    "calico_bot_queue_oldest_age_seconds", "Age of the oldest waiting job (0 when none)", registry=REGISTRY
)
CHECK_SECONDS = Histogram(
    "calico_bot_check_seconds",
    "Seconds one cluster check took (collection and diagnosis), by source and outcome",
    ["source", "outcome"],
    buckets=_JOB_BUCKETS,
    registry=REGISTRY,
)
SITUATIONS = Counter(
    "calico_bot_situations", "Runbook situations found by checks", ["situation"], registry=REGISTRY
)
APPROVALS = Counter("calico_bot_approvals", "Approval steps, by outcome", ["outcome"], registry=REGISTRY)
API_ERRORS = Counter(
    "calico_bot_api_errors",
    "Failed calls to the Kubernetes, Slack and IKS APIs",
    ["api", "reason"],
    registry=REGISTRY,
)
READY = Gauge(
    "calico_bot_ready", "Last /readyz result per probe (1 ready, 0 not)", ["check"], registry=REGISTRY
)


class PrometheusSink(measure.Sink):
    def ack(self, kind: str, status: int, seconds: float) -> None:
        ACKS.labels(kind=kind, status=str(status)).inc()
        ACK_SECONDS.labels(kind=kind).observe(seconds)

    def job(self, kind: str, outcome: str, seconds: float) -> None:
        JOBS.labels(kind=kind, outcome=outcome).inc()
        JOB_SECONDS.labels(kind=kind).observe(seconds)

    def job_duplicate(self, kind: str) -> None:
        JOBS_DUPLICATE.labels(kind=kind).inc()

    def jobs_running(self, delta: int) -> None:
        JOBS_RUNNING.inc(delta)

    def check(self, source: str, outcome: str, seconds: float, situations: tuple[str, ...]) -> None:
        CHECK_SECONDS.labels(source=source, outcome=outcome).observe(seconds)
        for situation in situations:
            SITUATIONS.labels(situation=situation).inc()

    def approval(self, outcome: str) -> None:
        APPROVALS.labels(outcome=outcome).inc()

    def api_error(self, api: str, reason: str) -> None:
        API_ERRORS.labels(api=api, reason=reason).inc()


def install() -> None:
    """Record every measurement from now on (a process calls this once, at start)."""
    if not isinstance(measure.installed(), PrometheusSink):
        measure.install(PrometheusSink())


def queue_state(depth: int, oldest_age_seconds: float) -> None:
    QUEUE_DEPTH.set(depth)
    QUEUE_OLDEST.set(oldest_age_seconds)


def readiness(results: dict[str, bool]) -> None:
    for check, ok in results.items():
        READY.labels(check=check).set(1 if ok else 0)


def exposition() -> bytes:
    """The registry in Prometheus' text format (`CONTENT_TYPE`)."""
    return generate_latest(REGISTRY)
