"""calico-typha unhealthy or unreachable (the runbook's "if it persists" check, and its own runbook).

Signals: typha pods crash-looping, failing image pulls, OOMKilled, restarting, not Ready past a
short grace; a typha Deployment with no ready replica; more Pending replicas than the cluster can
place (typha is hostNetwork with one replica per worker); and what every component that talks to
Typha logs — felix, confd, the status reporter — when it cannot discover or reach it
(`Failed to connect to typha endpoint …`, `Didn't find any ready Typha instances`, `Typha
discovery enabled but discovery failed`). With healthy-looking typha pods that points at the
network (host firewall, security groups on port 5473) rather than at typha.

A cause with its own section: when calico-node fails on the workers that cannot reach Typha, this
situation is reported first and names those workers (`checks.diagnose` orders it).
Trap: on clusters with fewer workers than typha replicas the extra replicas stay Pending, and that
is fine (IKS pinned 3 replicas before 1.29; the operator scales with the cluster).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from checks import calico_pods
from checks.catalog import BY_ID, Scope
from checks.common import age, grouped_event_lines, human_age, node_label, unreachable_nodes
from checks.logscan import LogHit, error_lines, last_words
from checks.model import Action, ActionKind, Finding, ObjRef, Severity, SituationId
from checks.objects import CALICO_TYPHA, Pod
from checks.signals import BAD_WAITING, IMAGE_PULL
from checks.snapshot import Snapshot

CHECK_ID = "typha-unhealthy"
TYPHA_GRACE_SECONDS = 120
TYPHA_RUNBOOK = "calico-typha troubleshooting runbook (armada-network-calico-typha-troubleshooting)"


def _typha_trouble(pod: Pod, now: datetime) -> str:
    if pod.status.phase == "Pending":
        return ""
    main = pod.container_status(CALICO_TYPHA) or (
        pod.status.container_statuses[0] if pod.status.container_statuses else None
    )
    if main is None:
        return ""
    waiting = main.state.waiting
    if waiting is not None and waiting.reason in BAD_WAITING:
        return "image pull failing" if waiting.reason in IMAGE_PULL else waiting.reason
    last = main.last_state.terminated
    since = age(last.finished_at, now) if last is not None else None
    if last is not None and last.reason == "OOMKilled" and (since is None or since < 3600):
        return "OOMKilled"
    running = main.state.running
    if running is not None and not main.ready:
        up = age(running.started_at, now)
        if up is None or up > TYPHA_GRACE_SECONDS or main.restart_count:
            not_ready = age(pod.not_ready_since(), now)
            if not_ready is None:
                return f"0/1 Running for {human_age(up)}, not Ready"
            return f"0/1 Running, not Ready for {human_age(not_ready)} (container up {human_age(up)})"
    if last is not None and since is not None and since < 3600 and main.restart_count:
        return f"restarted {main.restart_count} times, last {human_age(since)} ago ({last.reason or 'Error'} exit code {last.exit_code})"
    return ""


def typha_hits(snapshot: Snapshot) -> list[tuple[str, LogHit]]:
    """Lines where calico components say they cannot discover or reach Typha (not since recovered)."""
    key = ("typha_unhealthy.hits", None)
    if key not in snapshot.memo:
        found: list[tuple[str, LogHit]] = []
        for pod, log in snapshot.calico_node_logs():
            found += [
                (pod.node_name if pod is not None else log.pod, hit)
                for hit in calico_pods.live_hits(snapshot, pod, log)
                if BY_ID[hit.signature].scope == Scope.TYPHA
            ]
        snapshot.memo[key] = found
    return list(snapshot.memo[key])


def check(snapshot: Snapshot, *, now: datetime) -> list[Finding]:
    if not snapshot.calico_node_pods():
        return []  # nothing uses typha; calico-absent-everywhere speaks
    silent = {n.name for n in unreachable_nodes(snapshot)}
    typha = [p for p in snapshot.typha_pods() if p.node_name not in silent]
    evidence: list[str] = []
    objects: list[ObjRef] = []
    bad: list[str] = []
    for pod in typha:
        trouble = _typha_trouble(pod, now)
        if trouble:
            node = snapshot.node(pod.node_name)
            bad.append(pod.name)
            evidence.append(
                f"{pod.namespace}/{pod.name} on {node_label(node) if node else pod.node_name}: {trouble}"
            )
            objects.append(ObjRef(kind="Pod", name=pod.name, namespace=pod.namespace))
            evidence += _own_words(snapshot, pod)
            evidence += grouped_event_lines(
                (
                    e
                    for e in snapshot.events_for("Pod", pod.name, pod.namespace)
                    if e.type == "Warning" or e.reason == "Killing"
                ),
                now,
                limit=3,
            )
    bad += _deployment_problems(snapshot, typha, silent, evidence, objects)

    hits = typha_hits(snapshot)
    reporting = list(dict.fromkeys(node for node, _hit in hits))
    if hits:
        evidence = _grouped(hits) + evidence
    if not bad and not hits:
        return []
    troubles, _judged = calico_pods.analyse(snapshot, now=now)
    failing_there = [t.node for t in troubles if t.failing and t.node in set(reporting)]
    objects += [ObjRef(kind="Node", name=n) for n in reporting[:100]]
    severity = Severity.CRITICAL if bad or failing_there else Severity.WARNING
    if bad:
        title = f"calico-typha is unhealthy ({len(bad)} problem{'s' if len(bad) > 1 else ''})"
        if hits:
            title += f"; calico-node on {_workers(reporting)} cannot reach it"
        detail = (
            "calico-node pods connect to typha for their configuration; unhealthy typha affects every worker "
            f"that uses it. Follow the {TYPHA_RUNBOOK}."
        )
    else:
        title = f"calico-node on {_workers(reporting)} cannot reach calico-typha"
        if not typha:
            title += " (no typha pod was read)"
        detail = (
            "calico-node cannot discover or connect to Typha (port 5473). With typha Ready, look at host "
            "firewalls, VPC security groups / ACLs or a gateway between those workers and the typha workers; "
            f"otherwise follow the {TYPHA_RUNBOOK}."
        )
    return [
        Finding(
            check=CHECK_ID,
            situation=SituationId.TYPHA_UNHEALTHY,
            severity=severity,
            title=title,
            detail=detail,
            evidence=tuple(dict.fromkeys(evidence)),
            objects=tuple(objects),
            runbook_section="calico-node Pod Not Running on One or a Few Customer Workers",
        )
    ]


def _own_words(snapshot: Snapshot, pod: Pod) -> list[str]:
    """What a failing typha pod's log says: its errors, else its last lines (a crash's cause is
    often a plain line: an unsupported CPU, a missing certificate), from the newest log read."""
    logs = sorted(snapshot.logs_for(pod.namespace, pod.name), key=lambda log: log.previous)
    for log in logs:
        lines = error_lines(log.text, limit=2) or last_words(log.text, limit=2)
        if lines:
            which = f"{log.container}{' (previous)' if log.previous else ''}"
            return [f"log {which}: {line}" for line in lines]
    return []


def _workers(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{len(names)} workers"


def _grouped(hits: Sequence[tuple[str, LogHit]]) -> list[str]:
    by_sig: dict[str, tuple[list[str], str]] = {}
    for node, hit in hits:
        nodes, _sample = by_sig.setdefault(hit.signature, ([], hit.line))
        if node not in nodes:
            nodes.append(node)
    return [
        f"log calico-node ({_workers(nodes) if len(nodes) > 1 else nodes[0]}): {sample}"
        for nodes, sample in by_sig.values()
    ]


def _deployment_problems(
    snapshot: Snapshot, typha: Sequence[Pod], silent: set[str], evidence: list[str], objects: list[ObjRef]
) -> list[str]:
    bad: list[str] = []
    schedulable = sum(1 for n in snapshot.nodes if not n.spec.unschedulable and n.name not in silent)
    for deployment in snapshot.deployments:
        if deployment.metadata.name != CALICO_TYPHA:
            continue
        ns = deployment.metadata.namespace
        wanted = (
            deployment.spec.replicas if deployment.spec.replicas is not None else deployment.status.replicas
        )
        mine = [p for p in typha if p.namespace == ns]
        ready = sum(1 for p in mine if p.ready)
        pending = [p for p in mine if p.status.phase == "Pending"]
        if wanted and ready == 0:
            evidence.insert(0, f"Deployment {ns}/calico-typha: {wanted} wanted, none Ready")
            objects.append(ObjRef(kind="Deployment", name=CALICO_TYPHA, namespace=ns))
            bad.append(f"{ns}/calico-typha")
        # typha is hostNetwork with one replica per worker: replicas beyond the workers stay Pending
        expected_pending = max(0, (wanted or 0) - schedulable)
        if len(pending) > expected_pending:
            bad.append(f"{ns}/calico-typha pending")
            reason = pending[0].status.message or pending[0].status.reason
            evidence.append(
                f"{len(pending)} typha replica(s) Pending in {ns} although {schedulable} schedulable workers "
                f"could hold {wanted} replicas" + (f": {reason}" if reason else "")
            )
    return bad


def propose(findings: Sequence[Finding], snapshot: Snapshot) -> list[Action]:
    pods = [ref for f in findings for ref in f.objects if ref.kind == "Pod"]
    actions = [
        Action.propose(ActionKind.GATHER, f"{p.namespace}/{p.name}", "typha pod state and logs")
        for p in pods[:3]
    ]
    actions.append(Action.propose(ActionKind.ESCALATE, snapshot.cluster, f"follow the {TYPHA_RUNBOOK}"))
    return actions
