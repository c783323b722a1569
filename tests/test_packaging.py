"""The container image and the Slack manifest, checked without Docker or Slack:
what the Dockerfile copies exists, its entry point runs, hadolint is clean, the manifest parses."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_dockerfile_copies_only_what_exists() -> None:
    text = (ROOT / "Dockerfile").read_text()
    sources = []
    for line in text.splitlines():
        match = re.match(r"\s*COPY\s+(?!--from)(.+)", line)
        if match:
            parts = match.group(1).split()
            sources += parts[:-1]
    assert sources, "no COPY found"
    missing = [s for s in sources if not (ROOT / s).exists()]
    assert missing == []


def test_dockerfile_entry_point_runs() -> None:
    text = (ROOT / "Dockerfile").read_text()
    entry = re.search(r'ENTRYPOINT \["python", "-m", "(\w+)"\]', text)
    assert entry is not None
    done = subprocess.run(
        [sys.executable, "-m", entry.group(1), "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "check" in done.stdout


def test_dockerfile_lints_clean() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    done = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_manifest_is_a_slack_manifest() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert manifest["display_information"]["name"] == "calico-bot"
    assert manifest["_metadata"]["major_version"] == 1
