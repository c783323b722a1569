"""The measurements: bounded labels, what each one records in /metrics once the Prometheus sink is
installed, the places in the code that record them, and that the CLI never loads prometheus_client."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.cluster.errors import Forbidden, Timeout, TransportError
from bot.cluster.kube import RawResponse
from bot.cluster.reader import KubeReader
from bot.observability import measure, metrics

ROOT = Path(__file__).resolve().parents[2]


def samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, by name and labels (parsed by Prometheus' own parser)."""
    found = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(name: str, **labels: str) -> float:
    return samples().get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def recording() -> Iterator[None]:
    before = measure.installed()
    metrics.install()
    yield
    measure.install(before)


def test_label_values_have_a_bounded_shape() -> None:
    assert measure.label("NotFound") == "notfound"
    assert measure.label("HTTP 503") == "http_503"
    assert measure.label("unreachable (ClientConnectorError)") == "unreachable_clientconnectorerror"
    assert measure.label("") == "unknown"
    assert measure.label("x" * 500) == "x" * 48
    assert measure.job_kind("check:123.456.abc") == "check"
    assert measure.job_kind("nonsense") == "other"


def test_nothing_is_recorded_until_the_sink_is_installed() -> None:
    before = measure.installed()
    measure.install(measure.Sink())
    try:
        start = value("calico_bot_approvals_total", outcome="denied")
        measure.approval("denied")
        assert value("calico_bot_approvals_total", outcome="denied") == start
    finally:
        measure.install(before)


@pytest.mark.usefixtures("recording")
def test_each_measurement_lands_in_its_series() -> None:
    acks = value("calico_bot_slack_acks_total", kind="command", status="200")
    ack_count = value("calico_bot_slack_ack_seconds_count", kind="command")
    measure.ack("command", 200, 0.012)
    assert value("calico_bot_slack_acks_total", kind="command", status="200") == acks + 1
    assert value("calico_bot_slack_ack_seconds_count", kind="command") == ack_count + 1

    ok = value("calico_bot_jobs_total", kind="gather", outcome="succeeded")
    bad = value("calico_bot_jobs_total", kind="gather", outcome="failed")
    with measure.job_run("gather"):
        assert value("calico_bot_jobs_running") >= 1
    with pytest.raises(RuntimeError), measure.job_run("gather"):
        raise RuntimeError("boom")
    assert value("calico_bot_jobs_total", kind="gather", outcome="succeeded") == ok + 1
    assert value("calico_bot_jobs_total", kind="gather", outcome="failed") == bad + 1
    assert value("calico_bot_job_seconds_count", kind="gather") >= 2
    assert value("calico_bot_jobs_running") == 0

    dup = value("calico_bot_jobs_duplicate_total", kind="check")
    measure.job_duplicate("check")
    assert value("calico_bot_jobs_duplicate_total", kind="check") == dup + 1

    found = value("calico_bot_situations_total", situation="typha-unhealthy")
    checks = value("calico_bot_check_seconds_count", source="live", outcome="problems")
    measure.check("live", "problems", 1.5, ["typha-unhealthy", "calico-bad-on-few-workers"])
    assert value("calico_bot_situations_total", situation="typha-unhealthy") == found + 1
    assert value("calico_bot_check_seconds_count", source="live", outcome="problems") == checks + 1

    approved = value("calico_bot_approvals_total", outcome="approved")
    measure.approval("approved")
    assert value("calico_bot_approvals_total", outcome="approved") == approved + 1

    metrics.queue_state(7, 42.5)
    assert value("calico_bot_queue_depth") == 7
    assert value("calico_bot_queue_oldest_age_seconds") == 42.5
    metrics.readiness({"redis": False, "queue": True})
    assert value("calico_bot_ready", check="redis") == 0
    assert value("calico_bot_ready", check="queue") == 1


def test_the_exposition_names_every_metric_of_the_issue() -> None:
    text = metrics.exposition().decode()
    for name in (
        "calico_bot_slack_acks_total",
        "calico_bot_slack_ack_seconds",
        "calico_bot_jobs_total",
        "calico_bot_job_seconds",
        "calico_bot_queue_depth",
        "calico_bot_queue_oldest_age_seconds",
        "calico_bot_check_seconds",
        "calico_bot_situations_total",
        "calico_bot_approvals_total",
        "calico_bot_api_errors_total",
        "process_resident_memory_bytes",
    ):
        assert f"\n# TYPE {name} " in "\n" + text, name


class _Answers:
    """A Kubernetes transport (the reader's `Transport` protocol) that answers from a list."""

    def __init__(self, answers: Sequence[RawResponse | Exception]) -> None:
        self.answers = list(answers)

    async def request(self, method: str, path: str, **_: object) -> RawResponse:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.mark.usefixtures("recording")
async def test_the_kubernetes_reader_counts_each_failed_call_by_its_error() -> None:
    forbidden = value("calico_bot_api_errors_total", api="kubernetes", reason="forbidden")
    timeouts = value("calico_bot_api_errors_total", api="kubernetes", reason="timeout")
    ok = RawResponse(status=200, body=b"{}", reason="OK")
    refused = RawResponse(status=403, body=b'{"kind":"Status","reason":"Forbidden"}')
    reader = KubeReader(_Answers([ok, refused, Timeout("no answer in 1 s")]))
    await reader.call("GET", "/api/v1/nodes")
    with pytest.raises(Forbidden):
        await reader.call("GET", "/api/v1/nodes")
    with pytest.raises(TransportError):
        await reader.call("GET", "/api/v1/nodes")
    assert value("calico_bot_api_errors_total", api="kubernetes", reason="forbidden") == forbidden + 1
    assert value("calico_bot_api_errors_total", api="kubernetes", reason="timeout") == timeouts + 1


def test_the_command_line_never_loads_prometheus_or_structlog() -> None:
    """The measuring modules are imported by the CLI's path; their SDKs are not (≈70-200 ms)."""
    code = (
        "import sys, bot.cli, bot.cluster.checking, bot.cluster.reader, bot.slack.api, "
        "bot.remediation.iks, bot.observability.measure, bot.observability.correlation\n"
        "print(sorted(m for m in ('prometheus_client', 'structlog') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
