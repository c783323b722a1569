"""A damaged or mixed dump still loads; each bad file is one line in `problems`.

- a corrupt JSON file (by its path), corrupt JSON inside the stream (the rest of the stream loads)
- foreign JSON (a package.json), a file of an unknown type, a FIFO, a symbolic link
- no nodes.json; a log block without its END line; YAML anchors
- logs cut to the last 2,000 lines / 1 MiB; logs from `<ns>/<pod>/<container>.log` and from the
  runbook's gather step (`calico-node-XXXXX.log`, `calico-node-XXXXX-cni.log`)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.cluster.dump import MAX_LOG_BYTES, MAX_LOG_LINES, load_dump

FIXTURES = Path(__file__).parent / "fixtures"
DIR129 = FIXTURES / "iks129-calico-system"
STREAM129 = FIXTURES / "iks129-calico-system.txt"
CRASH_LOG = Path("calico-system") / "calico-node-xq2lp" / "logs.txt"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "dump"
    shutil.copytree(DIR129, root)
    return root


def _block(container: str, pod: str, text: str, ns: str = "calico-system") -> str:
    return (
        f"==== START logs for container {container} of pod {ns}/{pod} ====\n{text}"
        f"==== END logs for container {container} of pod {ns}/{pod} ====\n"
    )


def test_corrupt_json_file_is_reported_by_path_and_the_rest_loads(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / "calico-system" / "daemonsets.json"
    path.write_bytes(path.read_bytes()[:5000])
    result = load_dump(root)
    assert len(result.problems) == 1
    assert result.problems[0].startswith("calico-system/daemonsets.json: not valid JSON (")
    snap = result.snapshot
    assert [(d.metadata.namespace, d.metadata.name) for d in snap.daemonsets] == [
        ("kube-system", "ibm-keepalived-watcher")
    ]
    assert len(snap.nodes) == 3
    assert len(snap.calico_node_pods()) == 3
    assert "daemonsets" not in result.missing


def test_corrupt_json_inside_the_stream_loses_only_that_document(tmp_path: Path) -> None:
    text = STREAM129.read_text()
    marker = '"kind": "DaemonSetList"'
    broken = text.replace(marker, '"kind": "DaemonSetList",,', 2)  # both namespaces' DaemonSet Lists
    assert broken != text
    path = tmp_path / "dump.txt"
    path.write_text(broken)
    result = load_dump(path)
    assert len(result.problems) == 2
    assert all(p.startswith("dump.txt line ") and ": not valid JSON (" in p for p in result.problems)
    snap = result.snapshot
    assert [d.metadata.name for d in snap.daemonsets] == []
    assert len(snap.nodes) == 3
    assert len(snap.pods) == 9
    assert len(snap.deployments) == 3
    assert len(snap.logs) == 15


def test_foreign_and_unknown_files(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "extras").mkdir()
    (root / "extras" / "package.json").write_text(
        '{\n    "name": "calico-notes",\n    "version": "1.0.0"\n}\n'
    )
    (root / "extras" / "notes.txt").write_text("customer says calico broke after the upgrade\n")
    (root / "extras" / "screenshot.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    result = load_dump(root)
    assert sorted(result.problems) == [
        "extras/notes.txt: not a Kubernetes object or List",
        "extras/package.json: not a Kubernetes object or List",
        "extras/screenshot.png: skipped (not JSON, YAML or a log file)",
    ]
    assert len(result.snapshot.pods) == 9


def test_fifo_and_symlink_are_not_read(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    os.mkfifo(root / "pipe.json")  # reading it would block
    outside = tmp_path / "outside.json"
    outside.write_text((DIR129 / "nodes.json").read_text().replace("10.240.0.4", "10.99.99.99"))
    (root / "link.json").symlink_to(outside)
    result = load_dump(root)
    assert sorted(result.problems) == [
        "link.json: symbolic link, not followed",
        "pipe.json: not a regular file, skipped",
    ]
    assert "10.99.99.99" not in [n.name for n in result.snapshot.nodes]


def test_dump_without_nodes(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "nodes.json").unlink()
    result = load_dump(root)
    assert result.problems == ("nodes.json: not in the dump (no NodeList found); nodes count as not read",)
    assert "nodes" in result.missing
    assert result.snapshot.nodes == ()
    assert len(result.snapshot.pods) == 9


def test_log_block_without_end_line(tmp_path: Path) -> None:
    text = STREAM129.read_text()
    cut = text.index("Failed to connect to Typha error=failed to connect to any Typha endpoint")
    path = tmp_path / "cut.txt"
    path.write_text(text[:cut] + "Failed to conn")  # the upload stopped mid-log
    result = load_dump(path)
    assert len(result.problems) == 1
    assert result.problems[0].startswith("cut.txt line ")
    assert result.problems[0].endswith(
        "log of container calico-node of pod calico-system/calico-node-xq2lp has no END line (dump cut short?)"
    )
    logs = result.snapshot.logs_for("calico-system", "calico-node-xq2lp")
    assert logs[-1].container == "calico-node"
    assert logs[-1].text.endswith(
        'i/o timeout type="felix"\n'
        + "2024-09-18 14:27:12.229 [ERROR][61] felix/daemon.go 512: Failed to conn"
    )


def test_yaml_anchors_are_refused(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "bomb.yaml").write_text(
        "apiVersion: v1\nkind: List\nitems:\n- &a {kind: ConfigMap, data: {x: y}}\n- *a\n- *a\n"
    )
    result = load_dump(root)
    assert result.problems == ("bomb.yaml: YAML anchors/aliases are not accepted",)


def test_invalid_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "calico.yaml").write_text(
        "apiVersion: crd.projectcalico.org/v1\nkind: IPPool\nmetadata:\n  name: p1\n---\n"
        "apiVersion: crd.projectcalico.org/v1\nkind: IPPool\nmetadata:\n  name: [p2\n"
    )
    result = load_dump(root)
    assert len(result.problems) == 1
    assert result.problems[0].startswith("calico.yaml line 6: not valid YAML (")
    assert [p.metadata.name for p in result.snapshot.custom_objects("ippools")] == ["p1"]


def test_long_log_keeps_the_last_lines(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    lines = [
        f"2024-09-18 14:{i // 60 % 60:02d}:{i % 60:02d}.000 [INFO][61] felix/int_dataplane.go 1: line {i}"
        for i in range(2500)
    ]
    (root / CRASH_LOG).write_text(_block("calico-node", "calico-node-xq2lp", "\n".join(lines) + "\n"))
    (log,) = load_dump(root).snapshot.logs_for("calico-system", "calico-node-xq2lp")
    assert log.truncated
    kept = log.text.split("\n")
    assert len(kept) == MAX_LOG_LINES == 2000
    assert kept[0].endswith("line 500")
    assert kept[-1].endswith("line 2499")


def test_big_log_keeps_the_last_mebibyte(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    lines = [f"{i:06d} " + "x" * 2000 for i in range(800)]  # 1.6 MB in fewer than 2,000 lines
    (root / CRASH_LOG).write_text(_block("calico-node", "calico-node-xq2lp", "\n".join(lines) + "\n"))
    (log,) = load_dump(root).snapshot.logs_for("calico-system", "calico-node-xq2lp")
    assert log.truncated
    assert len(log.text.encode()) <= MAX_LOG_BYTES
    assert log.text.startswith(f"{800 - len(log.text.split(chr(10))):06d} ")  # whole lines only
    assert log.text.endswith("000799 " + "x" * 2000)


def test_short_log_is_not_truncated(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / CRASH_LOG).write_text(_block("calico-node", "calico-node-xq2lp", "one\ntwo\n"))
    (log,) = load_dump(root).snapshot.logs_for("calico-system", "calico-node-xq2lp")
    assert (log.text, log.truncated) == ("one\ntwo", False)


@pytest.mark.parametrize(
    ("name", "container"),
    [("calico-node-xq2lp.log", "calico-node"), ("calico-node-xq2lp-cni.log", "install-cni")],
)
def test_runbook_gather_files(tmp_path: Path, name: str, container: str) -> None:
    root = _copy(tmp_path)
    (root / CRASH_LOG).unlink()
    (root / "gathered").mkdir()
    (root / "gathered" / name).write_text("2024-09-18 14:27:12.229 [ERROR][61] felix/daemon.go 512: boom\n")
    result = load_dump(root)
    assert result.problems == ()
    (log,) = result.snapshot.logs_for("calico-system", "calico-node-xq2lp")
    assert (log.container, log.text) == (
        container,
        "2024-09-18 14:27:12.229 [ERROR][61] felix/daemon.go 512: boom",
    )


def test_container_log_files(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / CRASH_LOG).unlink()
    (root / CRASH_LOG).with_name("calico-node.log").write_text(
        "bird: Mesh_10_240_0_4: State changed to down\n"
    )
    (log,) = load_dump(root).snapshot.logs_for("calico-system", "calico-node-xq2lp")
    assert (log.container, log.text) == ("calico-node", "bird: Mesh_10_240_0_4: State changed to down")
