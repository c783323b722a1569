"""The container image, the lock files and the Slack manifest, checked without Docker or Slack:
what the Dockerfile copies exists, its entry point runs, hadolint is clean, the manifest parses;
the base image is pinned by digest; the Dockerfile and scripts/setup-env install only from the hashed
locks (requirements/*.lock, made by scripts/lock), and the locks are in sync with pyproject.toml, so
changing a dependency without re-locking fails here."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def test_dockerfile_copies_only_what_exists() -> None:
    text = (ROOT / "Dockerfile").read_text()
    sources: list[str] = []
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


# --- reproducible builds: the base image by digest, every package from a hashed lock in sync with pyproject ---

LOCKS = ROOT / "requirements"
DIRECT = "calico-bot (pyproject.toml)"  # how uv marks a requirement that comes from pyproject.toml


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    marker: str
    hashes: int
    via: frozenset[str]


def parse_lock(text: str) -> dict[str, list[Pin]]:
    """name -> its pins (a universal lock may pin one name twice, under different markers)."""
    pins: dict[str, list[Pin]] = {}
    current: dict[str, Any] | None = None
    in_via = False

    def close() -> None:
        if current is not None:
            pin = Pin(**{**current, "via": frozenset(current["via"])})
            pins.setdefault(pin.name, []).append(pin)

    for line in text.splitlines():
        head = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$", line)
        if head:
            close()
            current = {
                "name": canonicalize_name(head.group(1)),
                "version": head.group(2),
                "marker": head.group(3) or "",
                "hashes": 0,
                "via": set(),
            }
            in_via = False
        elif current is not None and line.strip().startswith("--hash=sha256:"):
            current["hashes"] += 1
        elif current is not None and (via := re.match(r"^\s+# via(?: (.+))?$", line)):
            in_via = via.group(1) is None
            if via.group(1):
                current["via"].add(via.group(1).strip())
        elif current is not None and in_via and (more := re.match(r"^\s+#\s{3}(.+)$", line)):
            current["via"].add(more.group(1).strip())
    close()
    return pins


def lock_problems(requirements: list[str], lock_text: str, *, direct_via: str | None) -> list[str]:
    """Why the lock no longer matches these requirements (empty when in sync): a requirement missing
    or pinned outside its range, a pin without hashes, a direct dependency pyproject no longer has."""
    pins = parse_lock(lock_text)
    problems: list[str] = []
    wanted: set[str] = set()
    for raw in requirements:
        req = Requirement(raw)
        wanted_name = canonicalize_name(req.name)
        wanted.add(wanted_name)
        if wanted_name not in pins:
            problems.append(f"{raw}: not in the lock")
        for pin in pins.get(wanted_name, []):
            if not req.specifier.contains(pin.version, prereleases=True):
                problems.append(f"{raw}: locked at {pin.version}, outside the range")
    for name, found in sorted(pins.items()):
        for pin in found:
            if pin.hashes == 0:
                problems.append(f"{name}=={pin.version}: no hash")
            if direct_via is not None and direct_via in pin.via and name not in wanted:
                problems.append(f"{name}: locked as a direct dependency, no longer in pyproject.toml")
    return problems


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _runtime_requirements() -> list[str]:
    return list(_pyproject()["project"]["dependencies"])


def _dev_requirements() -> list[str]:
    return _runtime_requirements() + list(_pyproject()["project"]["optional-dependencies"]["dev"])


RELOCK = "run scripts/lock and commit requirements/"


def test_runtime_lock_is_in_sync_with_pyproject() -> None:
    text = (LOCKS / "runtime.lock").read_text()
    assert lock_problems(_runtime_requirements(), text, direct_via=DIRECT) == [], RELOCK


def test_dev_lock_is_in_sync_with_pyproject() -> None:
    text = (LOCKS / "dev.lock").read_text()
    assert lock_problems(_dev_requirements(), text, direct_via=DIRECT) == [], RELOCK
    assert "hypothesis" in parse_lock(text)


def test_build_lock_is_in_sync_with_pyproject() -> None:
    text = (LOCKS / "build.lock").read_text()
    assert lock_problems(list(_pyproject()["build-system"]["requires"]), text, direct_via=None) == [], RELOCK


def test_the_image_runs_the_versions_the_tests_ran() -> None:
    """runtime.lock is a subset of dev.lock; build.lock agrees with it where they share a package
    (setup-env installs dev.lock and build.lock in one pip call)."""
    dev = parse_lock((LOCKS / "dev.lock").read_text())
    for name, pins in parse_lock((LOCKS / "runtime.lock").read_text()).items():
        assert {p.version for p in pins} <= {p.version for p in dev.get(name, [])}, name
    for name, pins in parse_lock((LOCKS / "build.lock").read_text()).items():
        if name in dev:
            assert {p.version for p in pins} <= {p.version for p in dev[name]}, name


def test_the_sync_check_catches_a_dependency_changed_without_relocking() -> None:
    text = (LOCKS / "runtime.lock").read_text()
    runtime = _runtime_requirements()
    assert lock_problems([*runtime, "requests-toolbelt>=1"], text, direct_via=DIRECT) == [
        "requests-toolbelt>=1: not in the lock"
    ]
    narrowed = [r if not r.startswith("PyYAML") else "PyYAML>=99" for r in runtime]
    assert lock_problems(narrowed, text, direct_via=DIRECT) == [
        f"PyYAML>=99: locked at {parse_lock(text)['pyyaml'][0].version}, outside the range"
    ]
    dropped = [r for r in runtime if not r.startswith("redis")]
    assert lock_problems(dropped, text, direct_via=DIRECT) == [
        "redis: locked as a direct dependency, no longer in pyproject.toml"
    ]
    unhashed = re.sub(r"(?m)^\s+--hash=sha256:\w+ ?\\?\n", "", text)
    assert any(p.endswith(": no hash") for p in lock_problems(runtime, unhashed, direct_via=DIRECT))


def _shell_commands(text: str) -> list[str]:
    """The commands of a shell script or of a Dockerfile's RUN lines: continuations joined, split on &&."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [c.strip() for line in joined.splitlines() for c in line.split("&&") if c.strip()]


def test_dockerfile_base_image_is_pinned_by_digest() -> None:
    bases = re.findall(r"(?m)^FROM\s+(\S+)", (ROOT / "Dockerfile").read_text())
    assert bases, "no FROM found"
    for base in bases:
        assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", base), base
    assert len(set(bases)) == 1, "both stages start from the same image"


def test_dockerfile_installs_only_from_the_runtime_lock() -> None:
    text = (ROOT / "Dockerfile").read_text()
    pips = [c for c in _shell_commands(text) if re.search(r"pip (install|wheel)", c)]
    assert pips, "no pip command found"
    for command in pips:
        hashed = re.search(r"--require-hashes -r requirements/(runtime|build)\.lock$", command)
        no_deps = "--no-deps" in command.split()
        assert hashed or no_deps, command
        if "pip wheel" in command:
            assert "--no-build-isolation" in command.split(), command  # the build backend from build.lock
    assert "/opt/calico-bot/bin/pip install --require-hashes -r requirements/runtime.lock" in pips
    assert any(c.startswith("/opt/calico-bot/bin/pip install --no-deps ") for c in pips)


def test_setup_env_installs_from_the_dev_lock_then_the_project_without_deps() -> None:
    text = (ROOT / "scripts" / "setup-env").read_text()
    pips = [c for c in _shell_commands(text) if "pip install" in c]
    assert pips == [
        ".venv/bin/python -m pip install --quiet --require-hashes -r requirements/dev.lock -r requirements/build.lock",
        ".venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .",
    ]
    stamp = next(c for c in _shell_commands(text) if c.startswith("stamp="))
    for keyed_on in ("pyproject.toml", "requirements/dev.lock", "requirements/build.lock"):
        assert keyed_on in stamp  # reinstall when any of them changes


def test_lock_script_writes_the_three_locks() -> None:
    text = (ROOT / "scripts" / "lock").read_text()
    for lock in ("runtime.lock", "dev.lock", "build.lock"):
        assert f"-o requirements/{lock}" in text
    assert "--generate-hashes" in text
