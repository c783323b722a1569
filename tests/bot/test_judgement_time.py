"""Live data is judged like a dump when it is old: ages and grace periods are measured from the
data's newest moment when that lies far behind this machine's clock (a cluster-info dump served as
an API), so dump and live mode judge the same evidence the same way."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.cluster.checking import STALE_DATA_SECONDS, judgement_time
from tests.factories import NOW, lease, node, snapshot


def test_fresh_data_is_judged_at_the_clock() -> None:
    snap = snapshot(nodes=(node("10.0.0.1"),), leases=(lease("10.0.0.1", 5),))
    when, note = judgement_time(snap)
    assert when == NOW
    assert note == ""


def test_old_data_is_judged_at_its_newest_moment() -> None:
    data = snapshot(nodes=(node("10.0.0.1"),), leases=(lease("10.0.0.1", 5),))
    later = replace(data, collected_at=NOW + timedelta(days=900))  # the same data read 900 days on
    when, note = judgement_time(later)
    assert when == NOW - timedelta(seconds=5)  # the lease's renewal, the newest timestamp
    assert "900d older than this machine's clock" in note


def test_the_boundary_is_the_stale_data_threshold() -> None:
    data = snapshot(nodes=(node("10.0.0.1"),), leases=(lease("10.0.0.1", 0),))
    just_fresh = replace(data, collected_at=NOW + timedelta(seconds=STALE_DATA_SECONDS))
    assert judgement_time(just_fresh)[0] == just_fresh.collected_at
    stale = replace(data, collected_at=NOW + timedelta(seconds=STALE_DATA_SECONDS + 1))
    assert judgement_time(stale)[0] == NOW
