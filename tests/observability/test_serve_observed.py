"""`calico-bot serve` as the image runs it, observed from outside: its stderr, /metrics and /readyz.

- with canary values in every secret setting (Slack tokens, signing secret, IBM Cloud API key,
  PagerDuty routing key, the Redis password) and DEBUG logging, a few requests of each kind
  (commands, a check that runs, a refused signature, a channel outside the allow-list, a mention
  whose answer Slack refuses) leave no canary in any log line, /metrics or /readyz; every stderr
  line is one JSON object; each request's lines carry its Slack id as `correlation_id`;
- /metrics counts those acks, the check and its situations, and the Slack error;
- /readyz is 503 naming Redis when Redis stops and 200 again when it comes back;
- Socket Mode envelopes get the same correlation id and ack measurement.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.observability.processes import Serve, redis_server, serve_env, serve_process, worker_process
from tests.slack.fake_slack import FakeSlack
from tests.slack.signing import (
    app_mention_body,
    sign,
    slash_command_body,
    slash_command_payload,
    socket_envelope,
)

FORM = "application/x-www-form-urlencoded"
CANARIES = {
    "SLACK_BOT_TOKEN": "xoxb-4242-canaryBotToken7f1c",
    "SLACK_SIGNING_SECRET": "canarySigningSecret9d2e41",
    "IBMCLOUD_API_KEY": "canaryIbmCloudApiKey3b7a",
    "CALICO_BOT_PAGERDUTY_ROUTING_KEY": "canaryRoutingKey5c8d11",
}
REDIS_PASSWORD = "canaryRedisPassword0e6f"
LIFECYCLE = (
    r"^Using selector|`token` will be unused|^calico-bot serving on|^ready: |^not ready: |^shutting down"
    r"|^EMBEDDED MODE|^READ-ONLY MODE|^jobs go to the Redis queue|^calico-bot worker \S+ taking jobs"
    r"|^worker \S+ stopped taking jobs|^expired \d+ approval|takeover of \d+ stalled"
)


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def sample(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def command(serve: Serve, text: str, *, trigger_id: str, secret: str, **fields: str) -> tuple[int, str]:
    body = slash_command_body(text, trigger_id=trigger_id, **fields)
    return await serve.post(body, sign(body, secret, content_type=FORM))


async def wait_until_ready(serve: Serve, *, ready: bool, timeout: float) -> tuple[dict[str, Any], float]:
    """Poll /readyz until it says `ready`; its last answer and the seconds it took."""
    started = time.monotonic()
    while True:
        status, text = await serve.get("/readyz")
        answer: dict[str, Any] = json.loads(text)
        if (status == 200) == ready:
            assert answer["ok"] is ready
            return answer, time.monotonic() - started
        assert time.monotonic() - started < timeout, f"/readyz still {status} after {timeout} s: {text}"
        await asyncio.sleep(0.1)


async def test_no_secret_in_any_line_and_every_line_is_json_with_its_correlation_id(tmp_path: Path) -> None:
    secret = CANARIES["SLACK_SIGNING_SECRET"]
    with redis_server(tmp_path, password=REDIS_PASSWORD) as redis:
        async with FakeSlack() as fake:
            env = serve_env(
                **CANARIES,
                SLACK_API_URL=fake.api_url,
                REDIS_URL=redis.url,
                CALICO_BOT_SIMULATORS="1",
                CALICO_BOT_ALLOWED_CHANNELS="C1",
                KUBECONFIG=str(tmp_path / "no-such.kubeconfig"),
                LOG_LEVEL="DEBUG",
            )
            fake.script("chat.postEphemeral", body={"ok": False, "error": "not_in_channel"}, times=None)
            async with worker_process(env) as worker, serve_process(env) as serve:
                assert (await command(serve, "help", trigger_id="1.1.help", secret=secret))[0] == 200
                assert (await command(serve, "check demo", trigger_id="2.2.check", secret=secret))[0] == 200
                # someone pastes a secret as the cluster name: whatever is logged about it is masked
                pasted = f"check {CANARIES['IBMCLOUD_API_KEY']}"
                assert (await command(serve, pasted, trigger_id="5.5.pasted", secret=secret))[0] == 200
                forged = await command(serve, "check demo", trigger_id="3.3.forged", secret="not-the-secret")
                assert forged[0] == 401
                elsewhere = await command(
                    serve, "check demo", trigger_id="4.4.elsewhere", secret=secret, channel_id="C9"
                )
                assert elsewhere[0] == 200
                assert "only answers in" in elsewhere[1]
                mention = app_mention_body("help", event_id="Ev05MENTION")
                headers = sign(mention, secret, content_type="application/json")
                assert (await serve.post(mention, headers))[0] == 200

                card = await _wait_for_card(fake, "demo", timeout=60)
                assert card
                await serve.wait_for_line(r"refused a request to /slack/events: HTTP 401")
                await _wait_for(lambda: bool(fake.calls("chat.postEphemeral")), 15, "the mention's answer")

                await serve.wait_idle()  # the mention's failed answer is logged after the call
                for _ in range(300):  # the worker counts the check job once it returned (after the card)
                    _, text = await worker.get("/metrics")
                    done = sample(
                        metric_samples(text), "calico_bot_jobs_total", kind="check", outcome="succeeded"
                    )
                    if done >= 1:
                        break
                    await asyncio.sleep(0.1)
                texts = []
                for process in (serve, worker):
                    status, text = await process.get("/metrics")
                    assert status == 200
                    ready_status, ready_text = await process.get("/readyz")
                    assert ready_status == 200, ready_text
                    assert json.loads(ready_text)["checks"] == {"redis": True, "queue": True}
                    texts += [text, ready_text]
                serve_metrics, worker_metrics = texts[0], texts[2]

    acks = metric_samples(serve_metrics)
    assert sample(acks, "calico_bot_slack_acks_total", kind="command", status="200") >= 3
    assert sample(acks, "calico_bot_slack_acks_total", kind="command", status="401") == 1
    assert sample(acks, "calico_bot_slack_acks_total", kind="event", status="200") == 1
    assert sample(acks, "calico_bot_slack_ack_seconds_count", kind="command") >= 4
    jobs = metric_samples(worker_metrics)  # the check ran in the worker
    assert sample(jobs, "calico_bot_check_seconds_count", source="sim", outcome="problems") == 1
    assert sample(jobs, "calico_bot_situations_total", situation="calico-bad-on-few-workers") == 1
    assert sample(jobs, "calico_bot_situations_total", situation="worker-not-ready-kubelet") == 1
    assert sample(jobs, "calico_bot_jobs_total", kind="check", outcome="succeeded") >= 1
    slack_errors = [
        sample(s, "calico_bot_api_errors_total", api="slack", reason="not_in_channel") for s in (acks, jobs)
    ]
    assert sum(slack_errors) >= 1

    everything = "\n".join(serve.lines + worker.lines + texts)
    for name, canary in {**CANARIES, "REDIS_URL password": REDIS_PASSWORD}.items():
        assert canary not in everything, f"the value of {name} reached the output"

    records = serve.records() + worker.records()  # every line of both is one JSON object
    assert len(records) > 20
    assert all({"ts", "level", "logger", "event", "correlation_id"} <= set(r) for r in records)
    ids = {r["correlation_id"] for r in records}
    requests = {"1.1.help", "2.2.check", "3.3.forged", "4.4.elsewhere", "5.5.pasted", "Ev05MENTION"}
    assert ids == requests | {None}
    [forged_line] = [r for r in records if "refused a request to /slack/events: HTTP 401" in r["event"]]
    assert forged_line["correlation_id"] == "3.3.forged"
    elsewhere_lines = [r for r in records if "not in CALICO_BOT_ALLOWED_CHANNELS" in r["event"]]
    assert [r["correlation_id"] for r in elsewhere_lines] == ["4.4.elsewhere"]
    # the check's own work is its, in the worker too: the Web API calls of its job, the Kubernetes
    # client's threads
    check_lines = [r for r in worker.records() if r["correlation_id"] == "2.2.check"]
    assert any(r["logger"].startswith("slack_sdk") for r in check_lines)
    assert {r.get("job_id") for r in check_lines} == {"check:2.2.check"}
    kubernetes_calls = [r for r in records if r["logger"].startswith("urllib3")]
    assert kubernetes_calls
    assert {r["correlation_id"] for r in kubernetes_calls} == {"2.2.check"}
    # a line without a request is the process's own: start, readiness changes, shutdown
    outside = [r["event"] for r in records if r["correlation_id"] is None]
    assert [e for e in outside if not re.search(LIFECYCLE, e)] == []
    failed_answer = [r for r in records if "not_in_channel" in r["event"]]
    assert failed_answer
    assert "Ev05MENTION" in {r["correlation_id"] for r in failed_answer}
    assert None not in {r["correlation_id"] for r in failed_answer}


async def test_readyz_follows_redis_down_and_back(tmp_path: Path) -> None:
    with redis_server(tmp_path) as redis:
        async with FakeSlack() as fake:
            env = serve_env(
                SLACK_BOT_TOKEN="xoxb-ready-test",
                SLACK_SIGNING_SECRET="ready-test-secret",
                SLACK_API_URL=fake.api_url,
                REDIS_URL=redis.url,
                KUBECONFIG=str(tmp_path / "no-such.kubeconfig"),
            )
            async with serve_process(env) as serve:
                answer, _ = await wait_until_ready(serve, ready=True, timeout=10)
                assert answer["checks"] == {"redis": True, "queue": True}

                redis.stop()
                answer, went_down = await wait_until_ready(serve, ready=False, timeout=10)
                # the job queue lives in the same Redis: it does not answer either
                assert answer["checks"] == {"redis": False, "queue": False}
                assert set(answer["reasons"]) == {"redis", "queue"}
                _, metrics_text = await serve.get("/metrics")
                assert sample(metric_samples(metrics_text), "calico_bot_ready", check="redis") == 0
                assert (await serve.get("/healthz"))[0] == 200  # alive, only not ready
                down_line = await serve.wait_for_line(r"not ready: redis")
                assert down_line["level"] == "warning"

                redis.start()
                answer, came_back = await wait_until_ready(serve, ready=True, timeout=15)
                assert answer["checks"] == {"redis": True, "queue": True}
                await serve.wait_for_line(r'"ready: redis, queue"')
    print(
        f"/readyz: unready {went_down:.2f} s after Redis stopped, ready {came_back:.2f} s after it returned"
    )


async def test_socket_mode_envelopes_are_correlated_and_measured(tmp_path: Path) -> None:
    async with FakeSlack() as fake:
        env = serve_env(
            SLACK_BOT_TOKEN="xoxb-socket-test",
            SLACK_APP_TOKEN="xapp-1-socket-test",
            SLACK_API_URL=fake.api_url,
            KUBECONFIG=str(tmp_path / "no-such.kubeconfig"),
            LOG_LEVEL="DEBUG",
        )
        async with serve_process(env) as serve:
            await fake.wait_for_socket(timeout=30)
            envelope = socket_envelope(
                slash_command_payload("help", trigger_id="7.7.socket"), type="slash_commands"
            )
            await fake.push_envelope(envelope)
            await fake.wait_for_ack(envelope["envelope_id"], timeout=10)
            await serve.wait_idle()  # the ack is measured once the envelope's handling returns
            _, metrics_text = await serve.get("/metrics")
    samples = metric_samples(metrics_text)
    assert sample(samples, "calico_bot_slack_acks_total", kind="command", status="200") == 1
    assert sample(samples, "calico_bot_slack_ack_seconds_count", kind="command") == 1
    records = serve.records()
    assert {r["correlation_id"] for r in records} == {None, "7.7.socket"}


async def _wait_for(ready: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        await asyncio.sleep(0.05)


async def _wait_for_card(fake: FakeSlack, cluster: str, timeout: float) -> str:
    """The text of the diagnosis card for `cluster` (posted, then updated in place)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in fake.calls("chat.update") + fake.calls("chat.postMessage"):
            text = json.dumps(call.params)
            if cluster in text and "runbook" in text.lower():
                return text
        await asyncio.sleep(0.1)
    raise AssertionError(f"no diagnosis card for {cluster} within {timeout} s")
