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

log = logging.getLogger("calico-bot.exit")


def waiting_threads() -> list[str]:
    """Names of the threads, other than this one, that would hold up the interpreter's exit."""
    me = threading.current_thread()
    return sorted(t.name for t in threading.enumerate() if t is not me and t.is_alive() and not t.daemon)


def finish(code: int) -> int:
    """Return `code` when nothing would hold up the exit; otherwise log, flush and leave now."""
    waiting = waiting_threads()
    if not waiting:
        return code
    log.warning(
        "exiting with %d call(s) still waiting on a server (%s): the work they served is done or handed back",
        len(waiting),
        ", ".join(waiting[:5]),
    )
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
