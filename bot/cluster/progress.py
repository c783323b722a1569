"""How far a collection has got: the one progress mechanism, for the terminal and for Slack alike.

The collector updates a `Progress` as calls finish and `tick`s it; whoever shows progress
`listen`s, at most once per `every` seconds (the terminal redraws its line ten times a second,
Slack edits the "checking…" message every few seconds), and always once more when it is done.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Listener = Callable[["Progress"], None]


@dataclass
class _Subscription:
    listener: Listener
    every: float
    clock: Callable[[], float]
    last: float


@dataclass
class Progress:
    """What the progress line shows; updated as calls finish."""

    total: int
    done: int = 0
    requests: int = 0
    bytes: int = 0
    failed: int = 0
    phase: str = "reading"
    """`reading`, `logs`, then `done`."""
    _subscriptions: list[_Subscription] = field(default_factory=list, repr=False)

    def listen(
        self, listener: Listener, *, every: float = 0.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Call `listener` as the collection moves on: at most once per `every` seconds (counted from
        now), and whenever the phase becomes `done`."""
        self._subscriptions.append(_Subscription(listener, every, clock, clock()))

    def tick(self) -> None:
        for subscription in self._subscriptions:
            now = subscription.clock()
            if self.phase != "done" and now - subscription.last < subscription.every:
                continue
            subscription.last = now
            subscription.listener(self)
