"""How serve and worker end (bot.worker.exit.finish), in processes of their own.

Idle threads of the Kubernetes client's pool end with the pool and the process exits normally; a
thread still inside a call (a read on a silent API server) does not hold the exit for the call's
timeout: the process says so and leaves with its exit code.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

IDLE = """
from bot.cluster.kube import executor
from bot.worker.exit import finish
executor().submit(sum, [1, 2]).result()
print("finish returned", finish(0))
"""

BLOCKED = """
import logging, sys, threading, time
logging.basicConfig(stream=sys.stderr, level=logging.INFO)
from bot.cluster.kube import executor
from bot.worker.exit import finish
inside = threading.Event()
def silent_server():
    inside.set()
    time.sleep(120)
executor().submit(silent_server)
inside.wait()
print("finish returned", finish(3))
"""


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_idle_pool_threads_let_the_process_end_normally() -> None:
    done = run(IDLE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "finish returned 0"
    assert "still inside a call" not in done.stderr


def test_a_thread_inside_a_call_does_not_hold_the_exit() -> None:
    done = run(BLOCKED)  # without finish, the exit would wait the 120 s call out (the timeout above)
    assert done.returncode == 3
    assert "finish returned" not in done.stdout
    assert "exiting with 1 thread(s) still inside a call (kube_0)" in done.stderr
