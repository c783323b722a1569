"""`/readyz`: is this process able to take work right now?

A process is ready when every one of its probes answers True within its deadline: `serve` and
`worker` probe Redis (with `REDIS_URL` set) and the job queue. The probes run together, so a
silent Redis costs one deadline, not one per probe; a probe that raises or overruns counts as not
ready and is named in the answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[bool]]
DEADLINE_SECONDS = 2.0
"""Per probe; well inside Kubernetes' default probe timeout budget (timeoutSeconds 3 in deploy/)."""


@dataclass(frozen=True)
class Check:
    name: str
    probe: Probe
    deadline: float = DEADLINE_SECONDS


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: dict[str, bool] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    """Why a check is not ready: `no answer in 2.0 s`, `ConnectionError`, `answered not ready`."""

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ready,
            "checks": self.checks,
            **({"reasons": self.reasons} if self.reasons else {}),
        }


async def _run(check: Check) -> tuple[bool, str]:
    try:
        ok = await asyncio.wait_for(check.probe(), check.deadline)
    except TimeoutError:
        return False, f"no answer in {check.deadline:.1f} s"
    except Exception as exc:  # a failing probe is "not ready", never a 500
        return False, type(exc).__name__
    return (True, "") if ok else (False, "answered not ready")


async def evaluate(checks: Sequence[Check]) -> Readiness:
    results = await asyncio.gather(*(_run(c) for c in checks))
    states = {c.name: ok for c, (ok, _) in zip(checks, results, strict=True)}
    reasons = {c.name: why for c, (ok, why) in zip(checks, results, strict=True) if not ok}
    return Readiness(ready=all(states.values()), checks=states, reasons=reasons)


class ReadinessLog:
    """Logs a change of readiness once (not on every probe): `not ready: redis (no answer in 2.0 s)`."""

    def __init__(self) -> None:
        self._last: bool | None = None

    def note(self, readiness: Readiness) -> None:
        if readiness.ready == self._last:
            return
        self._last = readiness.ready
        if readiness.ready:
            log.info("ready: %s", ", ".join(readiness.checks) or "no probes")
        else:
            failing = ", ".join(f"{name} ({why})" for name, why in readiness.reasons.items())
            log.warning("not ready: %s", failing)
