"""The hand-off to armada-network (`bot.escalation.handoff`) and the PagerDuty adapter (`bot.escalation.pagerduty`).

- goldens (`tests/escalation/golden/`): the demo hand-off text (no action recorded; and with audit
  entries, a bundle and who asked), the GHE new-issue URL and its decoded title and body, the Block
  Kit hand-off with a failed page, and the PagerDuty event. The demo diagnosis is the one of the
  card tests (built directly, pinned time). Regenerate with
  `UPDATE_GOLDEN=1 .venv/bin/pytest tests/escalation`; a difference fails with a unified diff.
- the GHE link stays within its URL budget: the body is cut at a line boundary, a code fence left
  open is closed, and the note is the last thing of the decoded body.
- the Block Kit hand-off passes the card tests' `validate` (every limit, escaping) for any input.
- `send_event` against a fake PagerDuty Events API v2 served by aiohttp on 127.0.0.1: the same
  dedup key for repeated triggers of one cluster, and 500 / 429 / 400 / a hang / a closed port
  each give `ok=False` with a message, no exception, and the routing key in no message or log.
"""

from __future__ import annotations

import ast
import asyncio
import difflib
import json
import logging
import os
import re
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
import pytest
from aiohttp import web

from bot.escalation.handoff import (
    GITHUB_URL_MAX,
    NO_ACTIONS,
    PD_DEDUP_KEY_MAX,
    SLACK_URL_MAX,
    TITLE_MAX,
    TRUNCATION_NOTE,
    EscalationLinks,
    Handoff,
    build_handoff,
    dedup_key,
    github_issue_body,
    github_new_issue_url,
    issue_title,
    pagerduty_event,
    paging_status,
)
from bot.escalation.pagerduty import PagingResult, send_event
from bot.slack.handoff import handoff_message
from bot.store.records import AuditEntry
from checks.model import RUNBOOK_URL, Diagnosis, Severity, Unknown
from tests.slack.test_cards import (
    NASTY,
    demo_diagnosis,
    healthy_diagnosis,
    hostile_diagnosis,
    mrkdwn_texts,
    validate,
)

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
ROUTING_KEY = "R0UTINGKEY0123456789abcdefSECRET"
LINKS = EscalationLinks()
AT = datetime(2026, 11, 29, 11, 40, tzinfo=UTC)
BUNDLE = "calico-gather-demo-10.190.156.12-20261129T1150Z.tar.gz"
AUDIT = (
    AuditEntry(
        at=AT,
        action="cordon",
        target="10.190.156.12",
        requested_by="U1",
        approved_by="U2",
        outcome="succeeded",
    ),
    AuditEntry(
        at=AT + timedelta(minutes=5),
        action="delete-pod",
        target="calico-system/calico-node-v9jwz",
        requested_by="U1",
        approved_by="U3",
        outcome="succeeded; the new pod is CrashLoopBackOff again",
    ),
)


def assert_golden(name: str, rendered: str) -> None:
    path = GOLDEN / name
    if not rendered.endswith("\n"):
        rendered += "\n"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"golden {path} is missing: run UPDATE_GOLDEN=1 pytest tests/escalation")
    expected = path.read_text(encoding="utf-8")
    if rendered != expected:
        diff = "\n".join(
            list(
                difflib.unified_diff(
                    expected.splitlines(), rendered.splitlines(), f"golden/{name}", "rendered", lineterm=""
                )
            )[:200]
        )
        pytest.fail(f"{name} differs from the golden (if intended: UPDATE_GOLDEN=1)\n{diff}", pytrace=False)


def decode(url: str) -> tuple[str, str]:
    """(title, body) of a GHE new-issue URL."""
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    return query["title"][0], query["body"][0]


def demo_handoff(**kw: Any) -> Handoff:
    args: dict[str, Any] = {"links": LINKS, "actions": (), "bundle_name": None, "requested_by": None}
    args.update(kw)
    return build_handoff(demo_diagnosis(), **args)


def fences_balanced(body: str) -> bool:
    fence = ""
    for line in body.split("\n"):
        match = re.match(r"^(`{3,})", line)
        if match and not fence:
            fence = match.group(1)
        elif fence and set(line.strip()) == {"`"} and len(line.strip()) >= len(fence):
            fence = ""
    return not fence


def huge_evidence_diagnosis() -> Diagnosis:
    base = demo_diagnosis()
    evidence = tuple(f"line {i:04d} " + "calico-node restarted; " * 40 for i in range(200))
    findings = tuple(msgspec.structs.replace(f, evidence=evidence) for f in base.findings)
    return msgspec.structs.replace(base, findings=findings)


# =================================================================================================
# Goldens
# =================================================================================================


def test_golden_handoff_text_with_no_action_recorded() -> None:
    handoff = demo_handoff()
    assert NO_ACTIONS in handoff.text
    assert "Bundle: none gathered" in handoff.text
    for url in (LINKS.pagerduty_policy_url, LINKS.slack_channel_url, LINKS.github_issues_url):
        assert url in handoff.text
    assert handoff.github_new_issue_url in handoff.text
    assert not handoff.body_truncated
    assert_golden("handoff_demo.txt", handoff.text)


def test_golden_handoff_text_with_actions_and_a_bundle() -> None:
    handoff = demo_handoff(actions=AUDIT, bundle_name=BUNDLE, requested_by="U123")
    assert NO_ACTIONS not in handoff.text
    assert "cordon 10.190.156.12: requested by U1, approved by U2 → succeeded" in handoff.text
    assert BUNDLE in handoff.text
    assert "escalated by U123" in handoff.text
    assert_golden("handoff_demo_with_actions.txt", handoff.text)


def test_golden_github_new_issue_url() -> None:
    handoff = demo_handoff(actions=AUDIT, bundle_name=BUNDLE, requested_by="U123")
    url = handoff.github_new_issue_url
    assert url.startswith("https://github.ibm.com/alchemy-containers/armada-network/issues/new?title=")
    assert len(url) <= GITHUB_URL_MAX
    title, body = decode(url)
    assert title == handoff.title == issue_title(demo_diagnosis())
    assert title == (
        "calico-node: Worker 10.189.156.9 (dal12, pool default) is NotReady: the kubelet stopped posting "
        "node status on demo"
    )
    assert body == github_issue_body(demo_diagnosis(), actions=AUDIT, bundle_name=BUNDLE, requested_by="U123")
    for needed in (
        "### Situations",
        "### Affected workers (2)",
        "### Key evidence",
        RUNBOOK_URL,
        "2026-11-29 12:00 UTC",
    ):
        assert needed in body
    assert "```\nReady Unknown NodeStatusUnknown" in body
    assert fences_balanced(body)
    assert_golden("github_url_demo.txt", url)
    assert_golden("github_issue_demo.md", f"{title}\n\n{body}")


def test_golden_handoff_message_with_failed_paging() -> None:
    handoff = demo_handoff(requested_by="U123")
    paging = paging_status(
        PagingResult(ok=False, dedup_key="calico-bot/demo", message="PagerDuty answered HTTP 500")
    )
    message = handoff_message(handoff, demo_diagnosis(), paging=paging)
    validate(message)
    assert message.blocks[0]["text"]["text"] == "Escalation: demo"
    rendered = json.dumps({"text": message.text, "blocks": message.blocks}, indent=2, ensure_ascii=False)
    assert "Paging failed: PagerDuty answered HTTP 500" in rendered
    assert "No action recorded by calico-bot on this cluster" in rendered
    assert_golden("handoff_message_demo.json", rendered)


def test_golden_pagerduty_event() -> None:
    event = pagerduty_event(demo_diagnosis(), routing_key=ROUTING_KEY)
    assert event["routing_key"] == ROUTING_KEY
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == "calico-bot/demo"
    payload = event["payload"]
    assert payload["severity"] == "critical"
    assert payload["source"] == "demo"
    assert payload["component"] == "calico-node"
    assert payload["group"] == "armada-network"
    assert payload["class"] == "worker-not-ready-kubelet"
    assert event["links"][0]["href"] == RUNBOOK_URL
    shown = {**event, "routing_key": "<routing key>"}
    assert_golden("pagerduty_event_demo.json", json.dumps(shown, indent=2, ensure_ascii=False))


# =================================================================================================
# The GHE link
# =================================================================================================


def test_huge_evidence_is_truncated_with_the_note() -> None:
    diagnosis = huge_evidence_diagnosis()
    handoff = build_handoff(diagnosis, links=LINKS, actions=AUDIT, bundle_name=BUNDLE, requested_by="U1")
    assert handoff.body_truncated
    url = handoff.github_new_issue_url
    assert len(url) <= GITHUB_URL_MAX
    title, body = decode(url)
    assert title == handoff.title
    assert body.endswith(TRUNCATION_NOTE)
    assert fences_balanced(body)
    full = github_issue_body(diagnosis, actions=AUDIT, bundle_name=BUNDLE, requested_by="U1")
    kept = body[: body.rindex(TRUNCATION_NOTE)].rstrip("`\n")
    assert full.startswith(kept)  # whole lines of the start of the body
    # the facts come before the evidence, so they survive the cut
    for needed in ("### Affected workers", "### Actions taken by calico-bot", BUNDLE, "### Key evidence"):
        assert needed in body
    assert "(truncated)" in handoff.text or "body truncated" in handoff.text


@pytest.mark.parametrize("limit", [600, 1000, 2000, 3000, 8000])
def test_hostile_diagnosis_url_within_any_limit(limit: int) -> None:
    diagnosis = hostile_diagnosis(situations=10, findings=5, actions=50)
    title = issue_title(diagnosis)
    assert len(title) <= TITLE_MAX
    body = github_issue_body(diagnosis, actions=AUDIT, bundle_name=NASTY, requested_by=NASTY)
    url, truncated = github_new_issue_url(
        LINKS.github_issues_url, title=title, body=body, max_url_length=limit
    )
    assert truncated
    assert len(url) <= limit
    decoded_title, decoded_body = decode(url)
    assert decoded_body.endswith(TRUNCATION_NOTE)
    assert fences_balanced(decoded_body)
    assert title.startswith(decoded_title)


def test_truncation_closes_an_open_code_fence() -> None:
    body = (
        "intro\n\n```\n" + "\n".join(f"evidence line {i} " + "x" * 80 for i in range(100)) + "\n```\nafter\n"
    )
    url, truncated = github_new_issue_url(
        "https://ghe.example/o/r/issues/", title="t", body=body, max_url_length=2000
    )
    assert truncated
    assert len(url) <= 2000
    _, decoded = decode(url)
    assert decoded.startswith("intro\n\n```\nevidence line 0 ")
    assert decoded.endswith("```\n\n" + TRUNCATION_NOTE)
    assert fences_balanced(decoded)


def test_a_short_body_is_not_truncated_and_the_base_slash_is_optional() -> None:
    for base in ("https://ghe.example/o/r/issues", "https://ghe.example/o/r/issues/"):
        url, truncated = github_new_issue_url(base, title="a b&c", body="x = 1?\n#2", max_url_length=200)
        assert not truncated
        assert url == "https://ghe.example/o/r/issues/new?title=a%20b%26c&body=x%20%3D%201%3F%0A%232"


def test_when_not_even_the_note_fits_the_title_is_cut() -> None:
    url, truncated = github_new_issue_url(
        "https://ghe.example/o/r/issues/", title="é" * 300, body="body\n" * 100, max_url_length=400
    )
    assert truncated
    assert len(url) <= 400
    title, body = decode(url)
    assert body == TRUNCATION_NOTE
    assert title
    assert set(title) == {"é"}


def test_the_slack_button_link_fits_a_button() -> None:
    handoff = build_handoff(
        huge_evidence_diagnosis(), links=LINKS, actions=(), bundle_name=None, requested_by=None
    )
    assert len(handoff.github_button_url) <= SLACK_URL_MAX
    title, body = decode(handoff.github_button_url)
    assert title == handoff.title
    assert body.endswith(TRUNCATION_NOTE)


def test_issue_title_for_healthy_unknown_and_long_names() -> None:
    assert issue_title(healthy_diagnosis("c1")) == "calico-node: no problem found by calico-bot on c1"
    unknown = msgspec.structs.replace(
        healthy_diagnosis("c2"),
        situations=(),
        unknowns=(Unknown(check="collect", what="nodes", reason="403"),),
    )
    assert issue_title(unknown) == "calico-node: could not be checked by calico-bot on c2"
    long = msgspec.structs.replace(demo_diagnosis(), cluster="k" * 400)
    title = issue_title(long)
    assert len(title) <= TITLE_MAX
    assert title.startswith("calico-node: Worker 10.189.156.9")


def test_configured_links() -> None:
    links = EscalationLinks.from_env(
        {
            "CALICO_BOT_GITHUB_ISSUES_URL": "https://ghe.example/team/net/issues",
            "CALICO_BOT_PAGERDUTY_POLICY_URL": " ",
        }
    )
    assert links.github_issues_url == "https://ghe.example/team/net/issues"
    assert links.pagerduty_policy_url == EscalationLinks().pagerduty_policy_url
    assert EscalationLinks.from_env({}) == EscalationLinks()
    handoff = build_handoff(demo_diagnosis(), links=links, actions=(), bundle_name=None, requested_by=None)
    assert handoff.github_new_issue_url.startswith("https://ghe.example/team/net/issues/new?title=")


# =================================================================================================
# The Block Kit hand-off
# =================================================================================================


def _buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_handoff_message_content() -> None:
    handoff = demo_handoff(actions=AUDIT, bundle_name=BUNDLE, requested_by="U123")
    message = handoff_message(handoff, demo_diagnosis(), paging=None)
    validate(message)
    text = json.dumps(message.blocks, ensure_ascii=False)
    assert "Paging" not in text
    assert "PagerDuty incident" not in text
    assert "approved by <@U2>" in text
    assert BUNDLE in text
    assert "`10.190.156.12` calico-node bad" in text
    assert "`10.189.156.9` NotReady (kubelet)" in text
    assert "Ready Unknown NodeStatusUnknown" in text  # key evidence, in code format
    assert "Escalated by <@U123>" in text
    buttons = _buttons(message.blocks)
    assert [b["text"]["text"] for b in buttons] == [
        "PagerDuty escalation policy",
        "#armada-network",
        "New GHE issue",
    ]
    assert buttons[0]["url"] == LINKS.pagerduty_policy_url
    assert buttons[1]["url"] == LINKS.slack_channel_url
    assert buttons[2]["url"] == handoff.github_button_url
    assert len(buttons[2]["url"]) <= SLACK_URL_MAX
    assert message.text.startswith("🚨 Escalation: demo — calico-node: Worker 10.189.156.9")


def test_handoff_message_with_paging_triggered() -> None:
    paging = paging_status(PagingResult(ok=True, dedup_key="calico-bot/demo", message="Event processed"))
    message = handoff_message(demo_handoff(), demo_diagnosis(), paging=paging)
    validate(message)
    assert (
        message.blocks[2]["text"]["text"] == "📟 PagerDuty incident triggered (dedup key `calico-bot/demo`)"
    )
    assert "PagerDuty incident triggered" in message.text


@pytest.mark.parametrize("case", ["healthy", "unknown", "hostile", "http-links"])
def test_handoff_message_stays_within_block_kit_limits(case: str) -> None:
    requested_by: str | None = "U123"
    bundle: str | None = None
    actions: tuple[AuditEntry, ...] = AUDIT
    links = LINKS
    paging: str | None = None
    if case == "healthy":
        diagnosis = healthy_diagnosis("c1")
    elif case == "unknown":
        diagnosis = msgspec.structs.replace(
            healthy_diagnosis("c2"),
            situations=(),
            unknowns=tuple(Unknown(check="collect", what=f"read-{i}", reason=NASTY) for i in range(40)),
        )
    elif case == "hostile":
        diagnosis = hostile_diagnosis(situations=40, findings=10, actions=100)
        requested_by, bundle = NASTY, NASTY * 50
        actions = tuple(
            AuditEntry(
                at=AT,
                action=NASTY,
                target=NASTY * 20,
                requested_by=NASTY,
                approved_by="U2",
                outcome=NASTY * 50,
            )
            for _ in range(500)
        )
        paging = paging_status(PagingResult(ok=False, dedup_key=NASTY, message=NASTY * 100))
    else:
        diagnosis = demo_diagnosis()
        links = EscalationLinks(
            pagerduty_policy_url="http://pd.local/x|y",
            slack_channel_url="not a url",
            github_issues_url="http://ghe.local/o/r/issues",
        )
    handoff = build_handoff(
        diagnosis, links=links, actions=actions, bundle_name=bundle, requested_by=requested_by
    )
    message = handoff_message(handoff, diagnosis, paging=paging)
    validate(message)
    assert len(message.blocks) <= 50
    for button in _buttons(message.blocks):
        assert len(button["text"]["text"]) <= 75
        assert len(button["url"]) <= SLACK_URL_MAX
    if case == "http-links":
        assert _buttons(message.blocks) == []  # only https links become buttons
    if case == "hostile":
        text = json.dumps(message.blocks, ensure_ascii=False)
        for mrkdwn in mrkdwn_texts(message):  # plain_text (the header) shows `<@U999>` literally
            assert "<@U999>" not in mrkdwn
            assert "<!channel>" not in mrkdwn
        assert "Paging failed" in text


# =================================================================================================
# The PagerDuty event
# =================================================================================================


def test_dedup_key_depends_on_the_cluster_only() -> None:
    first = demo_diagnosis()
    later = msgspec.structs.replace(
        first, checked_at=first.checked_at + timedelta(hours=1), situations=first.situations[1:]
    )
    a = pagerduty_event(first, routing_key=ROUTING_KEY)
    b = pagerduty_event(later, routing_key=ROUTING_KEY)
    assert a["dedup_key"] == b["dedup_key"] == "calico-bot/demo"
    assert a["payload"]["class"] != b["payload"]["class"]
    other = pagerduty_event(msgspec.structs.replace(first, cluster="prod-1"), routing_key=ROUTING_KEY)
    assert other["dedup_key"] == "calico-bot/prod-1"
    long = dedup_key("c" * 1000)
    assert len(long) <= PD_DEDUP_KEY_MAX
    assert long == dedup_key("c" * 1000) != dedup_key("c" * 999)


def test_pagerduty_event_limits_and_severity() -> None:
    event = pagerduty_event(
        hostile_diagnosis(situations=40, findings=10, actions=10), routing_key=ROUTING_KEY
    )
    assert len(event["payload"]["summary"]) <= 1024
    assert len(event["dedup_key"]) <= PD_DEDUP_KEY_MAX
    assert len(json.dumps(event)) < 512 * 1024
    assert pagerduty_event(healthy_diagnosis(), routing_key="k")["payload"]["severity"] == "info"
    unknown = msgspec.structs.replace(healthy_diagnosis(), situations=())
    assert pagerduty_event(unknown, routing_key="k")["payload"]["severity"] == "error"
    warning = demo_diagnosis()
    warning = msgspec.structs.replace(
        warning,
        findings=tuple(msgspec.structs.replace(f, severity=Severity.WARNING) for f in warning.findings),
    )
    assert pagerduty_event(warning, routing_key="k")["payload"]["severity"] == "warning"


# =================================================================================================
# A fake PagerDuty Events API v2, over real HTTP
# =================================================================================================


class FakePagerDuty:
    """`POST /v2/enqueue` on 127.0.0.1:<random>: records each event and answers as scripted
    (`mode`: "ok" -> 202, 400, 429, 500, or "hang" until the fake stops)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.mode: str | int = "ok"
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _enqueue(self, request: web.Request) -> web.StreamResponse:
        event = await request.json()
        self.events.append(event)
        if self.mode == "hang":
            await self._release.wait()
            return web.json_response({"status": "success"}, status=202)
        if self.mode == 500:
            return web.Response(status=500, text="<html>Internal Server Error</html>")
        if self.mode == 429:
            return web.json_response(
                {
                    "status": "throttle event",
                    "message": "Requests for this service are arriving too quickly.",
                },
                status=429,
            )
        if self.mode == 400:  # an answer that echoes the key: the adapter must scrub it
            return web.json_response(
                {
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": [f"Invalid routing key {event.get('routing_key')}"],
                },
                status=400,
            )
        key = event.get("dedup_key") or "generated-by-pagerduty"
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": key}, status=202
        )

    async def __aenter__(self) -> FakePagerDuty:
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._enqueue)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/v2/enqueue"
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def fake_pd() -> AsyncIterator[FakePagerDuty]:
    async with FakePagerDuty() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _all_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


def assert_no_routing_key(result: PagingResult, caplog: pytest.LogCaptureFixture) -> None:
    assert ROUTING_KEY not in result.message
    assert ROUTING_KEY not in result.dedup_key
    for record in caplog.records:
        assert ROUTING_KEY not in record.getMessage(), record
        assert ROUTING_KEY not in repr(record.args), record


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_two_triggers_for_one_cluster_carry_the_same_dedup_key(
    fake_pd: FakePagerDuty, caplog: pytest.LogCaptureFixture
) -> None:
    first = demo_diagnosis()
    later = msgspec.structs.replace(first, checked_at=first.checked_at + timedelta(minutes=30))
    results = [
        await send_event(pagerduty_event(d, routing_key=ROUTING_KEY), url=fake_pd.url) for d in (first, later)
    ]
    assert [r.ok for r in results] == [True, True]
    assert results[0].dedup_key == results[1].dedup_key == "calico-bot/demo"
    assert [e["dedup_key"] for e in fake_pd.events] == ["calico-bot/demo", "calico-bot/demo"]
    assert all(e["routing_key"] == ROUTING_KEY for e in fake_pd.events)  # sent, in the body
    assert fake_pd.events[0]["payload"]["timestamp"] != fake_pd.events[1]["payload"]["timestamp"]
    for result in results:
        assert_no_routing_key(result, caplog)
    message = handoff_message(demo_handoff(), first, paging=paging_status(results[0]))
    validate(message)
    assert "PagerDuty incident triggered (dedup key `calico-bot/demo`)" in json.dumps(message.blocks)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (500, "HTTP 500"),
        (429, "HTTP 429"),
        (400, "HTTP 400"),
    ],
)
async def test_pagerduty_errors_are_results_not_exceptions(
    fake_pd: FakePagerDuty, caplog: pytest.LogCaptureFixture, mode: int, expected: str
) -> None:
    fake_pd.mode = mode
    result = await send_event(pagerduty_event(demo_diagnosis(), routing_key=ROUTING_KEY), url=fake_pd.url)
    assert not result.ok
    assert expected in result.message
    assert result.dedup_key == "calico-bot/demo"
    assert len(fake_pd.events) == 1  # one attempt
    assert_no_routing_key(result, caplog)
    if mode == 400:
        assert "[routing key]" in result.message  # PagerDuty echoed it; scrubbed


async def test_a_hanging_pagerduty_times_out(
    fake_pd: FakePagerDuty, caplog: pytest.LogCaptureFixture
) -> None:
    fake_pd.mode = "hang"
    started = time.monotonic()
    result = await send_event(
        pagerduty_event(demo_diagnosis(), routing_key=ROUTING_KEY), url=fake_pd.url, timeout=0.5
    )
    assert time.monotonic() - started < 5
    assert not result.ok
    assert "did not answer within 0.5 s" in result.message
    assert_no_routing_key(result, caplog)


async def test_pagerduty_down_still_gives_a_handoff_that_says_paging_failed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v2/enqueue"
    diagnosis = demo_diagnosis()
    result = await send_event(pagerduty_event(diagnosis, routing_key=ROUTING_KEY), url=url, timeout=2)
    assert not result.ok
    assert "could not reach PagerDuty" in result.message
    assert_no_routing_key(result, caplog)
    message = handoff_message(demo_handoff(requested_by="U1"), diagnosis, paging=paging_status(result))
    validate(message)
    assert message.blocks[2]["text"]["text"].startswith("⚠️ Paging failed: could not reach PagerDuty")
    assert "Nobody was paged" in message.blocks[2]["text"]["text"]
    assert "Paging failed" in message.text


async def test_an_invalid_url_is_a_result_too(caplog: pytest.LogCaptureFixture) -> None:
    result = await send_event(pagerduty_event(demo_diagnosis(), routing_key=ROUTING_KEY), url="not-a-url")
    assert not result.ok
    assert result.message
    assert_no_routing_key(result, caplog)


# =================================================================================================
# Layering
# =================================================================================================


def test_escalation_is_pure() -> None:
    import bot.escalation.handoff as module

    tree = ast.parse(Path(module.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {
        "aiohttp",
        "socket",
        "asyncio",
        "requests",
        "bot.escalation.pagerduty",
        "slack_sdk",
        "redis",
    }


def test_handoff_is_frozen() -> None:
    handoff = demo_handoff()
    with pytest.raises(AttributeError):
        handoff.title = "x"  # type: ignore[misc]
    assert replace(handoff, title="x").title == "x"
