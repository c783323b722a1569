"""The simulator's IBM Cloud side (IAM token endpoint, IKS worker/master API), driven by the real
`bot.iks.IksClient`, and its workers reacting to reboot/reload/replace like real ones."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from bot.remediation.iks import IksClient, IksError, IksRefused, IksSettings, Worker
from bot.sim import SimCluster
from bot.sim.scenario import SCENARIO_DIR
from tests.sim.conftest import StartSim, call

IKS_S = 0.3
BROKEN = "10.188.156.137"  # crashloop-needs-reboot's broken worker
CANARY = "calico-canary-7f3a9c1d2e5b"


@pytest.fixture
async def iks_for() -> AsyncIterator[Callable[..., Awaitable[IksClient]]]:
    clients: list[IksClient] = []

    async def make(sim: SimCluster, api_key: str = "test-key") -> IksClient:
        client = IksClient(IksSettings(api_key=api_key, api_url=sim.iks_url, iam_url=sim.iam_url, timeout=5))
        await client.__aenter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.__aexit__(None, None, None)


async def wait_for(check: Callable[[], Awaitable[Any]], timeout: float = 5.0) -> Any:
    """Poll `check` until it returns something truthy (that value), or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def node(http: aiohttp.ClientSession, sim: SimCluster, name: str) -> dict[str, Any]:
    reply = await call(http, sim, "GET", f"/api/v1/nodes/{name}")
    assert reply.status == 200
    doc: dict[str, Any] = reply.json()
    return doc


def condition(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in doc["status"]["conditions"] if c["type"] == kind)


def taint_keys(doc: dict[str, Any]) -> list[str]:
    return [t["key"] for t in doc["spec"].get("taints") or []]


async def calico_pods(http: aiohttp.ClientSession, sim: SimCluster, name: str) -> list[dict[str, Any]]:
    reply = await call(
        http,
        sim,
        "GET",
        f"/api/v1/namespaces/{sim.scenario.calico_namespace}/pods",
        params={"labelSelector": "k8s-app=calico-node"},
    )
    assert reply.status == 200
    return [p for p in reply.json()["items"] if p["spec"].get("nodeName") == name]


def pod_ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])


def by_ip(workers: list[Worker]) -> dict[str, Worker]:
    return {w.private_ip: w for w in workers}


# --- reading workers ------------------------------------------------------------------------


async def test_list_and_get_workers_classic(
    start_sim: StartSim, http: aiohttp.ClientSession, iks_for: Callable[..., Awaitable[IksClient]]
) -> None:
    sim = await start_sim("crashloop-needs-reboot", iks_seconds=IKS_S)
    iks = await iks_for(sim)
    workers = await iks.list_workers(sim.cluster_name)
    assert len(workers) == sim.nodes == 3
    nodes = {
        n["metadata"]["name"]: n for n in (await call(http, sim, "GET", "/api/v1/nodes")).json()["items"]
    }
    assert set(by_ip(workers)) == set(nodes)
    for worker in workers:
        labels = nodes[worker.private_ip]["metadata"]["labels"]
        assert worker.id == labels["ibm-cloud.kubernetes.io/worker-id"]
        assert worker.zone == labels["ibm-cloud.kubernetes.io/zone"]
        assert worker.pool == "default"
        assert worker.flavor == labels["ibm-cloud.kubernetes.io/machine-type"]
        assert (worker.provider, worker.is_vpc) == ("classic", False)
        assert (worker.state, worker.pending_operation) == ("deployed", "")
        assert (worker.health_state, worker.health_message) == ("normal", "Ready")  # nodes are Ready
        assert worker.kube_version.startswith("1.29.")
    # the cluster ID (6th providerID segment) works as well as the name
    broken_id = by_ip(workers)[BROKEN].id
    provider_id = nodes[BROKEN]["spec"]["providerID"]
    cluster_id = provider_id.split("/")[5]
    one = await iks.get_worker(cluster_id, broken_id)
    assert one == by_ip(workers)[BROKEN]
    assert provider_id.endswith("/" + broken_id)
    assert sim.requests["GET /v2/getWorkers"].count == 1
    assert sim.requests["GET /v2/getWorker"].count == 1
    assert sim.requests["POST /identity/token"].count == 1  # the token is cached


async def test_list_workers_vpc(start_sim: StartSim, iks_for: Callable[..., Awaitable[IksClient]]) -> None:
    sim = await start_sim("roks-crio-notready", iks_seconds=IKS_S)
    iks = await iks_for(sim)
    workers = by_ip(await iks.list_workers(sim.cluster_name))
    assert set(workers) == {"10.240.0.14", "10.240.64.9", "10.240.128.11", "10.240.0.15"}
    bad = workers["10.240.0.14"]
    assert (bad.provider, bad.is_vpc, bad.zone) == ("vpc", True, "us-south-1")
    assert (bad.health_state, bad.health_message) == ("critical", "NotReady")
    assert workers["10.240.64.9"].health_state == "normal"
    assert bad.flavor == "bx2.4x16"


# --- errors ---------------------------------------------------------------------------------


async def test_unknown_cluster_and_worker(
    start_sim: StartSim, iks_for: Callable[..., Awaitable[IksClient]]
) -> None:
    sim = await start_sim("crashloop-needs-reboot", iks_seconds=IKS_S)
    iks = await iks_for(sim)
    with pytest.raises(IksError) as err:
        await iks.list_workers("no-such-cluster")
    assert (err.value.status, err.value.code) == (404, "G0004")
    assert "IKS does not know cluster no-such-cluster" in err.value.message
    assert "The specified cluster could not be found." in err.value.message
    assert err.value.incident_id
    with pytest.raises(IksError) as err:
        await iks.get_worker(sim.cluster_name, "kube-nope-00000001")
    assert (err.value.status, err.value.code) == (404, "E0011")
    assert "The specified worker node could not be found." in err.value.message
    with pytest.raises(IksError) as err:
        await iks.reboot(sim.cluster_name, "kube-nope-00000001")
    assert err.value.status == 404


async def test_invalid_api_key(start_sim: StartSim, iks_for: Callable[..., Awaitable[IksClient]]) -> None:
    sim = await start_sim("healthy", iks_seconds=IKS_S)
    iks = await iks_for(sim, api_key="invalid")
    with pytest.raises(IksError) as err:
        await iks.list_workers(sim.cluster_name)
    assert err.value.status == 400
    assert err.value.code == "BXNIM0415E"
    assert "IBM Cloud rejected the API key" in err.value.message
    assert "Provided API key could not be found" in err.value.message


async def test_tokens_do_not_cross(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("healthy", iks_seconds=IKS_S)
    params = {"cluster": sim.cluster_name}
    assert (await call(http, sim, "GET", "/v2/getWorkers", params=params)).status == 401  # k8s token
    assert (
        await call(http, sim, "GET", "/v2/getWorkers", params=params, token="sim-iam-made-up")
    ).status == 401
    async with http.post(
        sim.iam_url, data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": "k"}
    ) as resp:
        assert resp.status == 200
        answer = await resp.json()
    assert answer["access_token"].startswith("sim-iam-")
    assert (answer["token_type"], answer["expires_in"]) == ("Bearer", 3600)
    assert answer["expiration"] > time.time()
    token = answer["access_token"]
    assert (await call(http, sim, "GET", "/v2/getWorkers", params=params, token=token)).status == 200
    assert (await call(http, sim, "GET", "/api/v1/nodes", token=token)).status == 401  # IAM token on k8s
    assert sim.requests["GET /v2/getWorkers"].count == 3


async def test_faults_apply_to_iks_routes(
    start_sim: StartSim, iks_for: Callable[..., Awaitable[IksClient]]
) -> None:
    sim = await start_sim("crashloop-needs-reboot", iks_seconds=IKS_S)
    sim.set_faults(
        [
            {"route": "GET /v2/getWorkers", "status": 503, "times": 1},
            {"route": "PUT /v1/clusters/{cluster}/workers/{worker}", "status": 403, "times": 1},
        ]
    )
    iks = await iks_for(sim)
    with pytest.raises(IksError) as err:
        await iks.list_workers(sim.cluster_name)
    assert err.value.status == 503
    workers = await iks.list_workers(sim.cluster_name)  # times: 1
    with pytest.raises(IksError) as err:
        await iks.reboot(sim.cluster_name, workers[0].id)
    assert err.value.status == 403
    assert "lacks the IAM Operator role" in err.value.message
    assert sim.requests["PUT /v1/clusters/{cluster}/workers/{worker}"].count == 1
    assert (await iks.get_worker(sim.cluster_name, workers[0].id)).pending_operation == ""


# --- worker operations ----------------------------------------------------------------------


async def test_reboot_fixes_crashloop(
    start_sim: StartSim, http: aiohttp.ClientSession, iks_for: Callable[..., Awaitable[IksClient]]
) -> None:
    sim = await start_sim("crashloop-needs-reboot", iks_seconds=IKS_S)
    iks = await iks_for(sim)
    (old_pod,) = await calico_pods(http, sim, BROKEN)
    assert not pod_ready(old_pod)
    boot_id = (await node(http, sim, BROKEN))["status"]["nodeInfo"]["bootID"]
    worker = by_ip(await iks.list_workers(sim.cluster_name))[BROKEN]

    await iks.reboot(sim.cluster_name, worker.id)
    during = await iks.get_worker(sim.cluster_name, worker.id)
    assert (during.pending_operation, during.state) == ("reboot", "deployed")
    assert (during.health_state, during.health_message) == ("critical", "NotReady")
    doc = await node(http, sim, BROKEN)
    ready = condition(doc, "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown",
        "NodeStatusUnknown",
        "Kubelet stopped posting node status.",
    )
    assert condition(doc, "MemoryPressure")["status"] == "Unknown"
    assert taint_keys(doc).count("node.kubernetes.io/unreachable") == 2
    logs = await call(
        http, sim, "GET", f"/api/v1/namespaces/calico-system/pods/{old_pod['metadata']['name']}/log"
    )
    assert logs.status == 500  # kubelet unreachable
    with pytest.raises(IksError) as err:
        await iks.reboot(sim.cluster_name, worker.id)
    assert (err.value.status, err.value.code) == (409, "E0021")
    assert "already running" in err.value.message

    async def back() -> Worker | None:
        w = await iks.get_worker(sim.cluster_name, worker.id)
        return w if w.pending_operation == "" and w.health_state == "normal" else None

    after = await wait_for(back)
    assert after.state == "deployed"
    doc = await node(http, sim, BROKEN)
    assert condition(doc, "Ready")["status"] == "True"
    assert condition(doc, "NetworkUnavailable")["reason"] == "CalicoIsUp"
    assert "node.kubernetes.io/unreachable" not in taint_keys(doc)
    assert doc["status"]["nodeInfo"]["bootID"] != boot_id
    (new_pod,) = await calico_pods(http, sim, BROKEN)
    assert new_pod["metadata"]["name"] != old_pod["metadata"]["name"]
    assert pod_ready(new_pod)
    assert new_pod["status"]["containerStatuses"][0]["restartCount"] == 0
    logs = await call(
        http, sim, "GET", f"/api/v1/namespaces/calico-system/pods/{new_pod['metadata']['name']}/log"
    )
    assert logs.status == 200
    assert CANARY not in logs.text
    ds = (
        await call(http, sim, "GET", "/apis/apps/v1/namespaces/calico-system/daemonsets/calico-node")
    ).json()
    assert ds["status"]["numberReady"] == 3
    # fixed stays fixed: a later pod delete gives a healthy pod
    sim.pod_recreate_delay_s = 0.05
    assert (
        await call(
            http, sim, "DELETE", f"/api/v1/namespaces/calico-system/pods/{new_pod['metadata']['name']}"
        )
    ).status == 200
    (again,) = await wait_for(lambda: calico_pods(http, sim, BROKEN))
    assert pod_ready(again)
    assert sim.requests["PUT /v1/clusters/{cluster}/workers/{worker}"].count == 2


async def test_pod_delete_gives_broken_pod_again(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("crashloop-needs-reboot", iks_seconds=IKS_S, pod_recreate_delay_s=0.05)
    (old_pod,) = await calico_pods(http, sim, BROKEN)
    name = old_pod["metadata"]["name"]
    assert (await call(http, sim, "DELETE", f"/api/v1/namespaces/calico-system/pods/{name}")).status == 200
    (new_pod,) = await wait_for(lambda: calico_pods(http, sim, BROKEN))
    assert new_pod["metadata"]["name"] != name
    assert not pod_ready(new_pod)
    assert new_pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"


async def test_reboot_that_does_not_fix(
    start_sim: StartSim,
    http: aiohttp.ClientSession,
    iks_for: Callable[..., Awaitable[IksClient]],
    tmp_path: Path,
) -> None:
    raw = yaml.safe_load((SCENARIO_DIR / "crashloop-needs-reboot.yaml").read_text())
    raw["broken_workers"][0]["fixed_by"] = ["replace"]
    path = tmp_path / "reboot-useless.yaml"
    path.write_text(yaml.safe_dump(raw))
    sim = await start_sim(str(path), iks_seconds=IKS_S)
    iks = await iks_for(sim)
    (old_pod,) = await calico_pods(http, sim, BROKEN)
    worker = by_ip(await iks.list_workers(sim.cluster_name))[BROKEN]
    await iks.reboot(sim.cluster_name, worker.id)

    async def new_pod() -> dict[str, Any] | None:
        w = await iks.get_worker(sim.cluster_name, worker.id)
        pods = await calico_pods(http, sim, BROKEN)
        if (
            w.pending_operation
            or len(pods) != 1
            or pods[0]["metadata"]["name"] == old_pod["metadata"]["name"]
        ):
            return None
        return pods[0]

    pod = await wait_for(new_pod)
    assert not pod_ready(pod)
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert condition(await node(http, sim, BROKEN), "Ready")["status"] == "True"  # as before
    logs = await call(
        http, sim, "GET", f"/api/v1/namespaces/calico-system/pods/{pod['metadata']['name']}/log"
    )
    assert logs.status == 200
    assert "is already using the IPv4 address" in logs.text
    # a replace is in fixed_by
    await iks.replace(sim.cluster_name, worker.id, vpc=False)
    replacing = await iks.get_worker(sim.cluster_name, worker.id)
    assert (replacing.pending_operation, replacing.state) == ("replace", "reloading")

    async def healthy() -> bool:
        pods = await calico_pods(http, sim, BROKEN)
        return len(pods) == 1 and pod_ready(pods[0])

    await wait_for(healthy)


async def test_reload_refused_on_vpc_and_replace(
    start_sim: StartSim, http: aiohttp.ClientSession, iks_for: Callable[..., Awaitable[IksClient]]
) -> None:
    sim = await start_sim("roks-crio-notready", iks_seconds=IKS_S)
    iks = await iks_for(sim)
    bad = by_ip(await iks.list_workers(sim.cluster_name))["10.240.0.14"]
    with pytest.raises(IksRefused):
        await iks.reload(sim.cluster_name, bad.id)  # the client asks IKS and refuses itself
    with pytest.raises(IksError) as err:
        await iks.reload(sim.cluster_name, bad.id, vpc=False)  # forced through: IKS says no
    assert err.value.status == 400
    assert "VPC" in err.value.message
    assert (await iks.get_worker(sim.cluster_name, bad.id)).pending_operation == ""
    await iks.replace(sim.cluster_name, bad.id, vpc=True)
    assert (await iks.get_worker(sim.cluster_name, bad.id)).state == "reloading"

    async def back() -> bool:
        w = await iks.get_worker(sim.cluster_name, bad.id)
        return w.pending_operation == "" and w.health_state == "normal"

    await wait_for(back)
    doc = await node(http, sim, "10.240.0.14")
    assert condition(doc, "Ready")["reason"] == "KubeletReady"
    assert not {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"} & set(taint_keys(doc))
    (pod,) = await calico_pods(http, sim, "10.240.0.14")
    assert pod_ready(pod)


async def test_reload_classic(
    start_sim: StartSim, http: aiohttp.ClientSession, iks_for: Callable[..., Awaitable[IksClient]]
) -> None:
    sim = await start_sim("crashloop-needs-reboot", iks_seconds=IKS_S)
    iks = await iks_for(sim)
    worker = by_ip(await iks.list_workers(sim.cluster_name))[BROKEN]
    await iks.reload(sim.cluster_name, worker.id)
    during = await iks.get_worker(sim.cluster_name, worker.id)
    assert (during.pending_operation, during.state) == ("reload", "reloading")

    async def healthy() -> bool:
        pods = await calico_pods(http, sim, BROKEN)
        w = await iks.get_worker(sim.cluster_name, worker.id)
        return w.state == "deployed" and len(pods) == 1 and pod_ready(pods[0])

    await wait_for(healthy)


# --- master refresh -------------------------------------------------------------------------


async def test_master_refresh_recreates_deleted_daemonset(
    start_sim: StartSim, http: aiohttp.ClientSession, iks_for: Callable[..., Awaitable[IksClient]]
) -> None:
    sim = await start_sim("calico-absent-deleted", iks_seconds=IKS_S)
    iks = await iks_for(sim)
    path = "/apis/apps/v1/namespaces/kube-system/daemonsets/calico-node"
    assert (await call(http, sim, "GET", path)).status == 404
    await iks.refresh_master(sim.cluster_name)
    with pytest.raises(IksError) as err:
        await iks.refresh_master(sim.cluster_name)
    assert err.value.status == 409

    async def ds() -> dict[str, Any] | None:
        reply = await call(http, sim, "GET", path)
        return reply.json() if reply.status == 200 else None

    doc = await wait_for(ds)
    assert doc["status"]["desiredNumberScheduled"] == 4
    assert doc["status"]["numberReady"] == 4
    for name in [n.private_ip for n in await iks.list_workers(sim.cluster_name)]:
        (pod,) = await calico_pods(http, sim, name)
        assert pod_ready(pod)
    await iks.refresh_master(sim.cluster_name)  # nothing pending any more
    assert sim.requests["PUT /v1/clusters/{cluster}/masters"].count == 3
