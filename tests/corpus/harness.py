"""Run one corpus case the two ways calico-bot meets clusters, and say how the diagnosis did.

- **dump**: the case's dump directory through `bot.cluster.checking.run_dump` (`check --from-dump`);
- **live**: the same directory served by `bot.sim.replay.DumpCluster` on 127.0.0.1 and read by
  `bot.cluster.checking.run_check` through the real Kubernetes client and a kubeconfig.

`Outcome` holds what the tests assert and `score.py` prints: the situations in report order, the
expected evidence quoted (in the text report *and* in the `--json` findings' evidence), and any
error (a malformed case, a failed check, an exception) as text — running a case never raises.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bot.cluster.checking import CheckFailed, CheckResult, run_check, run_dump
from bot.cluster.sources import ClusterAccess
from bot.report import render_text
from bot.sim.replay import DumpCluster
from tests.corpus.build import write_case_dump
from tests.corpus.case import Case, CaseError, load_case
from tests.corpus.objects import build_cluster

Mode = Literal["dump", "live"]
MODES: tuple[Mode, ...] = ("dump", "live")
CASES_DIR = Path(__file__).parent / "cases"


def case_files() -> list[Path]:
    return sorted(CASES_DIR.glob("*.yaml"))


@dataclass
class Outcome:
    case: str
    mode: Mode
    expected: str = ""
    situations: list[str] = field(default_factory=list)
    """Problem situation ids in report order; `["healthy"]` when called healthy."""
    evidence: list[str] = field(default_factory=list)
    quoted: list[str] = field(default_factory=list)
    also: list[str] = field(default_factory=list)
    error: str = ""
    text: str = ""

    @property
    def got(self) -> str:
        return self.situations[0] if self.situations else "(none)"

    @property
    def primary_ok(self) -> bool:
        return not self.error and self.got == self.expected

    @property
    def called_healthy(self) -> bool:
        return "healthy" in self.situations

    @property
    def broken_called_healthy(self) -> bool:
        return self.expected != "healthy" and self.called_healthy

    @property
    def missing_evidence(self) -> list[str]:
        return [e for e in self.evidence if e not in self.quoted]

    @property
    def missing_also(self) -> list[str]:
        return [a for a in self.also if a not in self.situations]


def situation_ids(result: CheckResult) -> list[str]:
    problems = [str(s.id) for s in result.diagnosis.problem_situations()]
    if problems:
        return problems
    return ["healthy"] if result.diagnosis.healthy else []


def json_evidence(result: CheckResult) -> list[str]:
    """Every evidence string of every finding in the `--json` output."""
    doc = json.loads(result.diagnosis.to_json())
    return [str(line) for finding in doc.get("findings", []) for line in finding.get("evidence", [])]


def judge(outcome: Outcome, case: Case, result: CheckResult) -> Outcome:
    outcome.situations = situation_ids(result)
    outcome.text = render_text(result.diagnosis, snapshot=result.snapshot, color=False)
    in_json = json_evidence(result)
    outcome.quoted = [
        e for e in case.expect.evidence if e in outcome.text and any(e in line for line in in_json)
    ]
    return outcome


def _dump_dir(case: Case, workdir: Path) -> Path:
    return write_case_dump(case, build_cluster(case), workdir / case.slug)


def run_case_dump(case: Case, workdir: Path) -> CheckResult:
    return run_dump(str(_dump_dir(case, workdir)), cluster=case.slug)


async def run_case_live(case: Case, workdir: Path) -> CheckResult:
    directory = _dump_dir(case, workdir)
    async with DumpCluster.from_dump(directory, cluster_name=case.slug) as sim:
        kubeconfig = sim.write_kubeconfig(workdir / f"{case.slug}.kubeconfig", context=case.slug)
        return await run_check(case.slug, ClusterAccess(kubeconfig=str(kubeconfig)))


def _failure(exc: BaseException) -> str:
    if isinstance(exc, CaseError):
        return f"malformed case: {exc}"
    if isinstance(exc, CheckFailed):
        return f"check failed: {exc.what_failed} ({exc.try_next})"
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


async def run_case(path: Path, mode: Mode, workdir: Path | None = None) -> Outcome:
    """One case in one mode; every failure becomes `Outcome.error`."""
    outcome = Outcome(case=path.stem, mode=mode)
    try:
        case = load_case(path)
        outcome.expected = case.expect.primary
        outcome.evidence = list(case.expect.evidence)
        outcome.also = list(case.expect.also)
        with _workdir(workdir) as where:
            if mode == "dump":
                result = await asyncio.to_thread(run_case_dump, case, where)
            else:
                result = await run_case_live(case, where)
        return judge(outcome, case, result)
    except Exception as exc:
        outcome.error = _failure(exc)
        return outcome


@contextmanager
def _workdir(given: Path | None) -> Iterator[Path]:
    """The given directory, or a temporary one removed afterwards."""
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
        yield Path(tmp)


def iter_modes(modes: str) -> Iterator[Mode]:
    for mode in MODES:
        if modes in ("both", mode):
            yield mode
