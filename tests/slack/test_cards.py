"""`bot.slack.cards`: Block Kit messages of a diagnosis, golden-tested, and inside Slack's limits for any input.

- goldens (`tests/slack/golden/*.json`): the demo card, the same with `node_filter`, a healthy card
  with a note, an "unknown" card (a read failed), a 150-worker card (the map as counts), the demo's
  thread, and the progress / error messages. Diagnoses are built directly (pinned time, fixed
  names), so the goldens change only when the rendering does. Regenerate with
  `UPDATE_GOLDEN=1 .venv/bin/pytest tests/slack/test_cards.py`; a difference fails with a unified
  diff. To look at a card, paste `{"blocks": [...]}` from a golden into
  https://app.slack.com/block-kit-builder.
- limits: `validate()` walks every block of every message (block count, section / header /
  context / button / confirm lengths, unique action ids, element counts, non-empty fallback,
  balanced code, escaped text) and also lets slack_sdk's own validators build each block; it runs
  on every golden and on the size tests: 1 worker, 5,000 healthy workers read from the simulator,
  2,000 bad workers over 3 zones judged by the real checks, and a hostile diagnosis with 40
  situations x 40 findings, 10,000-character evidence, 500 actions and markup in every string.
- `worker_states`: the precedence of the states; `zones_of`; the text primitives.
"""

from __future__ import annotations

import difflib
import json
import os
import random
import re
import tempfile
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from slack_sdk.models.blocks import Block as SdkBlock

from bot.slack import blockkit, cards
from bot.slack.blockkit import Message
from bot.slack.cards import (
    ACTION_BUTTON,
    ESCALATE_BUTTON,
    GATHER_BUTTON,
    RUNBOOK_BUTTON,
    diagnosis_card,
    thread_details,
)
from checks.diagnose import diagnose
from checks.model import (
    RUNBOOK_URL,
    Action,
    ActionKind,
    Diagnosis,
    Finding,
    ObjRef,
    RunbookSection,
    Severity,
    Situation,
    SituationId,
    Unknown,
    WorkerState,
    runbook_anchor,
)
from checks.objects import Node
from checks.snapshot import ReadError, Snapshot
from checks.worker_map import worker_states, zones_of
from tests.factories import NOW, calico_pod, node, snapshot, unknown_node

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
S = SituationId

# =================================================================================================
# The validator
# =================================================================================================

ALLOWED_TOKEN = re.compile(r"<(?:@[UW][A-Z0-9]+|!date\^\d+\^[^|<>]*\|[^<>]*|https://[^|<>\s]+(?:\|[^<>]*)?)>")
ENTITY = re.compile(r"&(?:amp|lt|gt);")


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_mrkdwn(text: str, where: str) -> list[str]:
    problems = []
    if not text.strip():
        problems.append(f"{where}: empty text")
    if text.count("```") % 2:
        problems.append(f"{where}: unbalanced code fence")
    outside = "".join(text.split("```")[0::2])
    if outside.count("`") % 2:
        problems.append(f"{where}: unbalanced inline code")
    bare = ALLOWED_TOKEN.sub("", text)
    if "<" in bare or ">" in bare:
        problems.append(f"{where}: unescaped < or > (or a broken link/mention): {bare[:200]!r}")
    if "&" in ENTITY.sub("", bare):
        problems.append(f"{where}: unescaped &")
    return problems


def _plain_ok(obj: Any, limit: int, where: str) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") != "plain_text":
        return [f"{where}: not plain_text"]
    text = obj.get("text", "")
    if not text or _units(text) > limit:
        return [f"{where}: plain_text length {_units(text)} not in 1..{limit}"]
    return []


def validate(message: Message) -> None:
    """Every Block Kit limit this project relies on; fails listing all the problems found."""
    problems: list[str] = []
    if not message.text.strip():
        problems.append("fallback text is empty")
    if _units(message.text) > 3000:
        problems.append(f"fallback text is {_units(message.text)} long")
    blocks = message.blocks
    if not 1 <= len(blocks) <= 50:
        problems.append(f"{len(blocks)} blocks")
    action_ids: list[str] = []
    for index, block in enumerate(blocks):
        where = f"block {index} ({block.get('type')})"
        kind = block.get("type")
        if kind == "section":
            text = block["text"]
            if text["type"] == "mrkdwn":
                problems += check_mrkdwn(text["text"], where)
            if _units(text["text"]) > 3000:
                problems.append(f"{where}: section text {_units(text['text'])} > 3000")
            fields = block.get("fields", [])
            if len(fields) > 10 or any(_units(f["text"]) > 2000 for f in fields):
                problems.append(f"{where}: fields")
        elif kind == "header":
            problems += _plain_ok(block["text"], 150, where)
        elif kind == "context":
            elements = block["elements"]
            if not 1 <= len(elements) <= 10:
                problems.append(f"{where}: {len(elements)} context elements")
            for element in elements:
                problems += check_mrkdwn(element["text"], where)
                if _units(element["text"]) > 3000:
                    problems.append(f"{where}: context element {_units(element['text'])} long")
        elif kind == "actions":
            elements = block["elements"]
            if not 1 <= len(elements) <= 25:
                problems.append(f"{where}: {len(elements)} action elements")
            for element in elements:
                assert element["type"] == "button"
                problems += _plain_ok(element["text"], 75, f"{where} button")
                action_ids.append(element["action_id"])
                if len(element["action_id"]) > 255:
                    problems.append(f"{where}: action_id too long")
                if _units(element.get("value", "")) > 2000:
                    problems.append(f"{where}: button value {_units(element['value'])} > 2000")
                if len(element.get("url", "")) > 3000:
                    problems.append(f"{where}: url too long")
                confirm = element.get("confirm")
                if confirm is not None:
                    problems += _plain_ok(confirm["title"], 100, f"{where} confirm title")
                    problems += _plain_ok(confirm["confirm"], 30, f"{where} confirm button")
                    problems += _plain_ok(confirm["deny"], 30, f"{where} deny button")
                    if _units(confirm["text"]["text"]) > 300:
                        problems.append(f"{where}: confirm text {_units(confirm['text']['text'])} > 300")
                    problems += check_mrkdwn(confirm["text"]["text"], f"{where} confirm")
        elif kind != "divider":
            problems.append(f"{where}: unexpected block type")
        try:  # slack_sdk's own validators (they raise SlackObjectFormationError)
            parsed = SdkBlock.parse(block)
            assert parsed is not None
            parsed.to_dict()
        except Exception as exc:
            problems.append(f"{where}: slack_sdk: {exc}")
    duplicates = [a for a, n in Counter(action_ids).items() if n > 1]
    if duplicates:
        problems.append(f"duplicate action ids {duplicates}")
    assert not problems, "\n".join(problems)


def validate_thread(messages: list[Message]) -> None:
    assert 1 <= len(messages) <= 10
    for message in messages:
        validate(message)


def mrkdwn_texts(message: Message) -> list[str]:
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("type") == "mrkdwn":
                found.append(value["text"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(message.blocks)
    return found


def all_text(message: Message) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


# =================================================================================================
# Fixtures: a demo-like cluster, built directly (pinned time, fixed names)
# =================================================================================================

DEMO_NODES = {
    "dal10": ("10.188.156.4", "10.188.156.5", "10.188.156.6", "10.188.156.7"),
    "dal12": ("10.189.156.4", "10.189.156.5", "10.189.156.6", "10.189.156.9"),
    "dal13": ("10.190.156.4", "10.190.156.5", "10.190.156.6", "10.190.156.12"),
}
DEAD, BAD, BAD_POD = "10.189.156.9", "10.190.156.12", "calico-node-v9jwz"


def demo_snapshot() -> Snapshot:
    nodes = [
        unknown_node(name, zone=zone) if name == DEAD else node(name, zone=zone)
        for zone, names in DEMO_NODES.items()
        for name in names
    ]
    pods = [
        calico_pod(n.name, ready=False, waiting="CrashLoopBackOff", restarts=14, name=BAD_POD)
        if n.name == BAD
        else calico_pod(n.name)
        for n in nodes
    ]
    return snapshot(cluster="demo", nodes=tuple(nodes), pods=tuple(pods))


def demo_diagnosis() -> Diagnosis:
    kubelet = Finding(
        check="worker-not-ready-kubelet",
        situation=S.WORKER_NOT_READY_KUBELET,
        severity=Severity.CRITICAL,
        title=f"Worker {DEAD} (dal12, pool default) is NotReady: the kubelet stopped posting node status",
        detail=(
            "Not a Calico problem: follow the worker troubleshooting docs (worker Critical/NotReady): "
            "this is the worker's link to the master, which does not use Calico. calico-node on this "
            "worker is not judged from its pod status, which is stale while the kubelet is silent."
        ),
        evidence=(
            "Ready Unknown NodeStatusUnknown Kubelet stopped posting node status. (since 14m)",
            "taint node.kubernetes.io/unreachable:NoSchedule",
            "taint node.kubernetes.io/unreachable:NoExecute",
            "node lease last renewed 15m ago",
        ),
        objects=(ObjRef(kind="Node", name=DEAD),),
        runbook_section=RunbookSection.REASON_1.value,
    )
    crash = Finding(
        check="calico-bad-on-few-workers",
        situation=S.CALICO_BAD_ON_FEW_WORKERS,
        severity=Severity.CRITICAL,
        title=f"{BAD_POD} on worker {BAD} (dal13, pool default): CrashLoopBackOff",
        detail=(
            "Something is wrong with this worker. The logs say: another (stale) Calico Node object holds "
            "this worker's IP: a replaced worker whose Calico Node was never deleted (calicoctl delete "
            "node). Cordon it, gather the data, then delete the calico-node pod; if that does not help, "
            "reboot, then reload (replace on VPC). If it comes back after a reload: check calico-typha "
            "health; on classic, VLAN spanning or VRF (`ibmcloud account show`) and any gateway/firewall "
            "in front of these workers; on VPC, security groups, ACLs, public gateway and custom routes."
        ),
        evidence=(
            f"container calico-node: Waiting CrashLoopBackOff “back-off 5m0s restarting failed "
            f"container=calico-node pod={BAD_POD}_calico-system(2ad9b224-5060-4949-b4c3-603c1ddcb2fb)” "
            "restarts 14 last: Error exit code 1 4m ago",
            f"Warning BackOff 20s (x204) kubelet: Back-off restarting failed container calico-node in pod "
            f"{BAD_POD}_calico-system(2ad9b224-5060-4949-b4c3-603c1ddcb2fb)",
            'Warning Unhealthy 4m (x9) kubelet: Liveness probe failed: Get "http://localhost:9099/liveness": '
            "dial tcp [::1]:9099: connect: connection refused",
            "log calico-node (previous): 2026-11-29 11:51:04.000 [WARNING][9] startup/startup.go 997: "
            f"Calico node '10.190.156.77' is already using the IPv4 address {BAD}.",
        ),
        objects=(ObjRef(kind="Node", name=BAD), ObjRef(kind="Pod", name=BAD_POD, namespace="calico-system")),
        runbook_section=RunbookSection.FEW_WORKERS.value,
    )
    pod = f"calico-system/{BAD_POD}"
    actions = (
        Action.propose(
            ActionKind.CORDON, BAD, f"stop new pods landing on {BAD}: calico-node is bad on this worker"
        ),
        Action.propose(ActionKind.GATHER, BAD, "runbook: gather logs and describe output first"),
        Action.propose(
            ActionKind.DELETE_POD,
            pod,
            f"runbook step 1: delete calico-node on {BAD}; the DaemonSet recreates it",
        ),
        Action.propose(ActionKind.REBOOT_WORKER, BAD, "runbook step 2, if deleting the pod did not help"),
        Action.propose(ActionKind.RELOAD_WORKER, BAD, "runbook step 3, if the reboot did not help"),
        Action.propose(ActionKind.UNCORDON, BAD, "after calico-node is Running and Ready again"),
    )
    return Diagnosis(
        cluster="demo",
        checked_at=NOW,
        source="sim",
        situations=(
            Situation(id=kubelet.situation, summary=kubelet.title),
            Situation(id=crash.situation, summary=crash.title),
        ),
        findings=(kubelet, crash),
        actions=actions,
        unknowns=(),
    )


def healthy_diagnosis(cluster: str = "c1", notes: tuple[Finding, ...] = ()) -> Diagnosis:
    return Diagnosis(
        cluster=cluster,
        checked_at=NOW,
        source="live",
        situations=(Situation(id=S.HEALTHY, summary="calico-node is healthy on every worker"),),
        findings=notes,
        actions=(),
        unknowns=(),
    )


def demo_card(**kw: Any) -> Message:
    snap, diag = demo_snapshot(), demo_diagnosis()
    return diagnosis_card(diag, workers=worker_states(snap, diag), zones=zones_of(snap), **kw)


# =================================================================================================
# Goldens
# =================================================================================================


def _as_json(message: Message) -> Any:
    return {"text": message.text, "blocks": message.blocks, "attachments": message.attachments}


def assert_golden(name: str, value: Any) -> None:
    path = GOLDEN / f"{name}.json"
    rendered = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"golden {path} is missing: run UPDATE_GOLDEN=1 pytest tests/slack/test_cards.py")
    expected = path.read_text(encoding="utf-8")
    if rendered != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), rendered.splitlines(), f"golden/{name}.json", "rendered", lineterm=""
        )
        lines = list(diff)
        shown = "\n".join(lines[:200]) + (
            f"\n… {len(lines) - 200} more diff lines" if len(lines) > 200 else ""
        )
        pytest.fail(
            f"{name}: the rendering differs from the golden file "
            f"(if intended: UPDATE_GOLDEN=1 pytest tests/slack/test_cards.py)\n{shown}",
            pytrace=False,
        )


def test_golden_demo_card() -> None:
    message = demo_card(requested_by="U123")
    validate(message)
    assert_golden("card_demo", _as_json(message))


def test_golden_demo_card_for_one_node() -> None:
    message = demo_card(requested_by="U123", node_filter=BAD)
    validate(message)
    assert_golden("card_demo_node", _as_json(message))


def test_golden_healthy_card_with_a_note() -> None:
    nodes = tuple(node(f"10.188.156.{i}", zone="dal10") for i in (4, 5, 6))
    snap = snapshot(nodes=nodes)
    note = Finding(
        check="calico-down-on-worker",
        situation=S.CALICO_DOWN_ON_WORKER,
        severity=Severity.INFO,
        title="calico-node on 10.188.156.5 restarted 3m ago and is Ready again",
        objects=(ObjRef(kind="Node", name="10.188.156.5"),),
    )
    diag = healthy_diagnosis(notes=(note,))
    message = diagnosis_card(diag, workers=worker_states(snap, diag), zones=zones_of(snap), requested_by=None)
    validate(message)
    assert "🟢🟢🟢" in all_text(message)
    assert_golden("card_healthy", _as_json(message))


def test_golden_unknown_card() -> None:
    nodes = (node("10.188.156.4", zone="dal10"), node("10.188.156.5", zone="", pool="edge"))
    snap = snapshot(
        nodes=nodes,
        pods=(),
        errors=(ReadError(read="calico-pods", reason="forbidden", status=403),),
    )
    diag = Diagnosis(
        cluster="c1",
        checked_at=NOW,
        source="live",
        situations=(),
        findings=(),
        actions=(),
        unknowns=(
            Unknown(check="collect", what="calico-pods", reason="calico-pods: forbidden (HTTP 403)"),
            Unknown(
                check="calico-bad-on-few-workers",
                what="calico-bad-on-few-workers",
                reason="not judged: needs calico-pods: forbidden (HTTP 403)",
            ),
        ),
    )
    workers = worker_states(snap, diag)
    assert set(workers.values()) == {WorkerState.UNKNOWN}
    message = diagnosis_card(diag, workers=workers, zones=zones_of(snap), requested_by="U123")
    validate(message)
    assert message.text.startswith("❔ c1: Unknown")
    assert_golden("card_unknown", _as_json(message))


def pool_crash_case(total: int, bad_per_zone: int) -> tuple[Snapshot, Diagnosis]:
    """`total` workers over 3 zones; the first `bad_per_zone` of each zone crash-loop (pool edge)."""
    nodes: list[Node] = []
    pods = []
    bad: list[str] = []
    for index in range(total):
        zone = ("dal10", "dal12", "dal13")[index % 3]
        name = f"10.{188 + index % 3}.{index // 3 // 250}.{index // 3 % 250 + 4}"
        is_bad = index // 3 < bad_per_zone
        nodes.append(node(name, zone=zone, pool="edge" if is_bad else "default"))
        if is_bad:
            bad.append(name)
            pods.append(
                calico_pod(
                    name, ready=False, waiting="CrashLoopBackOff", restarts=17, name=f"calico-node-{index}"
                )
            )
        else:
            pods.append(calico_pod(name, name=f"calico-node-{index}"))
    snap = snapshot(cluster="edge-cluster", nodes=tuple(nodes), pods=tuple(pods))
    crash = Finding(
        check="calico-crashloop-most-workers",
        situation=S.CALICO_CRASHLOOP_MOST_WORKERS,
        severity=Severity.CRITICAL,
        title=f"calico-node is failing on {len(bad)} of {total} workers: CrashLoopBackOff",
        detail="The workers themselves are reachable, so the cause is most likely Calico configuration.",
        evidence=(
            f"{len(bad)}× CrashLoopBackOff",
            f"the affected workers share: worker pool edge ({len(bad)}/{len(bad)} affected, 0/{total - len(bad)} healthy)",
            "recent change: FelixConfiguration default changed 90m ago by kubectl-edit",
            "log (5 workers): 2026-11-29 11:50:05.000 [WARNING][68] felix/health.go 290: Reporter is not live: FelixStartup",
            "10.188.0.4: container calico-node: Waiting CrashLoopBackOff restarts 17",
        ),
        objects=tuple(ObjRef(kind="Node", name=n) for n in bad[:100]),
        runbook_section=RunbookSection.MOST_WORKERS.value,
    )
    typha = Finding(
        check="typha-unhealthy",
        situation=S.TYPHA_UNHEALTHY,
        severity=Severity.WARNING,
        title="calico-node cannot reach calico-typha although the typha pods look healthy",
        evidence=(
            "felix/sync_client.go 166: Failed to connect to typha endpoint 10.190.0.4:5473 … i/o timeout",
        ),
    )
    diag = Diagnosis(
        cluster="edge-cluster",
        checked_at=NOW,
        source="sim",
        situations=(
            Situation(id=crash.situation, summary=crash.title),
            Situation(id=typha.situation, summary=typha.title),
        ),
        findings=(crash, typha),
        actions=(
            Action.propose(ActionKind.GATHER, bad[0], "runbook: gather logs from an affected worker"),
            Action.propose(
                ActionKind.ESCALATE, "edge-cluster", "cluster-wide Calico failure: involve armada-network"
            ),
        ),
        unknowns=(),
    )
    return snap, diag


def test_golden_150_workers_map_as_counts() -> None:
    snap, diag = pool_crash_case(150, 20)
    workers = worker_states(snap, diag)
    assert Counter(workers.values()) == {WorkerState.CALICO_BAD: 60, WorkerState.HEALTHY: 90}
    message = diagnosis_card(diag, workers=workers, zones=zones_of(snap), requested_by="U42")
    validate(message)
    text = all_text(message)
    assert "`dal10` 50: 🔴 20 · 🟢 30" in text
    assert_golden("card_150_workers", _as_json(message))


def test_golden_demo_thread() -> None:
    messages = thread_details(demo_diagnosis())
    validate_thread(messages)
    assert_golden("thread_demo", [_as_json(m) for m in messages])


def test_golden_progress_and_errors() -> None:
    messages = {
        "checking": cards.checking_message("cluster-x", requested_by="U123"),
        "progress_start": cards.progress_message(
            "cluster-x", requested_by="U123", phase="nodes", done=0, total=0
        ),
        "progress": cards.progress_message("cluster-x", requested_by="U123", phase="pods", done=7, total=18),
        "error": cards.error_card(
            "cluster-x",
            what_failed="reading nodes: HTTP 403 (forbidden) for user system:serviceaccount:calico-bot:reader",
            try_next="ask a cluster admin to apply the calico-bot ClusterRole, then `/calico check cluster-x` again",
            requested_by="U123",
        ),
    }
    for message in messages.values():
        validate(message)
    assert messages["checking"].text == "⏳ Checking cluster-x… (requested by <@U123>)"
    assert_golden("progress_and_errors", {k: _as_json(m) for k, m in messages.items()})


# =================================================================================================
# What the card says (beyond the goldens)
# =================================================================================================


def _buttons(message: Message) -> list[dict[str, Any]]:
    return [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def test_demo_card_content() -> None:
    message = demo_card(requested_by="U123")
    text = all_text(message)
    assert message.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Calico check · demo", "emoji": True},
    }
    assert message.blocks[1]["text"]["text"].startswith("🔴 *Problems found*")
    # the literal evidence, in code format
    assert "Calico node '10.190.156.77' is already using the IPv4 address 10.190.156.12." in text
    assert "```\\nReady Unknown NodeStatusUnknown" in text
    # the map: one symbol per worker, per zone
    assert "`dal12` 🟢🟢🟢⚫" in text
    assert "`dal13` 🟢🟢🟢🔴" in text
    buttons = _buttons(message)
    labels = [b["text"]["text"] for b in buttons]
    assert labels == [
        "Cordon 10.190.156.12",
        "Gather 10.190.156.12",
        "Delete pod calico-node-v9jwz",
        "Reboot 10.190.156.12",
        "Escalate",
        "📖 Runbook",
    ]
    cordon = buttons[0]
    assert cordon["action_id"].startswith(ACTION_BUTTON)
    assert cordon["style"] == "danger"
    assert "approv" in cordon["confirm"]["text"]["text"]
    assert json.loads(cordon["value"]) == {"kind": "cordon", "cluster": "demo", "target": BAD}
    assert buttons[1]["action_id"].startswith(GATHER_BUTTON)
    assert "style" not in buttons[1]
    assert buttons[4]["action_id"].startswith(ESCALATE_BUTTON)
    runbook = buttons[5]
    assert runbook["action_id"].startswith(RUNBOOK_BUTTON)
    assert (
        runbook["url"]
        == RUNBOOK_URL + "#reason-1-the-kubelet-has-not-contacted-the-master-in-at-least-the-last-30-seconds"
    )
    footer = message.blocks[-1]["elements"][0]["text"]
    assert "source sim" in footer
    assert "requested by <@U123>" in footer
    assert "<!date^" in footer
    assert "worker-not-ready-kubelet" in message.text
    assert "calico-bad-on-few-workers" in message.text


def test_node_filter_puts_that_workers_findings_first() -> None:
    message = demo_card(requested_by="U123", node_filter=BAD)
    sections = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    first_situation = next(s for s in sections if s.startswith(("🔴 *1.", "🟠 *1.")))
    assert "`calico-bad-on-few-workers`" in first_situation
    assert "📍" in first_situation
    assert any(
        "📍 Worker `10.190.156.12`" in e["text"]
        for b in message.blocks
        if b["type"] == "context"
        for e in b["elements"]
    )
    assert _buttons(message)[-1]["url"].endswith(
        "#calico-node-pod-not-running-on-one-or-a-few-customer-workers"
    )

    elsewhere = demo_card(requested_by="U123", node_filter="10.188.156.4")
    gathers = [b for b in _buttons(elsewhere) if b["action_id"].startswith(GATHER_BUTTON)]
    assert {json.loads(b["value"])["target"] for b in gathers} == {BAD, "10.188.156.4"}
    assert "no finding names it" in all_text(elsewhere)
    assert "not among the workers read" in all_text(demo_card(requested_by=None, node_filter="10.9.9.9"))


def test_healthy_card_has_only_the_runbook_button() -> None:
    snap = snapshot(nodes=(node("10.1.1.1"),))
    diag = healthy_diagnosis()
    message = diagnosis_card(diag, workers=worker_states(snap, diag), zones=zones_of(snap), requested_by="U1")
    validate(message)
    assert [b["text"]["text"] for b in _buttons(message)] == ["📖 Runbook"]
    assert message.text.startswith("✅ c1: Healthy")


def test_hostile_names_are_escaped_and_never_mention() -> None:
    diag = msgspec.structs.replace(demo_diagnosis(), cluster="<!channel> & `prod`")
    snap = demo_snapshot()
    message = diagnosis_card(
        diag, workers=worker_states(snap, diag), zones=zones_of(snap), requested_by="<!here>"
    )
    validate(message)
    text = "\n".join(mrkdwn_texts(message)) + message.text  # plain_text and values are literal
    assert "<!channel>" not in text
    assert "<!here>" not in text
    assert "&lt;!channel&gt; &amp;" in message.text
    assert "&lt;!here&gt;" in all_text(message)


# =================================================================================================
# Limits, whatever the input
# =================================================================================================


def test_one_worker() -> None:
    snap = snapshot(nodes=(node("10.1.1.1"),))
    diag = healthy_diagnosis()
    message = diagnosis_card(diag, workers=worker_states(snap, diag), zones=zones_of(snap), requested_by="U1")
    validate(message)
    assert "`dal10` 🟢" in all_text(message)
    validate_thread(thread_details(diag))


def test_no_workers_read() -> None:
    diag = healthy_diagnosis()
    message = diagnosis_card(diag, workers={}, zones={}, requested_by=None)
    validate(message)
    assert "No workers could be read" in all_text(message)


async def read_sim(scenario: str, nodes: int | None = None) -> Snapshot:
    """The simulator serving `scenario`, read by the real collector (as `calico-bot check --sim`)."""
    from bot import clock
    from bot.cluster.collect import collect
    from bot.cluster.kube import KubeTransport, resolve_cluster
    from bot.sim import SimCluster

    async with SimCluster(scenario, nodes=nodes) as sim:
        with tempfile.TemporaryDirectory() as tmp:
            kubeconfig = Path(tmp) / "kubeconfig"
            sim.write_kubeconfig(kubeconfig, context=scenario)
            transport = KubeTransport(resolve_cluster(scenario, kubeconfig=str(kubeconfig)))
            try:
                return await collect(transport, cluster=scenario, source="sim", collected_at=clock.utcnow())
            finally:
                transport.close()


def _scenarios() -> list[str]:
    from bot.sim import scenario_names

    return sorted(scenario_names())


@pytest.mark.parametrize("scenario", _scenarios())
async def test_every_simulated_scenario_renders_within_limits(scenario: str) -> None:
    snap = await read_sim(scenario)
    diag = diagnose(snap, now=snap.collected_at)
    workers = worker_states(snap, diag)
    assert set(workers) >= {n.name for n in snap.nodes}
    named = {
        o.name
        for f in diag.findings
        if f.severity in (Severity.CRITICAL, Severity.WARNING)
        for o in f.objects
        if o.kind == "Node"
    }
    assert all(workers[n] != WorkerState.HEALTHY for n in named)
    if diag.healthy:
        assert WorkerState.CALICO_BAD not in workers.values()
    for node_filter in (None, *sorted(named)[:1]):
        message = diagnosis_card(
            diag, workers=workers, zones=zones_of(snap), requested_by="U123", node_filter=node_filter
        )
        validate(message)
    validate_thread(thread_details(diag))


async def test_five_thousand_healthy_workers_from_the_simulator() -> None:
    snap = await read_sim("healthy", nodes=5000)
    diag = diagnose(snap, now=snap.collected_at)
    assert diag.healthy
    workers = worker_states(snap, diag)
    assert len(workers) == 5000
    assert set(workers.values()) == {WorkerState.HEALTHY}
    message = diagnosis_card(diag, workers=workers, zones=zones_of(snap), requested_by="U123")
    validate(message)
    assert "🟢🟢" not in all_text(message)  # counts per zone, not 5,000 symbols
    validate_thread(thread_details(diag))


def test_two_thousand_bad_workers_over_three_zones_judged_by_the_checks() -> None:
    snap, _ = pool_crash_case(3000, 667)
    diag = diagnose(snap, now=NOW)
    assert S.CALICO_CRASHLOOP_MOST_WORKERS in {s.id for s in diag.situations}
    workers = worker_states(snap, diag)
    assert Counter(workers.values())[WorkerState.CALICO_BAD] == 2001  # beyond the 100 the finding lists
    message = diagnosis_card(diag, workers=workers, zones=zones_of(snap), requested_by="U123")
    validate(message)
    text = all_text(message)
    assert "`dal13` 1,000: 🔴 667 · 🟢 333" in text
    assert "more_" in text  # the affected list is cut per zone
    validate_thread(thread_details(diag))


NASTY = "<@U999> <!channel> & `tick ```fence <http://x|y> 🟢 &amp; \\ *bold* _it_ ~s~ \n"


def hostile_diagnosis(situations: int = 40, findings: int = 40, actions: int = 500) -> Diagnosis:
    ids = [s for s in SituationId if s != S.HEALTHY]
    long_evidence = ("x" * 97 + "&<>") * 34  # 3,400 characters before escaping, ~4,700 after
    found = [
        Finding(
            check=f"check-{i}",
            situation=ids[i % len(ids)],
            severity=(Severity.CRITICAL, Severity.WARNING, Severity.INFO)[i % 3],
            title=NASTY * 20 + f" finding {i}",
            detail=NASTY * 100,
            evidence=(NASTY * 200, long_evidence * 3, "`" * 9999, "🟥" * 10_000),
            objects=tuple(ObjRef(kind="Node", name=f"10.0.{i}.{n}") for n in range(60)),
            runbook_section=NASTY,
        )
        for i in range(situations * findings)
    ]
    return Diagnosis(
        cluster=NASTY * 30,
        checked_at=datetime(2026, 1, 1, tzinfo=UTC),
        source="dump",
        situations=tuple(Situation(id=ids[i % len(ids)], summary=NASTY * 40) for i in range(situations)),
        findings=tuple(found),
        actions=tuple(
            Action.propose(list(ActionKind)[i % len(ActionKind)], f"10.0.0.{i}" + "y" * (i * 7), NASTY * 10)
            for i in range(actions)
        ),
        unknowns=tuple(Unknown(check="collect", what=f"read-{i}", reason=NASTY * 5) for i in range(300)),
    )


def test_hostile_diagnosis_stays_within_every_limit() -> None:
    diag = hostile_diagnosis()
    zones = {f"10.0.{i}.{n}": f"zone-{i % 50}-" + "z" * 200 for i in range(300) for n in range(60)}
    workers = {name: list(WorkerState)[hash(name) % 5] for name in zones}
    for node_filter in (None, "10.0.3.7", NASTY):
        message = diagnosis_card(
            diag, workers=workers, zones=zones, requested_by="U123", node_filter=node_filter
        )
        validate(message)
        assert len(_buttons(message)) <= 8
    messages = thread_details(diag)
    validate_thread(messages)
    assert len(messages) == 10
    assert "more in the attached JSON" in messages[-1].blocks[-1]["text"]["text"]


def test_ten_thousand_character_evidence_is_kept_whole_in_the_thread() -> None:
    line = "".join(f"{i:05d} " for i in range(1700))[:10_000]
    base = demo_diagnosis()
    finding = msgspec.structs.replace(base.findings[1], evidence=(line,))
    diag = msgspec.structs.replace(base, findings=(base.findings[0], finding))
    validate(demo_card(requested_by="U1"))
    messages = thread_details(diag)
    validate_thread(messages)
    code = "".join(
        b["text"]["text"].removeprefix("```\n").removesuffix("\n```")
        for m in messages
        for b in m.blocks
        if b["type"] == "section" and b["text"]["text"].startswith("```")
    )
    assert line in code.replace("\n", "")


@pytest.mark.parametrize("count", [1, 5, 26, 500])
def test_many_actions(count: int) -> None:
    base = demo_diagnosis()
    diag = msgspec.structs.replace(
        base, actions=tuple(Action.propose(ActionKind.CORDON, f"10.0.0.{i}", "why") for i in range(count))
    )
    snap = demo_snapshot()
    message = diagnosis_card(diag, workers=worker_states(snap, diag), zones=zones_of(snap), requested_by="U1")
    validate(message)
    remediation = [b for b in _buttons(message) if b["action_id"].startswith(ACTION_BUTTON)]
    assert len(remediation) == min(count, cards.ACTION_BUTTONS_MAX)
    validate_thread(thread_details(diag))


def test_progress_and_error_messages_with_odd_input() -> None:
    for done, total in ((5, 3), (-1, 10), (10**9, 10**9), (0, -5)):
        validate(
            cards.progress_message("c" * 5000, requested_by="U1", phase="<&>" * 500, done=done, total=total)
        )
    validate(cards.error_card("", what_failed="", try_next="", requested_by=None))
    validate(cards.error_card(NASTY * 100, what_failed=NASTY * 1000, try_next=NASTY * 1000, requested_by="x"))
    validate(cards.checking_message(NASTY * 100, requested_by="<!everyone>"))


# =================================================================================================
# worker_states, zones_of
# =================================================================================================


def _diag(findings: Iterable[Finding], situations: Iterable[SituationId] = ()) -> Diagnosis:
    found = tuple(findings)
    ids = list(
        dict.fromkeys(
            [
                *situations,
                *(f.situation for f in found if f.severity in (Severity.CRITICAL, Severity.WARNING)),
            ]
        )
    )
    return Diagnosis(
        cluster="c1",
        checked_at=NOW,
        source="sim",
        situations=tuple(Situation(id=i, summary=str(i)) for i in ids),
        findings=found,
        actions=(),
        unknowns=(),
    )


def _finding(situation: SituationId, *nodes: str, severity: Severity = Severity.CRITICAL) -> Finding:
    return Finding(
        check=str(situation),
        situation=situation,
        severity=severity,
        title="t",
        objects=tuple(ObjRef(kind="Node", name=n) for n in nodes),
    )


def test_worker_state_precedence() -> None:
    cordoned = msgspec.structs.replace(
        node("10.0.0.4"), spec=msgspec.structs.replace(node("10.0.0.4").spec, unschedulable=True)
    )
    no_ready = msgspec.structs.replace(
        node("10.0.0.5"), status=msgspec.structs.replace(node("10.0.0.5").status, conditions=())
    )
    nodes = (
        unknown_node("10.0.0.1"),  # kubelet silent
        node("10.0.0.2"),  # named by a calico finding
        node("10.0.0.3", ready="False", reason="KubeletNotReady"),  # NotReady, no finding
        cordoned,
        no_ready,
        node("10.0.0.6"),  # named by an unknown finding
        node("10.0.0.7"),
    )
    snap = snapshot(nodes=nodes)
    diag = _diag(
        [
            _finding(S.WORKER_NOT_READY_KUBELET, "10.0.0.1"),
            _finding(S.CALICO_BAD_ON_FEW_WORKERS, "10.0.0.2", "10.0.0.1", "10.0.0.99"),
            _finding(S.OTHER, "10.0.0.6", severity=Severity.UNKNOWN),
            _finding(S.CALICO_DOWN_ON_WORKER, "10.0.0.7", severity=Severity.INFO),
        ]
    )
    assert worker_states(snap, diag) == {
        "10.0.0.1": WorkerState.NOT_READY,
        "10.0.0.2": WorkerState.CALICO_BAD,
        "10.0.0.3": WorkerState.NOT_READY,
        "10.0.0.4": WorkerState.CORDONED,
        "10.0.0.5": WorkerState.UNKNOWN,
        "10.0.0.6": WorkerState.UNKNOWN,
        "10.0.0.7": WorkerState.HEALTHY,
        "10.0.0.99": WorkerState.CALICO_BAD,  # named by a finding, not in the node list
    }


def test_worker_states_calico_absent_everywhere_and_pods_unreadable() -> None:
    nodes = (node("10.0.0.1"), node("10.0.0.2"), unknown_node("10.0.0.3"))
    absent = _diag([_finding(S.CALICO_ABSENT_EVERYWHERE)])
    assert worker_states(snapshot(nodes=nodes, pods=()), absent) == {
        "10.0.0.1": WorkerState.CALICO_BAD,
        "10.0.0.2": WorkerState.CALICO_BAD,
        "10.0.0.3": WorkerState.NOT_READY,
    }
    unreadable = snapshot(nodes=nodes, pods=(), errors=(ReadError(read="calico-pods", reason="timeout"),))
    assert set(worker_states(unreadable, _diag([])).values()) == {WorkerState.UNKNOWN, WorkerState.NOT_READY}


def test_worker_states_find_every_bad_worker_beyond_the_findings_list() -> None:
    snap, diag = pool_crash_case(600, 150)
    assert len(diag.findings[0].objects) == 100
    assert Counter(worker_states(snap, diag).values())[WorkerState.CALICO_BAD] == 450


def test_zones_of_falls_back_to_the_worker_pool() -> None:
    snap = snapshot(
        nodes=(node("a", zone="dal10"), node("b", zone="", pool="edge"), node("c", zone="", pool=""))
    )
    assert zones_of(snap) == {"a": "dal10", "b": "pool edge", "c": ""}


# =================================================================================================
# Text primitives
# =================================================================================================


def test_clip_never_cuts_inside_a_mention_an_entity_or_a_code_span() -> None:
    text = "a" * 95 + "<@U123456> &amp; `code span` ```\nfenced\n```"
    for limit in range(1, len(text) + 2):
        clipped = blockkit.clip(text, max(limit, 8))
        assert blockkit.slack_len(clipped) <= max(limit, 8)
        assert not check_mrkdwn(clipped + " ", "clip") or clipped.strip() == "…", clipped


def test_clip_fuzz() -> None:
    """Well-formed mrkdwn stays well-formed when clipped to any length."""
    rng = random.Random(7)  # noqa: S311 (a seeded fuzz, not a secret)
    alphabet = ["a", " ", "\n", "`", "```", "&amp;", "&lt;", "<@U12>", "🟢", "é", "<!date^1^{time}|x>"]
    tried = 0
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60)))
        if check_mrkdwn(text + ".", "input"):
            continue
        tried += 1
        limit = rng.randint(8, 80)
        clipped = blockkit.clip(text, limit)
        assert blockkit.slack_len(clipped) <= limit
        assert not check_mrkdwn(clipped + ".", "clipped"), (text, clipped)
    assert tried > 1000


def test_escape_and_mention() -> None:
    assert blockkit.escape("a<b>&c") == "a&lt;b&gt;&amp;c"
    assert blockkit.mention("U123") == "<@U123>"
    assert blockkit.mention("<!channel>") == "&lt;!channel&gt;"
    assert runbook_anchor(RunbookSection.MOST_WORKERS) == (
        "calico-node-in-crashloopbackoff-or-restarting-often-on-most-or-all--workers"
    )
    assert runbook_anchor(RunbookSection.BGP_MIGRATION) == (
        "calico-node-pod-not-running-after-upgrading-to-iks-129-or-newer"
    )
