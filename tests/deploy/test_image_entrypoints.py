"""The image's command lines, run without Docker: the Dockerfile's ENTRYPOINT plus each Deployment's
args (`python -m bot serve`, `python -m bot worker`) and a one-shot `check`, from the installed
package (run outside the source tree), with the Deployments' configuration and no byte-code
writes (the pods' root filesystem is read-only). Each comes up, answers its probes, and stops on
SIGTERM with exit 0; the user the image runs as is the one the manifests ask for."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.deploy.test_manifests import BASE, find, rendered
from tests.observability.processes import bot_process, redis_server, serve_env

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def entrypoint() -> list[str]:
    match = re.search(r"^ENTRYPOINT (\[.*\])$", DOCKERFILE, re.MULTILINE)
    assert match, "no ENTRYPOINT in exec form"
    words: list[str] = json.loads(match.group(1))
    return words


def container(name: str) -> dict[str, Any]:
    [found] = find(rendered(BASE), "Deployment", name)["spec"]["template"]["spec"]["containers"]
    assert isinstance(found, dict)
    return found


def pod_env(tmp_path: Path, redis_url: str) -> dict[str, str]:
    """The Deployments' environment: the ConfigMap, the Secrets' keys (placeholders), REDIS_URL; on
    127.0.0.1 and a free port instead of 0.0.0.0:3000."""
    config = find(rendered(BASE), "ConfigMap", "calico-bot-config")["data"]
    clusters = tmp_path / "clusters"
    clusters.mkdir()
    return serve_env(
        **{
            **config,
            "CALICO_BOT_CLUSTERS_DIR": str(clusters),
            "PORT": "0",
        },
        SLACK_BOT_TOKEN="xoxb-entrypoint-test",
        SLACK_SIGNING_SECRET="entrypoint-test-secret",
        REDIS_URL=redis_url,
        KUBECONFIG=str(tmp_path / "none.kubeconfig"),
        PYTHONDONTWRITEBYTECODE="1",
        HOST="127.0.0.1",
    )


def test_the_image_runs_python_dash_m_bot_as_the_user_the_pods_ask_for() -> None:
    assert entrypoint() == ["python", "-m", "bot"]
    user = re.search(r"^USER (\d+):(\d+)$", DOCKERFILE, re.MULTILINE)
    assert user, "USER uid:gid"
    for name in ("calico-bot", "calico-bot-worker"):
        pod = find(rendered(BASE), "Deployment", name)["spec"]["template"]["spec"]
        assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (
            int(user.group(1)),
            int(user.group(2)),
        )
    assert "PYTHONDONTWRITEBYTECODE=1" in DOCKERFILE
    assert re.search(r"^EXPOSE 3000$", DOCKERFILE, re.MULTILINE)


async def test_serve_and_worker_come_up_answer_their_probes_and_stop_on_sigterm(tmp_path: Path) -> None:
    assert entrypoint()[1:] == ["-m", "bot"]  # run with this interpreter, as `python` is in the image
    with redis_server(tmp_path) as redis:
        env = pod_env(tmp_path, redis.url)
        for name in ("calico-bot", "calico-bot-worker"):
            args = container(name)["args"]
            async with bot_process(args[0], env, cwd=tmp_path) as process:
                for path in ("/healthz", "/readyz"):
                    status, body = await process.get(path)
                    assert status == 200, (name, path, body)
                status, metrics = await process.get("/metrics")
                assert status == 200
                assert "calico_bot_jobs_total" in metrics
            assert process.proc.returncode == 0
            assert all(line.startswith("{") for line in process.lines), process.lines[:3]


def test_a_one_shot_check_runs_from_the_installed_package(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check", "demo", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(tmp_path)},
    )
    assert done.returncode == 1, done.stderr  # the demo cluster has problems
    diagnosis = json.loads(done.stdout)
    assert diagnosis["cluster"] == "demo"
    assert {s["id"] for s in diagnosis["situations"]} >= {
        "worker-not-ready-kubelet",
        "calico-bad-on-few-workers",
    }
