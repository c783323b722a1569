"""The simulator's objects are ones a real apiserver could send:
- every list the bot reads decodes through the official client's generated models (strict
  pydantic validation: a malformed timestamp or a missing required field fails here);
- generated names never collide, even at 5,000 workers (every worker has its own calico-node).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import kubernetes

from bot.sim import SimCluster, load_scenario


async def test_every_list_validates_in_the_official_models(tmp_path: Path) -> None:
    async with SimCluster(load_scenario("demo"), nodes=6) as sim:
        sim.write_kubeconfig(tmp_path / "kc", context="demo")
        client = kubernetes.config.new_client_from_config(config_file=str(tmp_path / "kc"), context="demo")
        core = kubernetes.client.CoreV1Api(client)
        calls: list[Any] = [
            core.list_node,
            core.list_namespace,
            core.list_pod_for_all_namespaces,
            lambda: core.list_namespaced_event("default"),
            lambda: core.list_namespaced_event("calico-system"),
            lambda: kubernetes.client.CoordinationV1Api(client).list_namespaced_lease("kube-node-lease"),
            lambda: kubernetes.client.AppsV1Api(client).list_namespaced_daemon_set("calico-system"),
            lambda: kubernetes.client.AppsV1Api(client).list_deployment_for_all_namespaces(),
            lambda: kubernetes.client.AdmissionregistrationV1Api(
                client
            ).list_validating_webhook_configuration(),
        ]
        for call in calls:
            result = await asyncio.to_thread(call)
            assert result.items is not None


async def test_names_are_unique_at_5000_workers() -> None:
    async with SimCluster(load_scenario("healthy"), nodes=5000) as sim:
        # the store is keyed by namespace/name, so a collision would silently drop a worker's pod
        pods = [o.doc() for o in sim.store.iter_all() if o.rtype.plural == "pods"]
        calico = Counter(
            p["spec"]["nodeName"] for p in pods if p["metadata"]["labels"].get("k8s-app") == "calico-node"
        )
        assert len(calico) == 5000
        assert set(calico.values()) == {1}
