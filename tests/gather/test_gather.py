"""The runbook's gather bundle, built against the simulator over real HTTP:
- crash-looping calico-node (calico-system): describe node + pod, every container's log from the
  pod spec (init containers too), the previous log after a restart, the diagnosis, a summary;
- ROKS: the calico-extension log of the worker's ibm-keepalived-watcher pod;
- kube-system era: the pod is found and named in its namespace;
- a missing node, a worker without calico-node, logs that time out: said in the summary, the
  rest of the bundle still produced; the size cap is stated when hit;
- the canary credential in the scenario's logs appears nowhere in the archive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot import clock
from bot.cluster.kube import KubeTransport, resolve_cluster
from bot.escalation.gather import Bundle, GatherLimits, gather
from bot.sim import SimCluster
from tests.archives import bundle_texts

CANARY = "calico-canary-7f3a9c1d2e5b"


async def run_gather(
    tmp_path: Path, scenario: str, node: str, *, faults: list[dict[str, Any]] | None = None, **limits: Any
) -> tuple[Bundle, dict[str, str]]:
    async with SimCluster(scenario, nodes=4) as sim:
        if faults:
            sim.set_faults(faults)
        sim.write_kubeconfig(tmp_path / "kc", context="c")
        transport = KubeTransport(resolve_cluster("c", kubeconfig=str(tmp_path / "kc")))
        try:
            bundle = await gather(
                transport,
                cluster="c",
                node_name=node,
                now=clock.utcnow(),
                limits=GatherLimits(**limits),
                diagnosis_json=b'{"cluster": "c"}',
            )
        finally:
            transport.close()
    return bundle, bundle_texts(bundle.data)


async def test_crashlooping_calico_node_bundle_has_the_runbook_items(tmp_path: Path) -> None:
    bundle, files = await run_gather(tmp_path, "crashloop-one", "10.188.156.137")
    names = set(files)
    assert "summary.txt" in names
    assert "diagnosis.json" in names
    assert "describe-node-10.188.156.137.txt" in names
    pod_describe = [n for n in names if n.startswith("describe-pod-calico-system-calico-node-")]
    assert len(pod_describe) == 1
    pod = pod_describe[0].removeprefix("describe-pod-calico-system-").removesuffix(".txt")
    assert f"logs/{pod}-install-cni.log" in names  # an init container, named by the pod spec
    assert f"logs/{pod}-calico-node-previous.log" in names  # restarted: the previous run's log
    assert "CrashLoopBackOff" in files[pod_describe[0]]
    assert "Events:" in files[pod_describe[0]]
    assert "Conditions:" in files["describe-node-10.188.156.137.txt"]
    assert "already using the IPv4 address" in files[f"logs/{pod}-calico-node-previous.log"]
    assert "calico-node: not started yet" in files["summary.txt"]  # waiting in back-off: no current log
    assert bundle.problems == []
    assert all(CANARY not in text for text in files.values())
    assert "[REDACTED]" in files[f"logs/{pod}-calico-node-previous.log"]


async def test_roks_bundle_has_the_keepalived_calico_extension_log(tmp_path: Path) -> None:
    _bundle, files = await run_gather(tmp_path, "roks-crio-notready", "10.240.0.14")
    keepalived = [
        n
        for n in files
        if n.startswith("logs/ibm-keepalived-watcher-")
        and n.endswith(("-calico-extension.log", "-calico-extension-previous.log"))
    ]
    assert keepalived, sorted(files)
    assert any(n.startswith("describe-pod-calico-system-calico-node-") for n in files)


async def test_kube_system_era_pod_is_found(tmp_path: Path) -> None:
    _bundle, files = await run_gather(tmp_path, "kube-system-crashloop", "10.188.156.137")
    assert any(n.startswith("describe-pod-kube-system-calico-node-") for n in files)


async def test_missing_node_is_said_and_the_rest_is_produced(tmp_path: Path) -> None:
    bundle, files = await run_gather(tmp_path, "healthy", "10.9.9.9")
    assert any("no worker named '10.9.9.9'" in p for p in bundle.problems)
    assert "no worker named '10.9.9.9'" in files["summary.txt"]
    assert "diagnosis.json" in files


async def test_worker_without_calico_node(tmp_path: Path) -> None:
    async with SimCluster("calico-absent-deleted", nodes=2) as sim:
        node = next(o.name for o in sim.store.iter_all() if o.rtype.plural == "nodes")
    bundle, files = await run_gather(tmp_path, "calico-absent-deleted", node)
    assert any("no calico-node pod on" in p for p in bundle.problems)
    assert f"describe-node-{node}.txt" in files


async def test_logs_that_time_out_are_named(tmp_path: Path) -> None:
    bundle, files = await run_gather(
        tmp_path,
        "crashloop-one",
        "10.188.156.137",
        faults=[{"route": "GET /api/v1/namespaces/{ns}/pods/{name}/log", "delay_ms": 3000}],
        timeout=1.0,
    )
    assert any("timed out" in p and "-c calico-node --previous" in p for p in bundle.problems)
    assert any(n.startswith("describe-pod-") for n in files)
    assert "timed out" in files["summary.txt"]


@pytest.mark.parametrize("cap", [4000])
async def test_size_cap_is_stated(tmp_path: Path, cap: int) -> None:
    bundle, files = await run_gather(tmp_path, "crashloop-one", "10.188.156.137", max_total_bytes=cap)
    assert any("size cap" in n for n in bundle.notes)
    assert "size cap" in files["summary.txt"]
    assert not any(n.startswith("logs/") for n in files)
