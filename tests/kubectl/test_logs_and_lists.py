"""`kubectl logs` (current and --previous) with the kubelet's semantics, paging and selectors."""

from __future__ import annotations

import pytest

from bot.sim import scenario_names
from bot.sim.generate import EVENTS, NODES, PODS
from tests.kubectl.conftest import Cluster, StartCluster


def calico_pod_on(c: Cluster, node: str) -> str:
    sim = c.sim
    return next(
        o.name
        for o in sim.store.objects(PODS, sim.scenario.calico_namespace)
        if o.labels().get("k8s-app") == "calico-node" and o.doc()["spec"].get("nodeName") == node
    )


async def test_crash_loop_logs_and_previous_are_the_run_that_crashed(cluster: StartCluster) -> None:
    """The issue: `logs --previous` during CrashLoopBackOff returned the run before the last crash.
    The kubelet serves the lastState container for both while the container waits to restart."""
    c = await cluster("demo")
    pod = calico_pod_on(c, "10.190.156.12")
    current = (await c.kubectl("logs", "-n", "calico-system", pod, "-c", "calico-node")).ok()
    previous = (await c.kubectl("logs", "-n", "calico-system", pod, "-c", "calico-node", "--previous")).ok()
    assert "is already using the IPv4 address 10.190.156.12." in current
    assert previous == current
    stored = c.sim.store.find(PODS, "calico-system", pod)
    assert stored is not None
    status = next(s for s in stored.doc()["status"]["containerStatuses"] if s["name"] == "calico-node")
    crashed_at = status["lastState"]["terminated"]["startedAt"]  # the run that crashed: 4 minutes ago
    assert current.startswith(crashed_at.replace("T", " ").removesuffix("Z"))
    tail = (await c.kubectl("logs", "-n", "calico-system", pod, "-c", "calico-node", "--tail", "2")).ok()
    assert tail.splitlines() == current.splitlines()[-2:]


async def test_restarted_and_running_container_has_a_different_previous(cluster: StartCluster) -> None:
    """typha-unhealthy: a calico-node that restarted and runs again: --previous is the earlier run."""
    c = await cluster("typha-unhealthy")
    worker = next(w for w in c.sim.builder.workers if w.broken is not None and w.broken.logs)
    pod = calico_pod_on(c, worker.name)
    current = (await c.kubectl("logs", "-n", "calico-system", pod, "-c", "calico-node")).ok()
    previous = (await c.kubectl("logs", "-n", "calico-system", pod, "-c", "calico-node", "--previous")).ok()
    assert "Connected to Typha" in current
    assert previous != current


async def test_healthy_container_has_no_previous(cluster: StartCluster) -> None:
    c = await cluster("healthy")
    pod = calico_pod_on(c, next(iter(c.sim.builder.by_node)))
    assert "Calico node started successfully" in (await c.kubectl("logs", "-n", "calico-system", pod)).ok()
    none = await c.kubectl("logs", "-n", "calico-system", pod, "--previous")
    assert none.code != 0
    assert f'previous terminated container "calico-node" in pod "{pod}" not found' in none.err


@pytest.mark.parametrize("scenario", scenario_names())
async def test_paging_and_selectors(cluster: StartCluster, scenario: str) -> None:
    c = await cluster(scenario)
    whole = (await c.kubectl("get", "pods", "-A", "-o", "name")).ok()
    c.sim.reset_requests()
    paged = (await c.kubectl("get", "pods", "-A", "-o", "name", "--chunk-size", "3")).ok()
    assert paged == whole
    pages = c.sim.requests["GET /api/v1/pods"].count
    assert pages == -(-len(whole.splitlines()) // 3)  # one request per page of 3
    nodes = [o.name for o in c.sim.store.objects(NODES)]
    node = nodes[-1]
    on_node = (
        await c.kubectl(
            "get",
            "pods",
            "-A",
            "-o",
            "name",
            "--field-selector",
            f"spec.nodeName={node}",
            "--chunk-size",
            "2",
        )
    ).ok()
    want = sorted(
        f"pod/{o.name}" for o in c.sim.store.objects(PODS) if o.doc()["spec"].get("nodeName") == node
    )
    assert sorted(on_node.split()) == want
    calico = (
        await c.kubectl("get", "pods", "-A", "-o", "name", "-l", "k8s-app in (calico-node,calico-typha)")
    ).ok()
    want_calico = sorted(
        f"pod/{o.name}"
        for o in c.sim.store.objects(PODS)
        if o.labels().get("k8s-app") in ("calico-node", "calico-typha")
    )
    assert sorted(calico.split()) == want_calico
    warnings = (await c.kubectl("get", "events", "-A", "-o", "name", "--field-selector", "type=Warning")).ok()
    want_events = sorted(
        f"event/{o.name}" for o in c.sim.store.objects(EVENTS) if o.doc().get("type") == "Warning"
    )
    assert sorted(warnings.split()) == want_events
