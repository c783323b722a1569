"""The one table of checks `diagnose` runs. Adding a check = a module plus one line here."""

from __future__ import annotations

from checks import calico_down_on_worker, worker_not_ready_kubelet
from checks.model import Check, SituationId
from checks.snapshot import Read

CHECKS: tuple[Check, ...] = (
    Check(
        id=worker_not_ready_kubelet.CHECK_ID,
        situation=SituationId.WORKER_NOT_READY_KUBELET,
        needs=frozenset({Read.NODES}),
        run=worker_not_ready_kubelet.check,
    ),
    Check(
        id=calico_down_on_worker.CHECK_ID,
        situation=SituationId.CALICO_DOWN_ON_WORKER,
        needs=frozenset({Read.NODES}),
        run=calico_down_on_worker.check,
        propose=calico_down_on_worker.propose,
    ),
)
