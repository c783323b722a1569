"""Time moving in a simulated cluster: what is alive keeps beating, what the scenario declared dead stays dead.

A real cluster is never still: every kubelet renews its node Lease every 10 s and posts node status
(`lastHeartbeatTime` of its conditions), and a problem that keeps happening keeps counting its
event (`count`, `lastTimestamp`). Without that, a healthy simulated cluster left running for two
minutes looks like a cluster whose kubelets all went silent. `Liveness.catch_up(now)` brings the
store to `now`:

- **node heartbeats**: a node whose `Ready` is `True` or `False` has a kubelet that posts status;
  its kubelet-owned conditions (`Ready`, `MemoryPressure`, `DiskPressure`, `PIDPressure`) get
  `lastHeartbeatTime` every `HEARTBEAT_S`, in step with the heartbeat the node had. `Ready:
  Unknown` means the kubelet is silent: nothing moves. `NetworkUnavailable` belongs to Calico and
  is never touched here. Transition times never move.
- **node leases**: renewed every `LEASE_RENEW_S` (MicroTime, 6 fractional digits) while the node's
  kubelet posts status, unless the scenario declared the lease stale (`declared_dead`) and no IKS
  action fixed the worker since.
- **repeating events**: an event seen at least twice, whose last occurrence is recent for its own
  rhythm (`(last - first) / (count - 1)`), keeps recurring at that rhythm while the object it is
  about still exists (same uid) — for a pod, while the pod is still not Ready. An event about
  something that went away stops counting.

Work is proportional to what is due (a heap of due times), so a 5,000-worker cluster costs a few
hundred small writes per simulated second. Writes go through `Store.put` (new resourceVersion,
seen by watches).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.sim.store import Json, ResourceType, Store, find_type, type_for_object

HEARTBEAT_S = 60.0
LEASE_RENEW_S = 10.0
KUBELET_CONDITIONS = frozenset({"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"})
REPEAT_MIN_PERIOD_S = 5.0
"""A rhythm faster than this is a burst, not something that keeps happening."""


def _type(plural: str, group: str = "") -> ResourceType:
    found = find_type(group, plural)
    assert found is not None, plural
    return found


NODES, LEASES, EVENTS, PODS = (
    _type("nodes"),
    _type("leases", "coordination.k8s.io"),
    _type("events"),
    _type("pods"),
)
LEASE_NAMESPACE = "kube-node-lease"


def parse_time(value: object) -> datetime | None:
    """RFC 3339 with or without fractional seconds; None when absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(when: datetime) -> str:
    """metav1.MicroTime as the API writes it: always six fractional digits."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def next_beat(last: datetime, now: datetime, period: float) -> datetime | None:
    """The latest `last + k * period` (k >= 1) not after `now`; None when no beat is due yet."""
    steps = math.floor((now - last).total_seconds() / period)
    if steps < 1:
        return None
    return last + timedelta(seconds=steps * period)


def ready_status(node: Json) -> str:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return str(cond.get("status", "Unknown"))
    return "Unknown"


@dataclass
class Repeating:
    """An event that keeps happening, at its own rhythm."""

    namespace: str
    name: str
    period: float
    about: tuple[str, str, str, str, str]  # (apiVersion, kind, namespace, name, uid) of involvedObject


def repeating_event(event: Json, now: datetime) -> Repeating | None:
    """The event's rhythm when it is still happening at `now`, else None."""
    count = int(event.get("count") or 1)
    first, last = parse_time(event.get("firstTimestamp")), parse_time(event.get("lastTimestamp"))
    if count < 2 or first is None or last is None or last <= first:
        return None
    period = (last - first).total_seconds() / (count - 1)
    if period < REPEAT_MIN_PERIOD_S or (now - last).total_seconds() > max(2 * period, 60.0):
        return None
    ref = event.get("involvedObject") or {}
    meta = event.get("metadata") or {}
    return Repeating(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        period=period,
        about=(
            str(ref.get("apiVersion", "v1")),
            str(ref.get("kind", "")),
            str(ref.get("namespace", "")),
            str(ref.get("name", "")),
            str(ref.get("uid", "")),
        ),
    )


class Liveness:
    """Advances heartbeats, leases and repeating events of one store (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        declared_dead: Callable[[str], bool] = lambda _node: False,
    ) -> None:
        self.store = store
        self.declared_dead = declared_dead
        """node name -> True when the scenario declared its lease stale (and nothing fixed it since)."""
        self._heap: list[tuple[datetime, str, str]] = []  # (due, "node"|"lease", name)
        self._repeating: list[Repeating] = []
        self._started = False
        self._ready: dict[str, tuple[bytes, str]] = {}  # node -> (stored bytes, Ready status)

    def start(self, now: datetime) -> None:
        """Learn what beats and what repeats, as of `now` (called once, lazily)."""
        self._started = True
        for obj in self.store.objects(NODES):
            doc = obj.doc()
            self._ready[obj.name] = (obj.item, ready_status(doc))
            beat = _heartbeat(doc) or now
            heapq.heappush(self._heap, (beat + timedelta(seconds=HEARTBEAT_S), "node", obj.name))
        for obj in self.store.objects(LEASES, LEASE_NAMESPACE):
            renew = parse_time((obj.doc().get("spec") or {}).get("renewTime")) or now
            heapq.heappush(self._heap, (renew + timedelta(seconds=LEASE_RENEW_S), "lease", obj.name))
        for obj in self.store.objects(EVENTS):
            found = repeating_event(obj.doc(), now)
            if found is not None:
                self._repeating.append(found)

    def catch_up(self, now: datetime) -> int:
        """Bring everything alive to `now`; returns the number of objects written."""
        if not self._started:
            self.start(now)
        written = 0
        while self._heap and self._heap[0][0] <= now:
            _due, what, name = heapq.heappop(self._heap)
            if what == "node":
                written += self._beat_node(name, now)
            else:
                written += self._renew_lease(name, now)
        written += self._repeat_events(now)
        return written

    # --- nodes and leases ---------------------------------------------------------------------

    def _node_ready(self, name: str) -> str | None:
        obj = self.store.find(NODES, "", name)
        if obj is None:
            return None
        cached = self._ready.get(name)
        if cached is not None and cached[0] is obj.item:
            return cached[1]
        status = ready_status(obj.doc())
        self._ready[name] = (obj.item, status)
        return status

    def _beat_node(self, name: str, now: datetime) -> int:
        obj = self.store.find(NODES, "", name)
        if obj is None:
            return 0  # deleted: its heap entry ends here
        doc = obj.doc()
        last = _heartbeat(doc)
        if ready_status(doc) == "Unknown" or last is None:
            heapq.heappush(self._heap, (now + timedelta(seconds=HEARTBEAT_S), "node", name))
            return 0
        beat = next_beat(last, now, HEARTBEAT_S)
        if beat is None:
            heapq.heappush(self._heap, (last + timedelta(seconds=HEARTBEAT_S), "node", name))
            return 0
        stamp = rfc3339(beat)
        for cond in (doc.get("status") or {}).get("conditions") or []:
            if cond.get("type") in KUBELET_CONDITIONS and "lastHeartbeatTime" in cond:
                cond["lastHeartbeatTime"] = stamp
        stored = self.store.put(doc, rtype=NODES)
        self._ready[name] = (stored.item, ready_status(doc))
        heapq.heappush(self._heap, (beat + timedelta(seconds=HEARTBEAT_S), "node", name))
        return 1

    def _renew_lease(self, name: str, now: datetime) -> int:
        obj = self.store.find(LEASES, LEASE_NAMESPACE, name)
        if obj is None:
            return 0
        retry = (now + timedelta(seconds=LEASE_RENEW_S), "lease", name)
        if self._node_ready(name) in (None, "Unknown") or self.declared_dead(name):
            heapq.heappush(self._heap, retry)
            return 0
        doc = obj.doc()
        spec = doc.setdefault("spec", {})
        last = parse_time(spec.get("renewTime"))
        if last is None or (now - last).total_seconds() > 4 * LEASE_RENEW_S:
            renew = now  # coming back after a silence: renewed right away
        else:
            beat = next_beat(last, now, LEASE_RENEW_S)
            if beat is None:
                heapq.heappush(self._heap, (last + timedelta(seconds=LEASE_RENEW_S), "lease", name))
                return 0
            renew = beat
        spec["renewTime"] = micro_time(renew)
        self.store.put(doc, rtype=LEASES)
        heapq.heappush(self._heap, (renew + timedelta(seconds=LEASE_RENEW_S), "lease", name))
        return 1

    # --- events -------------------------------------------------------------------------------

    def _repeat_events(self, now: datetime) -> int:
        written = 0
        still: list[Repeating] = []
        for rep in self._repeating:
            obj = self.store.find(EVENTS, rep.namespace, rep.name)
            if obj is None or not self._about_alive(rep):
                continue  # the event or what it is about went away: it stops
            still.append(rep)
            doc = obj.doc()
            last = parse_time(doc.get("lastTimestamp"))
            if last is None:
                continue
            steps = math.floor((now - last).total_seconds() / rep.period)
            if steps < 1:
                continue
            doc["count"] = int(doc.get("count") or 1) + steps
            doc["lastTimestamp"] = rfc3339(last + timedelta(seconds=steps * rep.period))
            self.store.put(doc, rtype=EVENTS)
            written += 1
        self._repeating = still
        return written

    def _about_alive(self, rep: Repeating) -> bool:
        api_version, kind, namespace, name, uid = rep.about
        rtype = type_for_object(api_version, kind)
        if rtype is None:
            return False
        obj = self.store.find(rtype, namespace if rtype.namespaced else "", name)
        if obj is None:
            return False
        doc = obj.doc()
        have = str((doc.get("metadata") or {}).get("uid", ""))
        if uid and uid not in (have, name):  # kubelet node events carry the node name as uid
            return False
        if rtype is PODS:
            return not _pod_ready(doc)
        return True


def _heartbeat(node: Json) -> datetime | None:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return parse_time(cond.get("lastHeartbeatTime"))
    return None


def _pod_ready(pod: Json) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False
