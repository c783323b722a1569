"""The one table of checks `diagnose` runs. Adding a check = a module plus one entry here."""

from __future__ import annotations

from checks import (
    bgp_password_migration,
    calico_absent_everywhere,
    calico_bad_on_few_workers,
    calico_crashloop_most_workers,
    calico_down_on_worker,
    other,
    typha_unhealthy,
    worker_not_ready_kubelet,
)
from checks.model import Check, SituationId
from checks.snapshot import Read

_NODES_AND_PODS = frozenset({Read.NODES, Read.CALICO_PODS})

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
    Check(
        id=calico_absent_everywhere.CHECK_ID,
        situation=SituationId.CALICO_ABSENT_EVERYWHERE,
        needs=_NODES_AND_PODS | {Read.DAEMONSETS},
        run=calico_absent_everywhere.check,
        propose=calico_absent_everywhere.propose,
    ),
    Check(
        id=bgp_password_migration.CHECK_ID,
        situation=SituationId.BGP_PASSWORD_MIGRATION,
        needs=_NODES_AND_PODS,
        run=bgp_password_migration.check,
        propose=bgp_password_migration.propose,
    ),
    Check(
        id=calico_crashloop_most_workers.CHECK_ID,
        situation=SituationId.CALICO_CRASHLOOP_MOST_WORKERS,
        needs=_NODES_AND_PODS,
        run=calico_crashloop_most_workers.check,
        propose=calico_crashloop_most_workers.propose,
    ),
    Check(
        id=calico_bad_on_few_workers.CHECK_ID,
        situation=SituationId.CALICO_BAD_ON_FEW_WORKERS,
        needs=_NODES_AND_PODS,
        run=calico_bad_on_few_workers.check,
        propose=calico_bad_on_few_workers.propose,
    ),
    Check(
        id=typha_unhealthy.CHECK_ID,
        situation=SituationId.TYPHA_UNHEALTHY,
        needs=_NODES_AND_PODS | {Read.DEPLOYMENTS},
        run=typha_unhealthy.check,
        propose=typha_unhealthy.propose,
    ),
    Check(
        id=other.CHECK_ID,
        situation=SituationId.OTHER,
        needs=frozenset({Read.NODES}),
        run=other.check,
    ),
)
