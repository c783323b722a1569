"""5,000 workers: generation completes, objects have realistic sizes, a page of 500 nodes is served."""

from __future__ import annotations

import aiohttp

from bot.sim.generate import LEASES, NODES, PODS
from tests.sim.conftest import StartSim, call


async def test_five_thousand_workers(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("crashloop-one", nodes=5000)
    assert sim.store.count(NODES) == 5000
    assert sim.store.count(LEASES) == 5000
    names = [o.name for o in sim.store.objects(NODES)]
    assert len(set(names)) == 5000

    page = await call(http, sim, "GET", "/api/v1/nodes", params={"limit": "500"}, timeout=60)
    body = page.json()
    assert len(body["items"]) == 500
    assert body["metadata"]["remainingItemCount"] == 4500
    assert body["metadata"]["continue"]
    assert [i["metadata"]["name"] for i in body["items"]] == names[:500]

    pods = await call(
        http,
        sim,
        "GET",
        "/api/v1/pods",
        params={"labelSelector": "k8s-app in (calico-node,calico-typha)", "limit": "500"},
        timeout=60,
    )
    assert len(pods.json()["items"]) == 500


def test_object_sizes_are_realistic() -> None:
    from bot.sim import SimCluster

    sim = SimCluster("healthy", nodes=20)
    node_sizes = {len(o.item) for o in sim.store.objects(NODES)}
    assert all(10_000 <= size <= 14_500 for size in node_sizes), node_sizes
    calico = [o for o in sim.store.objects(PODS, "calico-system") if o.name.startswith("calico-node-")]
    assert len(calico) == 20
    assert all(12_000 <= len(o.item) <= 17_500 for o in calico), [len(o.item) for o in calico]
    doc = calico[0].doc()
    assert doc["metadata"]["managedFields"]
    assert [c["name"] for c in doc["spec"]["initContainers"]] == ["flexvol-driver", "install-cni"]
