"""Approval-gated remediation from Slack: request → approval card → decision → run once → verify.

1. A remediation button on the diagnosis card (`calico_action…`, value {kind, cluster, target})
   becomes a *request*: planned against a fresh read, stored in Redis as a pending approval, audited,
   and shown as an approval card in the thread with Approve / Deny (the buttons carry only the id).
2. A decision click is checked (`bot.remediation.approvals.may_decide`: approver users or user-group members,
   the two-person rule, expiry) and applied with the store's atomic compare-and-set, so any number
   of clicks on any number of replicas decides once; the card shows who decided.
3. Approved → a job takes the approval `approved → executing` (again CAS: executes at most once),
   holds the cluster's lock, re-plans on a fresh read, applies (dry run in read-only mode),
   verifies, records `succeeded | failed`, updates the card, audits, and proposes the next step.

Worker and master actions (reboot, reload, replace, refresh-master) go through the IKS API; without
IBMCLOUD_API_KEY such a button says so and changes nothing.

Broken dependencies are said, not swallowed: an approval card that cannot be posted withdraws its
request (nobody could decide it); a user-group lookup that fails still lets approvers listed by user
id decide and tells anyone else why they cannot be checked. What reaches the channel (cards, thread
replies, the result on a card) carries no server address or local path (`bot.slack.disclosure`); the full
text is in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.clock import utcnow
from bot.cluster.checking import CheckFailed, open_cluster
from bot.cluster.sources import ClusterAccess
from bot.escalation.handoff import dedup_key
from bot.escalation.pagerduty import PagerDutySettings
from bot.observability import correlation, measure
from bot.queue.jobs import Job, JobQueue
from bot.remediation.actions import (
    DEADLINES,
    KUBE_ACTIONS,
    ActionError,
    Plan,
    plan_action,
)
from bot.remediation.approvals import ApprovalPolicy, may_decide, needs_groups, rule_for
from bot.remediation.iks import IksClient, IksError, IksSettings
from bot.remediation.running import Runner
from bot.remediation.workers import (
    WORKER_ACTIONS,
    WORKER_DEADLINES,
    plan_worker_action,
)
from bot.slack.api import SlackError, SlackPoster
from bot.slack.approval_card import approval_card, history_text, transition_message
from bot.slack.blockkit import Message, escape, text_message
from bot.slack.disclosure import public_text
from bot.slack.requester import Requester, cannot_post, tell
from bot.store.executions import Executions
from bot.store.records import Approval, ApprovalState, AuditKind, ExecutionPhase
from bot.store.redis_store import Store, StoreUnavailable
from checks.model import ActionKind

log = logging.getLogger(__name__)
REQUEST_JOB = "request"
"""A remediation button's click (job id `click:<action_ts>:<user>`)."""
EXECUTE_JOB = "execute"
"""An approved request's execution (job id `approval:<id>`, or `recover:…` from the sweep)."""


NEXT_STEP = {
    ActionKind.PAGE: "hand over in #armada-network: the hand-off above has the diagnosis and links",
    ActionKind.CORDON: "gather the data, then delete the calico-node pod (runbook step 1)",
    ActionKind.DELETE_POD: "if calico-node stays Running and Ready: uncordon the worker",
    ActionKind.REBOOT_WORKER: "uncordon the worker",
    ActionKind.RELOAD_WORKER: "uncordon the worker; if it goes bad again within days, check typha and the network",
    ActionKind.REPLACE_WORKER: "check the cluster again (the new worker has a new name; the old one is gone)",
    ActionKind.REFRESH_MASTER: "check the cluster again",
    ActionKind.COPY_BGP_SECRET: "check again: calico-node in calico-system should reach Ready and the migration continue",
    ActionKind.UNCORDON: "check the cluster again to confirm it is healthy",
}
NEXT_RUNG = {
    ActionKind.PAGE: "page armada-network by hand with the escalation policy in the hand-off",
    ActionKind.DELETE_POD: "the next rung: reboot the worker (then reload, or replace on VPC)",
    ActionKind.REBOOT_WORKER: "the next rung: reload the worker (replace it on VPC)",
    ActionKind.RELOAD_WORKER: "the runbook's 'if it persists' checks: calico-typha; VLAN spanning or VRF and gateways (classic), security groups, ACLs and routes (VPC); then escalate",
    ActionKind.REPLACE_WORKER: "the runbook's 'if it persists' checks (typha, security groups, ACLs, routes), then escalate",
    ActionKind.REFRESH_MASTER: "look for a webhook blocking calico-node (search 'webhook' in the Armada-Deploy runbook), then escalate",
    ActionKind.CORDON: "check the bot's RBAC (nodes patch) and try again",
    ActionKind.UNCORDON: "check the bot's RBAC (nodes patch) and try again",
    ActionKind.COPY_BGP_SECRET: "check the secret's key against BGPConfiguration default, then escalate",
}
IKS_NOT_CONFIGURED = (
    "`{kind}` goes through the IBM Cloud IKS API, and this calico-bot has no IBMCLOUD_API_KEY: nothing was "
    "changed. Run it yourself (`ibmcloud ks worker …` / `ibmcloud ks cluster master refresh`) or escalate."
)


def default_worker_id() -> str:
    """This process, as an execution's owner: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Remediation:
    store: Store
    slack: SlackPoster
    policy: ApprovalPolicy
    access: ClusterAccess
    queue: JobQueue
    group_members: Callable[[str], Awaitable[frozenset[str]]]
    read_only: bool = False
    now: Callable[[], datetime] = utcnow
    iks: IksSettings | None = None
    """IBM Cloud API access for worker and master actions (None: those actions say what is missing)."""
    deadlines: Mapping[ActionKind, float] = field(default_factory=dict)
    """Verification deadlines in seconds, overriding the defaults per action."""
    max_not_ready_share: float = 0.3
    pagerduty: PagerDutySettings | None = None
    """Routing key and events URL for the approval-gated `page` action (None: paging is off)."""
    worker_id: str = field(default_factory=default_worker_id)
    """Who executes, in the approval record (`owner`): this process."""
    heartbeat_seconds: float = 5.0
    stale_seconds: float = 15.0
    """An execution whose owner has not beaten for this long is taken over by another worker."""

    def __post_init__(self) -> None:
        self.executions = Executions(self.store)
        self.runner = Runner(
            access=self.access,
            read_only=self.read_only,
            iks=self.iks,
            deadlines=self.deadlines,
            max_not_ready_share=self.max_not_ready_share,
            pagerduty=self.pagerduty,
        )
        self.queue.register(REQUEST_JOB, self._request_job)
        self.queue.register(EXECUTE_JOB, self._execute_job)

    # --- 1. request --------------------------------------------------------------------------

    async def _request_job(self, job: Job) -> None:
        """A remediation button's click, run as a job: request, then tell the clicker."""
        f = job.fields
        answer = await self.request(
            cluster=str(f.get("cluster", "")),
            kind=str(f.get("kind", "")),
            target=str(f.get("target", "")),
            requester=str(f.get("requester", "")),
            channel=str(f.get("channel", "")),
            thread_ts=f.get("thread_ts") or None,
            origin=job.id,
        )
        who = Requester(str(f.get("channel", "")), str(f.get("requester", "")), f.get("response_url") or None)
        await tell(self.slack, who, answer)

    async def request(
        self,
        *,
        cluster: str,
        kind: str,
        target: str,
        requester: str,
        channel: str,
        thread_ts: str | None,
        origin: str = "",
    ) -> str:
        """Plan the action, store a pending approval, post its card. Returns the clicker's answer.

        One pending request per action and target: a request while one is pending points to it.
        `origin` (the click's job id) lets a retry of the same click finish what it started."""
        try:
            action = ActionKind(kind)
        except ValueError:
            return f"`{kind}` is not an action calico-bot knows."
        if action not in KUBE_ACTIONS | WORKER_ACTIONS | {ActionKind.PAGE}:
            return f"`{action.value}` is not an action that changes the cluster."
        if action == ActionKind.PAGE and self.pagerduty is None:
            return (
                "PagerDuty is not configured (CALICO_BOT_PAGERDUTY_ROUTING_KEY): page armada-network by hand."
            )
        if action in WORKER_ACTIONS and self.iks is None:
            return IKS_NOT_CONFIGURED.format(kind=action.value)
        try:
            plan = await self._plan(cluster, action, target)
        except (ActionError, CheckFailed, IksError) as exc:
            await self._audit_safely(
                cluster, AuditKind.REFUSAL, requester, action, target, detail=public_text(str(exc))
            )
            return f"Not requested: {_for_requester(exc)}"
        now = self.now()
        approval = Approval.new(
            cluster=cluster,
            action=action,
            target=target,
            reason=plan.summary,
            requester=requester,
            now=now,
            ttl=self.policy.ttl,
            origin=origin,
        )
        correlation.bind(approval_id=approval.id)  # this request's log lines name the approval
        try:
            holder = await self.store.claim_slot(approval, now)
            if holder is not None and not (origin and holder.origin == origin):
                return already_requested(holder)
            if holder is not None:  # this click's earlier attempt stored it: finish its work
                approval = holder
                if await self.store.card_of(approval.id) is not None:
                    return f"Requested `{action.value} {target}`: waiting for an approver (see the thread)."
            else:
                await self.store.create(approval)
                await self._audit(
                    approval, AuditKind.REQUEST, actor=requester, outcome="pending", detail=plan.summary
                )
        except StoreUnavailable as exc:
            log.warning("request of %s %s on %s not stored: %s", action.value, target, cluster, exc)
            return f"Nothing was requested: {exc.public}. Try again when Redis is back."
        try:
            card_ts = await self.slack.post(channel, self.card(approval), thread_ts=thread_ts)
        except SlackError as exc:
            return await self._withdraw(approval, exc)
        try:
            await self.store.set_card(approval.id, channel, card_ts)
        except StoreUnavailable as exc:
            log.warning("approval card location not stored (the sweeper cannot mark it expired): %s", exc)
        return f"Requested `{action.value} {target}`: waiting for an approver (see the thread)."

    async def _withdraw(self, approval: Approval, exc: SlackError) -> str:
        """The approval card could not be posted, so nobody can decide: pending → withdrawn, audited.
        Returns the clicker's answer (what Slack refused and what to do)."""
        reason = f"the approval card could not be posted: Slack said {exc.error}"
        log.warning(
            "withdrew %s %s on %s (%s): %s",
            approval.action.value,
            approval.target,
            approval.cluster,
            approval.id,
            reason,
        )
        try:
            result = await self.store.transition(
                approval.id,
                from_states={ApprovalState.PENDING},
                to_state=ApprovalState.WITHDRAWN,
                actor="calico-bot",
                now=self.now(),
                result=reason,
            )
            if result.ok and result.approval is not None:
                await self._release_slot(result.approval)
                await self._audit(result.approval, AuditKind.WITHDRAWAL, outcome="withdrawn", detail=reason)
        except StoreUnavailable as store_exc:
            log.warning("request %s stays pending until it expires: %s", approval.id, store_exc)
        what = f"the approval card for `{approval.action.value} {escape(approval.target)}`"
        return f"{cannot_post(exc.error, what=what)} The request was withdrawn: nothing will run."

    async def sweep_expired(self) -> int:
        """Turn every overdue pending request into `expired`, audit it, and update its card. Returns how many."""
        now = self.now()
        swept = 0
        for approval_id in await self.store.overdue(now):
            approval = await self._expire(approval_id, now)
            if approval is None:
                continue  # decided in the meantime, or not overdue after all
            swept += 1
            where = await self.store.card_of(approval.id)
            if where is not None:
                await self._update_card(where[0], where[1], approval)
        return swept

    # --- 2. decision -------------------------------------------------------------------------

    async def decide(self, *, approval_id: str, user: str, approve: bool, channel: str, card_ts: str) -> str:
        """An Approve/Deny click. Returns the clicker's answer; updates the card; queues the run."""
        correlation.bind(approval_id=approval_id)
        now = self.now()
        try:
            approval = await self.store.get(approval_id)
            if approval is None:
                return "This request no longer exists (it expired long ago, or was never made here)."
            members: frozenset[str] = frozenset()
            groups_error: str | None = None
            if needs_groups(approval, user, policy=self.policy, deny=not approve):
                try:
                    members = await self._approver_group_members()
                except SlackError as exc:  # missing_scope, ratelimited, Slack unreachable
                    log.warning("approver groups could not be looked up (%s): %s", exc.method, exc.error)
                    groups_error = exc.error
            decision = may_decide(
                approval,
                user,
                group_members=members,
                policy=self.policy,
                now=now,
                deny=not approve,
                groups_error=groups_error,
            )
            if not decision.allowed:
                await self._audit(approval, AuditKind.REFUSAL, actor=user, detail=decision.reason, at=now)
                if approval.expired_at(now):
                    expired = await self._expire(approval.id, now)
                    if expired is not None:
                        await self._update_card(channel, card_ts, expired)
                return decision.reason
            to_state = ApprovalState.APPROVED if approve else ApprovalState.DENIED
            result = await self.store.transition(
                approval.id, from_states={ApprovalState.PENDING}, to_state=to_state, actor=user, now=now
            )
            if not result.ok or result.approval is None:
                if result.approval is not None:
                    await self._update_card(channel, card_ts, result.approval)
                return transition_message(result)
            await self._release_slot(result.approval)
            await self._audit(
                approval,
                AuditKind.DECISION,
                actor=user,
                outcome=to_state.value,
                detail=decision.rule,
                at=now,
                approver=user,
            )
        except StoreUnavailable as exc:
            log.warning("decision on %s not taken: %s", approval_id, exc)
            return f"Nothing was decided and nothing runs: {exc.public}. Try again when Redis is back."
        await self._update_card(channel, card_ts, result.approval)
        if approve:
            try:
                await self.queue.enqueue(self.execute_job(approval, channel=channel, card_ts=card_ts))
            except Exception as exc:  # the queue is Redis too: the stalled-execution sweep retries it
                log.warning("execution of %s not queued (%s): the sweep will queue it", approval_id, exc)
            return f"Approved `{approval.action.value} {approval.target}`: running it now."
        return f"Denied `{approval.action.value} {approval.target}`."

    def execute_job(self, approval: Approval, *, channel: str, card_ts: str, job_id: str = "") -> Job:
        """The job that executes an approved request (`approval:<id>`: one per approval)."""
        return Job(
            kind=EXECUTE_JOB,
            id=job_id or f"approval:{approval.id}",
            fields={"approval_id": approval.id, "channel": channel, "card_ts": card_ts},
            timeout=int(self._lease(approval.action) + 300),
        )

    async def _approver_group_members(self) -> frozenset[str]:
        """Members of the approver user groups (cached in Redis for a few minutes)."""
        members: frozenset[str] = frozenset()
        for group in sorted(self.policy.approver_groups):

            async def load(group: str = group) -> frozenset[str]:
                return await self.group_members(group)

            members |= await self.store.cached_members(group, load)
        return members

    # --- 3. execution ------------------------------------------------------------------------

    async def _execute_job(self, job: Job) -> None:
        f = job.fields
        await self.execute(str(f["approval_id"]), channel=str(f["channel"]), card_ts=str(f["card_ts"]))

    def _lease(self, action: ActionKind) -> float:
        return self.deadlines.get(action, {**DEADLINES, **WORKER_DEADLINES}.get(action, 300.0)) + 120

    async def execute(self, approval_id: str, *, channel: str, card_ts: str) -> None:
        """Run an approved request once: claim it (approved → executing, this worker its owner),
        or take it over when its owner stopped beating; then run, or resume (verify only)."""
        correlation.bind(approval_id=approval_id)
        now = self.now()
        claimed = await self.executions.claim(approval_id, self.worker_id, now)
        approval = claimed.approval
        if approval is None or approval.state != ApprovalState.EXECUTING:
            return  # not approved (yet), or finished already
        if not claimed.ok or approval.phase != ExecutionPhase.PLANNING:
            adopted = await self.executions.take_over(
                approval_id, self.worker_id, now, stale_seconds=self.stale_seconds
            )
            if adopted is None:
                return  # its owner is alive and runs it
            approval = adopted
            log.warning(
                "taking over %s (%s %s on %s) in phase %s from %s",
                approval.id,
                approval.action.value,
                approval.target,
                approval.cluster,
                approval.phase or "unknown",
                approval.previous_owner or "nobody",
            )
        await self._update_card(channel, card_ts, approval)
        if not await self.store.acquire_lock(
            approval.cluster, approval.id, lease_seconds=self._lease(approval.action)
        ):
            holder = await self.store.lock_holder(approval.cluster)
            await self._finish(
                approval,
                channel,
                card_ts,
                ok=False,
                result=f"another action is running on {approval.cluster} ({holder}); nothing was done",
                locked=False,
            )
            return
        beating = asyncio.create_task(self._beat(approval.id), name=f"beat:{approval.id}")
        try:
            ok, result = await self._run_once(approval)
        except asyncio.CancelledError:  # shutdown: hand it to the next worker, which resumes it
            beating.cancel()
            with contextlib.suppress(StoreUnavailable):
                await self.executions.hand_back(approval.id, self.worker_id)
            raise
        except Exception as exc:  # the record must not stay "executing"
            log.exception("executing %s failed", approval_id)
            ok, result = False, f"stopped with an internal error ({type(exc).__name__})"
        finally:
            beating.cancel()
        await self._finish(approval, channel, card_ts, ok=ok, result=result)

    async def _run_once(self, approval: Approval) -> tuple[bool, str]:
        """From the start when nothing was sent yet; else verify only (never apply twice)."""
        if approval.phase in (ExecutionPhase.APPLYING, ExecutionPhase.VERIFYING, ""):
            return await self.runner.resume(approval)

        async def on_phase(phase: ExecutionPhase, plan: Plan | None) -> None:
            """Recorded before the step starts: nothing is sent unless the record says so."""
            if not await self.executions.beat(
                approval.id,
                self.worker_id,
                self.now(),
                phase,
                plan_node=plan.node if plan else "",
                plan_pod=plan.pod if plan else "",
            ):
                raise ActionError("another worker took this execution over: this one stops here")

        async def on_applied(done: str) -> None:
            await self._audit_applied(approval, done)

        return await self.runner.run(approval, on_phase=on_phase, on_applied=on_applied)

    async def _beat(self, approval_id: str) -> None:
        """Say every `heartbeat_seconds` that this worker still runs the execution."""
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                await self.executions.beat(approval_id, self.worker_id, self.now())
            except StoreUnavailable as exc:
                log.warning("heartbeat of %s not written: %s", approval_id, exc)

    async def sweep_stalled(self) -> int:
        """Queue a takeover of every execution whose owner stopped beating (killed, or its Redis
        lost); the queued job resumes it (`execute`). Returns how many were queued."""
        queued = 0
        for approval_id in await self.executions.stale(self.now(), stale_seconds=self.stale_seconds):
            approval = await self.store.get(approval_id)
            where = await self.store.card_of(approval_id)
            if approval is None or where is None:
                continue
            job = self.execute_job(
                approval,
                channel=where[0],
                card_ts=where[1],
                job_id=f"recover:{approval_id}:{approval.owner}:{approval.heartbeat_ms}",
            )
            if await self.queue.enqueue(job):
                queued += 1
        return queued

    async def _plan(self, cluster: str, action: ActionKind, target: str) -> Plan:
        if action == ActionKind.PAGE:
            return Plan(
                action,
                cluster,
                cluster,
                summary=f"Trigger a PagerDuty incident for armada-network about {cluster} (dedup key "
                f"`{dedup_key(cluster)}`: repeated pages update one incident). Someone will be woken up.",
            )
        async with open_cluster(cluster, self.access) as opened:
            if action in WORKER_ACTIONS and self.iks is not None:
                async with IksClient(self.iks) as iks:
                    return await plan_worker_action(
                        opened.transport,
                        iks,
                        cluster=opened.name,
                        kind=action,
                        target=target,
                        max_not_ready_share=self.max_not_ready_share,
                        timeout=self.access.timeout,
                    )
            return await plan_action(
                opened.transport, cluster=opened.name, kind=action, target=target, timeout=self.access.timeout
            )

    async def _audit_applied(self, approval: Approval, done: str) -> None:
        await self._audit(approval, AuditKind.EXECUTION, outcome="applied", detail=done)

    async def _audit(
        self,
        approval: Approval,
        kind: AuditKind,
        *,
        actor: str = "calico-bot",
        outcome: str = "",
        detail: str = "",
        at: datetime | None = None,
        approver: str | None = None,
    ) -> None:
        """One audit entry about an approval (who asked, who approved, what happened), counted in
        `calico_bot_approvals_total` by its outcome (a refused decision as `refused`)."""
        await self.store.audit(
            approval.cluster,
            kind=kind,
            actor=actor,
            action=approval.action.value,
            target=approval.target,
            approval_id=approval.id,
            outcome=outcome,
            detail=detail,
            requester=approval.requester,
            approver=approval.approver if approver is None else approver,
            at=at or self.now(),
        )
        if outcome or kind == AuditKind.REFUSAL:
            measure.approval(outcome or "refused")

    async def _expire(self, approval_id: str, now: datetime) -> Approval | None:
        """pending → expired (once, by compare-and-set), audited; None when it was not pending."""
        result = await self.store.transition(
            approval_id,
            from_states={ApprovalState.PENDING},
            to_state=ApprovalState.EXPIRED,
            actor="calico-bot",
            now=now,
        )
        if not result.ok or result.approval is None:
            return None
        await self._release_slot(result.approval)
        await self._audit(
            result.approval,
            AuditKind.EXPIRY,
            outcome="expired",
            detail="no decision before the deadline; nothing was done",
            at=now,
        )
        return result.approval

    async def _finish(
        self, approval: Approval, channel: str, card_ts: str, *, ok: bool, result: str, locked: bool = True
    ) -> None:
        """Tell Slack first (the card and the thread), then record the outcome, audit it, and free
        the cluster's lock: each its own step, retried, so a Redis blip loses none of them."""
        final = ApprovalState.SUCCEEDED if ok else ApprovalState.FAILED
        log.log(
            logging.INFO if ok else logging.WARNING,
            "%s %s on %s %s: %s",
            approval.action.value,
            approval.target,
            approval.cluster,
            final,
            result,
        )
        result = public_text(result)[:500]  # the card, the thread and the history are read in the channel
        await self._update_card(channel, card_ts, dataclasses.replace(approval, state=final, result=result))
        step = NEXT_STEP.get(approval.action, "") if ok else NEXT_RUNG.get(approval.action, "escalate")
        verdict = "✅ done" if ok else "❌ did not work"
        text = f"{verdict}: `{approval.action.value} {approval.target}` — {escape(result)}\nNext: {step}."
        try:
            await self.slack.post(channel, text_message(text), thread_ts=card_ts)
        except SlackError as exc:
            log.warning("the outcome of %s was not posted: %s", approval.id, exc.error)
        token = f"finish:{approval.id}:{self.worker_id}"

        async def record() -> None:
            await self.store.transition(
                approval.id,
                from_states={ApprovalState.EXECUTING},
                to_state=final,
                actor="calico-bot",
                now=self.now(),
                result=result,
                idempotency_key=token,
            )

        async def audit() -> None:
            await self._audit(approval, AuditKind.VERIFICATION, outcome=final.value, detail=result)

        async def unlock() -> None:
            await self.store.release_lock(approval.cluster, approval.id)

        await _retried(f"recording the outcome of {approval.id}", record)
        await _retried(f"auditing the outcome of {approval.id}", audit)
        if locked:
            await _retried(f"releasing the lock of {approval.cluster}", unlock)

    async def _release_slot(self, approval: Approval) -> None:
        try:
            await self.store.release_slot(approval)
        except StoreUnavailable as exc:  # the slot lapses with the request's expiry anyway
            log.info("request slot of %s not released: %s", approval.id, exc)

    # --- cards -------------------------------------------------------------------------------

    def card(self, approval: Approval) -> Message:
        return approval_card(approval, rule=rule_for(approval.action, self.policy), read_only=self.read_only)

    async def _update_card(self, channel: str, card_ts: str, approval: Approval) -> None:
        try:
            await self.slack.update(channel, card_ts, self.card(approval))
        except SlackError as exc:
            log.warning("could not update approval card %s: %s", approval.id, exc.error)

    async def _audit_safely(
        self, cluster: str, kind: AuditKind, actor: str, action: ActionKind, target: str, *, detail: str
    ) -> None:
        try:
            await self.store.audit(
                cluster,
                kind=kind,
                actor=actor,
                action=action.value,
                target=target,
                detail=detail,
                at=self.now(),
            )
            measure.approval("refused")
        except StoreUnavailable:
            log.warning("audit of a refusal lost: Redis unreachable")

    async def history(self, cluster: str) -> str:
        try:
            records = await self.store.history(cluster, count=15)
        except StoreUnavailable as exc:
            log.warning("history of %s unavailable: %s", cluster, exc)
            return f"History is unavailable: {exc.public}."
        return history_text(cluster, records)


def _for_requester(exc: Exception) -> str:
    """An error for the requester alone (ephemeral): a CheckFailed with its private detail."""
    if isinstance(exc, CheckFailed):
        private = f" Details: {exc.private}." if exc.private else ""
        return f"{exc.what_failed} ({exc.try_next}).{private}"
    return str(exc)


RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)


async def _retried(what: str, step: Callable[[], Awaitable[None]]) -> None:
    """Run a store step, again after each StoreUnavailable (about 30 s in all), then give up with a
    log line (the stalled-execution sweep finds what was not recorded)."""
    for delay in (*RETRY_DELAYS, None):
        try:
            await step()
            return
        except StoreUnavailable as exc:
            if delay is None:
                log.error("%s failed for good: %s", what, exc)
                return
            log.warning("%s failed, again in %.1f s: %s", what, delay, exc)
            await asyncio.sleep(delay)


def already_requested(holder: Approval) -> str:
    """The answer to a request for an action that is already waiting for approval."""
    return (
        f"`{holder.action.value} {escape(holder.target)}` is already waiting for approval (requested by "
        f"<@{holder.requester}> at {holder.created:%H:%M} UTC): see its approval card in the thread. "
        "Nothing new was requested."
    )
