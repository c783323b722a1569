"""Running one approved action: plan on a fresh read, apply, verify — and, for a worker taking over
from one that died, verify only (`resume`): never apply twice.

Each step reports its phase through `on_phase` before it starts (`ExecutionPhase`): `applying`
before anything is sent to the cluster or to IKS (with the plan's node and object, which a later
verification needs), `verifying` once it was applied. The flow writes that into the approval
record, so whoever takes over knows what may still be done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.cluster.checking import CheckFailed, open_cluster
from bot.cluster.sources import ClusterAccess, OpenCluster
from bot.escalation.escalate import diagnose_for_handoff, page
from bot.escalation.pagerduty import PagerDutySettings
from bot.remediation.actions import ActionError, Outcome, Plan, apply_action, plan_action, verify
from bot.remediation.iks import IksClient, IksError, IksSettings
from bot.remediation.recovery import verified_state
from bot.remediation.workers import (
    WORKER_ACTIONS,
    WORKER_DEADLINES,
    apply_worker_action,
    plan_worker_action,
    verify_worker,
)
from bot.store.records import Approval, ExecutionPhase
from checks.model import ActionKind

OnPhase = Callable[[ExecutionPhase, Plan | None], Awaitable[None]]
OnApplied = Callable[[str], Awaitable[None]]


@dataclass
class Runner:
    access: ClusterAccess
    read_only: bool = False
    iks: IksSettings | None = None
    deadlines: Mapping[ActionKind, float] = field(default_factory=dict)
    max_not_ready_share: float = 0.3
    pagerduty: PagerDutySettings | None = None

    async def run(self, approval: Approval, *, on_phase: OnPhase, on_applied: OnApplied) -> tuple[bool, str]:
        """Plan, apply and verify; (ok, what happened)."""
        if approval.action in WORKER_ACTIONS:
            return await self._run_worker(approval, on_phase, on_applied)
        if approval.action == ActionKind.PAGE:
            return await self._page(approval, on_phase, on_applied)
        try:
            async with open_cluster(approval.cluster, self.access) as opened:
                plan = await plan_action(
                    opened.transport,
                    cluster=opened.name,
                    kind=approval.action,
                    target=approval.target,
                    timeout=self.access.timeout,
                )
                await on_phase(ExecutionPhase.APPLYING, plan)
                done = await apply_action(
                    opened.transport, plan, read_only=self.read_only, timeout=self.access.timeout
                )
                await on_applied(done)
                if self.read_only:
                    return True, done
                await on_phase(ExecutionPhase.VERIFYING, plan)
                outcome = await self._verify(opened, plan, since=approval.started)
        except (ActionError, CheckFailed, IksError) as exc:
            return False, str(exc)
        return outcome.ok, f"{done}; {outcome.message}"

    async def resume(self, approval: Approval) -> tuple[bool, str]:
        """Another worker started this action and stopped: look at the cluster (a fresh read, never
        an apply) and finish the verification when the action shows, else say what is seen."""
        plan = Plan(
            approval.action, approval.cluster, approval.target, node=approval.plan_node, pod=approval.plan_pod
        )
        try:
            async with open_cluster(approval.cluster, self.access) as opened:
                applied, state = (
                    (True, "it was applied")
                    if approval.phase == ExecutionPhase.VERIFYING
                    else await verified_state(
                        opened.transport, plan, since=approval.started, timeout=self.access.timeout
                    )
                )
                if not applied:
                    return False, f"outcome unknown — verified state: {state}"
                outcome = await self._verify(opened, plan, since=approval.started)
        except (ActionError, CheckFailed, IksError) as exc:
            return False, f"outcome unknown — the cluster could not be read: {exc}"
        return outcome.ok, f"resumed after its first worker stopped ({state}); {outcome.message}"

    async def _verify(self, opened: OpenCluster, plan: Plan, *, since: datetime | None) -> Outcome:
        if plan.kind in WORKER_ACTIONS:
            deadline = self.deadlines.get(plan.kind, WORKER_DEADLINES[plan.kind])
            return await verify_worker(
                opened.transport,
                plan,
                since=since or datetime.now().astimezone(),
                deadline_s=deadline,
                poll_s=min(5.0, max(deadline / 20, 0.2)),
                timeout=self.access.timeout,
            )
        return await verify(
            opened.transport, plan, deadline_s=self.deadlines.get(plan.kind), timeout=self.access.timeout
        )

    async def _page(self, approval: Approval, on_phase: OnPhase, on_applied: OnApplied) -> tuple[bool, str]:
        """Trigger PagerDuty with a fresh diagnosis of the cluster (a PagerDuty failure is an outcome, not a crash)."""
        assert self.pagerduty is not None  # request() refuses `page` without PagerDuty settings
        if self.read_only:
            return True, "read-only mode: nothing changed. Would have paged armada-network through PagerDuty."
        try:
            result = await diagnose_for_handoff(approval.cluster, self.access)
        except CheckFailed as failed:
            return False, f"could not diagnose {approval.cluster} for the page: {failed.what_failed}"
        await on_phase(ExecutionPhase.APPLYING, None)
        ok, line = await page(result, self.pagerduty)
        await on_applied(line)
        return ok, line

    async def _run_worker(
        self, approval: Approval, on_phase: OnPhase, on_applied: OnApplied
    ) -> tuple[bool, str]:
        """Reboot / reload / replace / master refresh through IKS, then wait for calico-node."""
        assert self.iks is not None  # request() refuses worker actions without IKS settings
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
                await on_phase(ExecutionPhase.APPLYING, plan)
                done = await apply_worker_action(iks, plan, read_only=self.read_only)
                await on_applied(done)
                if self.read_only:
                    return True, done
                await on_phase(ExecutionPhase.VERIFYING, plan)
                outcome = await self._verify(opened, plan, since=approval.started)
        except (ActionError, CheckFailed, IksError) as exc:
            return False, str(exc)
        return outcome.ok, f"{done}; {outcome.message}"
