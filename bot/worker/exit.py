"""How a long-running process (`serve`, `worker`) ends once its shutdown is done.

Python's exit joins every thread of every `concurrent.futures` pool, and a Kubernetes call blocked
on a silent API server keeps its pool thread until its timeout (`CALICO_BOT_API_TIMEOUT`, 20 s by
default; more if raised). By then the job that made the call has been handed back to the queue (or
has finished), so nothing is left to wait for — yet the exit would wait, past Kubernetes' 30-second
grace period, and end in a SIGKILL. `finish` ends the process at once when such threads remain,
after saying so and flushing the logs.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time

from bot.cluster.kube import close_executor

log = logging.getLogger("calico-bot.exit")


def busy_threads() -> list[str]:
    """Names of the threads, other than this one, that would hold up the interpreter's exit."""
    me = threading.current_thread()
    return sorted(t.name for t in threading.enumerate() if t is not me and t.is_alive() and not t.daemon)


def finish(code: int, *, settle_seconds: float = 1.0) -> int:
    """Return `code` once nothing would hold up the exit; otherwise log, flush and leave now.

    The Kubernetes client's pool is shut first: its idle threads end at once, a thread inside a call
    does not. Threads get `settle_seconds` to end before they count as busy.
    """
    close_executor()
    deadline = time.monotonic() + settle_seconds
    me = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not me and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    busy = busy_threads()
    if not busy:
        return code
    log.warning(
        "exiting with %d thread(s) still inside a call (%s): the work they served is done or handed back",
        len(busy),
        ", ".join(busy[:5]),
    )
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
