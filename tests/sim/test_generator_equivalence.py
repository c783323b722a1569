"""The data-driven generator builds exactly what the code-built one did (issue #13 item 5).

`tests/sim/legacy_generate.py` is the generator as it was before its object shapes moved to
`bot/sim/templates/`, kept only for this comparison. For every case of `generator_cases` (every
built-in scenario at its own size and at 7 workers, healthy at the typha steps, VPC / ROKS /
other minors / the manifest era on 1.29, two other seeds) both build at the same seed and clock,
and everything they produce — each stored object byte for byte, logs, resource versions, builder
state, default logs, what they hand out after the build — must be equal.
"""

from __future__ import annotations

import json

import pytest

from bot.sim.generate import ClusterBuilder
from tests.sim import legacy_generate
from tests.sim.generator_cases import case_ids, snapshot


def first_difference(old: dict[str, object], new: dict[str, object]) -> str:
    for key in [*old, *(k for k in new if k not in old)]:
        a, b = json.dumps(old.get(key)), json.dumps(new.get(key))
        if a != b:
            i = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
            return f"{key}:\n  old …{a[max(0, i - 120) : i + 120]}\n  new …{b[max(0, i - 120) : i + 120]}"
    return ""


@pytest.mark.parametrize("case_id", case_ids())
def test_same_cluster_as_the_code_built_generator(case_id: str) -> None:
    old = snapshot(legacy_generate.ClusterBuilder, case_id)
    new = snapshot(ClusterBuilder, case_id)
    assert list(old) == list(new)
    assert first_difference(old, new) == ""


def test_the_comparison_sees_a_changed_object() -> None:
    old = snapshot(legacy_generate.ClusterBuilder, "healthy@default")
    new = snapshot(ClusterBuilder, "healthy@default")
    key = next(k for k in new if k.startswith("object daemonsets.apps"))
    new[key] = str(new[key]).replace('"hostNetwork":true', '"hostNetwork":false')
    assert first_difference(old, new).startswith(key)
