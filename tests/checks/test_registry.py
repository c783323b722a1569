"""The registry as a whole:
- every situation id of the contract has a check, and every check module is registered once;
- for every check and every read it needs, a failed read makes that check unknown (never silence,
  never healthy), and the other checks still run.
"""

from __future__ import annotations

import pkgutil

import pytest

import checks
from checks.diagnose import diagnose
from checks.model import SituationId
from checks.registry import CHECKS
from checks.snapshot import ReadError
from tests.factories import NOW, node, snapshot, unknown_node

HELPER_MODULES = {
    "catalog",
    "common",
    "calico_pods",
    "diagnose",
    "logscan",
    "model",
    "objects",
    "registry",
    "signals",
    "snapshot",
    "worker_map",
}


def test_every_situation_has_a_check_and_every_check_module_is_registered() -> None:
    assert {c.situation for c in CHECKS} == set(SituationId) - {SituationId.HEALTHY}
    modules = {m.name for m in pkgutil.iter_modules(checks.__path__)} - HELPER_MODULES
    assert {c.id.replace("-", "_") for c in CHECKS} == modules
    assert len({c.id for c in CHECKS}) == len(CHECKS)


@pytest.mark.parametrize(("check_id", "need"), [(c.id, need) for c in CHECKS for need in sorted(c.needs)])
def test_a_failed_need_makes_the_check_unknown(check_id: str, need: str) -> None:
    snap = snapshot(
        nodes=(unknown_node("10.0.0.1"), node("10.0.0.2")),
        errors=(ReadError(read=need, reason="HTTP 403: forbidden", status=403),),
    )
    diagnosis = diagnose(snap, now=NOW)
    assert any(u.check == check_id and "forbidden" in u.reason for u in diagnosis.unknowns)
    assert not diagnosis.healthy
    assert diagnosis.exit_code != 0
    ran = {f.check for f in diagnosis.findings}
    if need != "nodes":
        assert "worker-not-ready-kubelet" in ran  # the others still ran
