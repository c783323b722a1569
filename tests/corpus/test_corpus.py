"""The real-world corpus as golden tests: every case in dump mode and in live mode.

Dump mode builds the case's `kubectl cluster-info dump` tree and runs `bot.cluster.checking.run_dump`;
live mode serves that same tree with `bot.sim.replay.DumpCluster` on 127.0.0.1 and runs
`bot.cluster.checking.run_check` through a kubeconfig and the real Kubernetes client. Both must name the
expected primary situation first, list every `expect.also`, quote every `expect.evidence` string in
the text report and in the `--json` evidence, never call a broken cluster healthy, and (live) give
the same situations as dump mode. Cases are expected to fail while the diagnosis learns them:
`python -m tests.corpus.score` is the measurement.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus.harness import Outcome, case_files, run_case

CASES = case_files()


def check(outcome: Outcome) -> None:
    assert not outcome.error, outcome.error
    assert not outcome.broken_called_healthy, f"a broken cluster was called healthy:\n{outcome.text}"
    assert outcome.got == outcome.expected, (
        f"primary {outcome.got!r}, expected {outcome.expected!r} (situations: {outcome.situations})\n{outcome.text}"
    )
    assert not outcome.missing_also, f"situations not listed: {outcome.missing_also}\n{outcome.text}"
    assert not outcome.missing_evidence, (
        f"evidence not quoted in the text report and the --json evidence: {outcome.missing_evidence}\n{outcome.text}"
    )


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
async def test_dump_mode(case: Path, tmp_path: Path) -> None:
    check(await run_case(case, "dump", tmp_path))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
async def test_live_mode(case: Path, tmp_path: Path) -> None:
    live = await run_case(case, "live", tmp_path / "live")
    check(live)
    dump = await run_case(case, "dump", tmp_path / "dump")
    assert live.situations == dump.situations, f"live {live.situations} != dump {dump.situations}"
