"""The records the store keeps: approval requests and audit entries. Plain data, no I/O, no Redis, no
presentation (what a record says in Slack is `bot.slack.approval_card`; the Redis adapter is
`bot.store.redis_store`). Times are always passed in.

An approval is one record with one id, the only thing a Slack button carries (ARCHITECTURE §7):

    pending ──► approved ──► executing ──► succeeded | failed
       │
       ├──► denied
       ├──► expired
       └──► withdrawn   (by calico-bot: the approval card could not be posted, so nobody could decide)

`bot.store.redis_store.Store.transition` performs each arrow as one atomic compare-and-set, so any
number of clicks on any number of replicas moves a record along an arrow once; `TRANSITIONS` are the
only arrows there are. Who may take the first arrow is `bot.remediation.approvals` (the policy).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from checks.model import ActionKind

DEFAULT_TTL = timedelta(minutes=15)
APPROVAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""What an approval id may look like (a button value is checked against it before any lookup)."""


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    EXECUTING = "executing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


TRANSITIONS: Mapping[ApprovalState, frozenset[ApprovalState]] = {
    ApprovalState.PENDING: frozenset(
        {ApprovalState.APPROVED, ApprovalState.DENIED, ApprovalState.EXPIRED, ApprovalState.WITHDRAWN}
    ),
    ApprovalState.APPROVED: frozenset({ApprovalState.EXECUTING}),
    ApprovalState.EXECUTING: frozenset({ApprovalState.SUCCEEDED, ApprovalState.FAILED}),
}
"""The only arrows there are; every other (from, to) pair is a programming error."""

TERMINAL_STATES = frozenset(
    {
        ApprovalState.DENIED,
        ApprovalState.EXPIRED,
        ApprovalState.WITHDRAWN,
        ApprovalState.SUCCEEDED,
        ApprovalState.FAILED,
    }
)


def check_transition(from_states: Iterable[ApprovalState], to_state: ApprovalState) -> None:
    """Raise ValueError unless every `from -> to` is an arrow of the state machine."""
    sources = list(from_states)
    if not sources:
        raise ValueError("a transition needs at least one state to come from")
    wrong = [f"{s} -> {to_state}" for s in sources if to_state not in TRANSITIONS.get(s, frozenset())]
    if wrong:
        raise ValueError(f"not a transition of an approval: {', '.join(wrong)}")


class AuditKind(StrEnum):
    """The `kind` of an audit entry (`bot.store.redis_store.Store.audit`)."""

    REQUEST = "request"  # someone asked for an action (outcome: pending)
    DECISION = "decision"  # approved or denied (outcome says which)
    REFUSAL = "refusal"  # a click or command that was refused (detail says why)
    EXPIRY = "expiry"  # a request expired undecided
    WITHDRAWAL = "withdrawal"  # calico-bot withdrew a request nobody could see (detail says why)
    EXECUTION = "execution"  # the action was applied (outcome: succeeded / failed…)
    VERIFICATION = "verification"  # the check after the action (outcome: verified / not verified…)
    GATHER = "gather"  # a gathered bundle was uploaded (detail: its name; the hand-off names the latest)


def _utc(when: datetime, what: str) -> datetime:
    if when.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware (got {when.isoformat()})")
    return when.astimezone(UTC)


def _parse_time(text: str, what: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"approval field {what!r} is not an ISO time: {text!r}") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@dataclass(frozen=True, kw_only=True)
class Approval:
    id: str
    cluster: str
    action: ActionKind
    target: str
    reason: str
    requester: str
    created: datetime
    expires: datetime
    state: ApprovalState = ApprovalState.PENDING
    approver: str = ""
    decided_at: datetime | None = None
    result: str = ""
    origin: str = ""
    """The id of the job that made the request (its retry finishes what it left undone)."""
    owner: str = ""
    """While executing: the worker running it (`bot.store.executions`)."""
    heartbeat_ms: int = 0
    """While executing: the owner's last sign of life (epoch ms); stale means the owner died."""
    phase: str = ""
    """While executing: `planning` (nothing sent yet), `applying` (it may have been sent) or
    `verifying` (it was applied): what a worker taking over may do (`ExecutionPhase`)."""
    started: datetime | None = None
    """When it started executing."""
    previous_owner: str = ""
    """The owner it was taken over from (`bot.store.executions.Executions.take_over`)."""
    plan_node: str = ""
    plan_pod: str = ""
    """While executing, from `applying` on: the plan's worker and object (what a verification by a
    worker taking over needs once the object itself may be gone)."""

    def __post_init__(self) -> None:
        if not APPROVAL_ID.match(self.id):
            raise ValueError(f"approval id {self.id!r} is not of the form {APPROVAL_ID.pattern}")
        object.__setattr__(self, "action", ActionKind(self.action))
        object.__setattr__(self, "state", ApprovalState(self.state))
        object.__setattr__(self, "created", _utc(self.created, "created"))
        object.__setattr__(self, "expires", _utc(self.expires, "expires"))
        if self.decided_at is not None:
            object.__setattr__(self, "decided_at", _utc(self.decided_at, "decided_at"))
        if self.started is not None:
            object.__setattr__(self, "started", _utc(self.started, "started"))
        if self.expires < self.created:
            raise ValueError("an approval cannot expire before it is created")

    @classmethod
    def new(
        cls,
        *,
        cluster: str,
        action: ActionKind,
        target: str,
        reason: str,
        requester: str,
        now: datetime,
        ttl: timedelta = DEFAULT_TTL,
        id: str | None = None,
        origin: str = "",
    ) -> Approval:
        """A pending request made at `now`, expiring `ttl` later, with a fresh random id."""
        return cls(
            id=id or uuid.uuid4().hex,
            cluster=cluster,
            action=action,
            target=target,
            reason=reason,
            requester=requester,
            created=now,
            expires=now + ttl,
            origin=origin,
        )

    @property
    def slot(self) -> str:
        """What one pending request may exist for at a time: the action on its target."""
        return f"{self.cluster}|{self.action.value}|{self.target}"

    def expired_at(self, now: datetime) -> bool:
        """True when the request is still pending but its time is up."""
        return self.state == ApprovalState.PENDING and _utc(now, "now") >= self.expires

    def to_fields(self) -> dict[str, str]:
        """The Redis hash. `expires_ms` (epoch milliseconds) is derived, for the atomic expiry test."""
        return {
            "id": self.id,
            "cluster": self.cluster,
            "action": str(self.action),
            "target": self.target,
            "reason": self.reason,
            "requester": self.requester,
            "created": self.created.isoformat(),
            "expires": self.expires.isoformat(),
            "expires_ms": str(epoch_ms(self.expires)),
            "state": str(self.state),
            "approver": self.approver,
            "decided_at": self.decided_at.isoformat() if self.decided_at else "",
            "result": self.result,
            "origin": self.origin,
        }

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> Approval:
        """The record from its Redis hash; unknown fields are ignored, a missing one is a ValueError."""
        missing = [
            name
            for name in ("id", "cluster", "action", "target", "requester", "created", "expires", "state")
            if name not in fields
        ]
        if missing:
            raise ValueError(f"approval record lacks {', '.join(missing)}")
        decided = fields.get("decided_at", "")
        try:
            action = ActionKind(fields["action"])
            state = ApprovalState(fields["state"])
        except ValueError as exc:
            raise ValueError(f"approval record {fields.get('id')!r}: {exc}") from None
        return cls(
            id=fields["id"],
            cluster=fields["cluster"],
            action=action,
            target=fields["target"],
            reason=fields.get("reason", ""),
            requester=fields["requester"],
            created=_parse_time(fields["created"], "created"),
            expires=_parse_time(fields["expires"], "expires"),
            state=state,
            approver=fields.get("approver", ""),
            decided_at=_parse_time(decided, "decided_at") if decided else None,
            result=fields.get("result", ""),
            origin=fields.get("origin", ""),
            owner=fields.get("owner", ""),
            heartbeat_ms=int(fields.get("heartbeat_ms") or 0),
            phase=fields.get("phase", ""),
            started=_parse_time(fields["started"], "started") if fields.get("started") else None,
            previous_owner=fields.get("previous_owner", ""),
            plan_node=fields.get("plan_node", ""),
            plan_pod=fields.get("plan_pod", ""),
        )


class ExecutionPhase(StrEnum):
    """How far an execution got: what a worker that takes over from a dead one may do."""

    PLANNING = "planning"  # nothing was sent to the cluster: the action may run from the start
    APPLYING = "applying"  # it may or may not have been sent: verify only, never apply again
    VERIFYING = "verifying"  # it was applied: finish the verification


def epoch_ms(when: datetime) -> int:
    return int(_utc(when, "time").timestamp() * 1000)


@dataclass(frozen=True)
class AuditEntry:
    """One action calico-bot ran on the cluster, from the audit stream."""

    at: datetime
    action: str
    target: str
    requested_by: str
    approved_by: str
    outcome: str


@dataclass(frozen=True)
class AuditRecord:
    id: str
    """The stream entry id (`<ms>-<seq>`)."""
    cluster: str
    kind: str
    actor: str
    at: datetime
    action: str = ""
    target: str = ""
    approval_id: str = ""
    outcome: str = ""
    detail: str = ""
    requester: str = ""
    approver: str = ""

    def to_audit_entry(self) -> AuditEntry:
        """As an `AuditEntry` ("actions taken", for the hand-off); meant for `AuditKind.EXECUTION` records."""
        return AuditEntry(
            at=self.at,
            action=self.action,
            target=self.target,
            requested_by=self.requester,
            approved_by=self.approver,
            outcome=self.outcome or self.detail,
        )

    @classmethod
    def from_stream(cls, entry_id: str, fields: Mapping[str, str]) -> AuditRecord:
        try:
            at = datetime.fromisoformat(fields.get("at", ""))
            at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        except ValueError:
            at = datetime.fromtimestamp(int(entry_id.split("-")[0]) / 1000, UTC)
        return cls(
            id=entry_id,
            cluster=fields.get("cluster", ""),
            kind=fields.get("kind", ""),
            actor=fields.get("actor", ""),
            at=at,
            action=fields.get("action", ""),
            target=fields.get("target", ""),
            approval_id=fields.get("approval_id", ""),
            outcome=fields.get("outcome", ""),
            detail=fields.get("detail", ""),
            requester=fields.get("requester", ""),
            approver=fields.get("approver", ""),
        )


class TransitionOutcome(StrEnum):
    DONE = "done"
    MISSING = "missing"
    WRONG_STATE = "wrong-state"
    EXPIRED = "expired"
    """The request had expired: this call turned it from pending into expired (update the card)."""
    NOT_EXPIRED = "not-expired"
    """pending -> expired asked for before the request's time was up."""


@dataclass(frozen=True)
class TransitionResult:
    ok: bool
    outcome: TransitionOutcome
    approval: Approval | None
    """The record as it is after the call (None when there is no such record)."""
