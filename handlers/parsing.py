"""`/calico …` and `@calico-bot …` text → a typed command, or a usage message saying what was wrong.

One parser for the slash command and for mentions. Pure: no Slack, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Verb(StrEnum):
    CHECK = "check"
    GATHER = "gather"
    HISTORY = "history"
    ESCALATE = "escalate"
    HELP = "help"


CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:/+-]{0,99}$")
"""A kubeconfig-context-like name (`mycluster`, `mycluster/c0abc123`, `sim:crashloop-one`)."""
NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
"""A Kubernetes node name (IKS: the worker's private IP)."""
MENTION = re.compile(r"^\s*(<@[A-Z0-9]+(\|[^>]*)?>\s*)+")

USAGE = (
    "*Usage*\n"
    "• `/calico check <cluster> [worker]` — diagnose calico-node by the runbook\n"
    "• `/calico gather <cluster> <worker>` — the runbook's data bundle for one worker\n"
    "• `/calico history <cluster>` — recent actions and approvals\n"
    "• `/calico escalate <cluster>` — hand off to armada-network with everything gathered\n"
    "• `/calico help` — this message\n"
    "The same words work after `@calico-bot`. `<cluster>` is the kubeconfig context name; "
    "`demo` is the built-in simulated cluster."
)

# verb -> (required arguments, optional arguments)
_SHAPES: dict[Verb, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Verb.CHECK: (("cluster",), ("worker",)),
    Verb.GATHER: (("cluster", "worker"), ()),
    Verb.HISTORY: (("cluster",), ()),
    Verb.ESCALATE: (("cluster",), ()),
    Verb.HELP: ((), ()),
}


@dataclass(frozen=True)
class Command:
    verb: Verb
    cluster: str = ""
    node: str = ""


@dataclass(frozen=True)
class UsageError:
    """What was wrong, in one sentence, followed by the usage."""

    problem: str

    @property
    def message(self) -> str:
        return f"{self.problem}\n\n{USAGE}"


def strip_mention(text: str) -> str:
    """`<@UBOT> check x` → `check x` (app mentions carry the bot's mention first)."""
    return MENTION.sub("", text, count=1)


def parse(text: str) -> Command | UsageError:
    words = text.split()
    if not words:
        return Command(Verb.HELP)
    head = words[0].lower()
    try:
        verb = Verb(head)
    except ValueError:
        shown = _shown(words[0])
        return UsageError(f"I don't know the command `{shown}`.")
    required, optional = _SHAPES[verb]
    args = words[1:]
    if len(args) < len(required):
        missing = required[len(args)]
        return UsageError(f"`{verb.value}` needs a {missing} name.")
    if len(args) > len(required) + len(optional):
        extra = " ".join(_shown(a) for a in args[len(required) + len(optional) :])
        return UsageError(
            f"`{verb.value}` takes {_shape_text(verb)}; I don't know what to do with `{extra}`."
        )
    cluster = args[0] if args else ""
    node = args[1] if len(args) > 1 else ""
    if cluster and not CLUSTER_NAME.match(cluster):
        return UsageError(
            f"`{_shown(cluster)}` is not a cluster name (kubeconfig context names: letters, digits and . _ - : / @ +)."
        )
    if node and not NODE_NAME.match(node):
        return UsageError(
            f"`{_shown(node)}` is not a worker (node) name; on IKS it is the worker's private IP."
        )
    return Command(verb, cluster, node)


def _shape_text(verb: Verb) -> str:
    required, optional = _SHAPES[verb]
    parts = [f"<{r}>" for r in required] + [f"[{o}]" for o in optional]
    return " ".join(parts) if parts else "no arguments"


def _shown(word: str) -> str:
    """A user's word, safe to echo inside backticks in Slack mrkdwn."""
    cleaned = word.replace("`", "'").replace("<", "‹").replace(">", "›").replace("&", "＆")
    return cleaned if len(cleaned) <= 60 else cleaned[:59] + "…"
