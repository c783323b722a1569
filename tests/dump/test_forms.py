"""One dump, every form kubectl (and a customer) can produce, gives one and the same Snapshot.

- the `--output-directory` tree and the committed stdout stream (written with
  `--namespaces kube-system,calico-system,default`, so its order differs from the tree's)
- `.tar`, `.tar.gz` and `.tgz` of the tree and of the stream, and a gzip of the stream
- `-o yaml`: the stream and the tree (every file but nodes.yaml opens with `---`)
- compact JSON (one document per line), PowerShell's `>` (UTF-16 with CRLF)
- noise around the stream: a pasted shell prompt, the old "Cluster info dumped to" trailer
"""

from __future__ import annotations

import gzip
import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pytest
import yaml

from bot.cluster.dump import load_dump
from checks.snapshot import Snapshot

FIXTURES = Path(__file__).parent / "fixtures"
DIR129 = FIXTURES / "iks129-calico-system"
STREAM129 = FIXTURES / "iks129-calico-system.txt"
KUBECTL_FILES = (
    "events",
    "replication-controllers",
    "services",
    "daemonsets",
    "deployments",
    "replicasets",
    "pods",
)
STREAM_ORDER = ("kube-system", "calico-system", "default")


@pytest.fixture(scope="module")
def reference() -> Snapshot:
    snapshot = load_dump(DIR129, cluster="iks129").snapshot
    assert len(snapshot.nodes) == 3
    assert len(snapshot.pods) == 9
    assert len(snapshot.logs) == 15
    return snapshot


def _tar(source: Path, dest: Path, mode: Literal["w", "w:gz"]) -> Path:
    with tarfile.open(dest, mode) as archive:
        archive.add(source, arcname=source.name)
    return dest


def _pods(ns_dir: Path) -> list[str]:
    return [p["metadata"]["name"] for p in json.loads((ns_dir / "pods.json").read_text())["items"]]


def _stream(render: Callable[[object], str], *, first_separator: str = "", separator: str = "") -> str:
    """The stdout stream kubectl would print, with each List rendered by `render`."""
    out = first_separator + render(json.loads((DIR129 / "nodes.json").read_text()))
    for ns in STREAM_ORDER:
        for name in KUBECTL_FILES:
            out += separator + render(json.loads((DIR129 / ns / f"{name}.json").read_text()))
        for pod in _pods(DIR129 / ns):
            out += (DIR129 / ns / pod / "logs.txt").read_text()
    return out


def _yaml(obj: object) -> str:
    # sigs.k8s.io/yaml goes through JSON: keys sorted, block style
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False)


def test_stream_equals_directory(reference: Snapshot) -> None:
    result = load_dump(STREAM129, cluster="iks129")
    assert result.form == "file"
    assert result.problems == ()
    assert result.snapshot == reference


@pytest.mark.parametrize(("name", "mode"), [("dump.tar.gz", "w:gz"), ("dump.tgz", "w:gz"), ("dump.tar", "w")])
def test_archive_of_directory_equals_directory(
    tmp_path: Path, reference: Snapshot, name: str, mode: Literal["w", "w:gz"]
) -> None:
    result = load_dump(_tar(DIR129, tmp_path / name, mode), cluster="iks129")
    assert result.form == "archive"
    assert result.problems == ()
    assert result.snapshot == reference


def test_archive_of_stream_equals_directory(tmp_path: Path, reference: Snapshot) -> None:
    result = load_dump(_tar(STREAM129, tmp_path / "stream.tgz", "w:gz"), cluster="iks129")
    assert result.problems == ()
    assert result.snapshot == reference


def test_gzip_of_stream_equals_directory(tmp_path: Path, reference: Snapshot) -> None:
    path = tmp_path / "dump.txt.gz"
    path.write_bytes(gzip.compress(STREAM129.read_bytes()))
    result = load_dump(path, cluster="iks129")
    assert result.problems == ()
    assert result.snapshot == reference


def test_yaml_stream_equals_directory(tmp_path: Path, reference: Snapshot) -> None:
    path = tmp_path / "dump.yaml"
    path.write_text(_stream(_yaml, separator="---\n"))
    assert path.read_text().count("\n---\n") >= 21  # the printer's separators between the 22 Lists
    result = load_dump(path, cluster="iks129")
    assert result.problems == ()
    assert result.snapshot == reference


def test_yaml_directory_equals_directory(tmp_path: Path, reference: Snapshot) -> None:
    root = tmp_path / "dump"
    shutil.copytree(DIR129, root, ignore=shutil.ignore_patterns("*.json"))
    (root / "nodes.yaml").write_text(_yaml(json.loads((DIR129 / "nodes.json").read_text())))
    for ns in STREAM_ORDER:
        for name in KUBECTL_FILES:
            doc = json.loads((DIR129 / ns / f"{name}.json").read_text())
            (root / ns / f"{name}.yaml").write_text("---\n" + _yaml(doc))  # one printer for the whole run
    result = load_dump(root, cluster="iks129")
    assert result.problems == ()
    assert result.snapshot == reference


def test_compact_json_stream_equals_directory(tmp_path: Path, reference: Snapshot) -> None:
    path = tmp_path / "dump.json"
    path.write_text(_stream(lambda obj: json.dumps(obj, separators=(",", ":")) + "\n"))
    result = load_dump(path, cluster="iks129")
    assert result.problems == ()
    assert result.snapshot == reference


def test_powershell_utf16_crlf_stream_equals_directory(tmp_path: Path, reference: Snapshot) -> None:
    path = tmp_path / "dump.txt"
    path.write_bytes(STREAM129.read_text().replace("\n", "\r\n").encode("utf-16"))
    result = load_dump(path, cluster="iks129")
    assert result.problems == ()
    assert result.snapshot == reference


def test_prompt_and_old_trailer_around_the_stream(tmp_path: Path, reference: Snapshot) -> None:
    path = tmp_path / "dump.txt"
    prompt = "$ kubectl cluster-info dump --namespaces kube-system,calico-system,default\n"
    path.write_text(prompt + STREAM129.read_text() + "Cluster info dumped to standard output\n")
    result = load_dump(path, cluster="iks129")
    assert result.problems == (
        f"dump.txt: {len(prompt)} bytes that are neither JSON nor a log block, skipped",
    )
    assert result.snapshot == reference


def test_yaml_and_json_give_the_same_custom_objects(tmp_path: Path) -> None:
    """Timestamps stay strings in YAML as in JSON, even unquoted (`kubectl get -o yaml` quotes them)."""
    message = "Pod calico-system/calico-node-xq2lp has crash looping container: calico-node"
    as_json = {
        "apiVersion": "operator.tigera.io/v1",
        "kind": "TigeraStatus",
        "metadata": {"name": "calico"},
        "status": {
            "conditions": [
                {
                    "type": "Degraded",
                    "status": "True",
                    "message": message,
                    "lastTransitionTime": "2024-09-18T13:52:14Z",
                }
            ]
        },
    }
    as_yaml = (
        "apiVersion: operator.tigera.io/v1\nkind: TigeraStatus\nmetadata:\n  name: calico\nstatus:\n"
        "  conditions:\n  - type: Degraded\n    status: 'True'\n"
        f"    message: '{message}'\n    lastTransitionTime: 2024-09-18T13:52:14Z\n"
    )
    for name, text in (("a/status.json", json.dumps(as_json, indent=4)), ("b/status.yaml", as_yaml)):
        (tmp_path / name).parent.mkdir()
        (tmp_path / name).write_text(text)
        shutil.copy(DIR129 / "nodes.json", (tmp_path / name).parent / "nodes.json")
    from_json = load_dump(tmp_path / "a").snapshot.custom_objects("tigerastatuses")
    from_yaml = load_dump(tmp_path / "b").snapshot.custom_objects("tigerastatuses")
    assert from_yaml[0].status["conditions"][0]["lastTransitionTime"] == "2024-09-18T13:52:14Z"
    assert from_json == from_yaml
