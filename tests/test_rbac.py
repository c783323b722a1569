"""deploy/rbac.yaml grants what the code calls, and the remediator no more than its actions need:
- every list/get of the collector's read plan is allowed by calico-bot-read (group, resource, verb);
- the Kubernetes actions' verbs (nodes patch, pods delete, the BGP copy) are granted, and nothing
  deletes DaemonSets or Installations (deleting Installation default tears Calico down)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.collect import GetCall, ListCall, read_plan

ROOT = Path(__file__).resolve().parent.parent
DOCS = list(yaml.safe_load_all((ROOT / "deploy" / "rbac.yaml").read_text()))


def _rules(kind: str, name: str) -> list[dict[str, Any]]:
    return next(d for d in DOCS if d["kind"] == kind and d["metadata"]["name"] == name)["rules"]


def _allows(rules: list[dict[str, Any]], group: str, resource: str, verb: str) -> bool:
    return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"] for r in rules)


def _group_resource(path: str) -> tuple[str, str]:
    core = re.match(r"^/api/v1/(?:namespaces/[^/]+/)?([a-z]+)", path)
    if core:
        return "", core.group(1)
    named = re.match(r"^/apis/([^/]+)/[^/]+/(?:namespaces/[^/]+/)?([a-z]+)", path)
    assert named, path
    return named.group(1), named.group(2)


def test_the_read_role_covers_the_read_plan() -> None:
    read = _rules("ClusterRole", "calico-bot-read") + _rules("ClusterRole", "calico-bot-bgp-secret-read")
    for call in read_plan():
        group, resource = _group_resource(call.path)
        verb = "list" if isinstance(call, ListCall) else "get"
        assert isinstance(call, ListCall | GetCall)
        assert _allows(read, group, resource, verb), (call.path, verb)
    assert _allows(read, "", "pods/log", "get")


def test_the_remediator_has_the_actions_verbs_and_no_more() -> None:
    remediate = _rules("ClusterRole", "calico-bot-remediate")
    assert _allows(remediate, "", "nodes", "patch")
    assert _allows(remediate, "", "pods", "delete")
    bgp = _rules("Role", "calico-bot-bgp-fix")
    assert _allows(bgp, "", "secrets", "create")
    assert _allows(bgp, "rbac.authorization.k8s.io", "roles", "create")
    assert _allows(bgp, "rbac.authorization.k8s.io", "rolebindings", "create")
    everything = [r for d in DOCS if d["kind"] in ("ClusterRole", "Role") for r in d["rules"]]
    for rule in everything:
        assert "*" not in rule["verbs"]
        if "delete" in rule["verbs"]:
            assert rule["resources"] == ["pods"]
