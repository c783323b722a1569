"""`scripts/collect-dump` — the README's dump instructions — run with the real kubectl against the
simulator (HTTPS) gives, for every built-in scenario, the situations of the live check.

The live check reads the same simulated cluster through the official client. The dump cannot hold
previous container logs, but during a crash loop the kubelet serves the crashed run as the current
log too (`kubectl logs` = `--previous`), so no scenario differs: the test asserts equality and no
unknowns. The BGP password secret's value never lands in the directory."""

from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path

import pytest

from bot import clock
from bot.cluster.checking import judgement_time, run_dump
from bot.cluster.collect import collect
from bot.cluster.kube import KubeTransport, resolve_cluster
from bot.sim import scenario_names
from bot.sim.store import find_type
from checks.diagnose import diagnose
from tests.kubectl.conftest import ROOT, Cluster, StartCluster, kubectl_binary

SECRETS = find_type("", "secrets")


async def collect_dump(c: Cluster, out: Path, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(ROOT / "scripts" / "collect-dump"),
        *args,
        str(out),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**c.env(), "KUBECTL": kubectl_binary()},
    )
    _out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, err.decode()


async def live_situations(c: Cluster) -> tuple[str, ...]:
    transport = KubeTransport(resolve_cluster("sim", kubeconfig=str(c.kubeconfig)))
    try:
        snapshot = await collect(transport, cluster="sim", source="live", collected_at=clock.utcnow())
    finally:
        transport.close()
    now, _note = judgement_time(snapshot)
    diagnosis = diagnose(snapshot, now=now)
    assert not diagnosis.unknowns, diagnosis.unknowns
    return tuple(s.id.value for s in diagnosis.situations)


@pytest.mark.parametrize("scenario", scenario_names())
async def test_dump_collected_as_the_readme_says_gives_the_live_situations(
    cluster: StartCluster, scenario: str, tmp_path: Path
) -> None:
    c = await cluster(scenario, time_scale=1.0)  # a live cluster: its clock runs
    code, err = await collect_dump(c, tmp_path / "dump", "--context", "sim")
    assert code == 0, err
    live = await live_situations(c)
    result = await asyncio.to_thread(run_dump, str(tmp_path / "dump"), cluster=None)
    dumped = tuple(s.id.value for s in result.diagnosis.situations)
    assert result.snapshot.missing == (), result.snapshot.missing
    assert not result.diagnosis.unknowns, result.diagnosis.unknowns
    assert dumped == live
    assert (tmp_path / "dump" / "extras" / "apis.json").is_file()
    if not c.sim.scenario.operator_era:  # the operator CRDs are not installed: told by apis.json
        assert not (tmp_path / "dump" / "extras" / "installations.json").exists()
        assert "installations" in result.snapshot.absent_kinds


async def test_the_bgp_password_never_lands_in_the_dump(cluster: StartCluster, tmp_path: Path) -> None:
    c = await cluster("bgp-password-migration")
    assert SECRETS is not None
    values: list[bytes] = []
    for obj in c.sim.store.objects(SECRETS):
        for value in (obj.doc().get("data") or {}).values():
            values += [value.encode(), base64.b64decode(value)]
    assert values, "the scenario has a secret with a value"
    code, err = await collect_dump(c, tmp_path / "dump")
    assert code == 0, err
    names = (tmp_path / "dump" / "extras" / "secrets.json").read_text()
    assert '"name":"calico-bgp-password","namespace":"kube-system"' in names
    for path in (tmp_path / "dump").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(v in data for v in values), f"a secret value in {path}"
            assert oct(path.stat().st_mode & 0o777) in ("0o600",), path


async def test_what_could_not_be_read_is_said_and_not_faked(cluster: StartCluster, tmp_path: Path) -> None:
    c = await cluster("healthy")
    c.sim.set_faults([{"route": "GET /apis/coordination.k8s.io/v1/namespaces/{ns}/leases", "status": 403}])
    code, err = await collect_dump(c, tmp_path / "dump")
    assert code == 1
    assert "could not collect extras/leases.json" in err
    assert not (tmp_path / "dump" / "extras" / "leases.json").exists()
    result = await asyncio.to_thread(run_dump, str(tmp_path / "dump"), cluster=None)
    assert "leases" in result.snapshot.missing


def test_usage(tmp_path: Path) -> None:
    import subprocess

    done = subprocess.run(
        [str(ROOT / "scripts" / "collect-dump")], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert "usage:" in done.stderr
    assert os.access(ROOT / "scripts" / "collect-dump", os.X_OK)
