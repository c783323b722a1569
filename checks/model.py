"""The diagnosis contract: findings, proposed actions, situations, and the `--json` schema.

These classes serialise to the JSON of ARCHITECTURE section 4 with `msgspec.json.encode`
(`Diagnosis.to_json`); the field names here *are* the schema, so renaming one is a contract change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

import msgspec

if TYPE_CHECKING:
    from checks.snapshot import Snapshot


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"
    UNKNOWN = "unknown"


class SituationId(StrEnum):
    """The runbook's sections, in the runbook's decision order (worker health first)."""

    WORKER_NOT_READY_KUBELET = "worker-not-ready-kubelet"
    CALICO_DOWN_ON_WORKER = "calico-down-on-worker"
    CALICO_ABSENT_EVERYWHERE = "calico-absent-everywhere"
    BGP_PASSWORD_MIGRATION = "bgp-password-migration"
    CALICO_CRASHLOOP_MOST_WORKERS = "calico-crashloop-most-workers"
    CALICO_BAD_ON_FEW_WORKERS = "calico-bad-on-few-workers"
    TYPHA_UNHEALTHY = "typha-unhealthy"
    OTHER = "other"
    HEALTHY = "healthy"


SITUATION_ORDER: tuple[SituationId, ...] = tuple(SituationId)

RUNBOOK_URL = "https://pages.github.ibm.com/alchemy-containers/runbooks/armada/armada-network-calico-node-troubleshooting.html"


class RunbookSection(StrEnum):
    """Section titles of `runbook/calico-node-troubleshooting.md` (the card links to them)."""

    WORKER_READY = "Check If Worker Is Ready and Healthy"
    REASON_1 = "Reason 1: The kubelet has not contacted the master in at least the last 30 seconds."
    REASON_2 = "Reason 2: Kubelet is connected to the master, but calico-node is not successfully running on the node."
    NOT_RUNNING_ANYWHERE = "calico-node Not Running at all on any Workers"
    FEW_WORKERS = "calico-node Pod Not Running on One or a Few Customer Workers"
    MOST_WORKERS = "calico-node in CrashLoopBackOff or Restarting Often on Most or All  Workers"
    BGP_MIGRATION = "calico-node Pod Not Running after upgrading to IKS 1.29 (or newer)"
    GATHER = "Logs and Data to Gather For Calico Issues"
    ESCALATION = "Escalation Policy"


SITUATION_TITLE: dict[SituationId, str] = {
    SituationId.WORKER_NOT_READY_KUBELET: "Worker NotReady: kubelet ↔ master (not Calico)",
    SituationId.CALICO_DOWN_ON_WORKER: "Worker NotReady: calico-node down (NetworkReady=false)",
    SituationId.CALICO_ABSENT_EVERYWHERE: "calico-node not running on any worker",
    SituationId.BGP_PASSWORD_MIGRATION: "IKS 1.29+ migration: BGP password / BGP not established",
    SituationId.CALICO_CRASHLOOP_MOST_WORKERS: "calico-node failing on most workers",
    SituationId.CALICO_BAD_ON_FEW_WORKERS: "calico-node bad on one or a few workers",
    SituationId.TYPHA_UNHEALTHY: "calico-typha unhealthy or unreachable",
    SituationId.OTHER: "Other Calico problem",
    SituationId.HEALTHY: "Healthy",
}
"""A situation's title for people (cards, hand-off)."""
SITUATION_SECTION: dict[SituationId, RunbookSection] = {
    SituationId.WORKER_NOT_READY_KUBELET: RunbookSection.REASON_1,
    SituationId.CALICO_DOWN_ON_WORKER: RunbookSection.REASON_2,
    SituationId.CALICO_ABSENT_EVERYWHERE: RunbookSection.NOT_RUNNING_ANYWHERE,
    SituationId.BGP_PASSWORD_MIGRATION: RunbookSection.BGP_MIGRATION,
    SituationId.CALICO_CRASHLOOP_MOST_WORKERS: RunbookSection.MOST_WORKERS,
    SituationId.CALICO_BAD_ON_FEW_WORKERS: RunbookSection.FEW_WORKERS,
    SituationId.TYPHA_UNHEALTHY: RunbookSection.FEW_WORKERS,
    SituationId.OTHER: RunbookSection.GATHER,
    SituationId.HEALTHY: RunbookSection.WORKER_READY,
}
"""The runbook section a situation links to when no finding names its own."""


def runbook_anchor(section: str) -> str:
    """The heading id GitHub Pages (kramdown / GFM) gives a runbook section title."""
    slug = section.strip().lower()
    slug = re.sub(r"[^\w\- ]", "", slug)
    return slug.replace(" ", "-")


def runbook_url(section: str | None) -> str:
    """The runbook, at `section` when one is given."""
    return f"{RUNBOOK_URL}#{runbook_anchor(section)}" if section else RUNBOOK_URL


class ObjRef(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    kind: str
    name: str
    namespace: str = ""

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{where}{self.name}"


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    check: str
    situation: SituationId
    severity: Severity
    title: str
    detail: str = ""
    evidence: tuple[str, ...] = ()
    objects: tuple[ObjRef, ...] = ()
    runbook_section: str = ""


class ActionKind(StrEnum):
    CORDON = "cordon"
    UNCORDON = "uncordon"
    DELETE_POD = "delete-pod"
    REBOOT_WORKER = "reboot-worker"
    RELOAD_WORKER = "reload-worker"
    REPLACE_WORKER = "replace-worker"
    REFRESH_MASTER = "refresh-master"
    COPY_BGP_SECRET = "copy-bgp-secret"
    GATHER = "gather"
    ESCALATE = "escalate"
    PAGE = "page"  # trigger PagerDuty for armada-network: wakes someone up, so it needs approval


READ_ONLY_ACTIONS = frozenset({ActionKind.GATHER, ActionKind.ESCALATE})


class Action(msgspec.Struct, frozen=True, kw_only=True):
    kind: ActionKind
    target: str
    reason: str
    requires_approval: bool

    @classmethod
    def propose(cls, kind: ActionKind, target: str, reason: str) -> Action:
        return cls(kind=kind, target=target, reason=reason, requires_approval=kind not in READ_ONLY_ACTIONS)


class Situation(msgspec.Struct, frozen=True, kw_only=True):
    id: SituationId
    summary: str


class Unknown(msgspec.Struct, frozen=True, kw_only=True):
    """Something the bot could not judge, and why (a failed read, a check that crashed)."""

    check: str
    what: str
    reason: str


class WorkerState(StrEnum):
    """A worker at a glance (the worker map)."""

    HEALTHY = "healthy"
    CALICO_BAD = "calico-bad"
    NOT_READY = "not-ready"
    CORDONED = "cordoned"
    UNKNOWN = "unknown"


class Worker(msgspec.Struct, frozen=True, kw_only=True):
    """One worker on the map: where it is, its state, its calico-node, and what names it."""

    name: str
    zone: str = ""
    pool: str = ""
    """The IKS worker pool (`ibm-cloud.kubernetes.io/worker-pool-name`), or ""."""
    state: WorkerState
    calico_node: str = ""
    """calico-node on the worker as `kubectl get pods` shows it (`Running 1/1`, `CrashLoopBackOff 0/1`),
    `absent` when the pods were read and none runs there, "" when the pods could not be read."""
    situation: SituationId | None = None
    """The situation of the first problem finding that names the worker (or explains its state)."""

    @property
    def group(self) -> str:
        """Where the map places it: its zone, else `pool <name>`, else ""."""
        return self.zone or (f"pool {self.pool}" if self.pool else "")


Verdict = str  # "healthy" | "problems" | "unknown"


class Diagnosis(msgspec.Struct, frozen=True, kw_only=True):
    cluster: str
    checked_at: datetime
    source: str
    situations: tuple[Situation, ...]
    findings: tuple[Finding, ...]
    actions: tuple[Action, ...]
    unknowns: tuple[Unknown, ...]
    worker_map: tuple[Worker, ...] = ()
    """Every worker read (and any a finding names that the node list did not hold), in the node
    list's order: `checks.worker_map`."""

    @property
    def healthy(self) -> bool:
        return any(s.id == SituationId.HEALTHY for s in self.situations)

    @property
    def verdict(self) -> Verdict:
        if self.healthy:
            return "healthy"
        if any(s.id != SituationId.HEALTHY for s in self.situations):
            return "problems"
        return "unknown"

    def problem_situations(self) -> list[Situation]:
        """The situations other than healthy, each id once (the first summary wins)."""
        unique: dict[SituationId, Situation] = {}
        for situation in self.situations:
            if situation.id != SituationId.HEALTHY:
                unique.setdefault(situation.id, situation)
        return list(unique.values())

    def problem_findings(self, situation: SituationId) -> list[Finding]:
        """The critical and warning findings of one situation, in order."""
        return [
            f
            for f in self.findings
            if f.situation == situation and f.severity in (Severity.CRITICAL, Severity.WARNING)
        ]

    @property
    def exit_code(self) -> int:
        """0 healthy, 1 problems found, 2 could not check."""
        return {"healthy": 0, "problems": 1}.get(self.verdict, 2)

    def to_json(self) -> bytes:
        return msgspec.json.encode(self)


class CheckFn(Protocol):
    def __call__(self, snapshot: Snapshot, *, now: datetime) -> list[Finding]: ...


class ProposeFn(Protocol):
    def __call__(self, findings: Sequence[Finding], snapshot: Snapshot) -> list[Action]: ...


def _propose_nothing(findings: Sequence[Finding], snapshot: Snapshot) -> list[Action]:
    return []


@dataclass(frozen=True, kw_only=True)
class Check:
    """One entry of the registry: a pure function of the snapshot and the time.

    `needs` are the reads without which the check cannot judge anything: when one failed, the
    pipeline reports the check as unknown instead of running it. Reads a check can do without are
    tested inside the check (`snapshot.read_ok`), which then says what it could not see.
    """

    id: str
    situation: SituationId
    needs: frozenset[str]
    run: CheckFn
    propose: ProposeFn = _propose_nothing
