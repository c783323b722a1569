"""Runbook "calico-node Pod Not Running after upgrading to IKS 1.29 (or newer)".

The BGP mesh password lives in a Secret that confd reads only from calico-node's own namespace.
IKS's update copies `calico-bgp-password` from kube-system to calico-system only while
`BGPConfiguration default` keeps the annotation `created-by: IBMCloudKubernetesService`; a customer
who changed the password (and the annotation) is left with calico-node in calico-system unable to
read it: `0/1 Running`, readiness "BGP not established", confd "Can't read password …".

Signals: calico-system in use; BGPConfiguration referencing a secret (`nodeMeshPassword`); the
secret missing from calico-system (present in kube-system), or Role/RoleBinding `bgp-secret-access`
missing; the annotation changed or removed; pods not Ready with BGP not established; the confd log
line. Proposes `copy-bgp-secret`. Pods whose only complaint is "BGP not established" are claimed
by this situation so they are not also reported as per-worker failures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from checks import calico_pods
from checks.common import clip
from checks.model import Action, ActionKind, Finding, ObjRef, RunbookSection, Severity, SituationId
from checks.objects import CustomObject
from checks.snapshot import Read, Snapshot

CHECK_ID = "bgp-password-migration"
SECRET = "calico-bgp-password"  # noqa: S105 - the secret's name, not a value
RBAC_NAME = "bgp-secret-access"
IBM_CREATOR = "IBMCloudKubernetesService"


@dataclass(frozen=True)
class MigrationGap:
    secret_name: str
    secret_key: str
    secret_in_calico_system: bool
    secret_in_kube_system: bool
    role: bool
    role_binding: bool
    creator: str | None
    config: CustomObject

    @property
    def broken(self) -> bool:
        return not (self.secret_in_calico_system and self.role and self.role_binding)


def mesh_password_ref(snapshot: Snapshot) -> tuple[CustomObject, str, str] | None:
    """(BGPConfiguration default, secret name, key) when the mesh uses a password."""
    for config in snapshot.custom_objects(Read.BGP_CONFIGURATIONS.value):
        if config.metadata.name != "default":
            continue
        ref = (config.spec.get("nodeMeshPassword") or {}).get("secretKeyRef") or {}
        if isinstance(ref, dict) and ref.get("name"):
            return config, str(ref["name"]), str(ref.get("key", ""))
    return None


def migration_gap(snapshot: Snapshot) -> MigrationGap | None:
    """What is missing in calico-system for the mesh password, or None when nothing applies."""
    if "calico-system" not in snapshot.calico_namespaces():
        return None
    found = mesh_password_ref(snapshot)
    if found is None:
        return None
    config, name, key = found
    secrets = {(s.metadata.namespace, s.metadata.name) for s in snapshot.secrets}
    rbac = {(r.kind, r.metadata.namespace, r.metadata.name) for r in snapshot.rbac}
    return MigrationGap(
        secret_name=name,
        secret_key=key,
        secret_in_calico_system=("calico-system", name) in secrets,
        secret_in_kube_system=("kube-system", name) in secrets,
        role=("Role", "calico-system", RBAC_NAME) in rbac,
        role_binding=("RoleBinding", "calico-system", RBAC_NAME) in rbac,
        creator=config.metadata.annotations.get("created-by"),
        config=config,
    )


def claimed_workers(snapshot: Snapshot, *, now: datetime) -> set[str]:
    """Workers whose calico-node only fails BGP while the password gap exists (this situation's)."""
    gap = migration_gap(snapshot) if _reads_ok(snapshot) else None
    if gap is None or not gap.broken:
        return set()
    troubles, _judged = calico_pods.analyse(snapshot, now=now)
    return {t.node for t in troubles if t.bgp_not_established_only or _confd_cannot_read(t)}


def _confd_cannot_read(trouble: calico_pods.PodTrouble) -> bool:
    return any(hit.signature == "bgp-password" for hit in trouble.log_hits)


def _reads_ok(snapshot: Snapshot) -> bool:
    return all(snapshot.read_ok(r) for r in (Read.BGP_CONFIGURATIONS, Read.BGP_SECRETS, Read.BGP_RBAC))


def _unknown(title: str, detail: str) -> list[Finding]:
    return [
        Finding(
            check=CHECK_ID,
            situation=SituationId.BGP_PASSWORD_MIGRATION,
            severity=Severity.UNKNOWN,
            title=title,
            detail=detail,
            runbook_section=RunbookSection.BGP_MIGRATION.value,
        )
    ]


def _symptomatic(snapshot: Snapshot, now: datetime) -> bool:
    """Does any calico-system calico-node show this situation's symptom (BGP down, password unreadable)?"""
    troubles, _judged = calico_pods.analyse(snapshot, now=now)
    return any(
        t.pod is not None
        and t.pod.namespace == "calico-system"
        and (t.bgp_not_established_only or _confd_cannot_read(t))
        for t in troubles
    )


def check(snapshot: Snapshot, *, now: datetime) -> list[Finding]:
    if "calico-system" not in snapshot.calico_namespaces():
        return []  # manifest era (kube-system): the 1.29 migration has not happened
    # What could not be read only matters when the pods show the symptom; without it (a dump
    # with no Calico CRs of a cluster whose BGP is fine) there is nothing to judge.
    symptom = "calico-node in calico-system reports BGP not established; "
    if not snapshot.read_ok(Read.BGP_CONFIGURATIONS):
        if not _symptomatic(snapshot, now):
            return []
        return _unknown(
            "BGP password migration not judged", symptom + snapshot.read_problem(Read.BGP_CONFIGURATIONS)
        )
    found = mesh_password_ref(snapshot)
    if found is None:
        return []  # no mesh password: nothing to migrate
    if found[1] != SECRET:
        if not _symptomatic(snapshot, now):
            return []
        return _unknown(
            f"BGP password secret {found[1]} not checked",
            symptom + f"BGPConfiguration default uses secret {found[1]!r}; the bot reads only {SECRET!r}",
        )
    blocked = [snapshot.read_problem(r) for r in (Read.BGP_SECRETS, Read.BGP_RBAC) if not snapshot.read_ok(r)]
    if blocked:
        if not _symptomatic(snapshot, now):
            return []
        return _unknown("BGP password migration not judged", symptom + "; ".join(blocked))
    gap = migration_gap(snapshot)
    if gap is None or not gap.broken:
        return []
    troubles, _judged = calico_pods.analyse(snapshot, now=now)
    affected = [t for t in troubles if t.bgp_not_established_only or _confd_cannot_read(t)]
    evidence: list[str] = []
    if not gap.secret_in_calico_system:
        where = "present in kube-system" if gap.secret_in_kube_system else "not in kube-system either"
        evidence.append(f"Secret {gap.secret_name} is missing from calico-system ({where})")
    if not gap.role:
        evidence.append(f"Role calico-system/{RBAC_NAME} is missing")
    if not gap.role_binding:
        evidence.append(f"RoleBinding calico-system/{RBAC_NAME} is missing")
    creator = "missing" if gap.creator is None else repr(gap.creator)
    ref = f"{gap.secret_name}:{gap.secret_key}" if gap.secret_key else gap.secret_name
    evidence.append(
        f"BGPConfiguration default: nodeMeshPassword.secretKeyRef {ref}; annotation created-by {creator}"
        + (
            " (changed by the customer, so the IKS update did not copy the secret)"
            if gap.creator != IBM_CREATOR
            else ""
        )
    )
    for trouble in affected[:3]:
        if trouble.probe is not None:
            evidence.append(
                clip(f"{trouble.node}: calico/node is not ready: BIRD is not ready: {trouble.probe.detail}")
            )
        evidence += [
            clip(f"{trouble.node}: log {hit.line}")
            for hit in trouble.log_hits
            if hit.signature == "bgp-password"
        ][:1]
    if len(affected) > 3:
        evidence.append(f"… {len(affected) - 3} more workers with BGP not established")
    severity = Severity.CRITICAL if affected else Severity.WARNING
    title = (
        f"BGP password secret not available to calico-node in calico-system: {len(affected)} "
        f"worker{'s have' if len(affected) != 1 else ' has'} no BGP peering"
        if affected
        else "BGP password secret not available to calico-node in calico-system (BGP will fail when calico-node restarts)"
    )
    objects = [ObjRef(kind="BGPConfiguration", name="default")]
    objects += [ObjRef(kind="Node", name=t.node) for t in affected[:50]]
    detail = (
        "Copy the secret from kube-system to calico-system and create Role and RoleBinding "
        f"{RBAC_NAME} for ServiceAccount calico-node, as the runbook shows; the migration then continues."
    )
    if not gap.secret_in_kube_system:
        detail += " The secret is not in kube-system either: it must be recreated with the customer's password first."
    return [
        Finding(
            check=CHECK_ID,
            situation=SituationId.BGP_PASSWORD_MIGRATION,
            severity=severity,
            title=title,
            detail=detail,
            evidence=tuple(evidence),
            objects=tuple(objects),
            runbook_section=RunbookSection.BGP_MIGRATION.value,
        )
    ]


def propose(findings: Sequence[Finding], snapshot: Snapshot) -> list[Action]:
    gap = migration_gap(snapshot)
    if gap is None or not gap.secret_in_kube_system:
        return [
            Action.propose(
                ActionKind.ESCALATE, snapshot.cluster, "the BGP password secret is gone from kube-system too"
            )
        ]
    return [
        Action.propose(
            ActionKind.COPY_BGP_SECRET,
            snapshot.cluster,
            f"copy {gap.secret_name} kube-system → calico-system and create Role/RoleBinding {RBAC_NAME} (runbook)",
        )
    ]
