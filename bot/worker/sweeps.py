"""A worker's periodic duties, at start-up and then every `CALICO_BOT_SWEEP_SECONDS`: expire the
approval requests nobody decided in time (their cards say so), and queue a takeover of every
execution whose worker stopped beating (killed, evicted, cut off from Redis)."""

from __future__ import annotations

import asyncio
import logging

from bot.remediation.flow import Remediation
from bot.store.redis_store import StoreUnavailable

log = logging.getLogger(__name__)


async def sweep_once(remediation: Remediation) -> tuple[int, int]:
    """(requests expired, stalled executions queued for a takeover); failures are logged."""
    expired = stalled = 0
    try:
        expired = await remediation.sweep_expired()
        if expired:
            log.info("expired %d approval request(s)", expired)
    except StoreUnavailable as exc:
        log.warning("expiry sweep skipped: %s", exc)
    except Exception:  # the sweeper must survive a bad record
        log.exception("expiry sweep failed")
    try:
        stalled = await remediation.sweep_stalled()
        if stalled:
            log.warning("queued the takeover of %d stalled execution(s)", stalled)
    except StoreUnavailable as exc:
        log.warning("stalled-execution sweep skipped: %s", exc)
    except Exception:
        log.exception("stalled-execution sweep failed")
    return expired, stalled


async def sweep_forever(remediation: Remediation, every: float) -> None:
    while True:
        await sweep_once(remediation)
        await asyncio.sleep(every)
