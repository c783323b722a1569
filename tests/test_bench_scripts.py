"""The benchmark scripts still run and print their numbers (tiny sizes: this is not a measurement).

A benchmark nobody runs rots: `bench/slack_ack.py` stopped working when serve's start-up line moved
to the JSON log (it waited for a line its WARNING log level hid) and nobody noticed. Each script runs
here as the README says, in a process of its own, on the smallest inputs it accepts; the test
checks that it exits 0 and prints each figure it promises, never what the figures are.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.redis_keys import REDIS_URL

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"[\d.,]+"


def run_bench(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_collect_prints_every_mode_and_the_whole_process_ratios() -> None:
    out = run_bench(
        "bench/collect.py",
        "--sizes", "20",
        "--latency-ms", "1",
        "--modes", "calico", "cli", "floor", "baseline", "bigresult", "download",
    )  # fmt: skip
    for mode in ("calico", "floor", "download", "baseline", "cli", "bigresult"):
        assert re.search(rf"^\s+20 {mode}\s", out, re.MULTILINE), mode
    assert re.search(rf"cli/floor = {NUMBER}×", out)
    assert re.search(rf"baseline/cli = {NUMBER}× faster", out)
    assert re.search(rf"cli peak RSS {NUMBER} MB", out)
    assert "verdict=healthy" in out


def test_redact_prints_throughput_worst_cases_and_the_baseline() -> None:
    out = run_bench("bench/redact.py", "--mb", "1", "--baseline-mb", "0.2", "--cap", "0.05")
    assert re.search(rf"bot\.redact\s+{NUMBER} MB/s", out)
    assert re.search(rf"baseline \(7fb9858\)\s+{NUMBER} MB/s", out)
    assert len(re.findall(rf"bot\.redact  .+ x\s+{NUMBER}$", out, re.MULTILINE)) >= 5
    assert "extrapolated (quadratic)" in out


def test_queue_ack_prints_both_modes() -> None:
    out = run_bench("bench/queue_ack.py", "--requests", "3", "--nodes", "5", "--redis", REDIS_URL)
    for label in ("redis queue", "embedded"):
        assert re.search(rf"\[{label}\] idle bot: ack {NUMBER} ms, .* card {NUMBER} s", out), label
        assert re.search(rf"\[{label}\] 3 /calico check in a row: ack p50 {NUMBER} ms, p99 {NUMBER} ms", out)
