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

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.clock import utcnow
from bot.cluster.checking import CheckFailed, open_cluster
from bot.cluster.sources import ClusterAccess
from bot.escalation.escalate import diagnose_for_handoff, page
from bot.escalation.handoff import dedup_key
from bot.escalation.pagerduty import PagerDutySettings
from bot.queue.jobs import JobQueue
from bot.remediation.actions import (
    DEADLINES,
    KUBE_ACTIONS,
    ActionError,
    Plan,
    apply_action,
    plan_action,
    verify,
)
from bot.remediation.approvals import ApprovalPolicy, may_decide, needs_groups, rule_for
from bot.remediation.iks import IksClient, IksError, IksSettings
from bot.remediation.workers import (
    WORKER_ACTIONS,
    WORKER_DEADLINES,
    apply_worker_action,
    plan_worker_action,
    verify_worker,
)
from bot.slack.api import SlackError, SlackPoster
from bot.slack.approval_card import approval_card, history_text, transition_message
from bot.slack.blockkit import Message, escape, text_message
from bot.slack.disclosure import public_text
from bot.slack.requester import cannot_post
from bot.store.records import Approval, ApprovalState, AuditKind
from bot.store.redis_store import Store, StoreUnavailable
from checks.model import ActionKind

log = logging.getLogger(__name__)


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

    # --- 1. request --------------------------------------------------------------------------

    async def request(
        self, *, cluster: str, kind: str, target: str, requester: str, channel: str, thread_ts: str | None
    ) -> str:
        """Plan the action, store a pending approval, post its card. Returns the clicker's answer."""
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
        approval = Approval.new(
            cluster=cluster,
            action=action,
            target=target,
            reason=plan.summary,
            requester=requester,
            now=self.now(),
            ttl=self.policy.ttl,
        )
        try:
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

            async def job() -> None:
                await self.execute(approval_id, channel=channel, card_ts=card_ts)

            await self.queue.enqueue(f"execute:{approval_id}", job)
            return f"Approved `{approval.action.value} {approval.target}`: running it now."
        return f"Denied `{approval.action.value} {approval.target}`."

    async def _approver_group_members(self) -> frozenset[str]:
        """Members of the approver user groups (cached in Redis for a few minutes)."""
        members: frozenset[str] = frozenset()
        for group in sorted(self.policy.approver_groups):

            async def load(group: str = group) -> frozenset[str]:
                return await self.group_members(group)

            members |= await self.store.cached_members(group, load)
        return members

    # --- 3. execution ------------------------------------------------------------------------

    async def execute(self, approval_id: str, *, channel: str, card_ts: str) -> None:
        taken = await self.store.transition(
            approval_id,
            from_states={ApprovalState.APPROVED},
            to_state=ApprovalState.EXECUTING,
            actor="calico-bot",
            now=self.now(),
        )
        if not taken.ok or taken.approval is None:
            return  # another replica (or an earlier delivery of this job) runs it
        approval = taken.approval
        await self._update_card(channel, card_ts, approval)
        lease = (
            self.deadlines.get(approval.action, {**DEADLINES, **WORKER_DEADLINES}.get(approval.action, 300.0))
            + 120
        )
        if not await self.store.acquire_lock(approval.cluster, approval.id, lease_seconds=lease):
            holder = await self.store.lock_holder(approval.cluster)
            await self._finish(
                approval,
                channel,
                card_ts,
                ok=False,
                result=f"another action is running on {approval.cluster} ({holder}); nothing was done",
            )
            return
        try:
            ok, result = await self._run(approval)
        except Exception as exc:  # the record must not stay "executing"
            log.exception("executing %s failed", approval_id)
            ok, result = False, f"stopped with an internal error ({type(exc).__name__})"
        finally:
            await self.store.release_lock(approval.cluster, approval.id)
        await self._finish(approval, channel, card_ts, ok=ok, result=result)

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

    async def _run(self, approval: Approval) -> tuple[bool, str]:
        if approval.action in WORKER_ACTIONS:
            return await self._run_worker(approval)
        if approval.action == ActionKind.PAGE:
            return await self._page(approval)
        try:
            async with open_cluster(approval.cluster, self.access) as opened:
                plan: Plan = await plan_action(
                    opened.transport,
                    cluster=opened.name,
                    kind=approval.action,
                    target=approval.target,
                    timeout=self.access.timeout,
                )
                done = await apply_action(
                    opened.transport, plan, read_only=self.read_only, timeout=self.access.timeout
                )
                await self._audit_applied(approval, done)
                if self.read_only:
                    return True, done
                outcome = await verify(
                    opened.transport,
                    plan,
                    deadline_s=self.deadlines.get(plan.kind),
                    timeout=self.access.timeout,
                )
        except (ActionError, CheckFailed) as exc:
            return False, str(exc)
        return outcome.ok, f"{done}; {outcome.message}"

    async def _page(self, approval: Approval) -> tuple[bool, str]:
        """Trigger PagerDuty with a fresh diagnosis of the cluster (a PagerDuty failure is an outcome, not a crash)."""
        assert self.pagerduty is not None  # request() refuses `page` without PagerDuty settings
        if self.read_only:
            return True, "read-only mode: nothing changed. Would have paged armada-network through PagerDuty."
        try:
            result = await diagnose_for_handoff(approval.cluster, self.access)
        except CheckFailed as failed:
            return False, f"could not diagnose {approval.cluster} for the page: {failed.what_failed}"
        ok, line = await page(result, self.pagerduty)
        await self._audit_applied(approval, line)
        return ok, line

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
        """One audit entry about an approval (who asked, who approved, what happened)."""
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
        await self._audit(
            result.approval,
            AuditKind.EXPIRY,
            outcome="expired",
            detail="no decision before the deadline; nothing was done",
            at=now,
        )
        return result.approval

    async def _run_worker(self, approval: Approval) -> tuple[bool, str]:
        """Reboot / reload / replace / master refresh through IKS, then wait for calico-node."""
        assert self.iks is not None  # request() refuses worker actions without IKS settings
        since = self.now()
        try:
            async with open_cluster(approval.cluster, self.access) as opened, IksClient(self.iks) as iks:
                plan = await plan_worker_action(
                    opened.transport,
                    iks,
                    cluster=opened.name,
                    kind=approval.action,
                    target=approval.target,
                    max_not_ready_share=self.max_not_ready_share,
                    timeout=self.access.timeout,
                )
                done = await apply_worker_action(iks, plan, read_only=self.read_only)
                await self._audit_applied(approval, done)
                if self.read_only:
                    return True, done
                deadline = self.deadlines.get(plan.kind, WORKER_DEADLINES[plan.kind])
                outcome = await verify_worker(
                    opened.transport,
                    plan,
                    since=since,
                    deadline_s=deadline,
                    poll_s=min(5.0, max(deadline / 20, 0.2)),
                    timeout=self.access.timeout,
                )
        except (ActionError, CheckFailed, IksError) as exc:
            return False, str(exc)
        return outcome.ok, f"{done}; {outcome.message}"

    async def _finish(self, approval: Approval, channel: str, card_ts: str, *, ok: bool, result: str) -> None:
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
        result = public_text(result)  # the card, the thread and the history are read in the channel
        done = await self.store.transition(
            approval.id,
            from_states={ApprovalState.EXECUTING},
            to_state=final,
            actor="calico-bot",
            now=self.now(),
            result=result[:500],
        )
        await self._audit(approval, AuditKind.VERIFICATION, outcome=final.value, detail=result[:500])
        if done.approval is not None:
            await self._update_card(channel, card_ts, done.approval)
        step = NEXT_STEP.get(approval.action, "") if ok else NEXT_RUNG.get(approval.action, "escalate")
        verdict = "✅ done" if ok else "❌ did not work"
        text = f"{verdict}: `{approval.action.value} {approval.target}` — {escape(result)}\nNext: {step}."
        try:
            await self.slack.post(channel, text_message(text), thread_ts=card_ts)
        except SlackError as exc:
            log.warning("the outcome of %s was not posted: %s", approval.id, exc.error)

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
