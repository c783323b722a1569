"""`kubectl get` shows kubectl's usual columns (server-side printing) for every built-in scenario.

Headers are kube-apiserver's column definitions as kubectl prints them; the cells are checked
against the simulated objects themselves (a crash-looping calico-node is `CrashLoopBackOff` with
its restarts, a NotReady worker is `NotReady`, the DaemonSet's counts are its status)."""

from __future__ import annotations

import pytest

from bot.sim import scenario_names
from bot.sim.generate import DAEMONSETS, EVENTS, NODES, PODS
from bot.sim.store import Json
from tests.kubectl.conftest import Cluster, StartCluster


def node_status(node: Json) -> str:
    ready = next((c for c in node["status"]["conditions"] if c["type"] == "Ready"), None)
    text = "Ready" if ready is not None and ready["status"] == "True" else "NotReady"
    return text + (",SchedulingDisabled" if node["spec"].get("unschedulable") else "")


def pod_status(pod: Json) -> tuple[str, str]:
    """(READY, STATUS) of a calico-node pod, from its container statuses."""
    statuses = pod["status"].get("containerStatuses") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    shown = f"{ready}/{len(pod['spec']['containers'])}"
    for s in pod["status"].get("initContainerStatuses") or []:  # an init container still failing
        waiting = (s.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") not in (None, "PodInitializing"):
            return shown, "Init:" + waiting["reason"]
    status = pod["status"].get("phase", "")
    for s in statuses:
        waiting = (s.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            status = waiting["reason"]
    return shown, status


async def check_nodes(c: Cluster) -> None:
    rows = (await c.kubectl("get", "nodes")).table()
    assert rows[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    got = {r[0]: r for r in rows[1:]}
    for obj in c.sim.store.objects(NODES):
        node = obj.doc()
        assert got[obj.name][1] == node_status(node), obj.name
        assert got[obj.name][4] == node["status"]["nodeInfo"]["kubeletVersion"]
    wide = (await c.kubectl("get", "nodes", "-o", "wide")).table()
    assert wide[0] == [
        "NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME",
    ]  # fmt: skip
    assert all(r[5] == r[0] for r in wide[1:])  # IKS: the node name is its private IP


async def check_calico_pods(c: Cluster) -> None:
    ran = await c.kubectl("get", "pods", "-A", "-l", "k8s-app=calico-node")
    pods = [o for o in c.sim.store.objects(PODS) if o.labels().get("k8s-app") == "calico-node"]
    if not pods:  # calico-absent-*: kubectl says so on stderr
        assert ran.ok() == ""
        assert "No resources found" in ran.err
        return
    rows = ran.table()
    assert rows[0] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    got = {r[1]: r for r in rows[1:]}
    assert sorted(got) == sorted(o.name for o in pods)
    for obj in pods:
        pod = obj.doc()
        ready, status = pod_status(pod)
        assert (got[obj.name][2], got[obj.name][3]) == (ready, status), obj.name
        counted = "initContainerStatuses" if status.startswith("Init:") else "containerStatuses"
        restarts = sum(int(s.get("restartCount") or 0) for s in pod["status"].get(counted) or [])
        assert got[obj.name][4].split(" ")[0] == str(restarts)
        if restarts:
            assert got[obj.name][4].endswith(" ago)"), got[obj.name]  # "14 (4m ago)"


async def check_workloads(c: Cluster) -> None:
    ran = await c.kubectl("get", "daemonsets", "-A")
    if not list(c.sim.store.objects(DAEMONSETS)):
        assert "No resources found" in ran.err
        return
    ds_rows = ran.table()
    assert ds_rows[0] == [
        "NAMESPACE",
        "NAME",
        "DESIRED",
        "CURRENT",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "NODE SELECTOR",
        "AGE",
    ]
    for obj in c.sim.store.objects(DAEMONSETS):
        status = obj.doc().get("status") or {}
        row = next(r for r in ds_rows[1:] if r[:2] == [obj.namespace, obj.name])
        assert row[2:7] == [
            str(status.get(k, 0))
            for k in (
                "desiredNumberScheduled",
                "currentNumberScheduled",
                "numberReady",
                "updatedNumberScheduled",
                "numberAvailable",
            )
        ], row
    deploy = (await c.kubectl("get", "deployments", "-A")).table()
    assert deploy[0] == ["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert all("/" in r[2] for r in deploy[1:])


async def check_events_and_leases(c: Cluster) -> None:
    events = list(c.sim.store.objects(EVENTS))
    if events:
        rows = (await c.kubectl("get", "events", "-A")).table()
        assert rows[0] == ["NAMESPACE", "LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
        objects = {r[4] for r in rows[1:]}
        for obj in events:
            ref = obj.doc()["involvedObject"]
            assert f"{ref['kind'].lower()}/{ref['name']}" in objects
    leases = (await c.kubectl("get", "leases", "-n", "kube-node-lease")).table()
    assert leases[0] == ["NAME", "HOLDER", "AGE"]
    assert all(r[0] == r[1] for r in leases[1:])  # the kubelet holds its node's lease


async def check_custom_resources(c: Cluster) -> None:
    pools = (await c.kubectl("get", "ippools.crd.projectcalico.org")).table()
    assert pools[0] == ["NAME", "AGE"]
    if c.sim.scenario.operator_era and "operator.tigera.io" not in c.sim.scenario.absent_api_groups:
        status = (await c.kubectl("get", "tigerastatus")).table()
        assert status[0] == ["NAME", "AVAILABLE", "PROGRESSING", "DEGRADED", "SINCE"]
        assert {r[1] for r in status[1:]} <= {"True", "False"}
    roles = (await c.kubectl("get", "roles", "-A")).table()
    assert roles[0] == ["NAMESPACE", "NAME", "CREATED AT"]  # no printer: the default convertor


@pytest.mark.parametrize("scenario", scenario_names())
async def test_get_prints_kubectls_columns(cluster: StartCluster, scenario: str) -> None:
    c = await cluster(scenario)
    await check_nodes(c)
    await check_calico_pods(c)
    await check_workloads(c)
    await check_events_and_leases(c)
    await check_custom_resources(c)


async def test_crash_looping_pod_is_visible(cluster: StartCluster) -> None:
    """The issue's case: with NAME and AGE only, the crash loop was invisible in `kubectl get pods`."""
    c = await cluster("demo")
    rows = (
        await c.kubectl(
            "get", "pods", "-n", "calico-system", "--field-selector", "spec.nodeName=10.190.156.12"
        )
    ).table()
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert rows[1][1:4] == ["0/1", "CrashLoopBackOff", "14 (4m ago)"]


async def test_single_object_and_show_labels(cluster: StartCluster) -> None:
    c = await cluster("demo")
    one = (await c.kubectl("get", "node", "10.189.156.9", "--show-labels")).table()
    assert one[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "LABELS"]
    assert one[1][1] == "NotReady"
    assert "topology.kubernetes.io/zone=dal12" in one[1][5]
    zone = (await c.kubectl("get", "nodes", "-L", "topology.kubernetes.io/zone")).table()
    assert zone[0][-1] == "ZONE"
