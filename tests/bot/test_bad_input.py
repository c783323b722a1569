"""Bad input is exit 2 and one clear line, never a traceback (the CLI as a user runs it).

- a dump whose JSON is nested thousands of levels deep (object or array nesting, in a List's
  items or at the top);
- a kubeconfig with a YAML syntax error, or one that is not a mapping at all — given with
  `--kubeconfig` or found through `KUBECONFIG`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.test_cli import one_clear_line, run

DEPTH = 5000


@pytest.mark.parametrize(
    "body",
    [
        '{"a":' * DEPTH + "1" + "}" * DEPTH,
        '{"kind":"NodeList","items":' + "[" * DEPTH + "]" * DEPTH + "}",
        '{"kind":"NodeList","items":[{"kind":"Node","metadata":'
        + '{"x":' * DEPTH
        + "1"
        + "}" * DEPTH
        + "}]}",
    ],
    ids=["object", "list-items", "item-field"],
)
def test_deeply_nested_dump(tmp_path: Path, body: str) -> None:
    (tmp_path / "nodes.json").write_text(body)
    line = one_clear_line(run("check", "--from-dump", str(tmp_path)))
    assert "nodes.json" in line
    assert "deep" in line


BROKEN_YAML = "apiVersion: v1\nclusters: [\n  - name: x\n   bad: : :\n"


@pytest.mark.parametrize("text", [BROKEN_YAML, "- just\n- a list\n", "\x00\x01binary"])
def test_broken_kubeconfig_given_explicitly(tmp_path: Path, text: str) -> None:
    kubeconfig = tmp_path / "kubeconfig.yaml"
    kubeconfig.write_text(text)
    line = one_clear_line(run("check", "x", "--kubeconfig", str(kubeconfig)))
    assert "kubeconfig" in line


def test_broken_kubeconfig_found_through_the_environment(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig.yaml"
    kubeconfig.write_text(BROKEN_YAML)
    line = one_clear_line(run("check", "x", env={"KUBECONFIG": str(kubeconfig)}))
    assert "cannot read kubeconfig" in line
    assert "line 3" in line  # the parser's position, so the user can find the mistake


def test_one_odd_item_does_not_drop_its_list(tmp_path: Path) -> None:
    """A pod with a field of an unexpected type (restartCount "abc") is named as a problem; the
    other pods of the same pods.json, calico-node among them, are still judged."""
    import json

    nodes = {"kind": "NodeList", "apiVersion": "v1", "items": [{"metadata": {"name": "w1"}, "status": {}}]}
    good = {
        "metadata": {
            "name": "calico-node-abcde",
            "namespace": "kube-system",
            "labels": {"k8s-app": "calico-node"},
        },
        "spec": {"nodeName": "w1", "containers": [{"name": "calico-node"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": "calico-node",
                    "ready": False,
                    "restartCount": 7,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                }
            ],
        },
    }
    odd = json.loads(json.dumps(good))
    odd["metadata"]["name"] = "calico-node-odd01"
    odd["status"]["containerStatuses"][0]["restartCount"] = "abc"
    (tmp_path / "nodes.json").write_text(json.dumps(nodes))
    (tmp_path / "kube-system").mkdir()
    (tmp_path / "kube-system" / "pods.json").write_text(json.dumps({"kind": "PodList", "items": [odd, good]}))
    done = run("check", "--from-dump", str(tmp_path), "--json")
    assert done.returncode == 1, done.stderr
    assert "calico-node-abcde" in done.stdout
    assert "pods.json" in done.stderr  # the odd item is named
    assert "Traceback" not in done.stderr
