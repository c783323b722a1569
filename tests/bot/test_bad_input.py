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
