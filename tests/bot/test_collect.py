"""The collector against the simulated cluster over real HTTP, through the official client:
- the number of requests does not grow with the cluster except by pages of the big lists, and a
  healthy cluster costs no log read;
- a 403, a timeout, a 410 that keeps coming, a truncated body: the run finishes, the failed read
  is named, the verdict is not healthy and the exit status is not 0;
- a single 410 mid-pagination restarts the list cleanly; a missing CRD is "absent", not an error;
- logs are read only for the bad calico pod, with the previous container after a restart.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot import clock
from bot.cluster.collect import COMPONENT_SAMPLES, MAX_SAMPLED_PODS, CollectOptions, collect
from bot.cluster.kube import KubeTransport, resolve_cluster
from bot.sim import SimCluster
from checks.diagnose import diagnose
from checks.model import SituationId
from checks.snapshot import Read, Snapshot

Collect = Callable[..., Awaitable[Snapshot]]


@pytest.fixture
async def sim_collect(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[tuple[SimCluster, Collect]]]]:
    started: list[SimCluster] = []

    async def start(scenario: str = "healthy", **kwargs: Any) -> tuple[SimCluster, Collect]:
        sim = SimCluster(scenario, **kwargs)
        await sim.start()
        started.append(sim)
        kubeconfig = tmp_path / f"{len(started)}.kubeconfig"
        sim.write_kubeconfig(kubeconfig, context="c1")

        async def run(**options: Any) -> Snapshot:
            transport = KubeTransport(resolve_cluster("c1", kubeconfig=str(kubeconfig)))
            try:
                return await collect(
                    transport,
                    cluster="c1",
                    source="sim",
                    collected_at=clock.utcnow(),
                    options=CollectOptions(**options),
                )
            finally:
                transport.close()

        return sim, run

    yield start
    for sim in started:
        await sim.stop()


SAMPLE_CAP = MAX_SAMPLED_PODS + sum(COMPONENT_SAMPLES.values())


async def test_requests_grow_only_by_pages(sim_collect: Any) -> None:
    small, run_small = await sim_collect("healthy", nodes=10)
    big, run_big = await sim_collect("healthy", nodes=1000)
    await run_small()
    snap_big = await run_big()
    assert diagnose(snap_big, now=snap_big.collected_at).healthy
    assert len(snap_big.nodes) == 1000
    small_counts = {route: stats.count for route, stats in small.requests.items()}
    big_counts = {route: stats.count for route, stats in big.requests.items()}
    assert set(small_counts) == set(big_counts)
    # healthy: only the bounded sample of logs (a Ready pod can fail in ways its probes miss)
    log_route = "GET /api/v1/namespaces/{ns}/pods/{name}/log"
    assert 0 < big_counts[log_route] == small_counts[log_route] <= SAMPLE_CAP
    items = {
        "GET /api/v1/nodes": len(snap_big.nodes),
        "GET /api/v1/pods": len(snap_big.pods),
        "GET /apis/coordination.k8s.io/v1/namespaces/{ns}/leases": len(snap_big.leases),
        "GET /apis/crd.projectcalico.org/v1/nodes": len(snap_big.custom_objects("calico-nodes")),
    }
    extra = {
        route: big_counts[route] - small_counts[route]
        for route in big_counts
        if big_counts[route] != small_counts[route]
    }
    assert set(extra) <= set(items), extra
    for route, more in extra.items():
        assert more == math.ceil(items[route] / 500) - 1, (route, more)
    assert sum(small_counts.values()) - small_counts[log_route] < 35


@pytest.mark.parametrize(
    ("fault", "read", "reason"),
    [
        ({"route": "GET /api/v1/nodes", "status": 403}, Read.NODES, "HTTP 403: nodes is forbidden"),
        ({"route": "GET /api/v1/pods", "delay_ms": 3000}, Read.CALICO_PODS, "timed out"),
        ({"route": "GET /api/v1/nodes", "gone_on_page": 2}, Read.NODES, "kept expiring (410 Gone)"),
        ({"route": "GET /api/v1/nodes", "truncate": True}, Read.NODES, "truncated"),
        ({"route": "GET /api/v1/nodes", "truncate": "eof"}, Read.NODES, "unreadable response"),
        (
            {
                "route": "GET /apis/admissionregistration.k8s.io/v1/*",
                "status": 500,
                "message": "etcdserver: request timed out",
            },
            Read.WEBHOOKS,
            "HTTP 500: etcdserver: request timed out",
        ),
    ],
)
async def test_a_failed_read_is_named_and_never_healthy(
    sim_collect: Any, fault: dict[str, Any], read: Read, reason: str
) -> None:
    sim, run = await sim_collect("healthy", nodes=600)
    sim.set_faults([fault])
    snapshot = await run(timeout=1.0)
    assert not snapshot.read_ok(read)
    assert reason in snapshot.read_problem(read)
    diagnosis = diagnose(snapshot, now=snapshot.collected_at)
    assert not diagnosis.healthy
    assert diagnosis.exit_code != 0
    assert any(u.what == read.value for u in diagnosis.unknowns)


async def test_one_410_mid_list_restarts_it_cleanly(sim_collect: Any) -> None:
    sim, run = await sim_collect("healthy", nodes=1200)
    sim.set_faults([{"route": "GET /api/v1/nodes", "gone_on_page": 2, "times": 1}])
    snapshot = await run()
    assert snapshot.read_ok(Read.NODES)
    assert len(snapshot.nodes) == 1200
    assert len({n.name for n in snapshot.nodes}) == 1200
    assert sim.requests["GET /api/v1/nodes"].count == 2 + 3  # page 1, the 410, then three pages


async def test_missing_crds_are_absent_not_errors(sim_collect: Any) -> None:
    _sim, run = await sim_collect("kube-system-crashloop", nodes=4)
    snapshot = await run()
    assert "installations" in snapshot.absent_kinds
    assert "tigerastatuses" in snapshot.absent_kinds
    assert snapshot.errors == ()


async def test_logs_only_for_the_bad_pod(sim_collect: Any) -> None:
    sim, run = await sim_collect("crashloop-one", nodes=30)
    snapshot = await run()
    bad = [p for p in snapshot.calico_node_pods() if not p.ready]
    assert len(bad) == 1
    bad_logs = [log for log in snapshot.logs if log.pod == bad[0].name]
    # the crash-looping container's last run (the previous log); the rest is the capped sample of fine pods
    assert {(log.container, log.previous) for log in bad_logs} == {
        ("calico-node", True),
        ("calico-node", False),
    }
    assert "already using the IPv4 address" in bad_logs[0].text
    sampled = [log for log in snapshot.logs if log.pod != bad[0].name]
    assert 0 < len(sampled) <= SAMPLE_CAP
    assert all(not log.previous for log in sampled)
    assert sim.requests["GET /api/v1/namespaces/{ns}/pods/{name}/log"].count == len(snapshot.logs)
    diagnosis = diagnose(snapshot, now=snapshot.collected_at)
    assert [s.id for s in diagnosis.situations] == [SituationId.CALICO_BAD_ON_FEW_WORKERS]


async def test_a_server_that_refuses_selectors_is_read_plainly(sim_collect: Any) -> None:
    """A server (a fake, a proxy) that answers 400/406 to a selector or a metadata-only Accept: the
    plain list is read once instead, and the builder keeps only what the plan asked for."""
    sim, run = await sim_collect("crashloop-one", nodes=5)
    reference = await run()
    sim.set_faults(
        [
            {"route": "GET /api/v1/pods", "status": 400, "times": 1},
            {"route": "GET /api/v1/namespaces", "status": 406, "times": 1},
            {"route": "GET /api/v1/events", "status": 400, "times": 1},
        ]
    )
    snapshot = await run()
    assert snapshot.errors == ()
    assert {p.name for p in snapshot.pods} == {p.name for p in reference.pods}
    assert len(snapshot.namespaces) == len(reference.namespaces)
    assert sorted(e.metadata.name for e in snapshot.events) == sorted(
        e.metadata.name for e in reference.events
    )
    assert [s.id for s in diagnose(snapshot, now=snapshot.collected_at).situations] == [
        s.id for s in diagnose(reference, now=reference.collected_at).situations
    ]


async def test_a_server_without_cluster_wide_lists_is_read_namespace_by_namespace(sim_collect: Any) -> None:
    """404 on /api/v1/pods, /apis/apps/v1/daemonsets and /api/v1/events (a simple fake serving a
    dump): the same lists in the Calico namespaces, and the same diagnosis."""
    sim, run = await sim_collect("crashloop-one", nodes=5)
    reference = await run()
    sim.set_faults(
        [
            {"route": "GET /api/v1/pods", "status": 404},
            {"route": "GET /apis/apps/v1/daemonsets", "status": 404},
            {"route": "GET /api/v1/events", "status": 404},
        ]
    )
    snapshot = await run()
    assert snapshot.errors == ()
    assert {p.name for p in snapshot.pods} == {p.name for p in reference.pods}
    assert {d.metadata.name for d in snapshot.daemonsets} >= {"calico-node"}
    assert [s.id for s in diagnose(snapshot, now=snapshot.collected_at).situations] == [
        s.id for s in diagnose(reference, now=reference.collected_at).situations
    ]
