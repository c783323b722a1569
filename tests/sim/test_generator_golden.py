"""What the generator builds is pinned: one digest per case of `generator_cases`.

The digests were taken when the object shapes moved from Python code to `bot/sim/templates/`
(and equalled the code-built generator's, see git history of test_generator_equivalence.py). A
change to a template, to the builder or to the order the random generator is consumed in changes
some digest: if the change is deliberate, rewrite them with `python -m tests.sim.generator_cases`
and say in the commit why each changed case changed.
"""

from __future__ import annotations

import json

import pytest

from bot.sim.generate import ClusterBuilder
from tests.sim.generator_cases import GOLDEN, case_ids, digest, snapshot

PINNED: dict[str, str] = json.loads(GOLDEN.read_text())


def test_every_case_is_pinned() -> None:
    assert sorted(PINNED) == sorted(case_ids())


@pytest.mark.parametrize("case_id", case_ids())
def test_generated_cluster_matches_its_digest(case_id: str) -> None:
    assert digest(snapshot(ClusterBuilder, case_id)) == PINNED[case_id]


def test_a_different_seed_gives_a_different_digest() -> None:
    assert digest(snapshot(ClusterBuilder, "healthy@default/seed=1")) != PINNED["healthy@default"]
