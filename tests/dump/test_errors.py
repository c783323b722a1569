"""Inputs that cannot be diagnosed at all raise DumpError with a one-line message.

- a path that does not exist, an unreadable one, an empty directory, an empty file
- nothing Kubernetes-like anywhere (the exact message the CLI prints)
- archives: corrupt, truncated, empty; members with absolute or `..` paths are refused (and
  nothing is ever written to disk); the size cap counts members before reading them
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

import bot.cluster.dump
from bot.cluster.dump import DumpError, load_dump

FIXTURES = Path(__file__).parent / "fixtures"
DIR129 = FIXTURES / "iks129-calico-system"
NODES_ELSEWHERE = (DIR129 / "nodes.json").read_bytes().replace(b"10.240.0.4", b"10.66.66.66")


def _message(path: Path) -> str:
    with pytest.raises(DumpError) as caught:
        load_dump(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def _targz(path: Path, members: dict[str, bytes], *, with_dump: bool = True) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        if with_dump:
            archive.add(DIR129, arcname="dump")
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_missing_path(tmp_path: Path) -> None:
    assert _message(tmp_path / "nope") == f"{tmp_path / 'nope'}: no such file or directory"


def test_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    assert _message(tmp_path / "empty") == f"{tmp_path / 'empty'}: empty directory"


@pytest.mark.parametrize("content", [b"", b"  \n\n\t\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "dump.txt"
    path.write_bytes(content)
    assert _message(path) == f"{path}: empty file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "dump.txt"
    path.write_bytes((DIR129 / "nodes.json").read_bytes())
    path.chmod(0)
    assert _message(path) == f"{path}: permission denied"


def test_nothing_kubernetes_like(tmp_path: Path) -> None:
    root = tmp_path / "notes"
    root.mkdir()
    (root / "README.md").write_text("# notes\n")
    (root / "package.json").write_text('{"name": "x"}\n')
    message = _message(root)
    assert message.startswith(
        f"no Kubernetes objects found in {root} (expected kubectl cluster-info dump output)"
    )


def test_nothing_kubernetes_like_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "mail.txt"
    path.write_text("Hi, our pods cannot reach each other since this morning.\n")
    assert _message(path).startswith(
        f"no Kubernetes objects found in {path} (expected kubectl cluster-info dump output)"
    )


def test_corrupt_archive(tmp_path: Path) -> None:
    path = tmp_path / "dump.tar.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(2000))
    assert _message(path).startswith(f"{path}: ")
    assert "tar archive" in _message(path)


def test_truncated_archive(tmp_path: Path) -> None:
    path = _targz(tmp_path / "dump.tgz", {})
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    message = _message(path)
    assert message.startswith(f"{path}: corrupt tar archive (") or message.startswith(
        f"{path}: not a readable tar"
    )


def test_empty_archive(tmp_path: Path) -> None:
    path = _targz(tmp_path / "dump.tgz", {}, with_dump=False)
    assert _message(path) == f"{path}: empty archive"


def test_unsafe_member_paths_are_refused(tmp_path: Path) -> None:
    path = _targz(
        tmp_path / "dump.tgz",
        {
            "../escape/nodes.json": NODES_ELSEWHERE,
            "/etc/calico/nodes.json": NODES_ELSEWHERE,
            "dump/../../up.json": b"{}",
        },
    )
    result = load_dump(path)
    assert sorted(result.problems) == [
        "../escape/nodes.json: unsafe path in the archive (absolute or '..'), not read",
        "/etc/calico/nodes.json: unsafe path in the archive (absolute or '..'), not read",
        "dump/../../up.json: unsafe path in the archive (absolute or '..'), not read",
    ]
    assert "10.66.66.66" not in [node.name for node in result.snapshot.nodes]
    assert len(result.snapshot.nodes) == 3
    assert not (tmp_path.parent / "escape").exists()
    assert not (tmp_path / "dump").exists()


def test_archive_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _targz(tmp_path / "dump.tgz", {})
    monkeypatch.setattr(bot.cluster.dump, "MAX_DUMP_BYTES", 100_000)
    assert _message(path).startswith(f"{path}: more than 100,000 bytes of dump data; refusing to read it")


def test_archive_member_paths_name_the_problems(tmp_path: Path) -> None:
    path = _targz(tmp_path / "dump.tgz", {"dump/extras/package.json": b'{"name": "x"}'})
    assert load_dump(path).problems == ("dump/extras/package.json: not a Kubernetes object or List",)
    assert load_dump(path).snapshot.cluster == "dump"
