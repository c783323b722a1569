"""Every case file follows FORMAT.md: it parses, it builds, and its evidence is the report's own words.

- required keys, known keys only, known situation ids (the same ids as `checks.model.SituationId`),
  `source.url` an https URL, times that parse (`load_case` names the field that is wrong);
- the case builds into a cluster and a dump directory (every reference resolves);
- each `expect.evidence` string occurs literally in the case's own strings (messages, logs,
  conditions, objects) — not only in its summary or comments — and in the dump the case builds
  (so it is not only in a previous log, which a cluster-info dump cannot hold);
- no `REDACTED-BY-CORPUS` in evidence; the file name is a slug.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from checks.model import SituationId
from tests.corpus.build import dump_strings, strings_of, write_case_dump
from tests.corpus.case import REDACTED, SITUATIONS, load_case
from tests.corpus.harness import case_files
from tests.corpus.objects import build_cluster

CASES = case_files()
CLUSTER_KEYS = ("cluster", "calico", "pods", "events", "logs", "objects")


def test_situation_ids_match_the_diagnosis() -> None:
    assert set(SITUATIONS) == {s.value for s in SituationId}


def test_there_are_cases() -> None:
    assert len(CASES) >= 3


@pytest.mark.parametrize("path", CASES, ids=[c.stem for c in CASES])
def test_case_follows_the_format(path: Path, tmp_path: Path) -> None:
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", path.stem), "file names are slugs"
    case = load_case(path)
    assert case.url.startswith("https://")
    built = build_cluster(case)
    out = write_case_dump(case, built, tmp_path / "dump")
    assert (out / "nodes.json").is_file()
    own = list(strings_of({k: case.raw.get(k) for k in CLUSTER_KEYS}))
    in_dump = dump_strings(built)
    for evidence in case.expect.evidence:
        assert REDACTED not in evidence
        assert any(evidence in text for text in own), (
            f"evidence {evidence!r} is not in the case's own strings"
        )
        assert any(evidence in text for text in in_dump), (
            f"evidence {evidence!r} is not in the dump the case builds (only in a previous log?)"
        )
