"""Small pure helpers shared by the checks: evidence formatting, ages, the runbook ladder."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

import msgspec

from checks.model import Action, ActionKind
from checks.objects import Event, Node, NodeCondition, Pod
from checks.snapshot import Snapshot

EVIDENCE_MAX = 2000
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
NETWORK_NOT_READY_MARKERS = (
    "networkready=false",
    "networkpluginnotready",
    "network plugin is not ready",
    "cni config uninitialized",
    "cni plugin not initialized",
    "no cni configuration file",
)
"""The kubelet's and the runtimes' (containerd, CRI-O, docker) wordings of "no pod network"."""
"""Longest single evidence string kept; longer literal messages are cut with a marker."""


def natural_key(name: str) -> tuple[tuple[str, int], ...]:
    """Sort key that puts `10.0.0.9` before `10.0.0.10`."""
    parts = re.split(r"(\d+)", name)
    return tuple((parts[i], int(parts[i + 1]) if i + 1 < len(parts) else -1) for i in range(0, len(parts), 2))


def clip(text: str, limit: int = EVIDENCE_MAX) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def age(when: datetime | None, now: datetime) -> float | None:
    """Seconds from `when` to `now` (None when unknown)."""
    return None if when is None else (now - when).total_seconds()


def human_age(seconds: float | None) -> str:
    if seconds is None:
        return "unknown age"
    seconds = max(seconds, 0)
    if seconds < 120:
        return f"{int(seconds)}s"
    if seconds < 7200:
        return f"{int(seconds // 60)}m"
    if seconds < 172800:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def condition_line(cond: NodeCondition, now: datetime) -> str:
    """A node condition as `kubectl describe node` shows it, with the age of the transition."""
    since = human_age(age(cond.last_transition_time, now))
    text = f"{cond.type} {cond.status} {cond.reason} {cond.message}".strip()
    return clip(f"{text} (since {since})")


def event_line(event: Event, now: datetime) -> str:
    """An event as the bottom of `kubectl describe` shows it: type, reason, age, count, message."""
    seen = human_age(age(event.last_seen, now))
    times = f" (x{event.times})" if event.times > 1 else ""
    source = event.source.component or event.reporting_component
    head = " ".join(part for part in (event.type, event.reason, seen + times, source) if part)
    # the message stays exactly as the cluster wrote it (Calico's messages carry double spaces)
    return clip(f"{head}: {event.message.strip()}", 2000)


_EVENT_NOISE = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?Z?|\[(\w+)\]\[\d+\]")


def grouped_event_lines(events: Iterable[Event], now: datetime, *, limit: int = 3) -> list[str]:
    """Events as `kubectl describe` lines, one per distinct message (timestamps and pids inside a
    message ignored: repeated probe output differs only by them), the earliest wording quoted, the
    occurrences summed; the most frequent first."""
    groups: dict[tuple[str, str, str], list[Event]] = {}
    for event in events:
        key = (event.type, event.reason, _EVENT_NOISE.sub("", event.message))
        groups.setdefault(key, []).append(event)
    ranked = sorted(groups.values(), key=lambda g: (-sum(e.times for e in g), -len(g)))
    lines = []
    for group in ranked[:limit]:
        group.sort(key=lambda e: e.last_seen or now)
        first, last = group[0], group[-1]
        times = sum(e.times for e in group)
        merged = msgspec.structs.replace(first, count=times, series=None, last_timestamp=last.last_seen)
        lines.append(event_line(merged, now))
    return lines


def node_line(node: Node, now: datetime) -> str:
    """`node master1: NotReady, age 30d, kubelet v1.16.0` — a worker as `kubectl get nodes` shows it."""
    ready = node.condition("Ready")
    status = "Ready" if ready is not None and ready.status == "True" else "NotReady"
    if node.spec.unschedulable:
        status += ",SchedulingDisabled"
    created = age(node.metadata.creation_timestamp, now)
    parts = [status]
    if created is not None:
        parts.append(f"age {human_age(created)}")
    if node.status.node_info.kubelet_version:
        parts.append(f"kubelet {node.status.node_info.kubelet_version}")
    return f"node {node.name}: {', '.join(parts)}"


def node_label(node: Node) -> str:
    """`10.1.2.3 (dal10, pool default)`: how a worker is named in a finding."""
    where = ", ".join(p for p in (node.zone, f"pool {node.worker_pool}" if node.worker_pool else "") if p)
    return f"{node.name} ({where})" if where else node.name


def calico_pod_on(snapshot: Snapshot, node_name: str) -> Pod | None:
    for pod in snapshot.calico_node_pods():
        if pod.node_name == node_name:
            return pod
    return None


def worker_ladder(snapshot: Snapshot, node_names: Iterable[str], reason: str) -> list[Action]:
    """The runbook's per-worker ladder: cordon, gather, delete pod, reboot, reload/replace, uncordon."""
    actions: list[Action] = []
    for name in node_names:
        node = snapshot.node(name)
        pod = calico_pod_on(snapshot, name)
        actions.append(Action.propose(ActionKind.CORDON, name, f"stop new pods landing on {name}: {reason}"))
        actions.append(
            Action.propose(ActionKind.GATHER, name, "runbook: gather logs and describe output first")
        )
        if pod is not None:
            actions.append(
                Action.propose(
                    ActionKind.DELETE_POD,
                    f"{pod.namespace}/{pod.name}",
                    f"runbook step 1: delete calico-node on {name}; the DaemonSet recreates it",
                )
            )
        actions.append(
            Action.propose(ActionKind.REBOOT_WORKER, name, "runbook step 2, if deleting the pod did not help")
        )
        if node is not None and node.is_vpc:
            actions.append(
                Action.propose(
                    ActionKind.REPLACE_WORKER,
                    name,
                    "runbook step 3: VPC workers cannot be reloaded; replace instead",
                )
            )
        else:
            actions.append(
                Action.propose(ActionKind.RELOAD_WORKER, name, "runbook step 3, if the reboot did not help")
            )
        actions.append(
            Action.propose(ActionKind.UNCORDON, name, "after calico-node is Running and Ready again")
        )
    return actions


def unreachable_nodes(snapshot: Snapshot) -> list[Node]:
    """Workers whose kubelet is not reporting: Ready Unknown, or tainted unreachable."""
    key = ("unreachable_nodes", None)
    if key not in snapshot.memo:
        found = []
        for node in snapshot.nodes:
            ready = node.condition("Ready")
            if (ready is not None and ready.status == "Unknown") or node.has_taint(UNREACHABLE_TAINT):
                found.append(node)
        snapshot.memo[key] = tuple(found)
    return list(snapshot.memo[key])


def network_not_ready(node: Node) -> bool:
    """Ready False because the runtime's network (the CNI) is not ready."""
    ready = node.condition("Ready")
    if ready is None or ready.status != "False":
        return False
    text = f"{ready.reason} {ready.message}".lower()
    return any(marker in text for marker in NETWORK_NOT_READY_MARKERS)
