"""A cluster-info dump served again as a live API (`DumpCluster`, `calico-bot sim --from-dump`).

The round trip: a scenario cluster is checked through the real client; its dump (with extras) is
served by `DumpCluster` and checked the same way; both must read the same objects and give the
same situations. Then the API details on a served dump: selectors, paging, 404 for a CRD group the
dump does not show, logs as kubectl reads them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.cluster.checking import CheckResult, run_check
from bot.cluster.dump import DumpError
from bot.cluster.sources import ClusterAccess
from bot.redact import redact
from bot.sim import SimCluster
from bot.sim.generate import DAEMONSETS, PODS
from bot.sim.replay import DumpCluster
from bot.sim.server import DUMP_NAMESPACES, ApiServer
from bot.sim.store import ApiError
from checks.snapshot import Snapshot
from tests.sim.conftest import Reply

ROUND_TRIP = (
    "crashloop-one",
    "kube-system-crashloop",
    "worker-notready-kubelet",
    "calico-absent-webhook",
    "calico-absent-deleted",
    "bgp-password-migration",
    "typha-unhealthy",
    "calico-down-on-worker",
)
OBJECT_FIELDS = (
    "nodes",
    "namespaces",
    "pods",
    "daemonsets",
    "deployments",
    "events",
    "webhooks",
    "leases",
    "custom",
    "secrets",
    "rbac",
    "absent_kinds",
)


async def check_served(sim: ApiServer, tmp_path: Path, name: str) -> CheckResult:
    """`calico-bot check` through the real client against a started server."""
    kubeconfig = sim.write_kubeconfig(tmp_path / f"{name}.kubeconfig", context=name)
    return await run_check(name, ClusterAccess(kubeconfig=str(kubeconfig)))


def content(snapshot: Snapshot, name: str) -> list[str]:
    """A field of the snapshot, independent of the order concurrent reads finished in."""
    value = getattr(snapshot, name)
    if isinstance(value, dict):
        return sorted(f"{kind}: {sorted(map(repr, objs))}" for kind, objs in value.items())
    return sorted(map(repr, value))


def ids(result: CheckResult) -> list[str]:
    return [str(s.id) for s in result.diagnosis.situations]


def current_logs(snapshot: Snapshot) -> set[tuple[str, str, str, str]]:
    return {(lg.namespace, lg.pod, lg.container, lg.text) for lg in snapshot.logs if not lg.previous}


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[list[ApiServer]]:
    started: list[ApiServer] = []
    yield started
    for sim in started:
        await sim.stop()


async def round_trip(
    scenario: str, tmp_path: Path, served: list[ApiServer], *, previous_logs: bool
) -> tuple[SimCluster, DumpCluster, CheckResult, CheckResult]:
    """Check a scenario, dump it (with extras), serve the dump, check it again.

    With `previous_logs`, the previous container logs the scenario serves are made known to the
    replay (`set_previous_log`): a cluster-info dump cannot hold them."""
    original = SimCluster(scenario, seed=7, pod_recreate_delay_s=None)
    await original.start()
    served.append(original)
    before = await check_served(original, tmp_path, "orig")
    original.write_cluster_info_dump(tmp_path / "dump", extras=True)
    replay = DumpCluster.from_dump(tmp_path / "dump")
    assert replay.problems == ()
    if previous_logs:
        for pod in [p for ns in DUMP_NAMESPACES for p in original.store.objects(PODS, ns)]:
            status = pod.doc()["status"]
            for cstatus in [*status.get("initContainerStatuses", []), *status.get("containerStatuses", [])]:
                if not cstatus.get("restartCount"):
                    continue
                try:
                    text = original.store.read_log(
                        pod.namespace, pod.name, container=cstatus["name"], previous=True
                    )
                except ApiError:  # the scenario's API would not serve it either
                    continue
                replay.set_previous_log(pod.namespace, pod.name, cstatus["name"], text)
    await replay.start()
    served.append(replay)
    after = await check_served(replay, tmp_path, "replay")
    assert not before.snapshot.errors
    for name in OBJECT_FIELDS:
        assert content(after.snapshot, name) == content(before.snapshot, name), name
    assert current_logs(after.snapshot) == current_logs(before.snapshot)
    return original, replay, before, after


@pytest.mark.parametrize("scenario", ROUND_TRIP)
async def test_round_trip_same_snapshot_and_situations(
    scenario: str, tmp_path: Path, served: list[ApiServer]
) -> None:
    _, _, before, after = await round_trip(scenario, tmp_path, served, previous_logs=True)
    assert content(after.snapshot, "logs") == content(before.snapshot, "logs")
    if scenario in ("crashloop-one", "kube-system-crashloop", "typha-unhealthy"):
        assert any(lg.previous for lg in before.snapshot.logs)  # previous logs were read and compared
    assert not after.snapshot.errors
    assert ids(after) == ids(before)
    assert ids(before) != ["healthy"]


@pytest.mark.parametrize("scenario", ROUND_TRIP)
async def test_round_trip_of_the_dump_alone(scenario: str, tmp_path: Path, served: list[ApiServer]) -> None:
    """Without previous logs: where the dump can know one (a container waiting after a crash) the
    kubelet serves the last terminated run, i.e. the current log; otherwise its "not found"
    answer (HTTP 400), which the check takes as "no such log", not as a read that failed."""
    _, replay, before, after = await round_trip(scenario, tmp_path, served, previous_logs=False)
    after_prev = {(lg.namespace, lg.pod, lg.container): lg.text for lg in after.snapshot.logs if lg.previous}
    before_prev = {(lg.namespace, lg.pod, lg.container) for lg in before.snapshot.logs if lg.previous}
    assert set(after_prev) <= before_prev
    for (namespace, pod, container), text in after_prev.items():
        dumped = replay.store.log_text(namespace, pod, container, previous=False)
        assert text == redact("".join(dumped.splitlines(keepends=True)[-300:]))
    assert after.snapshot.errors == ()
    missing = before_prev - set(after_prev)
    for namespace, pod, container in missing:  # asked for, answered "not found" by the replay
        with pytest.raises(
            ApiError, match=f'previous terminated container "{container}" in pod "{pod}" not found'
        ):
            replay.store.read_log(namespace, pod, container=container, previous=True)


def test_absent_crd_groups_from_the_dump(tmp_path: Path) -> None:
    sim = SimCluster("calico-absent-deleted", seed=1)
    sim.write_cluster_info_dump(tmp_path / "d", extras=True)
    (tmp_path / "d" / "extras" / "apis.json").unlink()
    for name in (
        "installations",
        "tigerastatuses",
        "bgpconfigurations",
        "ippools",
        "felixconfigurations",
        "nodes",
    ):
        (tmp_path / "d" / "extras" / f"{name}.json").unlink(missing_ok=True)
    replay = DumpCluster.from_dump(tmp_path / "d")
    assert replay.store.absent_groups == {"crd.projectcalico.org", "operator.tigera.io"}

    sim.write_cluster_info_dump(tmp_path / "e", extras=True)  # apis.json lists the groups served
    for name in ("bgpconfigurations", "ippools", "felixconfigurations", "nodes"):
        (tmp_path / "e" / "extras" / f"{name}.json").unlink()
    assert sim.store.absent_groups == {"operator.tigera.io"}  # an IKS 1.28 cluster: no operator
    assert DumpCluster.from_dump(tmp_path / "e").store.absent_groups == {"operator.tigera.io"}


@pytest.fixture
async def crashloop(tmp_path: Path, served: list[ApiServer]) -> DumpCluster:
    """The crashloop-one scenario (5 workers, one calico-node in CrashLoopBackOff) as a plain dump."""
    sim = SimCluster("crashloop-one", nodes=5, seed=3)
    sim.write_cluster_info_dump(tmp_path / "plain")
    replay = DumpCluster.from_dump(tmp_path / "plain", cluster_name="lab")
    await replay.start()
    served.append(replay)
    return replay


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    session: aiohttp.ClientSession,
    sim: ApiServer,
    method: str,
    path: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    token: str | None = "",
) -> Reply:
    """One request with the server's bearer token (`token=None` sends none)."""
    sent = dict(headers or {})
    bearer = sim.token if token == "" else token
    if bearer is not None:
        sent["Authorization"] = f"Bearer {bearer}"
    async with session.request(
        method, sim.url + path, params=params, headers=sent, ssl=sim.client_ssl_context() or True
    ) as resp:
        return Reply(resp.status, dict(resp.headers), await resp.read())


async def get(session: aiohttp.ClientSession, sim: ApiServer, path: str, **params: str) -> Reply:
    return await call(session, sim, "GET", path, params=params)


async def test_raw_objects_unchanged(
    crashloop: DumpCluster, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    on_disk = json.loads((tmp_path / "plain" / "calico-system" / "pods.json").read_text())["items"]
    pod = on_disk[0]
    reply = await get(http, crashloop, f"/api/v1/namespaces/calico-system/pods/{pod['metadata']['name']}")
    assert reply.status == 200
    body = reply.json()
    assert (body.pop("kind"), body.pop("apiVersion")) == ("Pod", "v1")
    assert body == pod  # every field, the dump's timestamps and resourceVersion included
    nodes = (await get(http, crashloop, "/api/v1/nodes")).json()
    assert nodes["kind"] == "NodeList"
    assert nodes["items"] == json.loads((tmp_path / "plain" / "nodes.json").read_text())["items"]


async def test_selectors_and_paging(crashloop: DumpCluster, http: aiohttp.ClientSession) -> None:
    selected = await get(
        http, crashloop, "/api/v1/pods", labelSelector="k8s-app in (calico-node,calico-typha)", limit="2"
    )
    assert selected.status == 200
    page = selected.json()
    names = [p["metadata"]["name"] for p in page["items"]]
    assert len(names) == 2
    while page["metadata"].get("continue"):
        page = (
            await get(
                http,
                crashloop,
                "/api/v1/pods",
                labelSelector="k8s-app in (calico-node,calico-typha)",
                limit="2",
                **{"continue": page["metadata"]["continue"]},
            )
        ).json()
        names += [p["metadata"]["name"] for p in page["items"]]
    apps = {p.name: p.labels()["k8s-app"] for p in crashloop.store.objects(PODS)}
    assert sorted(names) == sorted(n for n, app in apps.items() if app in ("calico-node", "calico-typha"))
    assert len([n for n in names if n.startswith("calico-node-")]) == 5

    node = names[0]
    pod_node = (await get(http, crashloop, "/api/v1/namespaces/calico-system/pods/" + node)).json()["spec"][
        "nodeName"
    ]
    by_field = (
        await get(
            http,
            crashloop,
            "/api/v1/pods",
            fieldSelector=f"spec.nodeName={pod_node}",
            labelSelector="k8s-app=calico-node",
        )
    ).json()
    assert [p["metadata"]["name"] for p in by_field["items"]] == [node]
    bad = await get(http, crashloop, "/api/v1/pods", fieldSelector="spec.color=blue")
    assert bad.status == 400

    first = (await get(http, crashloop, "/api/v1/nodes", limit="2")).json()
    assert first["metadata"]["remainingItemCount"] == 3
    await call(http, crashloop, "POST", "/_sim/compact")
    gone = await get(
        http, crashloop, "/api/v1/nodes", limit="2", **{"continue": first["metadata"]["continue"]}
    )
    assert gone.status == 410
    assert gone.json()["reason"] == "Expired"

    meta = await call(
        http,
        crashloop,
        "GET",
        "/api/v1/namespaces",
        headers={"Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"},
    )
    assert meta.json()["kind"] == "PartialObjectMetadataList"
    assert {"calico-system", "kube-system", "default", "tigera-operator", "kube-node-lease"} <= {
        i["metadata"]["name"] for i in meta.json()["items"]
    }


async def test_discovery_and_missing_crd_group(crashloop: DumpCluster, http: aiohttp.ClientSession) -> None:
    groups = (await get(http, crashloop, "/apis")).json()["groups"]
    names = [g["name"] for g in groups]
    assert {"apps", "coordination.k8s.io"} <= set(names)
    assert "crd.projectcalico.org" not in names  # a plain dump shows no Calico CRs
    missing = await get(http, crashloop, "/apis/crd.projectcalico.org/v1/ippools")
    assert missing.status == 404
    assert missing.json()["message"] == "the server could not find the requested resource"
    version = (await get(http, crashloop, "/version")).json()
    assert version["gitVersion"].startswith("v1.")
    no_token = await call(http, crashloop, "GET", "/api/v1/nodes", token=None)
    assert no_token.status == 401


async def test_logs_like_kubectl(crashloop: DumpCluster, tmp_path: Path, http: aiohttp.ClientSession) -> None:
    bad = next(
        p
        for p in crashloop.store.objects(PODS, "calico-system")
        if p.doc()["status"]["containerStatuses"][0].get("state", {}).get("waiting")
    )
    base = f"/api/v1/namespaces/calico-system/pods/{bad.name}/log"
    logs_txt = (tmp_path / "plain" / "calico-system" / bad.name / "logs.txt").read_text()
    block = logs_txt.split(
        f"==== START logs for container calico-node of pod calico-system/{bad.name} ====\n"
    )[1]
    block = block.split(f"==== END logs for container calico-node of pod calico-system/{bad.name} ====")[0]
    whole = await get(http, crashloop, base, container="calico-node")
    assert whole.status == 200
    assert whole.text == block
    tail = await get(http, crashloop, base, container="calico-node", tailLines="2")
    assert tail.text == "".join(block.splitlines(keepends=True)[-2:])
    assert tail.headers["Content-Type"].startswith("text/plain")
    # waiting after a crash: the kubelet serves the last terminated run for --previous too
    previous = await get(http, crashloop, base, container="calico-node", previous="true")
    assert previous.text == block
    no_container = await get(http, crashloop, base)
    assert no_container.status == 200  # calico-node is the pod's only container
    unknown = await get(http, crashloop, base, container="nope")
    assert unknown.status == 400

    healthy = next(
        p
        for p in crashloop.store.objects(PODS, "calico-system")
        if p.name.startswith("calico-node-") and p.doc()["status"]["containerStatuses"][0]["ready"]
    )
    status = healthy.doc()["status"]["containerStatuses"][0]
    status["restartCount"] = 2
    doc = healthy.doc()
    doc["status"]["containerStatuses"][0] = status
    crashloop.store.put(doc, rtype=PODS)
    path = f"/api/v1/namespaces/calico-system/pods/{healthy.name}/log"
    not_known = await get(http, crashloop, path, container="calico-node", previous="true")
    assert not_known.status == 400
    assert not_known.json()["message"] == (
        f'previous terminated container "calico-node" in pod "{healthy.name}" not found'
    )
    crashloop.set_previous_log("calico-system", healthy.name, "calico-node", "before the restart\n")
    known = await get(http, crashloop, path, container="calico-node", previous="true")
    assert known.text == "before the restart\n"


async def test_unreadable_log_answers_500(
    tmp_path: Path, served: list[ApiServer], http: aiohttp.ClientSession
) -> None:
    sim = SimCluster("worker-notready-kubelet", seed=2)
    sim.write_cluster_info_dump(tmp_path / "d")
    texts = {p: p.read_text() for p in (tmp_path / "d").rglob("logs.txt")}
    cut = [p for p, t in texts.items() if "Request log error: " in t]
    assert cut  # the dump has the kubelet-down worker's unreadable logs
    pod_dir = cut[0].parent
    replay = DumpCluster.from_dump(tmp_path / "d")
    await replay.start()
    served.append(replay)
    reply = await get(
        http,
        replay,
        f"/api/v1/namespaces/{pod_dir.parent.name}/pods/{pod_dir.name}/log",
        container="calico-node",
    )
    assert reply.status == 500
    assert reply.json()["message"].endswith("i/o timeout")
    assert "Request log error" not in reply.json()["message"]


def test_not_a_dump(tmp_path: Path) -> None:
    with pytest.raises(DumpError):
        DumpCluster.from_dump(tmp_path / "nothing-here")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.json").write_text('{"hello": 1}')
    with pytest.raises(DumpError):
        DumpCluster.from_dump(tmp_path / "junk")


def test_kinds_the_simulator_does_not_serve_are_reported(tmp_path: Path) -> None:
    sim = SimCluster("healthy", nodes=3, seed=5)
    sim.write_cluster_info_dump(tmp_path / "d")
    (tmp_path / "d" / "extra.yaml").write_text(
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: x, namespace: kube-system}\n"
        "---\napiVersion: extensions/v1beta1\nkind: DaemonSet\n"
        "metadata: {name: old-ds, namespace: kube-system}\nspec: {}\n"
    )
    replay = DumpCluster.from_dump(tmp_path / "d")
    assert replay.problems == (
        "policy/v1/PodDisruptionBudget: 1 object(s) of a kind the simulator does not serve, skipped",
    )
    assert replay.store.find(DAEMONSETS, "kube-system", "old-ds") is not None


def test_cli_serves_a_dump(tmp_path: Path) -> None:
    SimCluster("crashloop-one", nodes=4, seed=9).write_cluster_info_dump(tmp_path / "dump", extras=True)
    kubeconfig = tmp_path / "k"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "sim",
            "--from-dump",
            str(tmp_path / "dump"),
            "--cluster",
            "lab",
            "--kubeconfig-out",
            str(kubeconfig),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("https://127.0.0.1:")  # the official client trusts the kubeconfig's CA
        checked = subprocess.run(
            [sys.executable, "-m", "bot", "check", "lab", "--kubeconfig", str(kubeconfig), "--json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert checked.returncode == 1, checked.stderr
        report = json.loads(checked.stdout)
        assert [s["id"] for s in report["situations"]] == ["calico-bad-on-few-workers"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "cluster-info dump" in err
    assert "(4 nodes)" in err
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "sim", "--from-dump", str(tmp_path / "absent")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "no such file or directory" in bad.stderr
