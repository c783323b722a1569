"""Time moves in the simulated cluster (issue #12): a healthy cluster stays healthy for hours, a broken
one stays broken the same way, and the fixed clock of the golden tests stays fixed.

The drill runs the clock fast (`time_scale`, `calico-bot sim --time-scale`): ten simulated minutes
in five real seconds. Without moving heartbeats the same check says "kubelet heartbeat (node lease)
is 10m old" on every worker — `test_a_frozen_cluster_is_what_the_bot_would_call_broken` shows that
the assertion can fail."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot import clock
from bot.cluster.checking import run_dump
from bot.cluster.collect import collect
from bot.cluster.kube import KubeTransport, resolve_cluster
from bot.queue.idle import busy_tasks
from bot.sim import SimCluster
from bot.sim.clock import SimClock
from bot.sim.generate import EVENTS, LEASES, NODES
from bot.sim.liveness import micro_time, next_beat, parse_time, repeating_event
from checks.diagnose import diagnose
from checks.model import Diagnosis

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
TEN_MINUTES = timedelta(minutes=10)


def situations(diagnosis: Diagnosis) -> list[str]:
    return [s.id.value for s in diagnosis.situations]


async def read(sim: SimCluster, tmp: Path, now: datetime) -> Diagnosis:
    """The bot's live read through the official client, judged at `now` (the cluster's clock)."""
    kubeconfig = sim.write_kubeconfig(tmp / "kubeconfig", context="t")
    transport = KubeTransport(resolve_cluster("t", kubeconfig=str(kubeconfig)))
    try:
        snapshot = await collect(transport, cluster="t", source="sim", collected_at=clock.utcnow())
    finally:
        transport.close()
    return diagnose(snapshot, now=now)


async def run_until(sim: SimCluster, when: datetime) -> None:
    """Let the fast clock reach `when` (the simulator's own ticker advances the cluster meanwhile)."""
    await asyncio.sleep(sim.clock.wall_seconds((when - sim.now_time()).total_seconds()) + 0.1)
    assert sim.now_time() >= when


# --- the pieces ------------------------------------------------------------------------------


def test_clock_fixed_real_and_fast() -> None:
    fixed = SimClock(T0)
    assert fixed() == T0
    assert fixed.fixed
    fast = SimClock(T0, time_scale=3600)
    later = fast()
    assert fast.moving
    assert T0 <= later < T0 + timedelta(hours=1)
    assert fast.wall_seconds(3600) == 1.0
    real = SimClock()
    assert abs((real() - datetime.now(UTC)).total_seconds()) < 2


def test_beats_and_repeating_events() -> None:
    last = T0
    assert next_beat(last, T0 + timedelta(seconds=9), 10) is None
    assert next_beat(last, T0 + timedelta(seconds=35), 10) == T0 + timedelta(seconds=30)
    assert micro_time(T0) == "2026-03-14T12:00:00.000000Z"
    assert parse_time("2026-03-14T12:00:00.123456Z") == T0 + timedelta(microseconds=123456)
    backoff = {
        "metadata": {"namespace": "calico-system", "name": "p.1"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "calico-system", "uid": "u"},
        "count": 204,
        "firstTimestamp": "2026-03-14T11:13:00Z",
        "lastTimestamp": "2026-03-14T11:59:40Z",
    }
    rep = repeating_event(backoff, T0)
    assert rep is not None
    assert 13 < rep.period < 14
    assert repeating_event({**backoff, "count": 1}, T0) is None  # happened once: nothing repeats
    assert repeating_event({**backoff, "lastTimestamp": "2026-03-14T11:00:00Z"}, T0) is None  # it stopped


# --- healthy stays healthy, broken stays broken ------------------------------------------------


async def test_healthy_cluster_is_healthy_after_ten_simulated_minutes(tmp_path: Path) -> None:
    sim = SimCluster("healthy", now=T0, time_scale=120)
    await sim.start()
    try:
        await run_until(sim, T0 + TEN_MINUTES)
        now = sim.now_time()
        diagnosis = await read(sim, tmp_path, now)
        leases = [o.doc() for o in sim.store.objects(LEASES, "kube-node-lease")]
        nodes = [o.doc() for o in sim.store.objects(NODES)]
    finally:
        await sim.stop()
    assert situations(diagnosis) == ["healthy"], [f.title for f in diagnosis.findings]
    for lease in leases:
        renewed = parse_time(lease["spec"]["renewTime"])
        assert renewed is not None
        assert now - renewed < timedelta(seconds=30)
        assert len(lease["spec"]["renewTime"]) == len("2026-03-14T12:00:00.000000Z")  # MicroTime
    for node in nodes:
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        beat = parse_time(ready["lastHeartbeatTime"])
        assert beat is not None
        assert now - beat < timedelta(seconds=120)
        transition = parse_time(ready["lastTransitionTime"])
        assert transition is not None
        assert transition < T0  # no transition: still Ready


async def test_a_frozen_cluster_is_what_the_bot_would_call_broken(tmp_path: Path) -> None:
    """The issue's bug, reproduced with a fixed clock: judged ten minutes later, every worker's
    lease looks stale. This is what the moving clock prevents."""
    sim = SimCluster("healthy", now=T0)
    await sim.start()
    try:
        diagnosis = await read(sim, tmp_path, T0 + TEN_MINUTES)
    finally:
        await sim.stop()
    assert "worker-not-ready-kubelet" in situations(diagnosis)
    assert any("kubelet heartbeat (node lease) is 10m old" in f.title for f in diagnosis.findings)


async def test_broken_cluster_stays_broken_the_same_way(tmp_path: Path) -> None:
    sim = SimCluster("demo", now=T0, time_scale=120)
    await sim.start()
    try:
        before = await read(sim, tmp_path, sim.now_time())
        dead_lease = sim.store.find(LEASES, "kube-node-lease", "10.189.156.9")
        assert dead_lease is not None
        dead_renew = dead_lease.doc()["spec"]["renewTime"]
        backoff = next(o.doc() for o in sim.store.objects(EVENTS) if o.doc()["reason"] == "BackOff")
        await run_until(sim, T0 + TEN_MINUTES)
        after = await read(sim, tmp_path, sim.now_time())
        dead_after = sim.store.find(LEASES, "kube-node-lease", "10.189.156.9")
        backoff_after = sim.store.find(EVENTS, backoff["metadata"]["namespace"], backoff["metadata"]["name"])
        dead_node = sim.store.find(NODES, "", "10.189.156.9")
    finally:
        await sim.stop()
    assert (
        situations(after) == situations(before) == ["worker-not-ready-kubelet", "calico-bad-on-few-workers"]
    )
    assert dead_after is not None
    assert dead_after.doc()["spec"]["renewTime"] == dead_renew
    assert dead_node is not None
    ready = next(c for c in dead_node.doc()["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "Unknown"
    assert parse_time(ready["lastHeartbeatTime"]) == T0 - timedelta(minutes=15)
    assert backoff_after is not None
    grown = backoff_after.doc()
    assert grown["count"] >= backoff["count"] + 40  # ~14 s apart for 10 minutes
    grown_at, backoff_at = parse_time(grown["lastTimestamp"]), parse_time(backoff["lastTimestamp"])
    assert grown_at is not None
    assert backoff_at is not None
    assert grown_at > backoff_at


async def test_fixed_clock_never_writes(tmp_path: Path) -> None:
    sim = SimCluster("healthy", now=T0)
    await sim.start()
    try:
        rv = sim.store.resource_version
        await read(sim, tmp_path, T0)
        assert busy_tasks() == []  # no ticker runs, no request is left in flight: nothing can write later
        assert sim.store.resource_version == rv
        assert sim.now_time() == T0
    finally:
        await sim.stop()


# --- the drill: `calico-bot sim --time-scale` left running -----------------------------------


def test_drill_healthy_sim_left_running_is_still_healthy(tmp_path: Path) -> None:
    """`calico-bot sim --scenario healthy --time-scale 120` for 10 simulated minutes; then the dump
    collected as the README says (`scripts/collect-dump`, real kubectl) and the live check both
    say healthy, and the dump is judged at a moment 10 minutes after the sim started."""
    kubeconfig = tmp_path / "drill.kubeconfig"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "sim",
            "--scenario",
            "healthy",
            "--time-scale",
            "120",
            "--cluster",
            "drill",
            "--kubeconfig-out",
            str(kubeconfig),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("https://127.0.0.1:")
        started = datetime.now(UTC)
        asyncio.run(asyncio.sleep(5.5))  # 11 simulated minutes
        kubectl = str(Path(sys.executable).parent / "kubectl")
        dumped = subprocess.run(
            [str(ROOT / "scripts" / "collect-dump"), str(tmp_path / "dump")],
            env={**env, "KUBECONFIG": str(kubeconfig), "KUBECTL": kubectl, "HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert dumped.returncode == 0, dumped.stderr
        live = subprocess.run(
            [sys.executable, "-m", "bot", "check", "drill", "--kubeconfig", str(kubeconfig), "--json"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        assert live.returncode == 0, live.stdout + live.stderr
        assert [s["id"] for s in json.loads(live.stdout)["situations"]] == ["healthy"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    result = run_dump(str(tmp_path / "dump"), cluster="drill")
    assert situations(result.diagnosis) == ["healthy"], [f.title for f in result.diagnosis.findings]
    assert result.snapshot.collected_at >= started + TEN_MINUTES  # judged at the cluster's own moment
