"""Redaction never runs on the event loop of the collector or of gather (what `serve` runs), against
the simulator over real HTTP:
- collect(): every container log is decoded and redacted in a worker thread, and the snapshot's logs
  are redacted (the scenario's canary credential is gone);
- gather(): every file of the bundle (logs, describe output, diagnosis, summary) is redacted in a
  worker thread.
Each call to `bot.redact.redact` (wherever it is imported) records the thread it ran on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from bot import clock, redact
from bot.cluster import assemble
from bot.cluster.collect import collect
from bot.cluster.kube import KubeTransport, resolve_cluster
from bot.escalation import gather
from bot.sim import SimCluster

CANARY = "calico-canary-7f3a9c1d2e5b"


@pytest.fixture
def redact_threads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(thread id, characters) of every redact() call."""
    calls: list[tuple[int, int]] = []
    real = redact.redact

    def recording(text: str) -> redact.Redacted:
        calls.append((threading.get_ident(), len(text)))
        return real(text)

    recording_fn: Callable[[str], redact.Redacted] = recording
    for module in (redact, assemble, gather):
        monkeypatch.setattr(module, "redact", recording_fn)
    return calls


async def test_collect_redacts_logs_in_a_worker_thread(
    tmp_path: Path, redact_threads: list[tuple[int, int]]
) -> None:
    loop_thread = threading.get_ident()
    async with SimCluster("crashloop-one", nodes=5) as sim:
        sim.write_kubeconfig(tmp_path / "kc", context="c1")
        transport = KubeTransport(resolve_cluster("c1", kubeconfig=str(tmp_path / "kc")))
        try:
            snapshot = await collect(transport, cluster="c1", source="sim", collected_at=clock.utcnow())
        finally:
            transport.close()
    assert snapshot.logs
    assert len(redact_threads) == len(snapshot.logs)
    assert all(thread != loop_thread for thread, _ in redact_threads)
    assert all(CANARY not in log.text for log in snapshot.logs)


async def test_gather_redacts_every_file_in_a_worker_thread(
    tmp_path: Path, redact_threads: list[tuple[int, int]]
) -> None:
    loop_thread = threading.get_ident()
    async with SimCluster("crashloop-one", nodes=4) as sim:
        sim.write_kubeconfig(tmp_path / "kc", context="c")
        transport = KubeTransport(resolve_cluster("c", kubeconfig=str(tmp_path / "kc")))
        try:
            bundle = await gather.gather(
                transport,
                cluster="c",
                node_name="10.188.156.137",  # the crash-looping calico-node's worker
                now=clock.utcnow(),
                diagnosis_json=b'{"cluster": "c"}',
            )
        finally:
            transport.close()
    assert len(redact_threads) == len(bundle.files)
    assert any(path.endswith(".log") for path, _ in bundle.files)
    assert all(thread != loop_thread for thread, _ in redact_threads)
