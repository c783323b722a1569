"""Score the corpus: every case in dump and live mode, one row each, then the totals.

    python -m tests.corpus.score                       # every case in tests/corpus/cases
    python -m tests.corpus.score tests/corpus/cases/harness-*.yaml --mode live
    python -m tests.corpus.score --failures            # also print what each failing row missed

Columns: case, mode, expected primary, got (first problem situation), evidence quoted k/n,
healthy? (called healthy), and the error if the case could not be run. Totals per mode: primary
right %, key evidence quoted %, broken cases called healthy, errors. A bad case is an error row,
never a crash; the exit status is 0 whatever the score (it is a measurement, not a test).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.corpus.harness import MODES, Outcome, case_files, iter_modes, run_case


def _row(outcome: Outcome, width: int) -> str:
    evidence = f"{len(outcome.quoted)}/{len(outcome.evidence)}"
    mark = "ok" if outcome.primary_ok else "--"
    healthy = "HEALTHY" if outcome.broken_called_healthy else ("yes" if outcome.called_healthy else "no")
    got = "ERROR" if outcome.error else outcome.got
    line = f"{outcome.case:<{width}}  {outcome.mode:<4}  {mark}  {outcome.expected:<30}  {got:<30}  {evidence:>5}  {healthy:<7}"
    if outcome.error:
        line += f"  {outcome.error[:160]}"
    return line


def totals(outcomes: Sequence[Outcome], mode: str) -> str:
    rows = [o for o in outcomes if o.mode == mode]
    if not rows:
        return f"{mode}: no cases"
    right = sum(o.primary_ok for o in rows)
    wanted = sum(len(o.evidence) for o in rows)
    quoted = sum(len(o.quoted) for o in rows)
    healthy = sum(o.broken_called_healthy for o in rows)
    errors = sum(bool(o.error) for o in rows)
    evidence = f"{100 * quoted / wanted:.0f}% ({quoted}/{wanted})" if wanted else "n/a"
    return (
        f"{mode}: primary right {100 * right / len(rows):.0f}% ({right}/{len(rows)}), "
        f"key evidence quoted {evidence}, broken called healthy {healthy}, errors {errors}"
    )


def details(outcome: Outcome) -> list[str]:
    lines = []
    if outcome.error:
        lines.append(f"    error: {outcome.error}")
    for missing in outcome.missing_evidence:
        lines.append(f"    not quoted: {missing!r}")
    for also in outcome.missing_also:
        lines.append(f"    not listed: {also}")
    if not outcome.primary_ok and not outcome.error:
        lines.append(f"    situations: {', '.join(outcome.situations) or '(none)'}")
    return lines


async def score(paths: Sequence[Path], modes: str) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for path in paths:
        for mode in iter_modes(modes):
            outcomes.append(await run_case(path, mode))
    return outcomes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.corpus.score", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "cases", nargs="*", type=Path, help="case files (default: every tests/corpus/cases/*.yaml)"
    )
    parser.add_argument("--mode", choices=("both", *MODES), default="both")
    parser.add_argument("--failures", action="store_true", help="print what each failing row missed")
    args = parser.parse_args(argv)
    paths = list(args.cases) or case_files()
    outcomes = asyncio.run(score(paths, args.mode))
    width = max([len(o.case) for o in outcomes] + [4])
    print(f"{'case':<{width}}  mode  ok  {'expected':<30}  {'got':<30}  {'evid':>5}  healthy?")
    for outcome in outcomes:
        print(_row(outcome, width))
        if args.failures and (not outcome.primary_ok or outcome.missing_evidence or outcome.missing_also):
            for line in details(outcome):
                print(line)
    print()
    for mode in iter_modes(args.mode):
        print(totals(outcomes, mode))
    return 0


if __name__ == "__main__":
    sys.exit(main())
