"""deploy/base/rbac.yaml grants exactly what the code uses: nothing it calls is refused, nothing granted is unused.

What the code uses is taken from the code, not from a list kept here:
- the collector's read plan (`bot.cluster.collect.read_plan`, as `bot.cluster.rbac.read_plan_accesses`), so a new
  read demands its grant at once;
- every request the collector (its log reads too), gather, the Kubernetes actions (plan, apply,
  verify) and the worker actions (plan, verify) send, recorded in front of the real client while
  they run against the simulator over HTTP; each request becomes what RBAC checks (`bot.cluster.rbac`),
  plus Kubernetes' escalation prevention for the Role and RoleBinding the BGP fix creates;
- two source scans keep the recording honest: every module that sends API requests is one the
  recording drives, and every API path written in those modules was requested during the recording.

Then (tests/rbac_model.py) every requirement must be allowed by the ServiceAccount's bindings, and
no single grant (role, group, resource, verb, resourceName, per binding and namespace) may be
removable with every requirement still allowed. The file is also validated against the Kubernetes
API schemas (kubernetes-validate, offline).
"""

from __future__ import annotations

import ast
import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bot import clock
from bot.cluster.collect import collect
from bot.cluster.kube import KubeTransport, RawResponse, resolve_cluster
from bot.cluster.rbac import Access, access_of, read_plan_accesses
from bot.escalation.gather import gather
from bot.remediation.actions import apply_action, plan_action, verify
from bot.remediation.iks import IksClient, IksSettings
from bot.remediation.recovery import verified_state
from bot.remediation.workers import plan_worker_action, verify_worker
from bot.sim import SimCluster
from checks.diagnose import diagnose
from checks.model import ActionKind
from tests.rbac_model import RBAC_GROUP, Grant, Requirement, grants, missing, requirements, unneeded

ROOT = Path(__file__).resolve().parent.parent
RBAC_FILE = ROOT / "deploy" / "base" / "rbac.yaml"
BOT = ("ServiceAccount", "calico-bot", "calico-bot")
READER = "bot/cluster/reader.py"
# The modules that make Kubernetes API requests (through the reader); each is driven by `_record` below.
RECORDED_MODULES = {
    "bot/cluster/collect.py",
    "bot/escalation/gather.py",
    "bot/remediation/actions.py",
    "bot/remediation/recovery.py",
    "bot/remediation/workers.py",
}
CRASHLOOP_WORKER = "10.188.156.137"  # crashloop-one / crashloop-needs-reboot: the bad calico-node
ROKS_WORKER = "10.240.0.14"  # roks-crio-notready: has an ibm-keepalived-watcher pod


def _docs() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(RBAC_FILE.read_text()) if d]


@dataclass(frozen=True)
class Call:
    step: str
    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    body: dict[str, Any] | None
    """Only Role/RoleBinding bodies are kept (for escalation prevention); never a Secret's."""


@dataclass
class Recorder:
    """Sits in front of the real transport and notes every request (it forwards all of them)."""

    inner: KubeTransport
    calls: list[Call]
    step: str = ""

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        accept: str = "application/json",
        body: Any = None,
        content_type: str | None = None,
        timeout: float = 20.0,
    ) -> RawResponse:
        rbac = isinstance(body, dict) and str(body.get("apiVersion", "")).startswith(RBAC_GROUP)
        self.calls.append(Call(self.step, method, path, tuple(params), body if rbac else None))
        return await self.inner.request(
            method, path, params=params, accept=accept, body=body, content_type=content_type, timeout=timeout
        )


@dataclass
class Recording:
    calls: list[Call] = field(default_factory=list)


def _recorder(sim: SimCluster, tmp: Path, recording: Recording, name: str) -> Recorder:
    sim.write_kubeconfig(tmp / f"{name}.kubeconfig", context=name)
    transport = KubeTransport(resolve_cluster(name, kubeconfig=str(tmp / f"{name}.kubeconfig")))
    return Recorder(transport, recording.calls)


async def _record(tmp: Path) -> Recording:
    recording = Recording()
    async with SimCluster("crashloop-one", nodes=4, pod_recreate_delay_s=0.2) as sim:
        rec = _recorder(sim, tmp, recording, "crashloop")
        rec.step = "collect"
        snapshot = await collect(rec, cluster="c", source="sim", collected_at=clock.utcnow())
        rec.step = "gather"
        await gather(rec, cluster="c", node_name=CRASHLOOP_WORKER, now=clock.utcnow())
        for kind in (ActionKind.CORDON, ActionKind.UNCORDON):
            rec.step = kind.value
            plan = await plan_action(rec, cluster="c", kind=kind, target=CRASHLOOP_WORKER)
            await apply_action(rec, plan)
            assert (await verify(rec, plan, deadline_s=5, poll_s=0.05)).ok
            rec.step = f"{kind.value} (recovery read)"
            assert (await verified_state(rec, plan, since=None))[0]
        rec.step = "delete-pod"
        diagnosis = diagnose(snapshot, now=snapshot.collected_at)
        target = next(a.target for a in diagnosis.actions if a.kind == ActionKind.DELETE_POD)
        plan = await plan_action(rec, cluster="c", kind=ActionKind.DELETE_POD, target=target)
        await apply_action(rec, plan)
        assert (await verify(rec, plan, deadline_s=10, poll_s=0.05)).ok
        rec.step = "delete-pod (recovery read)"
        assert (await verified_state(rec, plan, since=None))[0]
        rec.inner.close()
    async with SimCluster("roks-crio-notready", nodes=4) as sim:
        rec = _recorder(sim, tmp, recording, "roks")
        rec.step = "gather (ROKS)"
        bundle = await gather(rec, cluster="c", node_name=ROKS_WORKER, now=clock.utcnow())
        assert any("calico-extension" in path for path, _size in bundle.files)
        rec.inner.close()
    async with SimCluster("bgp-password-migration", nodes=4) as sim:
        rec = _recorder(sim, tmp, recording, "bgp")
        rec.step = "copy-bgp-secret"
        plan = await plan_action(rec, cluster="c", kind=ActionKind.COPY_BGP_SECRET, target="c")
        assert "copied secret" in await apply_action(rec, plan)
        assert (await verify(rec, plan, deadline_s=10, poll_s=0.05)).ok
        rec.step = "copy-bgp-secret (recovery read)"
        assert (await verified_state(rec, plan, since=None))[0]
        rec.inner.close()
    async with SimCluster("crashloop-needs-reboot", nodes=4) as sim:
        rec = _recorder(sim, tmp, recording, "reboot")
        settings = IksSettings(api_key="rbac-test-key", api_url=sim.iks_url, iam_url=sim.iam_url, timeout=5)
        async with IksClient(settings) as iks:
            for kind in (ActionKind.REBOOT_WORKER, ActionKind.REFRESH_MASTER):
                rec.step = kind.value
                target = CRASHLOOP_WORKER if kind == ActionKind.REBOOT_WORKER else "c"
                plan = await plan_worker_action(rec, iks, cluster="c", kind=kind, target=target)
                await verify_worker(rec, plan, since=clock.utcnow(), deadline_s=0)
                rec.step = f"{kind.value} (recovery read)"
                await verified_state(rec, plan, since=clock.utcnow())
        rec.inner.close()
    return recording


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    return asyncio.run(_record(tmp_path_factory.mktemp("rbac")))


def _requirements(recording: Recording) -> list[Requirement]:
    created_roles = {
        (c.body["metadata"]["namespace"], c.body["metadata"]["name"]): c.body.get("rules") or []
        for c in recording.calls
        if c.body is not None and c.body.get("kind") == "Role"
    }
    needed: dict[tuple[Any, ...], Requirement] = {}
    for access in read_plan_accesses():
        needed.setdefault(((access,),), Requirement(f"read plan: {access.describe()}", ((access,),)))
    for call in recording.calls:
        access = access_of(call.method, call.path, call.params)
        why = f"{call.step}: {call.method} {call.path}"
        for requirement in requirements(access, call.body, why, created_roles):
            needed.setdefault(requirement.alternatives, requirement)
    return list(needed.values())


def test_the_file_is_valid_kubernetes_rbac() -> None:
    docs = _docs()
    assert {d["kind"] for d in docs} == {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    for doc in docs:
        for version in ("1.29", "1.33"):
            kubernetes_validate.validate(doc, version, strict=True)  # raises on any malformed object
        if doc["kind"] in ("Role", "RoleBinding"):
            assert doc["metadata"].get("namespace"), doc["metadata"]["name"]


def test_every_call_the_code_makes_is_allowed(recording: Recording) -> None:
    refused = missing(grants(_docs(), BOT), _requirements(recording))
    assert [r.why for r in refused] == []


def test_every_grant_is_used_by_some_call(recording: Recording) -> None:
    spare = unneeded(grants(_docs(), BOT), _requirements(recording))
    assert [g.describe() for g in spare] == []


def test_every_role_is_bound_to_the_bot_and_nothing_else_is_bound() -> None:
    docs = _docs()
    granted = grants(docs, BOT)
    bound = {g.role for g in granted}
    roles = {
        "/".join(x for x in (d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]) if x)
        for d in docs
        if d["kind"] in ("ClusterRole", "Role")
    }
    assert roles == bound
    for doc in docs:
        if doc["kind"].endswith("Binding"):
            assert [(s["kind"], s["namespace"], s["name"]) for s in doc["subjects"]] == [BOT]


def test_guard_rails_secrets_named_no_wildcards_only_pods_deleted() -> None:
    for grant in grants(_docs(), BOT):
        assert "*" not in (grant.group, grant.resource, grant.verb), grant.describe()
        if grant.verb in ("delete", "deletecollection"):
            assert (grant.group, grant.resource) == ("", "pods"), grant.describe()
        if grant.resource == "secrets":
            assert grant.namespace in ("kube-system", "calico-system"), grant.describe()
            if grant.verb != "create":  # create cannot be limited by resourceNames
                assert grant.name == "calico-bgp-password", grant.describe()
        if grant.group == RBAC_GROUP and grant.verb != "create":
            assert (grant.namespace, grant.name) == ("calico-system", "bgp-secret-access"), grant.describe()


def _api_path_templates(source: str) -> list[str]:
    """The API paths written in a module, as regexes: each f-string placeholder is one path segment."""
    found = []
    nodes = list(ast.walk(ast.parse(source)))
    inside_fstrings = {id(v) for n in nodes if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in nodes:
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in inside_fstrings:
            pieces: list[str] = [re.escape(node.value)]
        elif isinstance(node, ast.JoinedStr):
            pieces = [
                re.escape(str(v.value)) if isinstance(v, ast.Constant) else "[^/]+"
                for v in node.values
                if isinstance(v, ast.Constant | ast.FormattedValue)
            ]
        else:
            continue
        text = "".join(pieces)
        if text.startswith(("/api/", "/apis/")) and " " not in text:
            found.append(text)
    return found


def test_the_recording_requests_every_api_path_in_the_code(recording: Recording) -> None:
    paths = {c.path for c in recording.calls}
    unreached = []
    for module in sorted(RECORDED_MODULES):
        for template in _api_path_templates((ROOT / module).read_text()):
            if not any(re.fullmatch(template, p) for p in paths):
                unreached.append(f"{module}: {template}")
    assert unreached == []
    assert len(paths) > 30


def test_only_the_recorded_modules_send_api_requests() -> None:
    senders, readers = set(), set()
    for path in sorted((ROOT / "bot").rglob("*.py")):
        module = path.relative_to(ROOT).as_posix()
        if module.startswith("bot/sim/") or module == "bot/cluster/kube.py":
            continue  # the simulator serves the API; bot/cluster/kube.py is the transport itself
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "request"
                and ast.unparse(node.func.value).endswith("transport")
            ):
                senders.add(module)
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "KubeReader":
                readers.add(module)
    assert senders == {READER}  # every request goes through the one reader
    assert readers == RECORDED_MODULES  # and every module that makes one is driven by the recording


# The checks above can fail: the model finds a missing grant, an unused one, a wrong scope.


def _with_rule(docs: list[dict[str, Any]], role: str, rule: dict[str, Any]) -> list[dict[str, Any]]:
    changed = [dict(d) for d in docs]
    for doc in changed:
        if doc["kind"] in ("ClusterRole", "Role") and doc["metadata"]["name"] == role:
            doc["rules"] = [*doc["rules"], rule]
    return changed


def test_an_unused_grant_is_reported(recording: Recording) -> None:
    docs = _with_rule(
        _docs(), "calico-bot-read", {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}
    )
    spare = unneeded(grants(docs, BOT), _requirements(recording))
    assert [g.describe() for g in spare] == [
        "ClusterRole/calico-bot-read via ClusterRoleBinding/calico-bot-read: list configmaps (core) cluster-wide"
    ]


def test_a_new_read_without_its_grant_is_reported() -> None:
    new_read = access_of("GET", "/apis/networking.k8s.io/v1/networkpolicies")
    needed = [Requirement("read plan: a new read", ((new_read,),))]
    assert missing(grants(_docs(), BOT), needed) == needed


def test_a_rolebinding_grants_only_in_its_namespace() -> None:
    in_calico = access_of("GET", "/api/v1/namespaces/calico-system/secrets/calico-bgp-password")
    elsewhere = access_of("GET", "/api/v1/namespaces/default/secrets/calico-bgp-password")
    other_name = access_of("GET", "/api/v1/namespaces/calico-system/secrets/some-other-secret")
    granted = grants(_docs(), BOT)
    assert any(g.allows(in_calico) for g in granted)
    assert not any(g.allows(elsewhere) for g in granted)
    assert not any(g.allows(other_name) for g in granted)


def test_escalate_limited_by_name_cannot_authorize_creating_the_role() -> None:
    role_body = {
        "kind": "Role",
        "metadata": {"name": "bgp-secret-access", "namespace": "calico-system"},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
    }
    create = access_of("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/calico-system/roles")
    assert create == Access("create", RBAC_GROUP, "roles", "calico-system", "")
    escalation = requirements(create, role_body, "create", {})[1]
    escalate_named = Grant("b", "r", "calico-system", RBAC_GROUP, "roles", "escalate", "bgp-secret-access")
    escalate_any = Grant("b", "r", "calico-system", RBAC_GROUP, "roles", "escalate")
    assert not escalation.satisfied_by([escalate_named])
    assert escalation.satisfied_by([escalate_any])


def test_requests_are_seen_as_the_authorizer_sees_them() -> None:
    assert access_of("GET", "/api/v1/nodes", [("limit", "500")]) == Access("list", "", "nodes")
    assert access_of("GET", "/api/v1/namespaces/calico-system/pods/calico-node-x/log") == Access(
        "get", "", "pods/log", "calico-system", "calico-node-x"
    )
    assert access_of("GET", "/api/v1/namespaces/kube-system") == Access(
        "get", "", "namespaces", "kube-system", "kube-system"
    )
    assert access_of(
        "GET",
        "/api/v1/namespaces/calico-system/secrets",
        [("fieldSelector", "metadata.name=calico-bgp-password")],
    ) == Access("list", "", "secrets", "calico-system", "calico-bgp-password")
    assert access_of("GET", "/apis/apps/v1/daemonsets", [("watch", "true")]) == Access(
        "watch", "apps", "daemonsets"
    )
    assert access_of("PATCH", "/api/v1/nodes/10.0.0.1") == Access("patch", "", "nodes", "", "10.0.0.1")
    assert access_of("DELETE", "/api/v1/namespaces/x/pods") == Access("deletecollection", "", "pods", "x")
    with pytest.raises(ValueError, match="not a Kubernetes resource path"):
        access_of("GET", "/version")
