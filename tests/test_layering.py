"""The layering of ARCHITECTURE section 3, checked on the source:
- checks/ imports only the standard library, msgspec and itself (no I/O library, nothing of bot/);
- each SDK is imported by exactly the adapter module(s) that own it;
- handlers/ never talks to Kubernetes.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("checks", "bot", "handlers")

# SDK -> the modules allowed to import it (prefix match on dotted module names).
OWNERS = {
    "kubernetes": ("bot.cluster.kube",),
    "urllib3": ("bot.cluster.kube",),
    "redis": ("bot.store", "bot.queue"),
    "slack_sdk": ("bot.slack.api", "handlers"),
    "slack_bolt": ("bot.slack.api", "bot.serve", "handlers"),
    "aiohttp": ("bot.sim", "bot.remediation.iks", "bot.serve", "bot.slack.api", "bot.escalation.pagerduty"),
}
CHECKS_MAY_IMPORT = {"msgspec", "checks"}


def _module_imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            names: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
            found[module] = names
    return found


def test_the_scan_sees_the_packages() -> None:
    modules = _module_imports()
    assert "checks.diagnose" in modules
    assert "kubernetes" in modules["bot.cluster.kube"]


def test_checks_import_no_io_library() -> None:
    offenders = {
        module: sorted(n for n in names if n not in CHECKS_MAY_IMPORT and n not in sys.stdlib_module_names)
        for module, names in _module_imports().items()
        if module.startswith("checks")
    }
    assert {m: n for m, n in offenders.items() if n} == {}


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
