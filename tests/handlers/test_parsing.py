"""The command parser shared by `/calico` and mentions: every verb and shape, and a clear
usage message for unknown verbs, missing or malformed names and extra words."""

from __future__ import annotations

import pytest

from handlers.parsing import USAGE, Command, UsageError, Verb, parse, strip_mention


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("check cluster-x", Command(Verb.CHECK, "cluster-x")),
        ("  CHECK   prod-dal10/c0abc123  ", Command(Verb.CHECK, "prod-dal10/c0abc123")),
        ("check cluster-x 10.188.156.137", Command(Verb.CHECK, "cluster-x", "10.188.156.137")),
        ("check sim:crashloop-one", Command(Verb.CHECK, "sim:crashloop-one")),
        ("gather cluster-x 10.1.2.3", Command(Verb.GATHER, "cluster-x", "10.1.2.3")),
        ("history cluster-x", Command(Verb.HISTORY, "cluster-x")),
        ("escalate cluster-x", Command(Verb.ESCALATE, "cluster-x")),
        ("help", Command(Verb.HELP)),
        ("", Command(Verb.HELP)),
    ],
)
def test_good_commands(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("chek cluster-x", "I don't know the command `chek`."),
        ("check", "`check` needs a cluster name."),
        ("gather cluster-x", "`gather` needs a worker name."),
        ("history a b", "`history` takes <cluster>; I don't know what to do with `b`."),
        (
            "check a 10.0.0.1 extra words",
            "`check` takes <cluster> [worker]; I don't know what to do with `extra words`.",
        ),
        ("check <script>", "`‹script›` is not a cluster name"),
        ("check `rm -rf`", "`'rm` is not a cluster name"),
        ("check cluster-x NODE_1", "`NODE_1` is not a worker (node) name"),
        ("help me", "`help` takes no arguments; I don't know what to do with `me`."),
    ],
)
def test_usage_errors_say_what_was_wrong(text: str, problem: str) -> None:
    result = parse(text)
    assert isinstance(result, UsageError)
    assert result.problem.startswith(problem)
    assert result.message.endswith(USAGE)


def test_mentions_are_stripped() -> None:
    assert strip_mention("<@UBOT> check cluster-x") == "check cluster-x"
    assert strip_mention("<@UBOT|calico-bot>   help") == "help"
    assert parse(strip_mention("<@UBOT> check cluster-x")) == Command(Verb.CHECK, "cluster-x")
    assert strip_mention("check <@UOTHER>") == "check <@UOTHER>"
