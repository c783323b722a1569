"""Runbook "calico-node Not Running at all on any Workers".

Signals: no calico-node DaemonSet in either Calico namespace, or one that wants pods and has none;
`FailedCreate` events of the DaemonSet (an admission webhook or a policy denying the pods);
webhook configurations that intercept pod CREATE with `failurePolicy: Fail` and do not exclude the
Calico namespaces; in the operator era a missing tigera-operator Deployment or `Installation
default`, and `TigeraStatus calico` Degraded/Progressing with its message.
Proposes `refresh-master` (up to 45 minutes), and says that a refresh does not fix a webhook.
Trap: a ROKS cluster running OVN-Kubernetes has no calico-node, correctly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from checks.calico_pods import cni_failures_by_node
from checks.common import clip, event_line
from checks.model import Action, ActionKind, Finding, ObjRef, RunbookSection, Severity, SituationId
from checks.objects import LabelSelector, WebhookConfiguration
from checks.snapshot import CALICO_NAMESPACES, Read, Snapshot

CHECK_ID = "calico-absent-everywhere"
WEBHOOK_NAME = re.compile(r'(?:admission webhook|failed calling webhook) "(?P<name>[^"]+)"')
OVN_NAMESPACE = "openshift-ovn-kubernetes"


def check(snapshot: Snapshot, *, now: datetime) -> list[Finding]:
    if not snapshot.nodes:
        return []  # zero workers want zero calico-node pods
    calico_pods = snapshot.calico_node_pods()
    if calico_pods:
        return []
    if any(ns.metadata.name == OVN_NAMESPACE for ns in snapshot.namespaces):
        return [
            Finding(
                check=CHECK_ID,
                situation=SituationId.CALICO_ABSENT_EVERYWHERE,
                severity=Severity.INFO,
                title="This cluster runs OVN-Kubernetes, not Calico: no calico-node is expected",
                evidence=(f"namespace {OVN_NAMESPACE} exists",),
            )
        ]
    evidence: list[str] = []
    objects: list[ObjRef] = []
    present = snapshot.calico_daemonsets()
    if not present:
        evidence.append(
            "no DaemonSet runs calico-node (DaemonSet calico-node not found in calico-system nor kube-system, "
            "nor a canal one anywhere)"
        )
    for ds in present:
        st = ds.status
        where = f"{ds.metadata.namespace}/{ds.metadata.name}"
        evidence.append(
            f"DaemonSet {where}: desired {st.desired_number_scheduled}, "
            f"current {st.current_number_scheduled}, ready {st.number_ready}, and no calico-node pod exists"
        )
        objects.append(ObjRef(kind="DaemonSet", name=ds.metadata.name, namespace=ds.metadata.namespace))
        for event in snapshot.events_for("DaemonSet", ds.metadata.name, ds.metadata.namespace):
            if event.reason in ("FailedCreate", "FailedPlacement") or event.type == "Warning":
                evidence.append(event_line(event, now))
    # the operator, typha or kube-controllers refused too (a pod security policy, a quota)
    refused = [
        e
        for e in snapshot.events
        if e.reason in ("FailedCreate", "FailedPlacement")
        and e.involved_object.kind in ("ReplicaSet", "Deployment", "StatefulSet")
        and e.metadata.namespace in (*CALICO_NAMESPACES, "tigera-operator")
    ]
    evidence += [
        f"{e.involved_object.kind} {e.metadata.namespace}/{e.involved_object.name}: {event_line(e, now)}"
        for e in refused[:3]
    ]
    for node, failures in list(cni_failures_by_node(snapshot, now).items())[:3]:
        ref = failures[0].event.involved_object
        evidence.append(f"on {node}: {event_line(failures[0].event, now)} (pod {ref.namespace}/{ref.name})")
    blocking = _blocking_webhooks(snapshot, evidence)
    evidence += _operator_evidence(snapshot)
    if not snapshot.read_ok(Read.WEBHOOKS):
        evidence.append("admission webhooks not checked: " + snapshot.read_problem(Read.WEBHOOKS))
    detail = (
        "calico-node runs on no worker. Refresh the master (`ibmcloud ks cluster master refresh`; allow up to "
        "45 minutes for the DaemonSet to be recreated)."
    )
    if blocking:
        detail += (
            " A webhook that intercepts pod creation is named above: a refresh alone will not fix that — "
            "remove it or exclude the Calico namespaces from it first (see the Armada-Deploy operation failures "
            "runbook, 'webhook')."
        )
    return [
        Finding(
            check=CHECK_ID,
            situation=SituationId.CALICO_ABSENT_EVERYWHERE,
            severity=Severity.CRITICAL,
            title="calico-node is not running on any worker",
            detail=detail,
            evidence=tuple(clip(e) for e in evidence),
            objects=tuple(objects),
            runbook_section=RunbookSection.NOT_RUNNING_ANYWHERE.value,
        )
    ]


def _blocking_webhooks(snapshot: Snapshot, evidence: list[str]) -> list[str]:
    """Webhooks named by FailedCreate events, or able to block pod CREATE in a Calico namespace."""
    named = {
        m.group("name")
        for e in snapshot.events
        if e.reason == "FailedCreate"
        for m in [WEBHOOK_NAME.search(e.message)]
        if m
    }
    found: list[str] = []
    for config in snapshot.webhooks:
        for hook in config.webhooks:
            if hook.name in named or _could_block_calico(config, hook.name):
                found.append(hook.name)
                evidence.append(
                    f"{config.kind or 'WebhookConfiguration'} {config.metadata.name}: webhook {hook.name} "
                    f"(failurePolicy {hook.failure_policy}, timeout {hook.timeout_seconds}s) intercepts pod CREATE"
                    + (" and is named in FailedCreate events" if hook.name in named else "")
                )
    for name in sorted(named - set(found)):
        found.append(name)
        evidence.append(f"webhook {name} is named in FailedCreate events")
    return found


def _could_block_calico(config: WebhookConfiguration, hook_name: str) -> bool:
    for hook in config.webhooks:
        if hook.name != hook_name or hook.failure_policy != "Fail":
            continue
        creates_pods = any(
            ("CREATE" in r.operations or "*" in r.operations)
            and ("pods" in r.resources or "*" in r.resources)
            for r in hook.rules
        )
        if creates_pods and not all(_excludes(hook.namespace_selector, ns) for ns in CALICO_NAMESPACES):
            return True
    return False


def _excludes(selector: LabelSelector | None, namespace: str) -> bool:
    """Does this namespaceSelector leave out the namespace (by its kubernetes.io/metadata.name label)?"""
    if selector is None:
        return False
    labels = {"kubernetes.io/metadata.name": namespace}
    for key, value in selector.match_labels.items():
        if labels.get(key) != value:
            return True
    for req in selector.match_expressions:
        has = key_value = labels.get(req.key)
        if req.operator == "In" and key_value not in req.values:
            return True
        if req.operator == "NotIn" and key_value in req.values:
            return True
        if req.operator == "Exists" and has is None:
            return True
        if req.operator == "DoesNotExist" and has is not None:
            return True
    return False


def _operator_evidence(snapshot: Snapshot) -> list[str]:
    evidence: list[str] = []
    operator_era = any(ns.metadata.name == "calico-system" for ns in snapshot.namespaces) or bool(
        snapshot.custom_objects("installations") or snapshot.custom_objects("tigerastatuses")
    )
    if not operator_era:
        return evidence
    if (
        snapshot.read_ok(Read.DEPLOYMENTS)
        and snapshot.deployment("tigera-operator", "tigera-operator") is None
    ):
        evidence.append("Deployment tigera-operator/tigera-operator is missing: nothing recreates Calico")
    if snapshot.read_ok(Read.INSTALLATIONS) and not any(
        i.metadata.name == "default" for i in snapshot.custom_objects("installations")
    ):
        evidence.append("Installation default is missing (operator.tigera.io/v1)")
    for status in snapshot.custom_objects("tigerastatuses"):
        if status.metadata.name != "calico":
            continue
        for cond in status.status.get("conditions", []) or []:
            if (
                isinstance(cond, dict)
                and cond.get("type") in ("Degraded", "Progressing")
                and cond.get("status") == "True"
            ):
                evidence.append(
                    f"TigeraStatus calico {cond.get('type')}: {cond.get('reason', '')} {cond.get('message', '')}".strip()
                )
    return evidence


def propose(findings: Sequence[Finding], snapshot: Snapshot) -> list[Action]:
    return [
        Action.propose(
            ActionKind.GATHER, snapshot.cluster, "record the DaemonSet, events and webhooks first"
        ),
        Action.propose(
            ActionKind.REFRESH_MASTER,
            snapshot.cluster,
            "runbook: recreates the calico-node DaemonSet (up to 45 minutes)",
        ),
    ]
