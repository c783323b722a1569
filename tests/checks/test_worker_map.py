"""The worker map (`checks.worker_map`) is part of the diagnosis, so every output shows the same one:

- per worker: zone, pool, state, calico-node as `kubectl get pods` shows it, the situation naming it;
- every bad worker is on it, beyond the 100 a finding lists (the shared analysis, not a re-run);
- `--json` carries it (`worker_map`), the terminal report draws it compactly (counts per zone, the
  workers that are not healthy), and the Slack card draws it from the diagnosis alone;
- a map that cannot be drawn is an unknown, never a crash and never a silently empty map.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bot.report import render_text
from bot.slack.cards import diagnosis_card
from checks.diagnose import diagnose
from checks.model import Diagnosis, SituationId, Worker, WorkerState
from checks.snapshot import Read, ReadError, Snapshot
from checks.worker_map import worker_states, zones_of
from tests.factories import NOW, calico_pod, node, snapshot, unknown_node
from tests.slack.test_cards import pool_crash_case

S = SituationId


def _snapshot() -> Snapshot:
    nodes = (
        node("10.0.0.1", zone="dal10", pool="default"),
        node("10.0.0.2", zone="dal12", pool="edge"),
        unknown_node("10.0.0.3", zone="dal13"),
        node("10.0.0.4", zone="", pool="gpu"),
        *(node(f"10.0.0.{i}", zone="dal10") for i in range(5, 10)),
    )
    pods = (
        calico_pod("10.0.0.1"),
        calico_pod("10.0.0.2", ready=False, waiting="CrashLoopBackOff", restarts=9),
        calico_pod("10.0.0.3"),
        *(calico_pod(f"10.0.0.{i}") for i in range(5, 10)),
    )
    return snapshot(nodes=nodes, pods=pods)


def _few_bad() -> tuple[Snapshot, Diagnosis]:
    snap = _snapshot()
    return snap, diagnose(snap, now=NOW)


def test_each_worker_has_its_place_state_calico_node_and_situation() -> None:
    snap, diagnosis = _few_bad()
    by_name = {w.name: w for w in diagnosis.worker_map}
    assert [w.name for w in diagnosis.worker_map] == [f"10.0.0.{i}" for i in range(1, 10)]
    bad = by_name["10.0.0.2"]
    assert (bad.zone, bad.pool, bad.state) == ("dal12", "edge", WorkerState.CALICO_BAD)
    assert bad.calico_node == "CrashLoopBackOff 0/1"
    assert bad.situation == S.CALICO_BAD_ON_FEW_WORKERS
    silent = by_name["10.0.0.3"]
    assert (silent.state, silent.situation) == (WorkerState.NOT_READY, S.WORKER_NOT_READY_KUBELET)
    assert by_name["10.0.0.1"] == Worker(
        name="10.0.0.1", zone="dal10", pool="default", state=WorkerState.HEALTHY, calico_node="Running 1/1"
    )
    no_pod = by_name["10.0.0.4"]
    assert (no_pod.state, no_pod.calico_node, no_pod.group) == (WorkerState.CALICO_BAD, "absent", "pool gpu")
    # the same map the card's helpers compute for any diagnosis of the snapshot
    assert worker_states(snap, diagnosis) == {w.name: w.state for w in diagnosis.worker_map}
    assert zones_of(snap) == {w.name: w.group for w in diagnosis.worker_map}


def test_calico_node_is_blank_when_the_pods_could_not_be_read() -> None:
    snap = snapshot(
        nodes=(node("10.0.0.1"),),
        pods=(),
        errors=(ReadError(read=Read.CALICO_PODS.value, reason="timed out"),),
    )
    [worker] = diagnose(snap, now=NOW).worker_map
    assert (worker.state, worker.calico_node) == (WorkerState.UNKNOWN, "")


def test_every_bad_worker_is_on_the_map_beyond_the_findings_list() -> None:
    snap, _hand_made = pool_crash_case(600, 150)
    diagnosis = diagnose(snap, now=NOW)
    assert max(len([o for o in f.objects if o.kind == "Node"]) for f in diagnosis.findings) <= 100
    states = Counter(w.state for w in diagnosis.worker_map)
    assert states == {WorkerState.CALICO_BAD: 450, WorkerState.HEALTHY: 150}


def test_the_json_carries_the_map() -> None:
    _snap, diagnosis = _few_bad()
    shown = json.loads(diagnosis.to_json())
    assert shown["worker_map"][1] == {
        "name": "10.0.0.2",
        "zone": "dal12",
        "pool": "edge",
        "state": "calico-bad",
        "calico_node": "CrashLoopBackOff 0/1",
        "situation": "calico-bad-on-few-workers",
    }


def test_the_report_shows_counts_per_zone_and_the_workers_that_are_not_healthy() -> None:
    snap, diagnosis = _few_bad()
    text = render_text(diagnosis, snapshot=snap)
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Workers (9)"))
    block = lines[start : lines.index("", start)]
    assert "2 calico-node bad · 1 NotReady (kubelet) · 6 healthy" in block[0]
    assert any(line.split() == ["dal12", "1:", "1", "calico-node", "bad"] for line in block)
    assert any(line.split()[:2] == ["pool", "gpu"] for line in block)
    bad = [line for line in block if "10.0.0.2" in line]
    assert bad == [
        "   calico-node bad     10.0.0.2 (dal12, pool edge) — calico-node CrashLoopBackOff 0/1 [calico-bad-on-few-workers]"
    ]
    assert not any("10.0.0.1 " in line for line in block)  # healthy workers are only counted


def test_the_card_draws_the_map_from_the_diagnosis() -> None:
    snap, diagnosis = _few_bad()
    from_map = diagnosis_card(diagnosis, requested_by="U1")
    explicit = diagnosis_card(
        diagnosis,
        workers=worker_states(snap, diagnosis),
        zones=zones_of(snap),
        requested_by="U1",
    )
    assert from_map == explicit
    text = json.dumps(from_map.blocks, ensure_ascii=False)
    assert "Workers at a glance* (9)" in text


def test_a_map_that_cannot_be_drawn_is_an_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    snap = _snapshot()

    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("analysis broke")

    monkeypatch.setattr("checks.diagnose.worker_map", broken)
    diagnosis = diagnose(snap, now=NOW)
    assert diagnosis.worker_map == ()
    assert any(u.check == "worker-map" and "analysis broke" in u.reason for u in diagnosis.unknowns)
    assert not diagnosis.healthy
