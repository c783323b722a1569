"""`calico-bot` as a process costs what its work costs (issue #13 item 6), checked without timing:

- the coroutine each subcommand gives to `asyncio.run` returns an exit code, never the check's
  result: Python 3.11's `asyncio.run` builds the repr of the main task, result included, when it
  restores the SIGINT handler, and at 5,000 workers that repr took seconds and ~170 MB;
- each path imports only what it uses: `import bot.cli` loads no SDK; `check --from-dump --json`
  no Kubernetes client; `check CLUSTER --json` the Kubernetes client and nothing of Slack, Redis,
  aiohttp, the simulator or the text report (which the same check without --json does load).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from bot.cluster import checking

ROOT = Path(__file__).resolve().parents[2]
DUMP = ROOT / "tests" / "dump" / "fixtures" / "iks129-calico-system"
WATCHED = ("kubernetes", "urllib3", "aiohttp", "slack_bolt", "slack_sdk", "redis", "bot.sim", "bot.report")

# Runs the real CLI in a fresh interpreter and, at exit, names the WATCHED packages it loaded.
PROBE = f"""
import atexit, json, sys
WATCHED = {WATCHED!r}

def loaded():
    found = [w for w in WATCHED if any(m == w or m.startswith(w + ".") for m in sys.modules)]
    sys.stderr.write("LOADED " + json.dumps(found) + "\\n")

atexit.register(loaded)
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


# --- the repr pathology --------------------------------------------------------------------


@pytest.fixture
def default_sigint() -> Iterator[None]:
    """The handler a terminal run starts with: asyncio.run swaps it only when it is the default."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.fixture
def run_results(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What every asyncio.run in the test returned."""
    seen: list[object] = []
    real = asyncio.run

    def recording(main: Coroutine[Any, Any, object], **kwargs: Any) -> object:
        value = real(main, **kwargs)
        seen.append(value)
        return value

    monkeypatch.setattr(asyncio, "run", recording)
    return seen


def count_reprs(monkeypatch: pytest.MonkeyPatch, cls: type[object]) -> list[int]:
    calls: list[int] = []
    original: Callable[[object], str] = cls.__repr__

    def counting(self: object) -> str:
        calls.append(1)
        return original(self)

    monkeypatch.setattr(cls, "__repr__", counting)
    return calls


def test_check_builds_no_repr_of_its_result(
    default_sigint: None,
    run_results: list[object],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reprs = count_reprs(monkeypatch, checking.CheckResult)
    code = cli.main(["check", "--sim", "crashloop-one", "--nodes", "6", "--json"])
    out = capsys.readouterr().out
    assert code == 1
    assert [s["id"] for s in json.loads(out)["situations"]] == ["calico-bad-on-few-workers"]
    assert reprs == []  # the old CLI built it twice (signal.getsignal and signal.signal)
    assert run_results == [1]  # the exit code, not the CheckResult


def test_check_from_a_dump_returns_only_the_exit_code(
    default_sigint: None,
    run_results: list[object],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reprs = count_reprs(monkeypatch, checking.CheckResult)
    code = cli.main(["check", "--from-dump", str(DUMP)])
    assert "typha-unhealthy" in capsys.readouterr().out
    assert reprs == []
    assert run_results == [code]
    assert type(run_results[0]) is int


def test_gather_and_escalate_return_only_exit_codes(
    default_sigint: None, run_results: list[object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "bundle.tar.gz"
    gathered = cli.main(["gather", "demo", "10.190.156.12", "-o", str(bundle)])
    assert bundle.stat().st_size > 0
    escalated = cli.main(["escalate", "demo"])
    assert "armada-network" in capsys.readouterr().out
    assert run_results == [gathered, escalated]
    assert all(type(value) is int for value in run_results)


# --- imports -------------------------------------------------------------------------------


def probe(*args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("KUBECONFIG", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    marks = [line for line in done.stderr.splitlines() if line.startswith("LOADED ")]
    assert len(marks) == 1, done.stderr
    loaded: list[str] = json.loads(marks[0].removeprefix("LOADED "))
    return done, loaded


def test_importing_the_cli_loads_no_sdk() -> None:
    code = (
        "import sys, bot.cli; "
        f"print(sorted(w for w in {WATCHED!r} if any(m == w or m.startswith(w + '.') for m in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_check_from_a_dump_needs_no_kubernetes_client() -> None:
    done, loaded = probe("check", "--from-dump", str(DUMP), "--json")
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["source"] == "dump"
    assert loaded == []


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`calico-bot sim` in its own process: a real API on 127.0.0.1; yields its kubeconfig."""
    kubeconfig = tmp_path_factory.mktemp("sim") / "imports.kubeconfig"
    sim = ("sim", "--scenario", "healthy", "--nodes", "5", "--cluster", "imports")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", *sim, "--kubeconfig-out", str(kubeconfig)],
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


def test_check_of_a_cluster_loads_the_kubernetes_client_and_nothing_else(served: Path) -> None:
    done, loaded = probe("check", "imports", "--kubeconfig", str(served), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["situations"][0]["id"] == "healthy"
    assert loaded == ["kubernetes", "urllib3"]


def test_the_text_report_is_loaded_when_it_is_printed(served: Path) -> None:
    done, loaded = probe("check", "imports", "--kubeconfig", str(served))
    assert done.returncode == 0, done.stderr
    assert "HEALTHY" in done.stdout
    assert loaded == ["kubernetes", "urllib3", "bot.report"]
