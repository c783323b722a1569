"""Faults, latency and the request log — what the collector's error handling is tested against."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest
import yaml

from bot.sim import SimCluster, load_scenario
from bot.sim.routes import RouteStats
from tests.sim.conftest import StartSim, call


async def test_forbidden_looks_like_rbac(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("healthy")
    sim.set_faults(
        [
            {"route": "GET /api/v1/nodes", "status": 403, "times": 1},
            {"route": "GET /api/v1/namespaces/{ns}/secrets/{name}", "status": 403},
            {"route": "GET /api/v1/namespaces/{ns}/pods", "status": 403},
        ]
    )
    denied = await call(http, sim, "GET", "/api/v1/nodes")
    assert denied.status == 403
    status = denied.json()
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Forbidden", 403)
    assert status["message"] == (
        'nodes is forbidden: User "system:serviceaccount:calico-bot:calico-bot" cannot list '
        'resource "nodes" in API group "" at the cluster scope'
    )
    assert status["details"] == {"kind": "nodes"}
    assert (await call(http, sim, "GET", "/api/v1/nodes")).status == 200  # times: 1
    secret = (
        await call(http, sim, "GET", "/api/v1/namespaces/kube-system/secrets/calico-bgp-password")
    ).json()
    assert secret["message"] == (
        'secrets "calico-bgp-password" is forbidden: User "system:serviceaccount:calico-bot:'
        'calico-bot" cannot get resource "secrets" in API group "" in the namespace "kube-system"'
    )
    again = await call(http, sim, "GET", "/api/v1/namespaces/kube-system/secrets/calico-bgp-password")
    assert again.status == 403  # no times: forever
    pods = (await call(http, sim, "GET", "/api/v1/namespaces/calico-system/pods")).json()
    assert 'cannot list resource "pods" in API group "" in the namespace "calico-system"' in pods["message"]
    assert (await call(http, sim, "GET", "/api/v1/pods")).status == 200  # a different route


async def test_other_status_faults_and_patterns(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("healthy")
    sim.set_faults(
        [
            {
                "route": "GET /apis/crd.projectcalico.org/*",
                "status": 500,
                "message": "etcdserver: request timed out",
            },
            {"route": "GET /apis/apps/v1/namespaces/{ns}/daemonsets", "status": 429, "times": 1},
        ]
    )
    failed = await call(http, sim, "GET", "/apis/crd.projectcalico.org/v1/ippools")
    assert failed.status == 500
    assert failed.json()["message"] == "etcdserver: request timed out"
    assert failed.json()["reason"] == "InternalError"
    busy = await call(http, sim, "GET", "/apis/apps/v1/namespaces/calico-system/daemonsets")
    assert busy.status == 429
    assert busy.headers["Retry-After"] == "1"
    assert (await call(http, sim, "GET", "/apis/apps/v1/namespaces/calico-system/daemonsets")).status == 200


async def test_delay_fault_makes_the_client_time_out(
    start_sim: StartSim, http: aiohttp.ClientSession
) -> None:
    sim = await start_sim("healthy")
    sim.set_faults([{"route": "GET /api/v1/pods", "delay_ms": 3000}])
    with pytest.raises(asyncio.TimeoutError):
        await call(http, sim, "GET", "/api/v1/pods", timeout=0.3)
    assert (await call(http, sim, "GET", "/api/v1/nodes", timeout=2)).status == 200  # other routes: no delay


async def test_the_request_log_shows_what_a_delay_is_holding(
    start_sim: StartSim, http: aiohttp.ClientSession
) -> None:
    sim = await start_sim("healthy")
    sim.set_faults([{"route": "GET /api/v1/pods", "delay_ms": 2000}])
    held = asyncio.create_task(call(http, sim, "GET", "/api/v1/pods", timeout=10))
    while sim.requests.get("GET /api/v1/pods", RouteStats()).held == 0:
        assert not held.done()
        await asyncio.sleep(0.01)
    while_held = (await call(http, sim, "GET", "/_sim/requests")).json()["GET /api/v1/pods"]
    assert while_held == {"count": 0, "bytes": 0, "held": 1}
    assert (await held).status == 200
    after = sim.requests["GET /api/v1/pods"]
    assert (after.count, after.held) == (1, 0)


async def test_truncated_chunked_body(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("healthy", nodes=20)
    sim.set_faults([{"route": "GET /api/v1/nodes", "truncate": True, "times": 1}])
    with pytest.raises(aiohttp.ClientPayloadError):
        await call(http, sim, "GET", "/api/v1/nodes")
    whole = await call(http, sim, "GET", "/api/v1/nodes")
    assert whole.status == 200
    assert len(whole.json()["items"]) == 20
    stats = sim.requests["GET /api/v1/nodes"]
    assert stats.count == 2
    assert stats.bytes == len(whole.body) + len(whole.body) // 2


async def test_truncated_body_without_length(start_sim: StartSim) -> None:
    sim = await start_sim("healthy", nodes=10)
    sim.set_faults([{"route": "GET /api/v1/nodes", "truncate": "eof"}])
    reader, writer = await asyncio.open_connection(sim.host, sim.port, ssl=sim.client_ssl_context())
    writer.write(
        f"GET /api/v1/nodes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {sim.token}\r\n\r\n".encode()
    )
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), timeout=5)  # read until the server closes
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"content-length" not in head.lower()
    assert b"chunked" not in head.lower()
    assert body.startswith(b'{"kind":"NodeList"')
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


async def test_gone_on_page(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("healthy", nodes=6)
    sim.set_faults([{"route": "GET /api/v1/nodes", "gone_on_page": 2, "times": 1}])
    first = (await call(http, sim, "GET", "/api/v1/nodes", params={"limit": "2"})).json()
    assert len(first["items"]) == 2  # page 1 is served
    token = first["metadata"]["continue"]
    gone = await call(http, sim, "GET", "/api/v1/nodes", params={"limit": "2", "continue": token})
    assert gone.status == 410
    assert gone.json()["reason"] == "Expired"
    restarted: list[str] = []
    token = ""
    while True:
        body = (
            await call(
                http,
                sim,
                "GET",
                "/api/v1/nodes",
                params={"limit": "2"} | ({"continue": token} if token else {}),
            )
        ).json()
        restarted += [i["metadata"]["name"] for i in body["items"]]
        token = body["metadata"].get("continue", "")
        if not token:
            break
    assert len(restarted) == 6


async def test_faults_over_http(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("healthy")
    posted = await call(
        http, sim, "POST", "/_sim/faults", body=[{"route": "GET /api/v1/nodes", "status": 403}]
    )
    assert posted.status == 200
    assert posted.json() == [{"route": "GET /api/v1/nodes", "status": 403}]
    assert (await call(http, sim, "GET", "/api/v1/nodes")).status == 403
    assert (await call(http, sim, "GET", "/_sim/faults")).json() == sim.faults
    bad = await call(http, sim, "POST", "/_sim/faults", body=[{"route": "GET /api/v1/nodes"}])
    assert bad.status == 400
    assert (await call(http, sim, "GET", "/api/v1/nodes")).status == 403  # a bad POST changes nothing
    assert (await call(http, sim, "POST", "/_sim/faults", body=[])).status == 200
    assert (await call(http, sim, "GET", "/api/v1/nodes")).status == 200


def test_malformed_faults_are_refused() -> None:
    sim = SimCluster("healthy")
    for fault in (
        {"status": 403},
        {"route": "GET /api/v1/nodes"},
        {"route": "x", "status": 403, "colour": "red"},
        {"route": "x", "truncate": "sideways"},
    ):
        with pytest.raises(ValueError, match="fault"):
            sim.set_faults([fault])


def _scenario_with_faults(directory: Path) -> str:
    raw = yaml.safe_load(Path(load_scenario("healthy").source).read_text())
    raw["faults"] = [{"route": "GET /apis/coordination.k8s.io/v1/namespaces/{ns}/leases", "status": 403}]
    path = directory / "leases-forbidden.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


async def test_scenario_faults_are_active_from_the_start(
    start_sim: StartSim, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    sim = await start_sim(_scenario_with_faults(tmp_path))
    reply = await call(http, sim, "GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases")
    assert reply.status == 403
    assert (
        'cannot list resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease"'
        in (reply.json()["message"])
    )


async def test_request_log(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("crashloop-one")
    pods = (await call(http, sim, "GET", "/api/v1/namespaces/calico-system/pods")).json()["items"]
    for pod in pods[:2]:
        await call(
            http,
            sim,
            "GET",
            f"/api/v1/namespaces/calico-system/pods/{pod['metadata']['name']}/log",
            params={"container": pod["spec"]["containers"][0]["name"]},
        )
    node = await call(http, sim, "GET", "/api/v1/nodes/10.188.156.137")
    await call(http, sim, "GET", "/api/v1/nodes", token=None)
    log = sim.requests
    assert log["GET /api/v1/namespaces/{ns}/pods"].count == 1
    assert log["GET /api/v1/namespaces/{ns}/pods/{name}/log"].count == 2
    assert log["GET /api/v1/nodes/{name}"].count == 1
    assert log["GET /api/v1/nodes/{name}"].bytes == len(node.body)
    assert log["GET /api/v1/nodes"].count == 1  # the 401 is counted too
    over_http = (await call(http, sim, "GET", "/_sim/requests")).json()
    assert over_http["GET /api/v1/nodes/{name}"] == {"count": 1, "bytes": len(node.body), "held": 0}
    assert not any(key.startswith("GET /_sim") for key in over_http)
    assert (await call(http, sim, "POST", "/_sim/reset-log")).status == 200
    assert sim.requests == {}
    sim.reset_requests()
    await call(http, sim, "GET", "/version")
    assert list(sim.requests) == ["GET /version"]


async def test_latency(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("healthy", latency_ms=150)
    started = time.monotonic()
    await asyncio.gather(*(call(http, sim, "GET", "/api/v1/nodes") for _ in range(4)))
    assert time.monotonic() - started >= 0.15
