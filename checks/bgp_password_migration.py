"""Runbook "calico-node Pod Not Running after upgrading to IKS 1.29 (or newer)".

The BGP mesh password lives in a Secret that confd reads only from calico-node's own namespace.
IKS's update copies `calico-bgp-password` from kube-system to calico-system only while
`BGPConfiguration default` keeps the annotation `created-by: IBMCloudKubernetesService`; a customer
who changed the password (and the annotation) is left with calico-node in calico-system unable to
read it: `0/1 Running`, readiness "BGP not established", confd "Can't read password …".

Signals: calico-system in use; BGPConfiguration referencing a secret (`nodeMeshPassword`); the
secret missing from calico-system (present in kube-system), or Role/RoleBinding `bgp-secret-access`
missing; the annotation changed or removed; pods not Ready with BGP not established; the confd log
line. Proposes `copy-bgp-secret`.

A cause with its own section: when calico-node says it cannot read the password secret — confd's
"Can't read password …" or an RBAC denial on a Secret, whatever the secret is called and in any
namespace — this situation is reported (and put first, see `checks.diagnose`) even when the
BGPConfiguration or the secrets could not be read; the per-worker symptom stays listed after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from checks import calico_pods
from checks.catalog import BY_ID, Scope
from checks.common import clip
from checks.logscan import LogHit
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


def password_hits(snapshot: Snapshot) -> list[tuple[str, LogHit]]:
    """(worker, log line) where calico-node says it cannot read the BGP password secret."""
    key = ("bgp_password_migration.password_hits", None)
    if key not in snapshot.memo:
        found: list[tuple[str, LogHit]] = []
        for pod, log in snapshot.calico_node_logs():
            found += [
                (pod.node_name if pod is not None else log.pod, hit)
                for hit in calico_pods.live_hits(snapshot, pod, log)
                if BY_ID[hit.signature].scope == Scope.BGP_SECRET
            ]
        snapshot.memo[key] = found
    return list(snapshot.memo[key])


def _affected(snapshot: Snapshot, now: datetime, *, gap_broken: bool) -> list[calico_pods.PodTrouble]:
    """Per-worker troubles this situation explains: BGP not established (with a gap) or the password unreadable."""
    troubles, _judged = calico_pods.analyse(snapshot, now=now)
    said = {node for node, _hit in password_hits(snapshot)}
    return [
        t
        for t in troubles
        if t.node in said
        or (
            gap_broken
            and t.pod is not None
            and t.pod.namespace == "calico-system"
            and t.bgp_not_established_only
        )
    ]


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
    """Does any calico-system calico-node show this situation's symptom (BGP not established)?"""
    troubles, _judged = calico_pods.analyse(snapshot, now=now)
    return any(
        t.pod is not None and t.pod.namespace == "calico-system" and t.bgp_not_established_only
        for t in troubles
    )


def check(snapshot: Snapshot, *, now: datetime) -> list[Finding]:
    hits = password_hits(snapshot)
    gap: MigrationGap | None = None
    if "calico-system" in snapshot.calico_namespaces() and not hits:
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
        blocked = [
            snapshot.read_problem(r) for r in (Read.BGP_SECRETS, Read.BGP_RBAC) if not snapshot.read_ok(r)
        ]
        if blocked:
            if not _symptomatic(snapshot, now):
                return []
            return _unknown("BGP password migration not judged", symptom + "; ".join(blocked))
        gap = migration_gap(snapshot)
        if gap is None or not gap.broken:
            return []
    elif hits and _reads_ok(snapshot):
        gap = migration_gap(snapshot)
    if not hits and gap is None:
        return []
    affected = _affected(snapshot, now, gap_broken=gap is not None and gap.broken)
    evidence = _hit_lines(hits)
    if gap is not None:
        evidence += _gap_lines(gap)
    for trouble in affected[:3]:
        if trouble.probe is not None and trouble.probe.peers:
            evidence.append(
                clip(f"{trouble.node}: calico/node is not ready: BIRD is not ready: {trouble.probe.detail}")
            )
    if len(affected) > 3:
        evidence.append(f"… {len(affected) - 3} more workers with BGP not established")
    failing = any(t.failing for t in affected)
    severity = Severity.CRITICAL if failing or hits else Severity.WARNING
    if affected:
        title = (
            f"calico-node cannot use the BGP password secret: {len(affected)} "
            f"worker{'s have' if len(affected) != 1 else ' has'} no BGP peering"
        )
    elif hits:
        title = "calico-node cannot read the BGP password secret"
    else:
        title = "BGP password secret not available to calico-node in calico-system (BGP will fail when calico-node restarts)"
    objects = [ObjRef(kind="BGPConfiguration", name="default")]
    objects += [ObjRef(kind="Node", name=t.node) for t in affected[:50]]
    namespace = _calico_node_namespace(snapshot)
    detail = (
        f"Make the secret readable by calico-node in {namespace}: copy it there from kube-system if it is "
        f"missing, and create Role and RoleBinding {RBAC_NAME} for ServiceAccount calico-node (the runbook's "
        "commands); the migration then continues."
    )
    if gap is not None and not gap.secret_in_kube_system and not gap.secret_in_calico_system:
        detail += " The secret is not in kube-system either: it must be recreated with the customer's password first."
    return [
        Finding(
            check=CHECK_ID,
            situation=SituationId.BGP_PASSWORD_MIGRATION,
            severity=severity,
            title=title,
            detail=detail,
            evidence=tuple(dict.fromkeys(evidence)),
            objects=tuple(objects),
            runbook_section=RunbookSection.BGP_MIGRATION.value,
        )
    ]


def _hit_lines(hits: Sequence[tuple[str, LogHit]]) -> list[str]:
    by_line: dict[str, list[str]] = {}
    for node, hit in hits:
        by_line.setdefault(hit.line, [])
        if node not in by_line[hit.line]:
            by_line[hit.line].append(node)
    lines = []
    for line, nodes in list(by_line.items())[:4]:
        where = f"{len(nodes)} workers" if len(nodes) > 1 else nodes[0]
        lines.append(f"log calico-node ({where}): {line}")
    return lines


def _gap_lines(gap: MigrationGap) -> list[str]:
    lines: list[str] = []
    if not gap.secret_in_calico_system:
        where = "present in kube-system" if gap.secret_in_kube_system else "not in kube-system either"
        lines.append(f"Secret {gap.secret_name} is missing from calico-system ({where})")
    if not gap.role:
        lines.append(f"Role calico-system/{RBAC_NAME} is missing")
    if not gap.role_binding:
        lines.append(f"RoleBinding calico-system/{RBAC_NAME} is missing")
    creator = "missing" if gap.creator is None else repr(gap.creator)
    ref = f"{gap.secret_name}:{gap.secret_key}" if gap.secret_key else gap.secret_name
    lines.append(
        f"BGPConfiguration default: nodeMeshPassword.secretKeyRef {ref}; annotation created-by {creator}"
        + (
            " (changed by the customer, so the IKS update did not copy the secret)"
            if gap.creator != IBM_CREATOR
            else ""
        )
    )
    return lines


def _calico_node_namespace(snapshot: Snapshot) -> str:
    namespaces = snapshot.calico_namespaces()
    return "calico-system" if "calico-system" in namespaces or not namespaces else namespaces[0]


def propose(findings: Sequence[Finding], snapshot: Snapshot) -> list[Action]:
    gap = migration_gap(snapshot)
    if gap is not None and gap.secret_in_kube_system:
        return [
            Action.propose(
                ActionKind.COPY_BGP_SECRET,
                snapshot.cluster,
                f"copy {gap.secret_name} kube-system → calico-system and create Role/RoleBinding {RBAC_NAME} (runbook)",
            )
        ]
    if gap is None and _calico_node_namespace(snapshot) == "calico-system":
        return [
            Action.propose(
                ActionKind.COPY_BGP_SECRET,
                snapshot.cluster,
                f"create Role/RoleBinding {RBAC_NAME} (and copy {SECRET} from kube-system if missing), as the runbook shows",
            )
        ]
    return [
        Action.propose(
            ActionKind.ESCALATE,
            snapshot.cluster,
            "calico-node cannot read its BGP password secret and the runbook's copy does not apply here",
        )
    ]
