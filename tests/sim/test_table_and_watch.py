"""Server-side printing and watches over raw HTTP: the wire formats kubectl and client-go read."""

from __future__ import annotations

import json

import aiohttp

from bot.sim.generate import NODES
from bot.sim.store import Change
from tests.sim.conftest import StartSim, call

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"


async def test_table_of_a_list_and_of_one_object(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("demo")
    reply = await call(http, sim, "GET", "/api/v1/nodes", params={"limit": "5"}, headers={"Accept": TABLE})
    table = reply.json()
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0] == [
        "Name", "Status", "Roles", "Age", "Version",
    ]  # fmt: skip
    assert table["columnDefinitions"][0]["format"] == "name"
    assert len(table["rows"]) == 5
    assert table["metadata"]["continue"]
    assert table["metadata"]["remainingItemCount"] == 7
    row = table["rows"][0]
    assert len(row["cells"]) == len(table["columnDefinitions"])  # the server prints the wide cells too
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["name"] == row["cells"][0]
    full = await call(
        http,
        sim,
        "GET",
        "/api/v1/nodes/10.189.156.9",
        params={"includeObject": "Object"},
        headers={"Accept": TABLE},
    )
    one = full.json()
    assert one["rows"][0]["cells"][1] == "NotReady"
    assert one["rows"][0]["object"]["kind"] == "Node"
    assert one["rows"][0]["object"]["status"]["nodeInfo"]["kubeletVersion"] == "v1.29.10+IKS"
    old = await call(
        http,
        sim,
        "GET",
        "/api/v1/nodes",
        headers={"Accept": "application/json;as=Table;v=v1beta1;g=meta.k8s.io"},
    )
    assert old.json()["apiVersion"] == "meta.k8s.io/v1beta1"
    bad = await call(
        http, sim, "GET", "/api/v1/nodes", params={"includeObject": "All"}, headers={"Accept": TABLE}
    )
    assert bad.status == 400


async def test_watch_stream_and_expiry(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("healthy")
    listed = (await call(http, sim, "GET", "/api/v1/nodes")).json()
    rv = listed["metadata"]["resourceVersion"]
    node = listed["items"][0]["metadata"]["name"]
    patched = await call(
        http, sim, "PATCH", f"/api/v1/nodes/{node}", body={"spec": {"unschedulable": True}},
        content_type="application/merge-patch+json",
    )  # fmt: skip
    assert patched.status == 200
    reply = await call(
        http, sim, "GET", "/api/v1/nodes", params={"watch": "1", "resourceVersion": rv, "timeoutSeconds": "1"}
    )
    events = [json.loads(line) for line in reply.text.splitlines()]
    assert [e["type"] for e in events] == ["MODIFIED", "MODIFIED"]  # the cordon, then its taint
    assert all(e["object"]["kind"] == "Node" and e["object"]["metadata"]["name"] == node for e in events)
    assert events[-1]["object"]["spec"]["taints"][0]["key"] == "node.kubernetes.io/unschedulable"
    initial = await call(http, sim, "GET", "/api/v1/nodes", params={"watch": "true", "timeoutSeconds": "0"})
    assert [json.loads(line)["type"] for line in initial.text.splitlines()] == ["ADDED"] * sim.store.count(
        NODES
    )
    tables = await call(
        http, sim, "GET", "/api/v1/nodes",
        params={"watch": "1", "resourceVersion": rv, "timeoutSeconds": "1"}, headers={"Accept": TABLE},
    )  # fmt: skip
    first, second = (json.loads(line)["object"] for line in tables.text.splitlines())
    assert "columnDefinitions" in first  # the headers only with the first event, as kube-apiserver does
    assert "columnDefinitions" not in second
    assert second["rows"][0]["cells"][1] == "Ready,SchedulingDisabled"
    cordoned = sim.store.find(NODES, "", node)
    assert cordoned is not None
    sim.store.history.extend(
        Change(sim.store.next_rv(), "MODIFIED", cordoned) for _ in range(sim.store.history.maxlen or 0)
    )
    gone = await call(http, sim, "GET", "/api/v1/nodes", params={"watch": "1", "resourceVersion": rv})
    error = json.loads(gone.text.splitlines()[0])
    assert error["type"] == "ERROR"
    assert (error["object"]["code"], error["object"]["reason"]) == (410, "Expired")
