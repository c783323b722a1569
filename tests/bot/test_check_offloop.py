"""A check's blocking work never runs on the event loop that answers Slack.

`serve` runs checks on the loop that acks Slack's requests within 3 s. Resolving a cluster name
(reading and parsing every kubeconfig), making its API client (CA files; the first time, importing
the kubernetes package) and diagnosing (pure CPU, ~0.25 s at 5,000 workers) are blocking: each
runs in a worker thread. Before, the first check after a start held the loop ~0.3 s (its ack was
late by that much) and every diagnosis held it for its whole length.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from bot.cluster import checking
from bot.cluster.checking import run_check
from bot.cluster.kube import KubeTransport, resolve_cluster
from bot.cluster.sources import ClusterAccess
from bot.sim import SimCluster
from checks.diagnose import diagnose


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    """The thread each blocking step of a check ran on, by step."""
    seen: dict[str, list[int]] = {"resolve": [], "client": [], "diagnose": []}

    def recording(step: str, real: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            seen[step].append(threading.get_ident())
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(checking, "resolve_cluster", recording("resolve", resolve_cluster))
    monkeypatch.setattr(checking, "KubeTransport", recording("client", KubeTransport))
    monkeypatch.setattr(checking, "diagnose", recording("diagnose", diagnose))
    return seen


async def test_resolving_the_client_and_diagnosing_run_in_worker_threads(
    tmp_path: Path, threads: dict[str, list[int]]
) -> None:
    loop_thread = threading.get_ident()
    async with SimCluster("crashloop-one", nodes=5) as sim:
        sim.write_kubeconfig(tmp_path / "kc", context="c1")
        result = await run_check("c1", ClusterAccess(kubeconfig=str(tmp_path / "kc")))
    assert result.diagnosis.verdict != "healthy"
    for step, idents in threads.items():
        assert idents, f"{step} did not run"
        assert loop_thread not in idents, f"{step} ran on the event loop"


async def test_an_unknown_cluster_is_still_a_clear_failure_from_the_thread(tmp_path: Path) -> None:
    async with SimCluster("healthy", nodes=2) as sim:
        sim.write_kubeconfig(tmp_path / "kc", context="c1")
        with pytest.raises(checking.CheckFailed) as failed:
            await run_check("nope", ClusterAccess(kubeconfig=str(tmp_path / "kc")))
    assert failed.value.what_failed == "unknown cluster 'nope'"
    assert "c1" in failed.value.private
