"""The simulated Kubernetes API over real HTTP: discovery, lists, selectors, paging, reads, writes, logs."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import aiohttp
import pytest
import yaml

from bot.sim import SimCluster, load_scenario
from bot.sim.generate import NODES, PODS
from bot.sim.store import Json
from tests.sim.conftest import Reply, StartSim, call

META = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
META_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
CALICO = "k8s-app in (calico-node,calico-typha)"


def names(reply: Reply) -> list[str]:
    assert reply.status == 200, reply.text
    return [item["metadata"]["name"] for item in reply.json()["items"]]


# --- discovery ------------------------------------------------------------------------------


async def test_discovery(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("healthy")
    version = (await call(http, sim, "GET", "/version")).json()
    assert (version["major"], version["minor"], version["gitVersion"]) == ("1", "29", "v1.29.10+IKS")
    assert (await call(http, sim, "GET", "/api")).json()["versions"] == ["v1"]
    core = (await call(http, sim, "GET", "/api/v1")).json()
    assert core["kind"] == "APIResourceList"
    assert core["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["nodes"]["namespaced"] is False
    assert by_name["nodes"]["kind"] == "Node"
    assert by_name["pods"]["namespaced"] is True
    assert "list" in by_name["pods"]["verbs"]
    assert by_name["pods/log"]["verbs"] == ["get"]
    groups = {g["name"] for g in (await call(http, sim, "GET", "/apis")).json()["groups"]}
    assert {
        "apps",
        "coordination.k8s.io",
        "admissionregistration.k8s.io",
        "rbac.authorization.k8s.io",
        "crd.projectcalico.org",
        "operator.tigera.io",
    } <= groups
    calico = (await call(http, sim, "GET", "/apis/crd.projectcalico.org/v1")).json()
    cr = {r["name"]: r for r in calico["resources"]}
    assert cr["nodes"]["kind"] == "Node"
    assert cr["bgpconfigurations"]["namespaced"] is False
    group = (await call(http, sim, "GET", "/apis/apps")).json()
    assert group["preferredVersion"]["groupVersion"] == "apps/v1"


async def test_absent_operator_group_answers_404_status(
    start_sim: StartSim, http: aiohttp.ClientSession
) -> None:
    sim = await start_sim("kube-system-crashloop")
    groups = {g["name"] for g in (await call(http, sim, "GET", "/apis")).json()["groups"]}
    assert "operator.tigera.io" not in groups
    assert "crd.projectcalico.org" in groups
    for path in (
        "/apis/operator.tigera.io/v1/installations",
        "/apis/operator.tigera.io/v1/tigerastatuses",
        "/apis/operator.tigera.io/v1",
    ):
        reply = await call(http, sim, "GET", path)
        assert reply.status == 404
        status = reply.json()
        assert (status["kind"], status["status"], status["reason"], status["code"]) == (
            "Status",
            "Failure",
            "NotFound",
            404,
        )
        assert status["message"] == "the server could not find the requested resource"
    assert (await call(http, sim, "GET", "/apis/crd.projectcalico.org/v1/bgpconfigurations")).status == 200


# --- lists and selectors --------------------------------------------------------------------


async def test_list_shape(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("healthy")
    reply = await call(http, sim, "GET", "/api/v1/nodes")
    body = reply.json()
    assert reply.headers["Content-Type"].startswith("application/json")
    assert (body["kind"], body["apiVersion"]) == ("NodeList", "v1")
    assert body["metadata"]["resourceVersion"] == str(sim.store.resource_version)
    assert "continue" not in body["metadata"]
    assert "remainingItemCount" not in body["metadata"]
    assert len(body["items"]) == 3
    assert "kind" not in body["items"][0]  # built-in list items carry no kind, as kube-apiserver sends them
    crs = (await call(http, sim, "GET", "/apis/crd.projectcalico.org/v1/nodes")).json()
    assert crs["kind"] == "NodeList"
    assert crs["apiVersion"] == "crd.projectcalico.org/v1"
    assert crs["items"][0]["apiVersion"] == "crd.projectcalico.org/v1"  # custom resources keep theirs


async def test_label_selectors(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("healthy")

    async def pods(selector: str, path: str = "/api/v1/pods") -> list[str]:
        return names(await call(http, sim, "GET", path, params={"labelSelector": selector}))

    calico = await pods(CALICO)
    assert len(calico) == 5
    assert all(n.startswith(("calico-node-", "calico-typha-")) for n in calico)
    assert calico == sorted(calico)
    assert len(await pods("k8s-app=calico-node")) == 3
    assert len(await pods("k8s-app==calico-node")) == 3
    assert await pods("k8s-app=calico-node", "/api/v1/namespaces/kube-system/pods") == []
    not_calico = await pods("k8s-app notin (calico-node,calico-typha)")
    assert not_calico
    assert not set(not_calico) & set(calico)
    assert set(await pods("k8s-app!=calico-node")) == set(await pods("")) - set(
        await pods("k8s-app=calico-node")
    )
    assert len(await pods("k8s-app=calico-node,app.kubernetes.io/name=calico-node")) == 3
    everything = await pods("")
    # a pod without the key matches != and notin (coredns, metrics-server have no app.kubernetes.io/name)
    assert len(await pods("app.kubernetes.io/name!=calico-node")) == len(everything) - 3
    assert len(await pods("app.kubernetes.io/name notin (calico-node,calico-typha)")) == len(everything) - 5
    assert len(await pods("pod-template-generation")) == 3
    assert len(await pods("!pod-template-generation")) == len(await pods("")) - 3
    nodes = names(
        await call(
            http,
            sim,
            "GET",
            "/api/v1/nodes",
            params={"labelSelector": "topology.kubernetes.io/zone in (dal10, dal13)"},
        )
    )
    assert nodes == ["10.188.156.4", "10.190.156.4"]
    bad = await call(http, sim, "GET", "/api/v1/pods", params={"labelSelector": "k8s-app in calico"})
    assert bad.status == 400
    assert bad.json()["reason"] == "BadRequest"


async def test_field_selectors(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("crashloop-one")

    async def get(path: str, selector: str) -> Reply:
        return await call(http, sim, "GET", path, params={"fieldSelector": selector})

    on_node = names(await get("/api/v1/pods", "spec.nodeName=10.188.156.137"))
    assert any(n.startswith("calico-node-") for n in on_node)
    assert all(
        p["spec"]["nodeName"] == "10.188.156.137"
        for p in (await get("/api/v1/pods", "spec.nodeName==10.188.156.137")).json()["items"]
    )
    pod = next(n for n in on_node if n.startswith("calico-node-"))
    assert names(await get("/api/v1/namespaces/calico-system/pods", f"metadata.name={pod}")) == [pod]
    assert pod not in names(await get("/api/v1/namespaces/calico-system/pods", f"metadata.name!={pod}"))
    assert names(await get("/api/v1/pods", "metadata.namespace=tigera-operator"))[0].startswith(
        "tigera-operator-"
    )
    assert len(names(await get("/api/v1/pods", "status.phase=Running"))) == len(
        names(await get("/api/v1/pods", ""))
    )
    events = await get(
        "/api/v1/namespaces/calico-system/events",
        f"involvedObject.kind=Pod,involvedObject.name={pod},involvedObject.namespace=calico-system",
    )
    assert len(events.json()["items"]) == 6
    warnings = (await get("/api/v1/namespaces/calico-system/events", "type=Warning")).json()["items"]
    assert {e["reason"] for e in warnings} == {"BackOff", "Unhealthy"}
    assert names(await get("/api/v1/namespaces/default/events", "involvedObject.kind=Node")) == []
    unknown = await get("/api/v1/nodes", "spec.nodeName=10.188.156.137")
    assert unknown.status == 400
    assert unknown.json()["message"] == "field label not supported: spec.nodeName"
    assert (await get("/api/v1/pods", "spec.nodeName")).status == 400


# --- paging ---------------------------------------------------------------------------------


async def test_paging_across_three_pages(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("healthy", nodes=7)
    seen: list[str] = []
    token = ""
    pages = []
    while True:
        params = {"limit": "3"} | ({"continue": token} if token else {})
        body = (await call(http, sim, "GET", "/api/v1/nodes", params=params)).json()
        pages.append(body["metadata"])
        seen += [item["metadata"]["name"] for item in body["items"]]
        token = body["metadata"].get("continue", "")
        if not token:
            break
    assert len(pages) == 3
    assert [p.get("remainingItemCount") for p in pages] == [4, 1, None]
    assert seen == sorted(o.name for o in sim.store.objects(NODES))
    assert len(set(seen)) == 7
    assert {p["resourceVersion"] for p in pages} == {pages[0]["resourceVersion"]}
    token_doc = json.loads(base64.urlsafe_b64decode(pages[0]["continue"] + "=="))
    assert token_doc["rv"] == int(pages[0]["resourceVersion"])


async def test_paging_with_a_selector_has_no_remaining_count(
    start_sim: StartSim, http: aiohttp.ClientSession
) -> None:
    sim = await start_sim("healthy", nodes=6)
    params = {"labelSelector": "k8s-app=calico-node", "limit": "4"}
    first = (await call(http, sim, "GET", "/api/v1/pods", params=params)).json()
    assert len(first["items"]) == 4
    assert first["metadata"]["continue"]
    assert "remainingItemCount" not in first["metadata"]
    second = (
        await call(
            http, sim, "GET", "/api/v1/pods", params=params | {"continue": first["metadata"]["continue"]}
        )
    ).json()
    assert len(second["items"]) == 2
    assert "continue" not in second["metadata"]
    exact = (await call(http, sim, "GET", "/api/v1/pods", params=params | {"limit": "6"})).json()
    assert len(exact["items"]) == 6
    assert "continue" not in exact["metadata"]


async def test_stale_continue_token_is_gone(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("healthy", nodes=5)
    first = (await call(http, sim, "GET", "/api/v1/nodes", params={"limit": "2"})).json()
    token = first["metadata"]["continue"]
    ok = await call(http, sim, "GET", "/api/v1/nodes", params={"limit": "2", "continue": token})
    assert ok.status == 200
    compacted = await call(http, sim, "POST", "/_sim/compact")
    assert compacted.status == 200
    gone = await call(http, sim, "GET", "/api/v1/nodes", params={"limit": "2", "continue": token})
    assert gone.status == 410
    status = gone.json()
    assert (status["reason"], status["code"]) == ("Expired", 410)
    assert status["message"] == (
        "The provided continue parameter is too old to display a consistent list result. "
        "You can start a new list without the continue parameter."
    )
    assert "continue" not in status["metadata"]
    fresh = await call(http, sim, "GET", "/api/v1/nodes", params={"limit": "2"})
    assert fresh.status == 200


async def test_token_older_than_the_compaction_window(
    start_sim: StartSim, http: aiohttp.ClientSession
) -> None:
    sim = await start_sim("healthy", nodes=4)
    sim.store.compaction_window = 2
    token = (await call(http, sim, "GET", "/api/v1/nodes", params={"limit": "1"})).json()["metadata"][
        "continue"
    ]
    for i in range(3):
        created = await call(
            http, sim, "POST", "/api/v1/namespaces", body={"metadata": {"name": f"team-{i}"}}
        )
        assert created.status == 201
    assert (
        await call(http, sim, "GET", "/api/v1/nodes", params={"limit": "1", "continue": token})
    ).status == 410
    garbage = await call(http, sim, "GET", "/api/v1/nodes", params={"limit": "1", "continue": "not-a-token"})
    assert garbage.status == 400


# --- single objects -------------------------------------------------------------------------


async def test_get_and_not_found(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("healthy")
    node = (await call(http, sim, "GET", "/api/v1/nodes/10.188.156.4")).json()
    assert (node["kind"], node["apiVersion"], node["metadata"]["name"]) == ("Node", "v1", "10.188.156.4")
    lease = (
        await call(
            http, sim, "GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/10.188.156.4"
        )
    ).json()
    assert lease["kind"] == "Lease"
    assert lease["spec"]["holderIdentity"] == "10.188.156.4"
    role = await call(
        http,
        sim,
        "GET",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/calico-system/roles/bgp-secret-access",
    )
    assert role.status == 200
    assert role.json()["rules"][0]["resourceNames"] == ["calico-bgp-password"]
    missing = await call(http, sim, "GET", "/api/v1/namespaces/calico-system/secrets/x")
    assert missing.status == 404
    assert missing.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'secrets "x" not found',
        "reason": "NotFound",
        "details": {"name": "x", "kind": "secrets"},
        "code": 404,
    }
    cr = await call(http, sim, "GET", "/apis/crd.projectcalico.org/v1/bgpconfigurations/nope")
    assert cr.json()["message"] == 'bgpconfigurations.crd.projectcalico.org "nope" not found'
    assert cr.json()["details"]["group"] == "crd.projectcalico.org"


async def test_partial_object_metadata_never_carries_data(
    start_sim: StartSim, http: aiohttp.ClientSession
) -> None:
    sim = await start_sim("healthy")
    path = "/api/v1/namespaces/calico-system/secrets/calico-bgp-password"
    full = await call(http, sim, "GET", path)
    assert "data" in full.json()  # the secret does have a value …
    meta = await call(http, sim, "GET", path, headers={"Accept": META})
    doc = meta.json()
    assert (doc["kind"], doc["apiVersion"]) == ("PartialObjectMetadata", "meta.k8s.io/v1")
    assert set(doc) == {"kind", "apiVersion", "metadata"}  # … which metadata-only reads never see
    assert doc["metadata"]["name"] == "calico-bgp-password"
    assert doc["metadata"]["namespace"] == "calico-system"
    assert b"c2ltdWxhdGVk" not in meta.body
    listed = await call(
        http, sim, "GET", "/api/v1/namespaces/calico-system/secrets", headers={"Accept": META_LIST}
    )
    body = listed.json()
    assert body["kind"] == "PartialObjectMetadataList"
    assert body["items"]
    assert all(set(item) == {"kind", "apiVersion", "metadata"} for item in body["items"])
    assert b'"data"' not in listed.body
    namespaces = (await call(http, sim, "GET", "/api/v1/namespaces", headers={"Accept": META_LIST})).json()
    assert "calico-system" in [i["metadata"]["name"] for i in namespaces["items"]]
    refused = await call(
        http,
        sim,
        "GET",
        path,
        headers={"Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"},
    )
    assert refused.status == 406


# --- writes ---------------------------------------------------------------------------------


async def test_create_patch_delete(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("healthy")
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "copy", "namespace": "calico-system"},
        "data": {"password": "eA=="},
    }
    created = await call(http, sim, "POST", "/api/v1/namespaces/calico-system/secrets", body=secret)
    assert created.status == 201
    first = created.json()
    assert first["metadata"]["uid"]
    assert first["metadata"]["creationTimestamp"] == "2026-03-14T12:00:00Z"
    rv1 = int(first["metadata"]["resourceVersion"])
    again = await call(http, sim, "POST", "/api/v1/namespaces/calico-system/secrets", body=secret)
    assert again.status == 409
    assert again.json()["reason"] == "AlreadyExists"
    wrong_ns = await call(http, sim, "POST", "/api/v1/namespaces/kube-system/secrets", body=secret)
    assert wrong_ns.status == 400
    no_ns = await call(
        http, sim, "POST", "/api/v1/namespaces/nowhere/secrets", body={"metadata": {"name": "a"}, "data": {}}
    )
    assert no_ns.status == 404

    patched = await call(
        http,
        sim,
        "PATCH",
        "/api/v1/nodes/10.188.156.4",
        body={"spec": {"unschedulable": True}},
        content_type="application/strategic-merge-patch+json",
    )
    assert patched.status == 200
    assert patched.json()["spec"]["unschedulable"] is True
    node = (await call(http, sim, "GET", "/api/v1/nodes/10.188.156.4")).json()
    assert int(node["metadata"]["resourceVersion"]) > rv1
    assert any(
        t["key"] == "node.kubernetes.io/unschedulable" for t in node["spec"]["taints"]
    )  # the controller's taint
    uncordon = await call(
        http,
        sim,
        "PATCH",
        "/api/v1/nodes/10.188.156.4",
        body={"spec": {"unschedulable": None}},
        content_type="application/merge-patch+json",
    )
    assert "unschedulable" not in uncordon.json()["spec"]
    node = (await call(http, sim, "GET", "/api/v1/nodes/10.188.156.4")).json()
    assert "taints" not in node["spec"]

    stale = await call(
        http,
        sim,
        "PATCH",
        "/api/v1/namespaces/calico-system/secrets/copy",
        body={"metadata": {"resourceVersion": str(rv1 - 1)}, "data": {"k": "eQ=="}},
        content_type="application/merge-patch+json",
    )
    assert stale.status == 409
    assert stale.json()["reason"] == "Conflict"
    jp = await call(
        http,
        sim,
        "PATCH",
        "/api/v1/namespaces/calico-system/secrets/copy",
        body=[{"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}],
        content_type="application/json-patch+json",
    )
    assert jp.status == 200
    assert jp.json()["metadata"]["labels"] == {"a": "b"}
    assert int(jp.json()["metadata"]["resourceVersion"]) > rv1
    assert (
        await call(
            http,
            sim,
            "PATCH",
            "/api/v1/namespaces/calico-system/secrets/copy",
            body={},
            content_type="text/plain",
        )
    ).status == 415

    deleted = await call(http, sim, "DELETE", "/api/v1/namespaces/calico-system/secrets/copy")
    assert deleted.status == 200
    assert deleted.json()["metadata"]["name"] == "copy"
    assert (await call(http, sim, "GET", "/api/v1/namespaces/calico-system/secrets/copy")).status == 404
    assert (await call(http, sim, "DELETE", "/api/v1/namespaces/calico-system/secrets/copy")).status == 404

    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "extra", "namespace": "calico-system"},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
    }
    made = await call(
        http, sim, "POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/calico-system/roles", body=role
    )
    assert made.status == 201
    assert made.json()["kind"] == "Role"


async def test_deleted_calico_pod_is_recreated_by_the_daemonset(
    start_sim: StartSim, http: aiohttp.ClientSession
) -> None:
    sim = await start_sim("crashloop-one", pod_recreate_delay_s=0.05)
    pods = await call(
        http,
        sim,
        "GET",
        "/api/v1/namespaces/calico-system/pods",
        params={"fieldSelector": "spec.nodeName=10.188.156.137", "labelSelector": "k8s-app=calico-node"},
    )
    old = pods.json()["items"][0]["metadata"]["name"]
    deleted = await call(http, sim, "DELETE", f"/api/v1/namespaces/calico-system/pods/{old}")
    assert deleted.status == 200
    assert deleted.json()["metadata"]["deletionTimestamp"]
    for _ in range(100):
        now = await call(
            http,
            sim,
            "GET",
            "/api/v1/namespaces/calico-system/pods",
            params={"fieldSelector": "spec.nodeName=10.188.156.137", "labelSelector": "k8s-app=calico-node"},
        )
        items = now.json()["items"]
        if items:
            break
        await asyncio.sleep(0.02)
    assert len(items) == 1
    assert items[0]["metadata"]["name"] != old
    assert items[0]["status"]["containerStatuses"][0]["ready"] is True  # after_pod_delete: healthy
    ds = (
        await call(http, sim, "GET", "/apis/apps/v1/namespaces/calico-system/daemonsets/calico-node")
    ).json()
    assert ds["status"]["numberReady"] == ds["status"]["desiredNumberScheduled"] == 3


# --- logs -----------------------------------------------------------------------------------


async def test_logs(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("crashloop-one")
    pod = next(
        o.name
        for o in sim.store.objects(PODS, "calico-system")
        if o.name.startswith("calico-node-") and o.doc()["spec"]["nodeName"] == "10.188.156.137"
    )
    path = f"/api/v1/namespaces/calico-system/pods/{pod}/log"
    current = await call(http, sim, "GET", path, params={"container": "calico-node"})
    assert current.status == 200
    assert current.headers["Content-Type"].startswith("text/plain")
    assert "is already using the IPv4 address 10.188.156.137." in current.text
    tail = await call(http, sim, "GET", path, params={"container": "calico-node", "tailLines": "2"})
    assert tail.text.splitlines() == current.text.splitlines()[-2:]
    assert tail.text == "".join(current.text.splitlines(keepends=True)[-2:])
    previous = await call(http, sim, "GET", path, params={"container": "calico-node", "previous": "true"})
    assert previous.status == 200
    # the kubelet: a container waiting in CrashLoopBackOff has no instance of its own, so its log and
    # its --previous are both the run that just crashed (lastState), not the run before it
    assert previous.text == current.text
    assert "11:56:00" in previous.text
    init = await call(http, sim, "GET", path, params={"container": "install-cni"})
    assert "Done configuring CNI" in init.text
    wrong = await call(http, sim, "GET", path, params={"container": "calico-extension"})
    assert wrong.status == 400
    assert wrong.json()["message"] == f'container "calico-extension" is not valid for pod "{pod}"'
    healthy = next(
        o.name
        for o in sim.store.objects(PODS, "calico-system")
        if o.name.startswith("calico-node-") and o.name != pod
    )
    no_previous = await call(
        http,
        sim,
        "GET",
        f"/api/v1/namespaces/calico-system/pods/{healthy}/log",
        params={"container": "calico-node", "previous": "true"},
    )
    assert no_previous.status == 400
    assert (
        no_previous.json()["message"]
        == f'previous terminated container "calico-node" in pod "{healthy}" not found'
    )
    missing = await call(http, sim, "GET", "/api/v1/namespaces/calico-system/pods/nope/log")
    assert missing.status == 404


async def test_logs_of_a_container_that_never_started(
    start_sim: StartSim, http: aiohttp.ClientSession
) -> None:
    sim = await start_sim("calico-down-on-worker")
    pod = next(
        o.name
        for o in sim.store.objects(PODS, "calico-system")
        if o.name.startswith("calico-node-") and o.doc()["spec"]["nodeName"] == "10.188.156.150"
    )
    path = f"/api/v1/namespaces/calico-system/pods/{pod}/log"
    waiting = await call(http, sim, "GET", path, params={"container": "calico-node"})
    assert waiting.status == 400
    assert (
        waiting.json()["message"]
        == f'container "calico-node" in pod "{pod}" is waiting to start: PodInitializing'
    )
    cni = await call(http, sim, "GET", path, params={"container": "install-cni", "previous": "true"})
    assert "Unable to create token for CNI kubeconfig" in cni.text


async def test_logs_on_a_dead_kubelet_fail_like_the_proxy(
    start_sim: StartSim, http: aiohttp.ClientSession
) -> None:
    sim = await start_sim("worker-notready-kubelet")
    pod = next(
        o.name
        for o in sim.store.objects(PODS, "calico-system")
        if o.name.startswith("calico-node-") and o.doc()["spec"]["nodeName"] == "10.188.156.140"
    )
    reply = await call(
        http,
        sim,
        "GET",
        f"/api/v1/namespaces/calico-system/pods/{pod}/log",
        params={"container": "calico-node", "tailLines": "10"},
    )
    assert reply.status == 500
    assert "dial tcp 10.188.156.140:10250" in reply.json()["message"]


# --- auth and control -----------------------------------------------------------------------


async def test_auth_required(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("healthy")
    for token in (None, "wrong"):
        reply = await call(http, sim, "GET", "/api/v1/nodes", token=token)
        assert reply.status == 401
        assert reply.json()["reason"] == "Unauthorized"
        assert reply.json()["code"] == 401
        assert (await call(http, sim, "GET", "/_sim/requests", token=token)).status == 401
    assert (await call(http, sim, "GET", "/healthz", token=None)).text == "ok"
    assert (await call(http, sim, "GET", "/api/v1/nodes")).status == 200


async def test_unknown_paths(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("healthy")
    assert (await call(http, sim, "GET", "/api/v1/widgets")).status == 404
    assert (await call(http, sim, "GET", "/api/v1/namespaces/default/nodes")).status == 404
    assert (await call(http, sim, "GET", "/nothing-here")).status == 404
    watch_log = await call(http, sim, "GET", "/api/v1/namespaces/default/pods/x/log", params={"watch": "1"})
    assert watch_log.status == 405


@pytest.mark.parametrize("scenario", ["healthy", "kube-system-crashloop"])
async def test_collector_reads(start_sim: StartSim, http: aiohttp.ClientSession, scenario: str) -> None:
    """Every read of the collector's fixed plan answers 200 (or 404 where the object/CRD is absent)."""
    sim = await start_sim(scenario)
    ns = sim.scenario.calico_namespace
    ok = [
        "/api/v1/nodes",
        "/api/v1/namespaces",
        "/api/v1/namespaces/default/events",
        f"/api/v1/namespaces/{ns}/events",
        f"/apis/apps/v1/namespaces/{ns}/daemonsets",
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
        "/apis/crd.projectcalico.org/v1/bgpconfigurations",
        "/apis/crd.projectcalico.org/v1/ippools",
        "/apis/crd.projectcalico.org/v1/felixconfigurations",
        "/apis/crd.projectcalico.org/v1/nodes",
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
        "/api/v1/namespaces/kube-system/secrets/calico-bgp-password",
    ]
    if sim.scenario.operator_era:
        ok += ["/apis/operator.tigera.io/v1/installations", "/apis/operator.tigera.io/v1/tigerastatuses"]
    for path in ok:
        reply = await call(
            http, sim, "GET", path, params={"limit": "500"} if not path.endswith("password") else None
        )
        assert reply.status == 200, (path, reply.text)
    calico = await call(http, sim, "GET", "/api/v1/pods", params={"labelSelector": CALICO, "limit": "500"})
    assert len(calico.json()["items"]) == 3 + (2 if sim.scenario.operator_era else 3)


async def _recreated(http: aiohttp.ClientSession, sim: SimCluster, node: str, old: str) -> Json:
    params = {"fieldSelector": f"spec.nodeName={node}", "labelSelector": "k8s-app=calico-node"}
    for _ in range(200):
        items = (await call(http, sim, "GET", "/api/v1/namespaces/calico-system/pods", params=params)).json()[
            "items"
        ]
        if items and items[0]["metadata"]["name"] != old:
            pod: Json = items[0]
            return pod
        await asyncio.sleep(0.02)
    raise AssertionError("the DaemonSet did not recreate the pod")


async def _delete_calico_pod(http: aiohttp.ClientSession, sim: SimCluster, node: str) -> str:
    params = {"fieldSelector": f"spec.nodeName={node}", "labelSelector": "k8s-app=calico-node"}
    old = (await call(http, sim, "GET", "/api/v1/namespaces/calico-system/pods", params=params)).json()[
        "items"
    ][0]
    name = str(old["metadata"]["name"])
    assert (await call(http, sim, "DELETE", f"/api/v1/namespaces/calico-system/pods/{name}")).status == 200
    return name


async def test_recreated_pod_heals_calico_down(start_sim: StartSim, http: aiohttp.ClientSession) -> None:
    sim = await start_sim("calico-down-on-worker", pod_recreate_delay_s=0.01)
    old = await _delete_calico_pod(http, sim, "10.188.156.150")
    pod = await _recreated(http, sim, "10.188.156.150", old)
    assert pod["status"]["phase"] == "Running"
    node = (await call(http, sim, "GET", "/api/v1/nodes/10.188.156.150")).json()
    conditions = {c["type"]: c for c in node["status"]["conditions"]}
    assert (conditions["NetworkUnavailable"]["status"], conditions["NetworkUnavailable"]["reason"]) == (
        "False",
        "CalicoIsUp",
    )
    assert conditions["Ready"]["status"] == "True"
    assert not any(t["key"] == "node.kubernetes.io/not-ready" for t in node["spec"].get("taints", []))


async def test_recreated_pod_stays_pending_on_a_dead_kubelet(
    start_sim: StartSim, http: aiohttp.ClientSession
) -> None:
    sim = await start_sim("worker-notready-kubelet", pod_recreate_delay_s=0.01)
    old = await _delete_calico_pod(http, sim, "10.188.156.140")
    pod = await _recreated(http, sim, "10.188.156.140", old)
    assert pod["status"]["phase"] == "Pending"
    assert "containerStatuses" not in pod["status"]


async def test_recreated_pod_can_stay_broken(
    start_sim: StartSim, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    sim = await start_sim(_broken_again(tmp_path), pod_recreate_delay_s=0.01)
    old = await _delete_calico_pod(http, sim, "10.188.156.137")
    pod = await _recreated(http, sim, "10.188.156.137", old)
    status = pod["status"]["containerStatuses"][0]
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert pod["metadata"]["name"] in status["state"]["waiting"]["message"]
    ts = (await call(http, sim, "GET", "/apis/operator.tigera.io/v1/tigerastatuses/calico")).json()
    degraded = next(c for c in ts["status"]["conditions"] if c["type"] == "Degraded")
    assert degraded["message"].endswith(f"{pod['metadata']['name']} has crash looping container: calico-node")


def _broken_again(directory: Path) -> str:
    raw = yaml.safe_load(Path(load_scenario("crashloop-one").source).read_text())
    raw["broken_workers"][0]["after_pod_delete"] = "broken"
    path = directory / "stays-broken.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)
