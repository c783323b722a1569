"""`calico-bot escalate` from a terminal: the hand-off text and links; `--page` without a routing
key says so; with PagerDuty down the hand-off is still printed and says paging failed (exit 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("CALICO_BOT_PAGERDUTY")}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", "escalate", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=full,
        timeout=120,
    )


def test_handoff_text_and_links() -> None:
    done = run("demo")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Escalation: demo")
    assert "https://ibm.pagerduty.com/escalation_policies#P2MK3WQ" in done.stdout
    assert "/issues/new?title=" in done.stdout
    assert "no action recorded by calico-bot on this cluster" in done.stdout


def test_page_without_a_routing_key() -> None:
    done = run("demo", "--page")
    assert done.returncode == 0
    assert "Paging: not configured (CALICO_BOT_PAGERDUTY_ROUTING_KEY is not set)." in done.stdout


def test_pagerduty_down_still_prints_the_handoff() -> None:
    done = run(
        "demo",
        "--page",
        CALICO_BOT_PAGERDUTY_ROUTING_KEY="R0UT1NGKEYSECRETVALUE0000000000",
        CALICO_BOT_PAGERDUTY_EVENTS_URL="http://127.0.0.1:9/v2/enqueue",
    )
    assert done.returncode == 1
    assert done.stdout.startswith("Escalation: demo")
    assert "Paging failed" in done.stdout
    assert "R0UT1NGKEYSECRETVALUE" not in done.stdout + done.stderr
