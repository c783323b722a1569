"""Runbook "calico-node in CrashLoopBackOff or Restarting Often on Most or All Workers".

When most workers are affected the cause is cluster-wide (Calico configuration, the master, the
datastore), so the finding says what the affected workers have in common — zone, worker pool,
subnet/VLAN, worker version, machine type, recently created — and lists the recent changes the
cluster shows (Calico configuration objects, the Installation) with their times.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from checks import calico_pods
from checks.common import age, human_age
from checks.model import Action, ActionKind, Finding, ObjRef, RunbookSection, Severity, SituationId
from checks.objects import IBM_LABEL, Node
from checks.snapshot import Snapshot

CHECK_ID = "calico-crashloop-most-workers"
RECENT_CHANGE_SECONDS = 7 * 86400
RECENT_NODE_SECONDS = 86400
COMMON_IN_AFFECTED = 0.9
"""A value shared by at least this share of affected workers…"""
RARE_IN_HEALTHY = 0.5
"""…and by less than this share of the healthy ones is what the subset has in common."""


def _label(key: str) -> Callable[[Node], str]:
    def value_of(node: Node) -> str:
        return node.label(key)

    return value_of


FACTORS: tuple[tuple[str, Callable[[Node], str]], ...] = (
    ("zone", lambda n: n.zone),
    ("worker pool", lambda n: n.worker_pool),
    ("subnet", _label(IBM_LABEL + "subnet-id")),
    ("private VLAN", _label("privateVLAN")),
    ("worker version", _label(IBM_LABEL + "worker-version")),
    ("machine type", _label(IBM_LABEL + "machine-type")),
)
CONFIG_KINDS = ("bgpconfigurations", "felixconfigurations", "ippools", "installations")


def common_factors(affected: Sequence[Node], healthy: Sequence[Node], now: datetime) -> list[str]:
    """What the affected subset shares that the healthy workers mostly do not."""
    found: list[str] = []
    if not affected:
        return found
    for label, value_of in FACTORS:
        values = Counter(value_of(n) for n in affected)
        value, count = values.most_common(1)[0]
        if not value or count / len(affected) < COMMON_IN_AFFECTED:
            continue
        in_healthy = sum(1 for n in healthy if value_of(n) == value)
        if not healthy or in_healthy / len(healthy) < RARE_IN_HEALTHY:
            found.append(
                f"{label} {value} ({count}/{len(affected)} affected, {in_healthy}/{len(healthy)} healthy)"
            )
    recent = [n for n in affected if _is_new(n, now)]
    recent_healthy = [n for n in healthy if _is_new(n, now)]
    if len(recent) / len(affected) >= COMMON_IN_AFFECTED and (
        not healthy or len(recent_healthy) / len(healthy) < RARE_IN_HEALTHY
    ):
        found.append(f"created or reloaded in the last day ({len(recent)}/{len(affected)} affected)")
    return found


def _is_new(node: Node, now: datetime) -> bool:
    created = age(node.metadata.creation_timestamp, now)
    return created is not None and created < RECENT_NODE_SECONDS


def recent_changes(snapshot: Snapshot, now: datetime) -> list[str]:
    """Calico configuration objects changed recently, newest first, with the manager that changed them."""
    changes: list[tuple[datetime, str]] = []
    # IBM's annotation says who made the object on IKS only; elsewhere nothing carries it
    iks = any(key.startswith(IBM_LABEL) for node in snapshot.nodes for key in node.metadata.labels)
    for plural in CONFIG_KINDS:
        for obj in snapshot.custom_objects(plural):
            changed = obj.metadata.last_changed
            since = age(changed, now)
            if changed is None or since is None or since > RECENT_CHANGE_SECONDS:
                continue
            managers = sorted(
                {m.manager for m in obj.metadata.managed_fields if m.time == changed and m.manager}
            )
            by = f" by {', '.join(managers)}" if managers else ""
            changes.append(
                (changed, f"{obj.kind or plural} {obj.metadata.name} changed {human_age(since)} ago{by}")
            )
        for obj in snapshot.custom_objects(plural) if iks else ():
            creator = obj.metadata.annotations.get("created-by")
            if (
                plural in ("bgpconfigurations", "felixconfigurations")
                and creator != "IBMCloudKubernetesService"
            ):
                note = f"{obj.kind or plural} {obj.metadata.name}: annotation created-by is "
                note += f"{creator!r}" if creator else "missing"
                note += " (customer-modified; IBM's objects carry created-by: IBMCloudKubernetesService)"
                changes.append((obj.metadata.last_changed or now, note))
    changes.sort(key=lambda c: c[0], reverse=True)
    return [text for _when, text in changes]


_EVENT_HEAD = re.compile(r"^(Warning|Normal) (\w+) \S+(?: \(x\d+\))? ")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?Z? ?")
_PID = re.compile(r"\[(\w+)\]\[\d+\]")


def group_key(line: str) -> str:
    """An evidence line without what differs between workers: ages, counts, timestamps, pids."""
    line = _EVENT_HEAD.sub(r"\1 \2 ", line)
    line = _TIMESTAMP.sub("", line)
    return _PID.sub(r"[\1]", line).strip()


def shared_lines(troubles: Sequence[calico_pods.PodTrouble], top: int = 6) -> list[str]:
    """The quoted lines (logs, probe failures, events) of the affected workers, grouped: the most shared first."""
    workers: dict[str, list[str]] = {}
    sample: dict[str, str] = {}
    for trouble in troubles:
        for line in trouble.evidence:
            if not line.startswith(("log ", "Warning ", "Normal ")):
                continue
            key = group_key(line)
            workers.setdefault(key, [])
            if trouble.node not in workers[key]:
                workers[key].append(trouble.node)
            sample.setdefault(key, line)
    ranked = sorted(workers.items(), key=lambda kv: -len(kv[1]))[:top]
    shown = []
    for key, nodes in ranked:
        where = f"on {len(nodes)} workers" if len(nodes) > 1 else f"on {nodes[0]}"
        shown.append(f"{where}: {sample[key]}")
    return shown


def check(snapshot: Snapshot, *, now: datetime) -> list[Finding]:
    troubles, judged = calico_pods.worker_troubles(snapshot, now=now)
    affected_names = list(dict.fromkeys(t.node for t in troubles))
    if not calico_pods.is_most(len(affected_names), judged):
        return []
    affected = [n for n in snapshot.nodes if n.name in set(affected_names)]
    healthy = [n for n in snapshot.nodes if n.name not in set(affected_names) and n.name]
    reasons = Counter(r for t in troubles for r in t.reasons)
    scope = (
        f"every worker ({judged})"
        if len(affected_names) == judged
        else f"{len(affected_names)} of {judged} workers"
    )
    evidence = shared_lines(troubles)
    evidence += [f"{count}× {reason}" for reason, count in reasons.most_common(4)]
    pods = [f"{t.pod.name} ({t.node})" for t in troubles if t.pod is not None]
    if pods:
        evidence.append(
            f"pods: {', '.join(pods[:12])}" + (f" … and {len(pods) - 12} more" if len(pods) > 12 else "")
        )
    shared = common_factors(affected, healthy, now)
    if len(affected_names) == judged:
        evidence.append("all workers affected: most likely Calico configuration, the master or the datastore")
    elif shared:
        evidence += [f"the affected workers share: {s}" for s in shared]
    else:
        evidence.append("no zone, pool, subnet, version or age shared by the affected workers alone")
    changes = recent_changes(snapshot, now)
    evidence += [f"recent change: {c}" for c in changes[:6]]
    for trouble in [t for t in troubles if t.pod is not None][:2]:
        evidence += [f"{trouble.node}: {e}" for e in trouble.evidence if not e.startswith("log ")][:2]
    failing = any(t.failing for t in troubles)
    how = "failing" if failing else "not healthy (restarts, probe failures or errors while Ready)"
    return [
        Finding(
            check=CHECK_ID,
            situation=SituationId.CALICO_CRASHLOOP_MOST_WORKERS,
            severity=Severity.CRITICAL if failing else Severity.WARNING,
            title=f"calico-node is {how} on {scope}: {reasons.most_common(1)[0][0]}",
            detail="The workers themselves are reachable, so the cause is most likely Calico configuration, "
            "the master or the datastore. Gather the data, then look at what changed recently (Calico "
            "configuration, network policies, firewall/gateway, routes, VPN, master or worker updates).",
            evidence=tuple(dict.fromkeys(evidence)),
            objects=tuple(ObjRef(kind="Node", name=n) for n in affected_names[:100]),
            runbook_section=RunbookSection.MOST_WORKERS.value,
        )
    ]


def propose(findings: Sequence[Finding], snapshot: Snapshot) -> list[Action]:
    nodes = [ref.name for f in findings for ref in f.objects if ref.kind == "Node"]
    actions = []
    if nodes:
        actions.append(
            Action.propose(ActionKind.GATHER, nodes[0], "runbook: gather logs from an affected worker")
        )
    actions.append(
        Action.propose(
            ActionKind.ESCALATE, snapshot.cluster, "cluster-wide Calico failure: involve armada-network"
        )
    )
    return actions
