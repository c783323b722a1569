"""`calico-bot sim`: --list, --write-dump, and serving until SIGTERM (a real process)."""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from bot.sim import cli


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(argv)


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(parse("--list")) == 0
    out = capsys.readouterr().out
    assert "crashloop-one" in out
    assert "kube-system-crashloop" in out
    assert "IKS 1.28" in out  # descriptions are printed


def test_write_dump(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(parse("--scenario", "healthy", "--nodes", "4", "--write-dump", str(tmp_path / "d"))) == 0
    assert capsys.readouterr().out.strip() == f"Cluster info dumped to {tmp_path / 'd'}"
    assert len(json.loads((tmp_path / "d" / "nodes.json").read_text())["items"]) == 4


def test_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(parse("--scenario", "nope")) == 2
    assert "unknown scenario" in capsys.readouterr().err
    assert cli.run(parse("--nodes", "0")) == 2


def test_serve_until_sigterm(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "sim.kubeconfig"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "sim",
            "--scenario",
            "crashloop-one",
            "--nodes",
            "6",
            "--cluster",
            "lab",
            "--kubeconfig-out",
            str(kubeconfig),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("https://127.0.0.1:")
        config = yaml.safe_load(kubeconfig.read_text())
        assert config["current-context"] == "lab"
        token = config["users"][0]["user"]["token"]
        ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
        trusting = ssl.create_default_context(cadata=ca)
        request = urllib.request.Request(url + "/api/v1/nodes", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10, context=trusting) as resp:
            assert len(json.loads(resp.read())["items"]) == 6
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(request, timeout=10, context=ssl.create_default_context())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert proc.stderr is not None
        err = proc.stderr.read()
        assert str(kubeconfig) in err
        assert "lab" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
