"""The simulator's clock: fixed (golden tests), real time, or a fast clock for drills.

    SimClock(now=T)                     # fixed at T: nothing the clock drives ever moves
    SimClock()                          # starts at this second, runs at the wall clock's pace
    SimClock(time_scale=60)             # starts now, one real second = one simulated minute
    SimClock(now=T, time_scale=60)      # starts at T, runs 60x

A moving clock runs on `time.monotonic()`, so a change of the machine's clock does not make it
jump. Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta


class SimClock:
    def __init__(self, now: datetime | None = None, time_scale: float | None = None) -> None:
        if time_scale is not None and not (math.isfinite(time_scale) and time_scale > 0):
            raise ValueError(f"time_scale must be a positive number, got {time_scale!r}")
        self.start = now.astimezone(UTC) if now is not None else datetime.now(UTC).replace(microsecond=0)
        self.fixed = now is not None and time_scale is None
        self.scale = 1.0 if time_scale is None else float(time_scale)
        self._t0 = time.monotonic()

    @property
    def moving(self) -> bool:
        return not self.fixed

    def __call__(self) -> datetime:
        if self.fixed:
            return self.start
        return self.start + timedelta(seconds=(time.monotonic() - self._t0) * self.scale)

    def wall_seconds(self, simulated: float) -> float:
        """How many real seconds `simulated` seconds of this clock take (0 when it is fixed)."""
        return 0.0 if self.fixed else simulated / self.scale
