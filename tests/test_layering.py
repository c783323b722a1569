"""The layering of ARCHITECTURE section 3, checked on the source (every import, lazy ones included):

- `bot/` is rooms by capability: a handful of modules at its top, every subpackage says what it owns;
- the rooms (`checks`, `handlers`, each `bot/` subpackage, each top-level `bot/` module) import
  each other only in the allowed directions, which form no cycle, and the code has no cycle either;
- checks/ imports only the standard library, msgspec and itself (no I/O library, nothing of bot/);
- only the process entry point (`bot.serve`, where the Slack app is wired) imports handlers/, and
  no Slack job imports another;
- domain records (approval and audit records, the hand-off and paging results, the diagnosis)
  reach no presentation module, however indirectly;
- each SDK is imported by exactly the adapter module(s) that own it; handlers/ never talk to
  Kubernetes.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("checks", "bot", "handlers")

TOP_OF_BOT = {
    "bot",
    "bot.__main__",
    "bot.cli",
    "bot.clock",
    "bot.redact",
    "bot.report",
    "bot.serve",
    "bot.settings",
}
"""The modules directly in bot/ (the rest lives in its rooms): at most 8."""
ROOMS = {"cluster", "escalation", "observability", "queue", "remediation", "sim", "slack", "store", "worker"}

ALLOWED: dict[str, set[str]] = {
    "checks": set(),
    "bot": set(),
    "bot.clock": set(),
    "bot.redact": set(),
    "bot.observability": {"bot.redact"},
    "bot.queue": {"bot.observability"},
    "bot.report": {"checks"},
    "bot.cluster": {"checks", "bot.clock", "bot.redact", "bot.observability"},
    "bot.store": {"checks", "bot.redact"},
    "bot.escalation": {"checks", "bot.clock", "bot.redact", "bot.cluster", "bot.store"},
    "bot.sim": {"checks", "bot.redact", "bot.cluster", "bot.escalation"},
    "bot.slack": {
        "checks",
        "bot.clock",
        "bot.redact",
        "bot.cluster",
        "bot.store",
        "bot.escalation",
        "bot.observability",
        "bot.queue",
    },
    "bot.remediation": {
        "checks",
        "bot.clock",
        "bot.cluster",
        "bot.store",
        "bot.escalation",
        "bot.slack",
        "bot.queue",
        "bot.observability",
    },
    "bot.settings": {"checks", "bot.cluster", "bot.queue", "bot.remediation", "bot.sim"},
    "bot.worker": {
        "bot.cluster",
        "bot.escalation",
        "bot.queue",
        "bot.remediation",
        "bot.settings",
        "bot.slack",
        "bot.store",
        "bot.observability",
    },
    "handlers": {
        "bot.clock",
        "bot.queue",
        "bot.store",
        "bot.slack",
        "bot.remediation",
        "bot.settings",
        "bot.observability",
    },
    "bot.serve": {
        "handlers",
        "bot.queue",
        "bot.store",
        "bot.escalation",
        "bot.slack",
        "bot.remediation",
        "bot.settings",
        "bot.observability",
        "bot.worker",
    },
    "bot.cli": {
        "checks",
        "bot.cluster",
        "bot.escalation",
        "bot.report",
        "bot.sim",
        "bot.serve",
        "bot.observability",
        "bot.worker",
    },
    "bot.__main__": {"bot.cli"},
}
"""Room -> the rooms it may import. Read it bottom-up: the pure diagnosis, the cluster reader and
the Redis records at the bottom; escalation and Slack above them; remediation (a Slack flow) above
those; the listeners, the Slack app and the command line at the top."""

ENTRY_POINT = "bot.serve"
RECORDS = ("bot.store.records", "bot.escalation.handoff", "checks.model")
PRESENTATION = ("bot.slack", "bot.report", "handlers")

# SDK -> the modules allowed to import it (prefix match on dotted module names).
OWNERS = {
    "kubernetes": ("bot.cluster.kube",),
    "urllib3": ("bot.cluster.kube",),
    "redis": ("bot.store.redis_store", "bot.queue"),
    "saq": ("bot.queue.redis_queue",),
    "slack_sdk": ("bot.slack.api", "handlers"),
    "slack_bolt": ("bot.slack.api", "bot.serve", "handlers"),
    "aiohttp": (
        "bot.sim",
        "bot.remediation.iks",
        "bot.serve",
        "bot.slack.api",
        "bot.escalation.pagerduty",
        "bot.observability.endpoints",
    ),
    "prometheus_client": ("bot.observability.metrics",),
    "structlog": ("bot.observability.logs",),
}
CHECKS_MAY_IMPORT = {"msgspec", "checks"}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found[".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> Iterator[str]:
    """Every name an import statement of the file reaches: `from a import b` is `a.b` when that is a
    module of the project, else `a`."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield full if full in MODULES else node.module


def _module_imports() -> dict[str, set[str]]:
    """Module -> the top-level names of everything it imports (SDKs, the standard library, ours)."""
    return {module: {name.split(".")[0] for name in _imports(path)} for module, path in MODULES.items()}


def _project_imports() -> dict[str, set[str]]:
    """Module -> the project's modules it imports."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        graph[module] = {name for name in _imports(path) if name in MODULES and name != module}
    return graph


def room(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "bot":
        return parts[0]
    return ".".join(parts[:2])


def _room_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, imported in _project_imports().items():
        graph.setdefault(room(module), set()).update(room(i) for i in imported if room(i) != room(module))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first walk (each reported once, from its first node)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def reach(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_scan_sees_the_packages() -> None:
    imports = _module_imports()
    assert "checks.diagnose" in imports
    assert "kubernetes" in imports["bot.cluster.kube"]
    assert "bot.cluster.reader" in _project_imports()["bot.cluster.collect"]
    assert _room_graph()["handlers"] >= {"bot.slack", "bot.remediation"}


def test_bot_is_rooms_with_a_small_front() -> None:
    top = {
        m
        for m in MODULES
        if m == "bot" or (m.startswith("bot.") and m.count(".") == 1 and not (ROOT / "bot" / m[4:]).is_dir())
    }
    assert top == TOP_OF_BOT
    assert len(top) <= 8
    assert {p.name for p in (ROOT / "bot").iterdir() if (p / "__init__.py").exists()} == ROOMS
    for name in ROOMS:
        doc = ast.get_docstring(ast.parse((ROOT / "bot" / name / "__init__.py").read_text()))
        assert doc, f"bot/{name}/__init__.py says nothing about what it owns"


def test_the_allowed_directions_form_no_cycle() -> None:
    assert cycles(ALLOWED) == []
    assert set(ALLOWED) == set(_room_graph()) | {r for rs in ALLOWED.values() for r in rs}


def test_rooms_import_each_other_only_in_the_allowed_directions() -> None:
    wrong = sorted(
        f"{a} -> {b}"
        for a, imported in _room_graph().items()
        for b in imported
        if b not in ALLOWED.get(a, set())
    )
    assert wrong == []


def test_no_cycle_between_rooms() -> None:
    assert cycles(_room_graph()) == []


def test_checks_import_no_io_library_and_nothing_of_the_bot() -> None:
    offenders = {
        module: sorted(n for n in names if n not in CHECKS_MAY_IMPORT and n not in sys.stdlib_module_names)
        for module, names in _module_imports().items()
        if module.startswith("checks")
    }
    assert {m: n for m, n in offenders.items() if n} == {}


def test_only_the_entry_point_imports_handlers() -> None:
    importers = {
        room(m) for m, imported in _project_imports().items() for i in imported if room(i) == "handlers"
    }
    assert importers - {"handlers"} == {ENTRY_POINT}


def test_no_job_imports_another() -> None:
    jobs = {m for m in MODULES if m.startswith("bot.slack.") and m.endswith("_job")}
    assert jobs >= {"bot.slack.check_job", "bot.slack.gather_job", "bot.slack.escalate_job"}
    graph = _project_imports()
    assert {job: sorted(graph[job] & jobs) for job in jobs if graph[job] & jobs} == {}


def test_domain_records_reach_no_presentation() -> None:
    graph = _project_imports()
    for record in RECORDS:
        reached = reach(graph, record)
        assert sorted(m for m in reached if m.startswith(PRESENTATION)) == [], record


def test_each_sdk_is_imported_only_by_its_adapter() -> None:
    wrong = []
    for module, names in _module_imports().items():
        for sdk, owners in OWNERS.items():
            if sdk in names and not any(module == o or module.startswith(o + ".") for o in owners):
                wrong.append(f"{module} imports {sdk}")
    assert wrong == []


def test_handlers_never_touch_kubernetes() -> None:
    for module, names in _module_imports().items():
        if module.startswith("handlers"):
            assert not names & {"kubernetes", "urllib3"}, module


def test_the_checks_catch_what_they_are_for() -> None:
    """The helpers find a cycle, an unlisted direction and a record reaching a card."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert reach({"bot.store.records": {"x"}, "x": {"bot.slack.cards"}}, "bot.store.records") == {
        "x",
        "bot.slack.cards",
    }
    assert room("bot.slack.cards") == "bot.slack"
    assert room("bot.cli") == "bot.cli"
    assert room("handlers.slack") == "handlers"
