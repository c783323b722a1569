"""Cluster names reach real clusters first; simulated clusters are a drill tool, not an attack surface.

- `sim:<name>` takes built-in scenario names only: a path (`sim:/etc/passwd`, `sim:/dev/zero`,
  `sim:../x`) is refused before anything is opened, and the refusal quotes nothing of the file;
- `serve` has simulated clusters off unless `CALICO_BOT_SIMULATORS=1`; the CLI keeps them;
- a real kubeconfig context called `demo` is that cluster, not the built-in simulator;
- what failed is split: the channel-safe part, and the private part (paths, other clusters).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.cluster.checking import CheckFailed, run_check
from bot.cluster.sources import ClusterAccess
from bot.settings import load_settings
from bot.sim import ScenarioError, SimCluster, builtin_scenario, scenario_names
from bot.sim.source import SIMULATED

ENV = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s"}


@pytest.mark.parametrize(
    "name", ["/etc/passwd", "/dev/zero", "../../etc/passwd", "demo/../../etc/passwd", "x.yaml", "DEMO", ""]
)
def test_only_builtin_names_load(name: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        builtin_scenario(name)
    assert "root:" not in str(caught.value)


def test_every_shipped_scenario_loads_by_name() -> None:
    assert "demo" in scenario_names()
    for name in scenario_names():
        assert builtin_scenario(name).name == name


@pytest.mark.parametrize("cluster", ["sim:/etc/passwd", "sim:/dev/zero", "sim:../../../etc/passwd"])
async def test_sim_paths_are_refused_quickly_and_disclose_nothing(
    cluster: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    started = time.monotonic()
    with pytest.raises(CheckFailed) as caught:
        await asyncio.wait_for(run_check(cluster, ClusterAccess(sources=(SIMULATED,))), timeout=10)
    assert time.monotonic() - started < 5
    said = f"{caught.value.what_failed} {caught.value.try_next} {caught.value.private}"
    assert "unknown scenario" in said
    assert "root:" not in said
    assert "/bin/" not in said


async def test_without_simulators_sim_names_are_unknown_clusters(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    with pytest.raises(CheckFailed) as caught:
        await run_check("demo", ClusterAccess())
    assert caught.value.what_failed == "unknown cluster 'demo'"
    # where the bot looked is for the requester only, not for the channel
    assert str(tmp_path) not in caught.value.what_failed + caught.value.try_next
    assert str(tmp_path) in caught.value.private


def test_serve_has_simulators_off_unless_enabled() -> None:
    assert load_settings(ENV).access.simulators is False
    assert load_settings({**ENV, "CALICO_BOT_SIMULATORS": "1"}).access.simulators is True
    assert load_settings({**ENV, "CALICO_BOT_SIMULATORS": "yes"}).access.simulators is True
    assert load_settings({**ENV, "CALICO_BOT_SIMULATORS": "0"}).access.simulators is False


async def test_a_real_context_named_demo_is_not_shadowed_by_the_simulator(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async with SimCluster("crashloop-one") as sim:
        kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig", context="demo")
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        sim.reset_requests()
        result = await run_check("demo", ClusterAccess(sources=(SIMULATED,)))
        assert result.snapshot.source == "live"
        assert sum(stats.count for stats in sim.requests.values()) > 0  # it read *this* server
        assert len(result.snapshot.nodes) == sim.nodes == 3  # crashloop-one has 3 workers, demo 12
