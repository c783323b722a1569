"""Golden diagnoses of the built-in scenarios, one table row per scenario.

Each row is run through both ways the bot reads a cluster:
- live: the simulator serves the scenario over HTTP, `bot.cluster.collect.collect` reads it through the
  official client's transport, `checks.diagnose.diagnose` judges the snapshot;
- dump: the same simulator writes `kubectl cluster-info dump --output-directory` (plus the extras
  the bot reads), `bot.cluster.dump.load_dump` loads it, `diagnose` judges it.
Both must give the row's situations in the runbook's order and its exit code, and the dump must
agree with the live read. The key evidence (literal strings from the cluster) is checked on the
live diagnosis, which also has the previous container logs a dump never holds.

Some scenarios patch typha pods by the names the simulator generates for them;
`test_merge_overrides_hit_generated_objects` fails, and says so, if the generator changes them.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import clock
from bot.cluster.collect import collect
from bot.cluster.dump import load_dump
from bot.cluster.kube import KubeTransport, resolve_cluster
from bot.sim import SimCluster, load_scenario, scenario_names
from bot.sim.generate import PODS
from bot.sim.store import type_for_object
from checks.diagnose import diagnose
from checks.model import Diagnosis, Severity, SituationId
from checks.snapshot import Snapshot

S = SituationId


@dataclass(frozen=True)
class Row:
    scenario: str
    situations: tuple[SituationId, ...]
    exit_code: int
    evidence: tuple[str, ...] = ()
    """Literal strings each of which must appear in some finding's title, detail or evidence."""
    nodes: int | None = None
    """Workers to simulate; None = the scenario's own count."""


ROWS = (
    Row("healthy", (S.HEALTHY,), 0),
    Row(
        "worker-notready-kubelet",
        (S.WORKER_NOT_READY_KUBELET,),
        1,
        ("Kubelet stopped posting node status.", "node lease last renewed"),
    ),
    Row(
        "crashloop-one",
        (S.CALICO_BAD_ON_FEW_WORKERS,),
        1,
        (
            "Calico node '10.188.156.201' is already using the IPv4 address 10.188.156.137.",
            "CrashLoopBackOff",
        ),
    ),
    Row(
        "crashloop-needs-reboot",
        (S.CALICO_BAD_ON_FEW_WORKERS,),
        1,
        (
            "Calico node '10.188.156.201' is already using the IPv4 address 10.188.156.137.",
            "CrashLoopBackOff",
        ),
    ),
    Row(
        "calico-down-on-worker",
        (S.CALICO_DOWN_ON_WORKER,),
        1,
        (
            "NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
            "CalicoIsDown Calico is shutting down on this node",
        ),
    ),
    Row(
        "demo",
        (S.WORKER_NOT_READY_KUBELET, S.CALICO_BAD_ON_FEW_WORKERS),
        1,
        ("Kubelet stopped posting node status.", "is already using the IPv4 address 10.190.156.12"),
    ),
    Row(
        "kube-system-crashloop",
        (S.CALICO_BAD_ON_FEW_WORKERS,),
        1,
        ("is already using the IPv4 address 10.188.156.137", "bird/confd is not live: exit status 1"),
    ),
    # The cause first, and the worker-level symptom it explains after it (issue #9, "the cause first").
    Row(
        "bgp-password-migration",
        (S.BGP_PASSWORD_MIGRATION, S.CALICO_CRASHLOOP_MOST_WORKERS),
        1,
        (
            "Can't read password referenced by BGP Configuration default in secret calico-bgp-password:password",
            "calico/node is not ready: BIRD is not ready: BGP not established with",
            "Secret calico-bgp-password is missing from calico-system (present in kube-system)",
        ),
    ),
    # The realistic shape of the same problem: the migration stops at its first worker.
    # The operator's migration stuck on that worker is said in its own words (other).
    Row(
        "bgp-migration-stalled",
        (S.BGP_PASSWORD_MIGRATION, S.CALICO_BAD_ON_FEW_WORKERS, S.OTHER),
        1,
        (
            "BGP not established with 10.188.156.10,10.189.156.10,10.190.156.10",
            "Can't read password referenced by BGP Configuration default in secret calico-bgp-password:password",
        ),
    ),
    Row(
        "calico-absent-webhook",
        (S.CALICO_ABSENT_EVERYWHERE,),
        1,
        (
            'Error creating: admission webhook "validate.kyverno.svc-fail" denied the request',
            "kyverno-resource-validating-webhook-cfg: webhook validate.kyverno.svc-fail (failurePolicy Fail",
            'DaemonSet "calico-system/calico-node" is not yet scheduled on any nodes',
        ),
    ),
    Row(
        "calico-absent-deleted",
        (S.CALICO_ABSENT_EVERYWHERE,),
        1,
        ("DaemonSet calico-node not found in calico-system nor kube-system",),
    ),
    # The edge workers cannot reach typha (a policy change): the cause (typha unreachable from
    # the workers where calico-node fails) first, the most-workers symptom after it.
    Row(
        "crashloop-most-zone",
        (S.TYPHA_UNHEALTHY, S.CALICO_CRASHLOOP_MOST_WORKERS),
        1,
        (
            "worker pool edge (5/5 affected, 0/4 healthy)",
            "FelixConfiguration default changed 90m ago by kubectl-edit",
            "Failed to connect to typha endpoint",
        ),
    ),
    # Two calico-node pods restarted 20 minutes ago while typha was down: Ready again, but not
    # "healthy" — listed (warning) after the cause.
    Row(
        "typha-unhealthy",
        (S.TYPHA_UNHEALTHY, S.CALICO_BAD_ON_FEW_WORKERS),
        1,
        (
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
            "Failed to connect to typha endpoint 10.188.156.5:5473.  Will try another if available...",
            "CrashLoopBackOff",
        ),
    ),
    Row("typha-pending-small", (S.HEALTHY,), 0),
    Row("migration-window", (S.HEALTHY,), 0, ("projectcalico.org/operator-node-migration",)),
    # A calico-node restarting during a rollout: CalicoIsDown for seconds is normal (info), but its
    # readiness probe has failed, so it is not called healthy — a warning, not the ladder.
    Row(
        "calico-down-transient",
        (S.CALICO_BAD_ON_FEW_WORKERS,),
        1,
        ("CalicoIsDown Calico is shutting down on this node", "while starting"),
    ),
    Row(
        "roks-crio-notready",
        (S.CALICO_DOWN_ON_WORKER,),
        1,
        (
            "NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: "
            "No CNI configuration file in /etc/kubernetes/cni/net.d/. Has your network provider started?",
        ),
    ),
    Row(
        "bgp-and-typha",
        (S.BGP_PASSWORD_MIGRATION, S.TYPHA_UNHEALTHY, S.CALICO_CRASHLOOP_MOST_WORKERS),
        1,
        ("BGP not established with", "Readiness probe failed: HTTP probe failed with statuscode: 503"),
    ),
    Row(
        "kubelet-dead-plus-crashloop",
        (S.WORKER_NOT_READY_KUBELET, S.CALICO_BAD_ON_FEW_WORKERS),
        1,
        (
            "Kubelet stopped posting node status.",
            'Hit error connecting to datastore - retry error=Get "https://172.21.0.1:443/api/v1/nodes/foo": '
            "dial tcp 172.21.0.1:443: i/o timeout",
        ),
    ),
)


def situation_ids(diagnosis: Diagnosis) -> tuple[SituationId, ...]:
    return tuple(s.id for s in diagnosis.situations)


def summary(diagnosis: Diagnosis) -> str:
    """What the bot said, for assertion messages."""
    lines = [f"situations {[s.value for s in situation_ids(diagnosis)]}, exit {diagnosis.exit_code}"]
    for finding in diagnosis.findings:
        lines.append(f"  {finding.severity.value} {finding.check}: {finding.title}")
        lines += [f"      {e[:200]}" for e in finding.evidence[:6]]
    lines += [f"  unknown {u.check}: {u.what}: {u.reason}" for u in diagnosis.unknowns]
    return "\n".join(lines)


def said(diagnosis: Diagnosis) -> str:
    return "\n".join(part for f in diagnosis.findings for part in (f.title, f.detail, *f.evidence))


async def read_live_and_dump(
    scenario: str, tmp_path: Path, nodes: int | None = None
) -> tuple[Snapshot, Snapshot]:
    sim = SimCluster(scenario, nodes=nodes)
    await sim.start()
    try:
        kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig", context="c")
        transport = KubeTransport(resolve_cluster("c", kubeconfig=str(kubeconfig)))
        try:
            live = await collect(transport, cluster="c", source="sim", collected_at=clock.utcnow())
        finally:
            transport.close()
        sim.write_cluster_info_dump(tmp_path / "dump", extras=True)
    finally:
        await sim.stop()
    dumped = load_dump(tmp_path / "dump")
    assert dumped.problems == (), dumped.problems
    return live, dumped.snapshot


def test_every_builtin_scenario_has_a_row() -> None:
    assert sorted(r.scenario for r in ROWS) == scenario_names()


@pytest.mark.parametrize("row", ROWS, ids=[r.scenario for r in ROWS])
async def test_golden(row: Row, tmp_path: Path) -> None:
    live_snapshot, dump_snapshot = await read_live_and_dump(row.scenario, tmp_path, row.nodes)
    live = diagnose(live_snapshot, now=live_snapshot.collected_at)
    dump = diagnose(dump_snapshot, now=dump_snapshot.collected_at)

    problems: list[str] = []
    if situation_ids(live) != row.situations:
        problems.append(f"live: expected {[s.value for s in row.situations]}")
    if live.exit_code != row.exit_code:
        problems.append(f"live: expected exit code {row.exit_code}")
    if live.unknowns:
        problems.append("live: unknowns")
    text = said(live)
    problems += [f"live: no finding says {e!r}" for e in row.evidence if e not in text]
    if situation_ids(dump) != row.situations:
        problems.append(f"dump: expected {[s.value for s in row.situations]}")
    if situation_ids(dump) != situation_ids(live):
        problems.append("dump and live disagree")
    if dump.exit_code != row.exit_code:
        problems.append(f"dump: expected exit code {row.exit_code}")
    assert not problems, "\n".join(problems) + "\nLIVE " + summary(live) + "\nDUMP " + summary(dump)


@pytest.mark.parametrize("scenario", scenario_names())
def test_merge_overrides_hit_generated_objects(scenario: str) -> None:
    """Every `merge: true` object of a scenario patches an object the simulator generated.

    Some scenarios patch typha pods by the names the simulator generates for them; if the
    generator changes those names, a patch would silently become a new, partial object.
    """
    loaded = load_scenario(scenario)
    bare = SimCluster(dataclasses.replace(loaded, objects=()))
    missed = []
    for obj in loaded.objects:
        if not obj.get("merge"):
            continue
        rtype = type_for_object(str(obj["apiVersion"]), str(obj["kind"]))
        assert rtype is not None, obj
        meta = obj["metadata"]
        namespace = str(meta.get("namespace", "")) if rtype.namespaced else ""
        if bare.store.find(rtype, namespace, str(meta["name"])) is None:
            missed.append(f"{obj['kind']} {namespace}/{meta['name']}")
    generated_typha = sorted(
        o.name
        for ns in ("calico-system", "kube-system")
        for o in bare.store.objects(PODS, ns)
        if o.labels().get("k8s-app") == "calico-typha"
    )
    assert not missed, (
        f"{scenario}: merge objects that match nothing generated: {missed}; "
        f"the simulator now generates typha pods {generated_typha} — update bot/sim/scenarios/{scenario}.yaml"
    )


async def test_five_thousand_healthy_workers(tmp_path: Path) -> None:
    """A 5,000-worker healthy cluster, read live, is healthy with nothing above info."""
    sim = SimCluster("healthy", nodes=5000)
    await sim.start()
    try:
        kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig", context="big")
        transport = KubeTransport(resolve_cluster("big", kubeconfig=str(kubeconfig)))
        started = time.monotonic()
        try:
            snapshot = await collect(transport, cluster="big", source="sim", collected_at=clock.utcnow())
        finally:
            transport.close()
        diagnosis = diagnose(snapshot, now=snapshot.collected_at)
        elapsed = time.monotonic() - started
    finally:
        await sim.stop()
    assert len(snapshot.nodes) == 5000
    assert len(snapshot.calico_node_pods()) == 5000
    assert situation_ids(diagnosis) == (S.HEALTHY,), summary(diagnosis)
    assert diagnosis.exit_code == 0
    assert not diagnosis.unknowns
    assert all(f.severity == Severity.INFO for f in diagnosis.findings), summary(diagnosis)
    assert elapsed < 60, f"collect + diagnose took {elapsed:.1f}s"
