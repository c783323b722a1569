"""The official `kubernetes` client talks to the simulator through the kubeconfig it writes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml

from tests.sim.conftest import StartSim


async def test_kubeconfig_and_official_client(start_sim: StartSim, tmp_path: Path) -> None:
    sim = await start_sim("crashloop-one", nodes=5)
    path = sim.write_kubeconfig(tmp_path / "sim.kubeconfig", context="demo-ctx")
    config = yaml.safe_load(path.read_text())
    assert config["current-context"] == "demo-ctx"
    assert config["clusters"][0]["cluster"]["server"] == sim.url
    assert config["users"][0]["user"]["token"] == sim.token
    assert path.stat().st_mode & 0o777 == 0o600

    def read() -> tuple[list[str], list[str], str, int]:
        client: Any = kubernetes.config.new_client_from_config(config_file=str(path), context="demo-ctx")
        try:
            core: Any = kubernetes.client.CoreV1Api(client)
            nodes = core.list_node(limit=2)
            names = [n.metadata.name for n in nodes.items]
            token = nodes.metadata._continue
            while token:
                page = core.list_node(limit=2, _continue=token)
                names += [n.metadata.name for n in page.items]
                token = page.metadata._continue
            pods = core.list_namespaced_pod("calico-system", label_selector="k8s-app=calico-node")
            bad = next(p for p in pods.items if p.spec.node_name == "10.188.156.137")
            log = core.read_namespaced_pod_log(
                bad.metadata.name, "calico-system", container="calico-node", previous=True, tail_lines=3
            )
            apps: Any = kubernetes.client.AppsV1Api(client)
            ds = apps.read_namespaced_daemon_set("calico-node", "calico-system")
            return names, [p.metadata.name for p in pods.items], log, ds.status.number_ready
        finally:
            client.close()

    names, pods, log, ready = await asyncio.to_thread(read)
    assert len(names) == 5
    assert "10.188.156.137" in names
    assert len(pods) == 5
    assert len(log.splitlines()) == 3
    assert "Calico node failed to start" in log
    assert ready == 4


async def test_official_client_sees_api_errors(start_sim: StartSim, tmp_path: Path) -> None:
    sim = await start_sim("kube-system-crashloop")
    path = sim.write_kubeconfig(tmp_path / "k", context=sim.cluster_name)
    sim.set_faults([{"route": "GET /api/v1/nodes", "status": 403}])

    def read() -> tuple[int, int]:
        client: Any = kubernetes.config.new_client_from_config(
            config_file=str(path), context=sim.cluster_name
        )
        try:
            with pytest.raises(kubernetes.client.ApiException) as forbidden:
                kubernetes.client.CoreV1Api(client).list_node()
            with pytest.raises(kubernetes.client.ApiException) as absent:
                kubernetes.client.CustomObjectsApi(client).list_cluster_custom_object(
                    "operator.tigera.io", "v1", "installations"
                )
            return forbidden.value.status, absent.value.status
        finally:
            client.close()

    assert await asyncio.to_thread(read) == (403, 404)


async def test_kubeconfig_needs_a_started_server(tmp_path: Path) -> None:
    from bot.sim import SimCluster

    with pytest.raises(RuntimeError):
        SimCluster("healthy").write_kubeconfig(tmp_path / "k")
