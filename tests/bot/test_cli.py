"""`calico-bot` as a user runs it, in subprocesses:
- `check demo` diagnoses the built-in scenario (loopback only);
- `check CLUSTER --kubeconfig K --json` against `calico-bot sim` in another process prints the
  schema; `--from-dump` on the same cluster's dump gives the same situations;
- bad input is one clear line on stderr and exit 2, never a traceback: unknown cluster (with the
  known ones listed), missing kubeconfig, unreachable server, missing/empty dump, no arguments.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.sim import SimCluster

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_KEYS = {
    "cluster",
    "checked_at",
    "source",
    "situations",
    "findings",
    "actions",
    "unknowns",
    "worker_map",
}


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    if "KUBECONFIG" not in (env or {}):
        full_env.pop("KUBECONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=full_env,
        timeout=timeout,
    )


def one_clear_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture(scope="module")
def sim_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`calico-bot sim --scenario crashloop-one` in its own process; yields its kubeconfig."""
    kubeconfig = tmp_path_factory.mktemp("sim") / "crash.kubeconfig"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "sim",
            "--scenario",
            "crashloop-one",
            "--nodes",
            "20",
            "--cluster",
            "crash-cluster",
            "--kubeconfig-out",
            str(kubeconfig),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while not kubeconfig.exists() and time.time() < deadline:
            assert proc.poll() is None, "simulator exited"
            time.sleep(0.1)
        assert kubeconfig.exists()
        yield kubeconfig
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_demo_prints_a_diagnosis() -> None:
    done = run("check", "demo")
    assert done.returncode == 1, done.stderr
    assert "worker-not-ready-kubelet" in done.stdout
    assert "calico-bad-on-few-workers" in done.stdout
    assert "Kubelet stopped posting node status." in done.stdout
    assert "\033[" not in done.stdout  # not a TTY: no colour


def test_live_check_against_the_sim_process_prints_the_schema(sim_process: Path) -> None:
    done = run("check", "crash-cluster", "--kubeconfig", str(sim_process), "--json")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    diagnosis = json.loads(lines[0])
    assert set(diagnosis) == CONTRACT_KEYS
    assert "calico-canary-" not in done.stdout  # redacted from the logs before diagnosis
    assert diagnosis["source"] == "live"
    assert [s["id"] for s in diagnosis["situations"]] == ["calico-bad-on-few-workers"]
    assert {"kind", "target", "reason", "requires_approval"} <= set(diagnosis["actions"][0])
    assert done.stderr == ""  # --json: no progress line


def test_kubeconfig_list_and_clusters_dir(sim_process: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [],
                "users": [],
                "contexts": [{"name": "unrelated", "context": {"cluster": "x", "user": "y"}}],
            }
        )
    )
    joined = f"{other}{os.pathsep}{sim_process}"
    assert run("check", "crash-cluster", "--json", env={"KUBECONFIG": joined}).returncode == 1
    clusters = tmp_path / "clusters"
    clusters.mkdir()
    (clusters / "crash-cluster.yaml").write_text(sim_process.read_text())
    assert run("check", "crash-cluster", "--clusters-dir", str(clusters), "--json").returncode == 1


def test_dump_of_the_same_cluster_gives_the_same_situations(tmp_path: Path) -> None:
    async def make_dump() -> None:
        async with SimCluster("crashloop-one", nodes=8) as sim:
            sim.write_cluster_info_dump(tmp_path / "dump", extras=True)
            sim.write_kubeconfig(tmp_path / "kc", context="c")

    asyncio.run(make_dump())
    done = run("check", "--from-dump", str(tmp_path / "dump"), "--json")
    assert done.returncode == 1, done.stderr
    diagnosis = json.loads(done.stdout)
    assert diagnosis["source"] == "dump"
    dumped_logs = "".join(p.read_text() for p in (tmp_path / "dump").rglob("logs.txt"))
    assert "calico-canary-" in dumped_logs  # the dump itself carries the canary…
    assert "calico-canary-" not in done.stdout  # the scenario's canary credential was redacted
    assert [s["id"] for s in diagnosis["situations"]] == ["calico-bad-on-few-workers"]


def test_unknown_cluster_lists_the_known_ones(sim_process: Path) -> None:
    line = one_clear_line(run("check", "nope", "--kubeconfig", str(sim_process)))
    assert "unknown cluster 'nope'" in line
    assert "crash-cluster" in line


def test_missing_kubeconfig(tmp_path: Path) -> None:
    line = one_clear_line(run("check", "x", "--kubeconfig", str(tmp_path / "absent.yaml")))
    assert "kubeconfig not found" in line


def test_unreachable_server(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "dead.yaml"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "dead",
                "clusters": [{"name": "dead", "cluster": {"server": "http://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "u"}}],
            }
        )
    )
    line = one_clear_line(run("check", "dead", "--kubeconfig", str(kubeconfig), "--timeout", "2"))
    assert "could not read cluster dead" in line
    assert "refused" in line
    as_json = run("check", "dead", "--kubeconfig", str(kubeconfig), "--json", "--timeout", "2")
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout)["situations"] == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("check",), "name a cluster"),
        (("check", "--from-dump", "/nonexistent/dump"), "no such file or directory"),
        (("check", "--sim", "no-such-scenario"), "unknown scenario"),
    ],
)
def test_bad_input_is_one_line(args: tuple[str, ...], expected: str) -> None:
    assert expected in one_clear_line(run(*args))


def test_empty_dump_directory(tmp_path: Path) -> None:
    assert "empty" in one_clear_line(run("check", "--from-dump", str(tmp_path)))
