"""Generate a realistic IKS/ROKS cluster from a scenario, into a `Store`.

Healthy workers are stamped out of one pre-encoded JSON template per kind (Node, calico-node Pod,
Lease, Calico Node): the template is encoded once with `@@name@@` placeholders and every worker is
a join of byte slices and its own values, so 5,000 workers take a second or two. The scenario's
broken workers are rendered the same way, decoded, deep-merged with the scenario's overrides and
re-encoded. Cluster-level objects (namespaces, DaemonSet, typha and friends, Calico and operator
custom resources, RBAC, Services) are plain documents.

The shapes follow what an IKS cluster really returns: IBM labels under `ibm-cloud.kubernetes.io/`,
node names = private IPs, `managedFields`, the operator era (`calico-system`, Tigera operator
v1.32+, HTTP liveness) versus the manifest era (`kube-system`, exec liveness, `upgrade-ipam` and
IBM's `calico-extension` init containers).
"""

from __future__ import annotations

import copy
import hashlib
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.sim.scenario import BrokenWorker, Scenario, ScenarioError, calico_log_time, resolve, rfc3339
from bot.sim.store import (
    Json,
    ResourceType,
    Store,
    decode,
    encode,
    find_type,
    merge_patch,
    type_for_object,
)

REGISTRY = "us.icr.io/armada-master/"
ACCOUNT = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
AUTODETECT_INTERFACES = "(^bond0$|^eth0$|^ens6$|^ens3$)"
IPPOOL_CIDR = "172.30.0.0/16"
K8S_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_QUOTED_POD = re.compile(r"\b([a-z0-9][-a-z0-9.]*)_([a-z0-9][-a-z0-9]*)\(([0-9a-f]{8}-[0-9a-f-]{27})\)")
"""A pod quoted the kubelet's way: `<name>_<namespace>(<uid>)` (back-off messages)."""


def rtype(plural: str, group: str = "") -> ResourceType:
    found = find_type(group, plural)
    assert found is not None, (group, plural)
    return found


NODES, PODS, LEASES, EVENTS = (
    rtype("nodes"),
    rtype("pods"),
    rtype("leases", "coordination.k8s.io"),
    rtype("events"),
)
DAEMONSETS, DEPLOYMENTS = rtype("daemonsets", "apps"), rtype("deployments", "apps")
CALICO_NODES = rtype("nodes", "crd.projectcalico.org")
TIGERA_STATUSES = rtype("tigerastatuses", "operator.tigera.io")


def P(name: str) -> str:
    """A template placeholder."""
    return f"@@{name}@@"


def json_values(values: dict[str, str]) -> dict[str, bytes]:
    """Placeholder values as they go inside a JSON string (escaped: a zone name may hold anything)."""
    return {k: encode(v)[1:-1] for k, v in values.items()}


class Template:
    """Encoded JSON with `@@name@@` placeholders inside strings; `render` joins slices and values."""

    _split = re.compile(rb"@@([a-z0-9_]+)@@")

    def __init__(self, doc: Json) -> None:
        parts = self._split.split(encode(doc))
        self.literals: list[bytes] = parts[0::2]
        self.names: list[str] = [p.decode() for p in parts[1::2]]

    def render(self, values: dict[str, bytes]) -> bytes:
        out = [self.literals[0]]
        for name, literal in zip(self.names, self.literals[1:], strict=True):
            out.append(values[name])
            out.append(literal)
        return b"".join(out)


# --- managedFields --------------------------------------------------------------------------

_MERGE_KEYS = ("name", "type", "ip", "containerPort", "mountPath", "uid")


def fields_v1(obj: Any) -> Json:
    """The `fieldsV1` set a server-side field manager records for `obj` (maps and keyed lists)."""
    out: Json = {}
    if not isinstance(obj, dict):
        return out
    for key, value in obj.items():
        entry: Json = {}
        if isinstance(value, dict):
            entry = {".": {}, **fields_v1(value)} if value else {}
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for mkey in _MERGE_KEYS:
                if all(mkey in v for v in value):
                    for item in value:
                        ident = {mkey: item[mkey]}
                        if mkey == "containerPort" and "protocol" in item:
                            ident["protocol"] = item["protocol"]
                        entry["k:" + encode(ident).decode()] = {".": {}, **fields_v1(item)}
                    break
        out["f:" + key] = entry
    return out


def managed(
    manager: str,
    time: str,
    fields: Json,
    *,
    operation: str = "Update",
    subresource: str = "",
    api_version: str = "v1",
) -> Json:
    entry: Json = {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }
    if subresource:
        entry["subresource"] = subresource
    return entry


# --- cluster facts --------------------------------------------------------------------------

_CALICO = {
    28: ("v3.26.4", ""),
    29: ("v3.27.4", "v1.32.10"),
    30: ("v3.27.4", "v1.32.10"),
    31: ("v3.29.3", "v1.36.5"),
    32: ("v3.29.3", "v1.36.5"),
}
_KUBE_PATCH = {25: 16, 26: 15, 27: 16, 28: 15, 29: 10, 30: 6, 31: 4, 32: 2}


@dataclass(frozen=True)
class Facts:
    scenario: Scenario
    cluster: str
    cluster_id: str
    minor: int
    ns: str
    zones: tuple[str, ...]
    now: datetime

    @property
    def operator_era(self) -> bool:
        return self.ns == "calico-system"

    @property
    def vpc(self) -> bool:
        return self.scenario.cluster.is_vpc

    @property
    def roks(self) -> bool:
        return self.scenario.cluster.platform == "roks"

    @property
    def kube_version(self) -> str:
        return f"1.{self.minor}.{_KUBE_PATCH.get(self.minor, 3)}"

    @property
    def kubelet(self) -> str:
        return f"v{self.kube_version}+IKS"

    @property
    def worker_version(self) -> str:
        return f"{self.kube_version}_{1530 + self.minor}"

    @property
    def calico(self) -> str:
        if self.minor <= 28:
            return _CALICO[28][0]
        return _CALICO.get(self.minor, ("v3.30.2", "v1.38.3"))[0]

    @property
    def operator(self) -> str:
        return _CALICO.get(self.minor, ("v3.30.2", "v1.38.3"))[1] or "v1.32.10"

    @property
    def region(self) -> str:
        return self.scenario.cluster.region

    @property
    def machine_type(self) -> str:
        if self.scenario.workers.machine_type:
            return self.scenario.workers.machine_type
        return "bx2.4x16" if self.vpc else "b3c.4x16.encrypted"

    @property
    def cidr_bits(self) -> int:
        return 24 if self.vpc else 26

    @property
    def interface(self) -> str:
        return "ens3" if self.vpc else "eth0"

    def image(self, name: str, tag: str | None = None) -> str:
        return f"{REGISTRY}{name}:{tag or self.calico}"


def cluster_id_for(name: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()
    alphabet = "0123456789abcdefghijklmnopqrstuv"
    return "".join(alphabet[int(digest[i : i + 2], 16) % 32] for i in range(0, 40, 2))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def operator_typha_replicas(nodes: int) -> int:
    """The Tigera operator's typha count: <=2 nodes -> 1, <=4 -> 2, else nodes//200 + 2, at least 3."""
    if nodes <= 2:
        return 1
    if nodes <= 4:
        return 2
    return max(3, nodes // 200 + 2)


# --- workers --------------------------------------------------------------------------------


@dataclass
class Worker:
    index: int
    name: str
    zone: str
    zone_index: int
    pool: str
    worker_id: str
    pool_id: str
    broken: BrokenWorker | None
    values: dict[str, str] = field(default_factory=dict)

    @property
    def pod_name(self) -> str:
        return self.values["pod_name"]


class ClusterBuilder:
    """Builds one simulated cluster into a store and keeps what later changes need."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        store: Store,
        nodes: int | None,
        now: datetime,
        seed: int | None = None,
        cluster_name: str | None = None,
    ) -> None:
        cluster = cluster_name or scenario.cluster.name
        minor = scenario.cluster.minor
        if scenario.cluster.version.startswith("4."):  # ROKS: OpenShift 4.x = Kubernetes 1.(x+13)
            minor += 13
        self.facts = Facts(
            scenario=scenario,
            cluster=cluster,
            cluster_id=scenario.cluster.id or cluster_id_for(cluster),
            minor=minor,
            ns=scenario.calico_namespace,
            zones=scenario.zones(),
            now=now,
        )
        self.scenario = scenario
        self.store = store
        self.now = now
        total = scenario.workers.count if nodes is None else nodes
        self.total = max(total, len(scenario.broken_workers))
        base_seed = seed if seed is not None else int(_sha(f"{scenario.name}/{cluster}")[:8], 16)
        self.rng = random.Random(base_seed)  # noqa: S311 - reproducible fake data, not security
        self._used_suffixes: set[str] = set()
        self.workers: list[Worker] = []
        self.by_node: dict[str, Worker] = {}
        self.pinned: set[tuple[str, str, str]] = set()
        self.fixed_nodes: set[str] = set()  # broken workers an IKS action fixed (stay healthy)
        self.daemonset_doc: Json | None = None  # calico-node DaemonSet as generated (master refresh)
        self.uids: dict[str, str] = {}
        self.variables: dict[str, str] = {}
        self.calico_pod_ready: dict[str, bool] = {}
        self.calico_pod_failing: dict[str, str] = {}
        self._templates: dict[str, Template] = {}
        self.rollout_time = now - timedelta(days=3, hours=4, minutes=12)
        self.install_time = now - timedelta(days=41, hours=2)

    # --- small helpers ---------------------------------------------------------------------

    def uid(self, key: str = "") -> str:
        value = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if key:
            self.uids[key] = value
        return value

    def suffix(self, n: int = 5) -> str:
        """A generateName-style suffix, never repeated (the apiserver retries on a collision too)."""
        while True:
            value = "".join(self.rng.choice(K8S_SUFFIX_ALPHABET) for _ in range(n))
            if value not in self._used_suffixes:
                self._used_suffixes.add(value)
                return value

    def hex(self, n: int) -> str:
        return f"{self.rng.getrandbits(n * 4):0{n}x}"

    def ts(self, when: datetime) -> str:
        return rfc3339(when)

    def ago(self, **kw: float) -> str:
        return rfc3339(self.now - timedelta(**kw))

    # --- building --------------------------------------------------------------------------

    def build(self) -> None:
        self.store.absent_groups = set(self.scenario.absent_api_groups)
        self.uid("ds")
        self.uid("installation")
        self._plan_workers()
        self._namespaces()
        self._workers()
        self._cluster_objects()
        self._broken_events()
        self._apply_objects()
        self._link_uids()
        self.refresh_derived()

    def _plan_workers(self) -> None:
        f = self.facts
        zones, pools = f.zones, self.scenario.workers.pools
        cname = re.sub(r"[^a-z0-9]", "", f.cluster.lower())[:10] or "cluster"
        per_zone = [0] * len(zones)  # generated IPs handed out per zone
        load = [0] * len(zones)  # workers placed per zone (spread evenly, broken ones included)
        used = {b.name for b in self.scenario.broken_workers if b.name}
        for index in range(self.total):
            broken = (
                self.scenario.broken_workers[index] if index < len(self.scenario.broken_workers) else None
            )
            if broken is not None and broken.zone in zones:
                zone_index = zones.index(broken.zone)
            else:
                zone_index = load.index(min(load))
            load[zone_index] += 1
            zone = broken.zone if broken is not None and broken.zone else zones[zone_index]
            pool = broken.pool if broken is not None and broken.pool else pools[index % len(pools)]
            if broken is not None and broken.name:
                name = broken.name
            else:
                while True:
                    name = self._ip(zone_index, per_zone[zone_index])
                    per_zone[zone_index] += 1
                    if name not in used:
                        break
            used.add(name)
            worker = Worker(
                index=index,
                name=name,
                zone=zone,
                zone_index=zone_index,
                pool=pool,
                worker_id=f"kube-{f.cluster_id}-{cname}-{pool[:10]}-{index + 1:08d}",
                pool_id=f"{f.cluster_id}-{_sha(pool)[:5]}",
                broken=broken,
            )
            self.workers.append(worker)
            self.by_node[name] = worker
        for worker in self.workers:
            worker.values = self._worker_values(worker)

    def _ip(self, zone_index: int, k: int) -> str:
        if self.facts.vpc:
            return f"10.240.{zone_index * 64 + k // 250}.{4 + k % 250}"
        return f"10.{188 + zone_index}.{156 + k // 250}.{4 + k % 250}"

    def _worker_values(self, w: Worker) -> dict[str, str]:
        rng = self.rng
        now = self.now
        node_created = now - timedelta(days=30 + rng.randint(0, 12), seconds=rng.randint(0, 86_000))
        pod_created = self.rollout_time + timedelta(seconds=rng.randint(0, 900))
        started = pod_created + timedelta(seconds=1 + rng.randint(0, 3))
        init1 = started + timedelta(seconds=1)
        init2 = init1 + timedelta(seconds=2 + rng.randint(0, 4))
        main_start = init2 + timedelta(seconds=1)
        ready_at = main_start + timedelta(seconds=8 + rng.randint(0, 20))
        block = (w.index % 1024) * 64
        renew = now - timedelta(seconds=rng.randint(1, 9), microseconds=rng.randint(0, 999_999))
        return {
            "ip": w.name,
            "zone": w.zone,
            "pool": w.pool,
            "pool_id": w.pool_id,
            "worker_id": w.worker_id,
            "node_uid": self.uid(),
            "node_rv": str(self.store.next_rv()),
            "node_created": rfc3339(node_created),
            "node_ready_since": rfc3339(node_created + timedelta(minutes=2, seconds=rng.randint(0, 50))),
            "heartbeat": rfc3339(now - timedelta(seconds=rng.randint(2, 55))),
            "boot_id": self.uid(),
            "machine_id": self.hex(32),
            "system_uuid": self.uid().upper(),
            "tunnel_ip": f"172.30.{block // 256}.{block % 256}",
            "public_ip": f"169.{45 + w.zone_index}.{(w.index // 250) % 256}.{4 + w.index % 250}",
            "private_vlan": str(2918270 + w.zone_index * 7),
            "public_vlan": str(2918268 + w.zone_index * 7),
            "subnet_id": f"0717-{_sha(w.zone)[:8]}-{_sha(w.zone)[8:12]}-{_sha(w.zone)[12:16]}",
            "instance_id": f"0717_{self.uid()}",
            "pod_name": "calico-node-" + self.suffix(),
            "pod_uid": self.uid(),
            "pod_rv": str(self.store.next_rv()),
            "pod_created": rfc3339(pod_created),
            "pod_started": rfc3339(started),
            "init1_started": rfc3339(init1),
            "init1_finished": rfc3339(init1 + timedelta(seconds=1)),
            "init2_started": rfc3339(init2 - timedelta(seconds=1)),
            "init2_finished": rfc3339(init2),
            "main_started": rfc3339(main_start),
            "ready_at": rfc3339(ready_at),
            "cid1": self.hex(64),
            "cid2": self.hex(64),
            "cid3": self.hex(64),
            "cid4": self.hex(64),
            "cid5": self.hex(64),
            "api_access": "kube-api-access-" + self.suffix(),
            "lease_uid": self.uid(),
            "lease_rv": str(self.store.next_rv()),
            "renew": renew.strftime("%Y-%m-%dT%H:%M:%S.") + f"{renew.microsecond:06d}Z",
            "renew_s": renew.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "cnode_uid": self.uid(),
            "cnode_rv": str(self.store.next_rv()),
        }

    def _template(self, kind: str) -> Template:
        tpl = self._templates.get(kind)
        if tpl is None:
            placeholder = {k: P(k) for k in self.workers[0].values} if self.workers else {}
            builders: dict[str, Callable[[dict[str, str]], Json]] = {
                "node": self.node_doc,
                "pod": self.calico_pod_doc,
                "lease": self.lease_doc,
                "cnode": self.calico_node_cr_doc,
            }
            tpl = self._templates[kind] = Template(builders[kind](placeholder))
        return tpl

    def _render(self, kind: str, values: dict[str, str]) -> bytes:
        return self._template(kind).render(json_values(values))

    def worker_variables(self, w: Worker) -> dict[str, str]:
        peers = [o.name for o in self.workers if o is not w][:8]
        return {
            "node": w.name,
            "ip": w.name,
            "pod": w.pod_name,
            "pod_uid": w.values["pod_uid"],
            "ns": self.facts.ns,
            "worker_id": w.worker_id,
            "zone": w.zone,
            "pool": w.pool,
            "cluster": self.facts.cluster,
            "cluster_id": self.facts.cluster_id,
            "node_uid": w.values["node_uid"],
            "peers": ",".join(peers),
            "calico_version": self.facts.calico,
            "calico_image": self.facts.image("calico/node"),
            "cni_image": self.facts.image("calico/cni"),
        }

    def _workers(self) -> None:
        f = self.facts
        store = self.store
        self.variables = {"cluster": f.cluster, "cluster_id": f.cluster_id, "ns": f.ns}
        for i, w in enumerate(self.workers):
            if w.broken is not None:
                for key, value in self.worker_variables(w).items():
                    self.variables[f"{key}_{i}"] = value
        for w in self.workers:
            values = json_values(w.values)
            node = self._template("node").render(values)
            pod = self._template("pod").render(values)
            lease = self._template("lease").render(values)
            cnode = self._template("cnode").render(values)
            if w.broken is None:
                store.put_raw(NODES, "", w.name, node)
                store.put_raw(PODS, f.ns, w.pod_name, pod)
                store.put_raw(LEASES, "kube-node-lease", w.name, lease)
                self.calico_pod_ready[w.pod_name] = True
            else:
                variables = self.worker_variables(w)
                b = w.broken
                store.put(self._override(decode(node), b.node, variables), rtype=NODES, bump=False)
                pod_doc = api_defaults(self._override(decode(pod), b.calico_node, variables), pod=True)
                w.values["pod_name"] = str(pod_doc["metadata"]["name"])  # a scenario may pin the name
                w.values["pod_uid"] = str(pod_doc["metadata"].get("uid", w.values["pod_uid"]))
                store.put(pod_doc, rtype=PODS, bump=False)
                self._track_pod(pod_doc)
                store.put(
                    lease_micro_times(self._override(decode(lease), b.lease, variables)),
                    rtype=LEASES,
                    bump=False,
                )
                waiting_after_crash = crash_waiting_containers(pod_doc)
                for key, text in b.logs.items():
                    container, _, prev = key.partition("/")
                    if prev not in ("", "previous"):
                        raise ScenarioError(
                            f"{self.scenario.source}: logs key {key!r}: use <container> or "
                            "<container>/previous"
                        )
                    if prev and container in waiting_after_crash:
                        raise ScenarioError(
                            f"{self.scenario.source}: logs key {key!r}: {container} is waiting to restart after "
                            f"a crash, so the kubelet serves its last terminated run both as its log and as "
                            f"--previous: give that run as {container!r} only"
                        )
                    body = resolve(text, self.now, variables, log_times=True)
                    store.set_log(
                        f.ns,
                        w.pod_name,
                        container,
                        body if body.endswith("\n") else body + "\n",
                        previous=prev == "previous",
                    )
            store.put_raw(CALICO_NODES, "", w.name, cnode)

    def _override(self, doc: Json, overrides: Json, variables: dict[str, str]) -> Json:
        if not overrides:
            return doc
        result: Json = merge_patch(doc, resolve(overrides, self.now, variables))
        return result

    def _track_pod(self, pod: Json) -> None:
        name = pod["metadata"]["name"]
        self.calico_pod_ready[name] = pod_ready(pod)
        failing = pod_failing_message(pod)
        if failing:
            self.calico_pod_failing[name] = failing
        else:
            self.calico_pod_failing.pop(name, None)

    def recreates_broken(self, node_name: str) -> bool:
        """Whether a calico-node pod the DaemonSet recreates on this worker is broken again."""
        w = self.by_node.get(node_name)
        return (
            w is not None
            and w.broken is not None
            and w.broken.after_pod_delete == "broken"
            and node_name not in self.fixed_nodes
        )

    def fresh_calico_pod(self, node_name: str, *, broken: bool | None = None) -> Json | None:
        """What the DaemonSet creates after its pod on `node_name` was deleted (None: not a worker).

        `broken`: apply the broken worker's `calico_node` overrides (None: as `after_pod_delete` says).
        """
        w = self.by_node.get(node_name)
        if w is None:
            return None
        if broken is None:
            broken = self.recreates_broken(node_name)
        values = dict(w.values)
        start = self.store.now()
        values.update(
            {
                "pod_name": "calico-node-" + self.suffix(),
                "pod_uid": self.uid(),
                "pod_rv": "1",
                "pod_created": rfc3339(start),
                "pod_started": rfc3339(start),
                "init1_started": rfc3339(start + timedelta(seconds=1)),
                "init1_finished": rfc3339(start + timedelta(seconds=1)),
                "init2_started": rfc3339(start + timedelta(seconds=1)),
                "init2_finished": rfc3339(start + timedelta(seconds=2)),
                "main_started": rfc3339(start + timedelta(seconds=2)),
                "ready_at": rfc3339(start + timedelta(seconds=2)),
                "cid1": self.hex(64),
                "cid2": self.hex(64),
                "cid3": self.hex(64),
                "cid4": self.hex(64),
                "api_access": "kube-api-access-" + self.suffix(),
            }
        )
        doc: Json = decode(self._render("pod", values))
        if broken and w.broken is not None:
            variables = self.worker_variables(w) | {"pod": values["pod_name"], "pod_uid": values["pod_uid"]}
            doc = api_defaults(self._override(doc, w.broken.calico_node, variables), pod=True)
        w.values["pod_name"], w.values["pod_uid"] = values["pod_name"], values["pod_uid"]
        return doc

    def copy_broken_logs(self, node_name: str) -> None:
        """Give the worker's current calico-node pod the broken worker's scenario `logs:`."""
        w = self.by_node.get(node_name)
        if w is None or w.broken is None:
            return
        variables = self.worker_variables(w)
        for key, text in w.broken.logs.items():
            container, _, prev = key.partition("/")
            body = resolve(text, self.store.now(), variables, log_times=True)
            self.store.set_log(
                self.facts.ns,
                w.pod_name,
                container,
                body if body.endswith("\n") else body + "\n",
                previous=prev == "previous",
            )

    def healthy_node_conditions(self, node_name: str) -> list[Json]:
        """A healthy worker's Node conditions, heartbeats now and Ready/NetworkUnavailable changed now."""
        w = self.by_node.get(node_name)
        if w is None:
            return []
        stamp = rfc3339(self.store.now())
        conditions: list[Json] = (decode(self._render("node", w.values)).get("status") or {}).get(
            "conditions"
        ) or []
        for cond in conditions:
            if "lastHeartbeatTime" in cond:
                cond["lastHeartbeatTime"] = stamp
            if cond.get("type") in ("Ready", "NetworkUnavailable"):
                cond["lastTransitionTime"] = stamp
        return conditions

    # --- per-worker documents (called once with placeholders to build the templates) --------

    def node_labels(self, v: dict[str, str]) -> dict[str, str]:
        f = self.facts
        labels = {
            "arch": "amd64",
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/instance-type": f.machine_type,
            "beta.kubernetes.io/os": "linux",
            "failure-domain.beta.kubernetes.io/region": f.region,
            "failure-domain.beta.kubernetes.io/zone": v["zone"],
            "ibm-cloud.kubernetes.io/encrypted-docker-data": "true",
            "ibm-cloud.kubernetes.io/ha-worker": "true",
            "ibm-cloud.kubernetes.io/iaas-provider": "g2" if f.vpc else "softlayer",
            "ibm-cloud.kubernetes.io/internal-ip": v["ip"],
            "ibm-cloud.kubernetes.io/machine-type": f.machine_type,
            "ibm-cloud.kubernetes.io/os": "RHCOS" if f.roks else "UBUNTU_24_64",
            "ibm-cloud.kubernetes.io/region": f.region,
            "ibm-cloud.kubernetes.io/sgx-enabled": "false",
            "ibm-cloud.kubernetes.io/worker-id": v["worker_id"],
            "ibm-cloud.kubernetes.io/worker-pool-id": v["pool_id"],
            "ibm-cloud.kubernetes.io/worker-pool-name": v["pool"],
            "ibm-cloud.kubernetes.io/worker-version": f.worker_version,
            "ibm-cloud.kubernetes.io/zone": v["zone"],
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": v["ip"],
            "kubernetes.io/os": "linux",
            "node.kubernetes.io/instance-type": f.machine_type,
            "topology.kubernetes.io/region": f.region,
            "topology.kubernetes.io/zone": v["zone"],
        }
        if f.vpc:
            labels["ibm-cloud.kubernetes.io/subnet-id"] = v["subnet_id"]
            labels["ibm-cloud.kubernetes.io/vpc-instance-id"] = v["instance_id"]
            labels["vpc-block-csi-driver-labels"] = "true"
        else:
            labels["ibm-cloud.kubernetes.io/external-ip"] = v["public_ip"]
            labels["privateVLAN"] = v["private_vlan"]
            labels["publicVLAN"] = v["public_vlan"]
        if f.roks:
            labels["node-role.kubernetes.io/worker"] = ""
            labels["node.openshift.io/os_id"] = "rhcos"
        return dict(sorted(labels.items()))

    def node_images(self) -> list[Json]:
        f = self.facts
        names = [
            ("calico/node", f.calico, 142_380_112),
            ("calico/cni", f.calico, 94_228_360),
            ("calico/pod2daemon-flexvol", f.calico, 7_162_904),
            ("calico/typha", f.calico, 31_118_822),
            ("calico/kube-controllers", f.calico, 33_417_264),
            ("calico-extension", "1.2.41", 18_551_290),
            ("coredns", "1.11.3", 18_562_039),
            ("metrics-server", "v0.7.2", 19_494_617),
            ("ibm-keepalived-watcher", "1810", 9_840_123),
            ("konnectivity-agent", "v0.30.3", 8_723_654),
            ("pause", "3.9", 321_520),
            ("ibmcloud-block-storage-plugin", "1.9.15", 40_119_228),
            ("ibmcloud-block-storage-driver", "1.7.21", 38_220_031),
            ("csi-node-driver-registrar", "v2.12.0", 12_380_640),
            ("livenessprobe", "v2.14.0", 11_962_017),
            ("vpc-block-csi-driver", "v5.2.12", 53_180_332),
            ("ibm-file-plugin", "422", 61_204_178),
            ("storage-watcher", "422", 29_102_771),
            ("ingress-auth", "1.4.0", 14_301_262),
            ("alb-health-check", "1.1.12", 10_772_201),
            ("kube-state-metrics", "v2.13.0", 22_107_845),
            ("cluster-proportional-autoscaler", "v1.8.9", 13_501_876),
            ("sysdig-agent-slim", "13.5.1", 211_300_511),
            ("logdna-agent", "3.10.2", 51_877_322),
            ("node-local-dns", "1.23.1", 30_145_998),
            ("tigera/operator", f.operator, 70_120_458),
        ]
        images = []
        for name, tag, size in names:
            repo = REGISTRY + name
            images.append(
                {"names": [f"{repo}@sha256:{_sha(repo + tag)}", f"{repo}:{tag}"], "sizeBytes": size}
            )
        return images

    def node_doc(self, v: dict[str, str]) -> Json:
        f = self.facts
        annotations = {
            "node.alpha.kubernetes.io/ttl": "0",
            "projectcalico.org/IPv4Address": f"{v['ip']}/{f.cidr_bits}",
            "projectcalico.org/IPv4IPIPTunnelAddr": v["tunnel_ip"],
            "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        }
        if f.vpc:
            annotations["csi.volume.kubernetes.io/nodeid"] = (
                '{"vpc.block.csi.ibm.io":"' + v["instance_id"] + '"}'
            )
        conditions = [
            {
                "type": "NetworkUnavailable",
                "status": "False",
                "lastHeartbeatTime": v["main_started"],
                "lastTransitionTime": v["main_started"],
                "reason": "CalicoIsUp",
                "message": "Calico is running on this node",
            },
            {
                "type": "MemoryPressure",
                "status": "False",
                "lastHeartbeatTime": v["heartbeat"],
                "lastTransitionTime": v["node_ready_since"],
                "reason": "KubeletHasSufficientMemory",
                "message": "kubelet has sufficient memory available",
            },
            {
                "type": "DiskPressure",
                "status": "False",
                "lastHeartbeatTime": v["heartbeat"],
                "lastTransitionTime": v["node_ready_since"],
                "reason": "KubeletHasNoDiskPressure",
                "message": "kubelet has no disk pressure",
            },
            {
                "type": "PIDPressure",
                "status": "False",
                "lastHeartbeatTime": v["heartbeat"],
                "lastTransitionTime": v["node_ready_since"],
                "reason": "KubeletHasSufficientPID",
                "message": "kubelet has sufficient PID available",
            },
            {
                "type": "Ready",
                "status": "True",
                "lastHeartbeatTime": v["heartbeat"],
                "lastTransitionTime": v["node_ready_since"],
                "reason": "KubeletReady",
                "message": "kubelet is posting ready status",
            },
        ]
        addresses = [{"type": "InternalIP", "address": v["ip"]}]
        if not f.vpc:
            addresses.append({"type": "ExternalIP", "address": v["public_ip"]})
        addresses.append({"type": "Hostname", "address": v["ip"]})
        status: Json = {
            "capacity": {
                "cpu": "4",
                "ephemeral-storage": "101430960Ki",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": "16380460Ki",
                "pods": "110",
            },
            "allocatable": {
                "cpu": "3910m",
                "ephemeral-storage": "94743938007",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": "13594668Ki",
                "pods": "110",
            },
            "conditions": conditions,
            "addresses": addresses,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": v["machine_id"],
                "systemUUID": v["system_uuid"],
                "bootID": v["boot_id"],
                "kernelVersion": "5.14.0-427.42.1.el9_4.x86_64" if f.roks else "6.8.0-49-generic",
                "osImage": "Red Hat Enterprise Linux CoreOS 416.94" if f.roks else "Ubuntu 24.04.1 LTS",
                "containerRuntimeVersion": "cri-o://1.29.10" if f.roks else "containerd://1.7.23",
                "kubeletVersion": f.kubelet,
                "kubeProxyVersion": f.kubelet,
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
            "images": self.node_images(),
        }
        labels = self.node_labels(v)
        meta: Json = {
            "name": v["ip"],
            "uid": v["node_uid"],
            "resourceVersion": v["node_rv"],
            "creationTimestamp": v["node_created"],
            "labels": labels,
            "annotations": annotations,
        }
        kubelet_meta = {
            "annotations": {k: "" for k in annotations if k.startswith("volumes.") or k.startswith("csi.")},
            "labels": {k: "" for k in labels if not k.startswith("ibm-cloud") and "VLAN" not in k},
        }
        meta["managedFields"] = [
            managed("kubelet", v["node_created"], fields_v1({"metadata": kubelet_meta})),
            managed(
                "kube-controller-manager",
                v["node_ready_since"],
                fields_v1({"metadata": {"annotations": {"node.alpha.kubernetes.io/ttl": ""}}}),
            ),
            managed(
                "armada-worker-labels",
                v["node_ready_since"],
                fields_v1({"metadata": {"labels": {k: "" for k in labels if k.startswith("ibm-cloud")}}}),
            ),
            managed(
                "calico-node",
                v["main_started"],
                fields_v1(
                    {
                        "metadata": {"annotations": {k: "" for k in annotations if "projectcalico" in k}},
                        "status": {"conditions": [conditions[0]]},
                    }
                ),
                subresource="status",
            ),
            managed(
                "kubelet",
                v["heartbeat"],
                fields_v1(
                    {
                        "status": {
                            k: status[k]
                            for k in ("allocatable", "capacity", "conditions", "daemonEndpoints", "nodeInfo")
                        }
                    }
                ),
                subresource="status",
            ),
        ]
        return {
            "metadata": meta,
            "spec": {"providerID": f"ibm://{ACCOUNT}///{f.cluster_id}/{v['worker_id']}"},
            "status": status,
        }

    def calico_pod_spec(self, node: str, api_access: str) -> Json:
        """The calico-node pod spec of this era (the DaemonSet template without the node binding)."""
        f = self.facts
        env_ref = {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}
        sec: Json = {
            "privileged": True,
            "allowPrivilegeEscalation": True,
            "capabilities": {"drop": ["ALL"]},
            "runAsGroup": 0,
            "runAsNonRoot": False,
            "runAsUser": 0,
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        common = {
            "imagePullPolicy": "IfNotPresent",
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        }
        sa_mount = {
            "name": api_access,
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
            "readOnly": True,
        }
        if f.operator_era:
            env: list[Json] = [
                {"name": "DATASTORE_TYPE", "value": "kubernetes"},
                {"name": "WAIT_FOR_DATASTORE", "value": "true"},
                {"name": "CLUSTER_TYPE", "value": "k8s,operator,bgp"},
                {"name": "CALICO_DISABLE_FILE_LOGGING", "value": "false"},
                {"name": "FELIX_DEFAULTENDPOINTTOHOSTACTION", "value": "ACCEPT"},
                {"name": "FELIX_HEALTHENABLED", "value": "true"},
                {"name": "FELIX_HEALTHPORT", "value": "9099"},
                {"name": "NODENAME", "valueFrom": env_ref},
                {
                    "name": "NAMESPACE",
                    "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}},
                },
                {"name": "FELIX_TYPHAK8SNAMESPACE", "value": "calico-system"},
                {"name": "FELIX_TYPHAK8SSERVICENAME", "value": "calico-typha"},
                {"name": "FELIX_TYPHACAFILE", "value": "/etc/pki/tls/certs/tigera-ca-bundle.crt"},
                {"name": "FELIX_TYPHACERTFILE", "value": "/node-certs/tls.crt"},
                {"name": "FELIX_TYPHAKEYFILE", "value": "/node-certs/tls.key"},
                {"name": "FIPS_MODE_ENABLED", "value": "false"},
                {"name": "NO_DEFAULT_POOLS", "value": "true"},
                {"name": "FELIX_TYPHACN", "value": "typha-server"},
                {"name": "CALICO_MANAGE_CNI", "value": "true"},
                {"name": "CALICO_NETWORKING_BACKEND", "value": "bird"},
                {"name": "IP", "value": "autodetect"},
                {"name": "IP_AUTODETECTION_METHOD", "value": f"interface={AUTODETECT_INTERFACES}"},
                {"name": "IP6", "value": "none"},
                {"name": "FELIX_IPV6SUPPORT", "value": "false"},
                {"name": "FELIX_IPINIPMTU", "value": "1480"},
            ]
            node_container: Json = {
                "name": "calico-node",
                "image": f.image("calico/node"),
                "env": env,
                "lifecycle": {"preStop": {"exec": {"command": ["/bin/calico-node", "-shutdown"]}}},
                "livenessProbe": {
                    "httpGet": {"host": "localhost", "path": "/liveness", "port": 9099, "scheme": "HTTP"},
                    "timeoutSeconds": 10,
                    "periodSeconds": 60,
                    "successThreshold": 1,
                    "failureThreshold": 3,
                },
                "readinessProbe": {
                    "exec": {"command": ["/bin/calico-node", "-bird-ready", "-felix-ready"]},
                    "timeoutSeconds": 10,
                    "periodSeconds": 30,
                    "successThreshold": 1,
                    "failureThreshold": 3,
                },
                "resources": {},
                "securityContext": sec,
                "volumeMounts": [
                    {"name": "tigera-ca-bundle", "mountPath": "/etc/pki/tls/certs", "readOnly": True},
                    {
                        "name": "tigera-ca-bundle",
                        "mountPath": "/etc/pki/tls/cert.pem",
                        "subPath": "ca-bundle.crt",
                        "readOnly": True,
                    },
                    {"name": "lib-modules", "mountPath": "/lib/modules", "readOnly": True},
                    {"name": "xtables-lock", "mountPath": "/run/xtables.lock"},
                    {"name": "policysync", "mountPath": "/var/run/nodeagent"},
                    {"name": "node-certs", "mountPath": "/node-certs", "readOnly": True},
                    {"name": "var-run-calico", "mountPath": "/var/run/calico"},
                    {"name": "var-lib-calico", "mountPath": "/var/lib/calico"},
                    {"name": "cni-log-dir", "mountPath": "/var/log/calico/cni", "readOnly": True},
                    {"name": "cni-net-dir", "mountPath": "/host/etc/cni/net.d"},
                    sa_mount,
                ],
                **common,
            }
            init = [
                {
                    "name": "flexvol-driver",
                    "image": f.image("calico/pod2daemon-flexvol"),
                    "resources": {},
                    "securityContext": sec,
                    "volumeMounts": [{"name": "flexvol-driver-host", "mountPath": "/host/driver"}, sa_mount],
                    **common,
                },
                {
                    "name": "install-cni",
                    "image": f.image("calico/cni"),
                    "command": ["/opt/cni/bin/install"],
                    "env": [
                        {"name": "CNI_CONF_NAME", "value": "10-calico.conflist"},
                        {"name": "SLEEP", "value": "false"},
                        {"name": "CNI_NET_DIR", "value": "/etc/cni/net.d"},
                        {
                            "name": "CNI_NETWORK_CONFIG",
                            "valueFrom": {"configMapKeyRef": {"key": "config", "name": "cni-config"}},
                        },
                    ],
                    "resources": {},
                    "securityContext": sec,
                    "volumeMounts": [
                        {"name": "cni-bin-dir", "mountPath": "/host/opt/cni/bin"},
                        {"name": "cni-net-dir", "mountPath": "/host/etc/cni/net.d"},
                        sa_mount,
                    ],
                    **common,
                },
            ]
            volumes: list[Json] = [
                {"name": "lib-modules", "hostPath": {"path": "/lib/modules", "type": ""}},
                {"name": "xtables-lock", "hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"}},
                {
                    "name": "policysync",
                    "hostPath": {"path": "/var/run/nodeagent", "type": "DirectoryOrCreate"},
                },
                {"name": "tigera-ca-bundle", "configMap": {"name": "tigera-ca-bundle", "defaultMode": 420}},
                {"name": "node-certs", "secret": {"secretName": "node-certs", "defaultMode": 420}},
                {"name": "var-run-calico", "hostPath": {"path": "/var/run/calico", "type": ""}},
                {"name": "var-lib-calico", "hostPath": {"path": "/var/lib/calico", "type": ""}},
                {"name": "cni-bin-dir", "hostPath": {"path": "/opt/cni/bin", "type": ""}},
                {"name": "cni-net-dir", "hostPath": {"path": "/etc/cni/net.d", "type": ""}},
                {"name": "cni-log-dir", "hostPath": {"path": "/var/log/calico/cni", "type": ""}},
                {
                    "name": "flexvol-driver-host",
                    "hostPath": {
                        "path": "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/nodeagent~uds",
                        "type": "DirectoryOrCreate",
                    },
                },
            ]
            grace = 5
        else:
            cm = {"configMapKeyRef": {"name": "calico-config", "key": "calico_backend"}}
            env = [
                {"name": "DATASTORE_TYPE", "value": "kubernetes"},
                {
                    "name": "FELIX_TYPHAK8SSERVICENAME",
                    "valueFrom": {"configMapKeyRef": {"name": "calico-config", "key": "typha_service_name"}},
                },
                {"name": "WAIT_FOR_DATASTORE", "value": "true"},
                {"name": "NODENAME", "valueFrom": env_ref},
                {"name": "CALICO_NETWORKING_BACKEND", "valueFrom": cm},
                {"name": "CLUSTER_TYPE", "value": "k8s,bgp"},
                {"name": "IP", "value": "autodetect"},
                {"name": "IP_AUTODETECTION_METHOD", "value": f"interface={AUTODETECT_INTERFACES}"},
                {"name": "CALICO_IPV4POOL_IPIP", "value": "CrossSubnet"},
                {
                    "name": "FELIX_IPINIPMTU",
                    "valueFrom": {"configMapKeyRef": {"name": "calico-config", "key": "veth_mtu"}},
                },
                {"name": "CALICO_IPV4POOL_CIDR", "value": IPPOOL_CIDR},
                {"name": "CALICO_DISABLE_FILE_LOGGING", "value": "true"},
                {"name": "FELIX_DEFAULTENDPOINTTOHOSTACTION", "value": "ACCEPT"},
                {"name": "FELIX_IPV6SUPPORT", "value": "false"},
                {"name": "FELIX_LOGSEVERITYSCREEN", "value": "info"},
                {"name": "FELIX_HEALTHENABLED", "value": "true"},
                {"name": "FELIX_PROMETHEUSMETRICSENABLED", "value": "false"},
                {"name": "FELIX_XDPENABLED", "value": "false"},
                {"name": "FELIX_KUBENODEPORTRANGES", "value": "30000:32767"},
            ]
            node_container = {
                "name": "calico-node",
                "image": f.image("calico/node"),
                "env": env,
                "lifecycle": {"preStop": {"exec": {"command": ["/bin/calico-node", "-shutdown"]}}},
                "livenessProbe": {
                    "exec": {"command": ["/bin/calico-node", "-felix-live", "-bird-live"]},
                    "initialDelaySeconds": 10,
                    "timeoutSeconds": 10,
                    "periodSeconds": 10,
                    "successThreshold": 1,
                    "failureThreshold": 6,
                },
                "readinessProbe": {
                    "exec": {"command": ["/bin/calico-node", "-felix-ready", "-bird-ready"]},
                    "timeoutSeconds": 10,
                    "periodSeconds": 10,
                    "successThreshold": 1,
                    "failureThreshold": 3,
                },
                "resources": {"requests": {"cpu": "250m"}},
                "securityContext": {"privileged": True},
                "volumeMounts": [
                    {"name": "cni-net-dir", "mountPath": "/host/etc/cni/net.d"},
                    {"name": "lib-modules", "mountPath": "/lib/modules", "readOnly": True},
                    {"name": "xtables-lock", "mountPath": "/run/xtables.lock"},
                    {"name": "var-run-calico", "mountPath": "/var/run/calico"},
                    {"name": "var-lib-calico", "mountPath": "/var/lib/calico"},
                    {"name": "policysync", "mountPath": "/var/run/nodeagent"},
                    {"name": "sys-fs", "mountPath": "/sys/fs/"},
                    {"name": "bpffs", "mountPath": "/sys/fs/bpf"},
                    {"name": "cni-log-dir", "mountPath": "/var/log/calico/cni", "readOnly": True},
                    sa_mount,
                ],
                **common,
            }
            node_env = {"name": "KUBERNETES_NODE_NAME", "valueFrom": env_ref}
            init = [
                {
                    "name": "upgrade-ipam",
                    "image": f.image("calico/cni"),
                    "command": ["/opt/cni/bin/calico-ipam", "-upgrade"],
                    "env": [node_env, {"name": "CALICO_NETWORKING_BACKEND", "valueFrom": cm}],
                    "resources": {},
                    "securityContext": {"privileged": True},
                    "volumeMounts": [
                        {"name": "host-local-net-dir", "mountPath": "/var/lib/cni/networks"},
                        {"name": "cni-bin-dir", "mountPath": "/host/opt/cni/bin"},
                        sa_mount,
                    ],
                    **common,
                },
                {
                    "name": "install-cni",
                    "image": f.image("calico/cni"),
                    "command": ["/opt/cni/bin/install"],
                    "env": [
                        {"name": "CNI_CONF_NAME", "value": "10-calico.conflist"},
                        {
                            "name": "CNI_NETWORK_CONFIG",
                            "valueFrom": {
                                "configMapKeyRef": {"name": "calico-config", "key": "cni_network_config"}
                            },
                        },
                        node_env,
                        {
                            "name": "CNI_MTU",
                            "valueFrom": {"configMapKeyRef": {"name": "calico-config", "key": "veth_mtu"}},
                        },
                        {"name": "SLEEP", "value": "false"},
                    ],
                    "resources": {},
                    "securityContext": {"privileged": True},
                    "volumeMounts": [
                        {"name": "cni-bin-dir", "mountPath": "/host/opt/cni/bin"},
                        {"name": "cni-net-dir", "mountPath": "/host/etc/cni/net.d"},
                        sa_mount,
                    ],
                    **common,
                },
                {
                    "name": "flexvol-driver",
                    "image": f.image("calico/pod2daemon-flexvol"),
                    "resources": {},
                    "securityContext": {"privileged": True},
                    "volumeMounts": [{"name": "flexvol-driver-host", "mountPath": "/host/driver"}, sa_mount],
                    **common,
                },
                {
                    "name": "calico-extension",
                    "image": f"{REGISTRY}calico-extension:1.2.41",
                    "command": ["/usr/local/bin/calico-extension"],
                    "env": [node_env, {"name": "DATASTORE_TYPE", "value": "kubernetes"}],
                    "resources": {"requests": {"cpu": "10m", "memory": "20Mi"}},
                    "securityContext": {"privileged": True},
                    "volumeMounts": [sa_mount],
                    **common,
                },
            ]
            volumes = [
                {"name": "lib-modules", "hostPath": {"path": "/lib/modules", "type": ""}},
                {"name": "var-run-calico", "hostPath": {"path": "/var/run/calico", "type": ""}},
                {"name": "var-lib-calico", "hostPath": {"path": "/var/lib/calico", "type": ""}},
                {"name": "xtables-lock", "hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"}},
                {"name": "sys-fs", "hostPath": {"path": "/sys/fs/", "type": "DirectoryOrCreate"}},
                {"name": "bpffs", "hostPath": {"path": "/sys/fs/bpf", "type": "Directory"}},
                {"name": "cni-bin-dir", "hostPath": {"path": "/opt/cni/bin", "type": ""}},
                {"name": "cni-net-dir", "hostPath": {"path": "/etc/cni/net.d", "type": ""}},
                {"name": "cni-log-dir", "hostPath": {"path": "/var/log/calico/cni", "type": ""}},
                {"name": "host-local-net-dir", "hostPath": {"path": "/var/lib/cni/networks", "type": ""}},
                {
                    "name": "policysync",
                    "hostPath": {"path": "/var/run/nodeagent", "type": "DirectoryOrCreate"},
                },
                {
                    "name": "flexvol-driver-host",
                    "hostPath": {
                        "path": "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/nodeagent~uds",
                        "type": "DirectoryOrCreate",
                    },
                },
            ]
            grace = 0
        volumes.append(
            {
                "name": api_access,
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {
                            "configMap": {
                                "name": "kube-root-ca.crt",
                                "items": [{"key": "ca.crt", "path": "ca.crt"}],
                            }
                        },
                        {
                            "downwardAPI": {
                                "items": [
                                    {
                                        "path": "namespace",
                                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                    }
                                ]
                            }
                        },
                    ],
                },
            }
        )
        spec: Json = {
            "volumes": volumes,
            "initContainers": init,
            "containers": [node_container],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": grace,
            "dnsPolicy": "ClusterFirstWithHostNet",
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "serviceAccountName": "calico-node",
            "serviceAccount": "calico-node",
            "hostNetwork": True,
            "securityContext": {},
            "schedulerName": "default-scheduler",
            "tolerations": [
                {"key": "CriticalAddonsOnly", "operator": "Exists"},
                {"operator": "Exists", "effect": "NoSchedule"},
                {"operator": "Exists", "effect": "NoExecute"},
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
                {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
                {
                    "key": "node.kubernetes.io/network-unavailable",
                    "operator": "Exists",
                    "effect": "NoSchedule",
                },
            ],
            "priorityClassName": "system-node-critical",
            "priority": 2000001000,
            "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority",
        }
        if node:
            spec["nodeName"] = node
            spec["affinity"] = {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
                        ]
                    }
                }
            }
        return spec

    def calico_pod_labels(self) -> dict[str, str]:
        labels = {
            "controller-revision-hash": "6f8d7c9b5d",
            "k8s-app": "calico-node",
            "pod-template-generation": "3",
        }
        if self.facts.operator_era:
            labels["app.kubernetes.io/name"] = "calico-node"
        return dict(sorted(labels.items()))

    def calico_pod_annotations(self) -> dict[str, str]:
        if not self.facts.operator_era:
            return {}
        return {
            "hash.operator.tigera.io/cni-config": _sha("cni-config")[:40],
            "hash.operator.tigera.io/system": _sha("system")[:40],
            "tigera-operator.hash.operator.tigera.io/tigera-ca-private": _sha("ca")[:40],
            "tigera-operator.hash.operator.tigera.io/node-certs": _sha("node-certs")[:40],
        }

    def calico_pod_doc(self, v: dict[str, str]) -> Json:
        f = self.facts
        spec = self.calico_pod_spec(v["ip"], v["api_access"])
        init_names = [c["name"] for c in spec["initContainers"]]
        cids = ["cid1", "cid2", "cid3", "cid4", "cid5"]
        init_statuses = []
        for i, name in enumerate(init_names):
            image = next(c["image"] for c in spec["initContainers"] if c["name"] == name)
            start = v["init1_started"] if i == 0 else v["init2_started"]
            end = v["init1_finished"] if i == 0 else v["init2_finished"]
            init_statuses.append(
                {
                    "name": name,
                    "state": {
                        "terminated": {
                            "exitCode": 0,
                            "reason": "Completed",
                            "startedAt": start,
                            "finishedAt": end,
                            "containerID": f"containerd://{v[cids[i + 1]]}",
                        }
                    },
                    "lastState": {},
                    "ready": True,
                    "restartCount": 0,
                    "image": image,
                    "imageID": f"{image.rsplit(':', 1)[0]}@sha256:{_sha(image)}",
                    "containerID": f"containerd://{v[cids[i + 1]]}",
                    "started": False,
                }
            )
        image = f.image("calico/node")
        status: Json = {
            "phase": "Running",
            "conditions": [
                {
                    "type": "PodReadyToStartContainers",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": v["pod_started"],
                },
                {
                    "type": "Initialized",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": v["init2_finished"],
                },
                {
                    "type": "Ready",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": v["ready_at"],
                },
                {
                    "type": "ContainersReady",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": v["ready_at"],
                },
                {
                    "type": "PodScheduled",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": v["pod_created"],
                },
            ],
            "hostIP": v["ip"],
            "hostIPs": [{"ip": v["ip"]}],
            "podIP": v["ip"],
            "podIPs": [{"ip": v["ip"]}],
            "startTime": v["pod_started"],
            "initContainerStatuses": init_statuses,
            "containerStatuses": [
                {
                    "name": "calico-node",
                    "state": {"running": {"startedAt": v["main_started"]}},
                    "lastState": {},
                    "ready": True,
                    "restartCount": 0,
                    "image": image,
                    "imageID": f"{image.rsplit(':', 1)[0]}@sha256:{_sha(image)}",
                    "containerID": f"containerd://{v['cid1']}",
                    "started": True,
                }
            ],
            "qosClass": "BestEffort" if f.operator_era else "Burstable",
        }
        meta: Json = {
            "name": v["pod_name"],
            "generateName": "calico-node-",
            "namespace": f.ns,
            "uid": v["pod_uid"],
            "resourceVersion": v["pod_rv"],
            "creationTimestamp": v["pod_created"],
            "labels": self.calico_pod_labels(),
        }
        annotations = self.calico_pod_annotations()
        if annotations:
            meta["annotations"] = annotations
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "name": "calico-node",
                "uid": self.uids["ds"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        # kube-controller-manager owns the whole template; volumes and init containers are left out to keep the pod near
        # the 12-16 KB of a real one (the bot reads none of managedFields).
        spec_fields = {
            k: val
            for k, val in spec.items()
            if k not in ("nodeName", "serviceAccount", "volumes", "initContainers")
        }
        meta["managedFields"] = [
            managed(
                "kube-controller-manager",
                v["pod_created"],
                fields_v1(
                    {
                        "metadata": {
                            "generateName": "",
                            "labels": meta["labels"],
                            **({"annotations": annotations} if annotations else {}),
                            "ownerReferences": meta["ownerReferences"],
                        },
                        "spec": spec_fields,
                    }
                ),
            ),
            managed("kubelet", v["ready_at"], fields_v1({"status": status}), subresource="status"),
        ]
        return {"metadata": meta, "spec": spec, "status": status}

    def lease_doc(self, v: dict[str, str]) -> Json:
        return {
            "metadata": {
                "name": v["ip"],
                "namespace": "kube-node-lease",
                "uid": v["lease_uid"],
                "resourceVersion": v["lease_rv"],
                "creationTimestamp": v["node_created"],
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "Node", "name": v["ip"], "uid": v["node_uid"]}
                ],
                "managedFields": [
                    managed(
                        "kubelet",
                        v["renew_s"],
                        fields_v1(
                            {
                                "metadata": {"ownerReferences": [{"uid": v["node_uid"]}]},
                                "spec": {"holderIdentity": "", "leaseDurationSeconds": 0, "renewTime": ""},
                            }
                        ),
                        api_version="coordination.k8s.io/v1",
                    )
                ],
            },
            "spec": {"holderIdentity": v["ip"], "leaseDurationSeconds": 40, "renewTime": v["renew"]},
        }

    def calico_node_cr_doc(self, v: dict[str, str]) -> Json:
        f = self.facts
        return {
            "apiVersion": "crd.projectcalico.org/v1",
            "kind": "Node",
            "metadata": {
                "name": v["ip"],
                "uid": v["cnode_uid"],
                "resourceVersion": v["cnode_rv"],
                "creationTimestamp": v["node_created"],
                "labels": {
                    "kubernetes.io/hostname": v["ip"],
                    "kubernetes.io/os": "linux",
                    "topology.kubernetes.io/zone": v["zone"],
                },
                "annotations": {"projectcalico.org/kube-labels": "{}"},
            },
            "spec": {
                "addresses": [
                    {"address": f"{v['ip']}/{f.cidr_bits}", "type": "CalicoNodeIP"},
                    {"address": v["ip"], "type": "InternalIP"},
                ],
                "bgp": {"ipv4Address": f"{v['ip']}/{f.cidr_bits}", "ipv4IPIPTunnelAddr": v["tunnel_ip"]},
                "orchRefs": [{"nodeName": v["ip"], "orchestrator": "k8s"}],
            },
            "status": {"podCIDRs": []},
        }

    # --- cluster-level objects -------------------------------------------------------------

    def _put(self, doc: Json, rt: ResourceType | None = None) -> None:
        kind = rt or type_for_object(str(doc.get("apiVersion", "")), str(doc.get("kind", "")))
        if kind is PODS or (kind is not None and kind.group == "apps"):
            api_defaults(doc, pod=kind is PODS)
        meta = doc.setdefault("metadata", {})
        meta.setdefault("uid", self.uid())
        meta.setdefault("creationTimestamp", self.ts(self.install_time))
        self.store.put(doc, rtype=rt)

    def _namespaces(self) -> None:
        names = [
            "default",
            "kube-system",
            "kube-public",
            "kube-node-lease",
            "ibm-system",
            "ibm-operators",
            "ibm-cert-store",
        ]
        if self.facts.operator_era:
            names += ["calico-system", "tigera-operator"]
        for name in names:
            labels = {"kubernetes.io/metadata.name": name}
            meta: Json = {"name": name, "labels": labels}
            if name == "calico-system":
                labels.update(
                    {
                        "name": "calico-system",
                        "pod-security.kubernetes.io/enforce": "privileged",
                        "pod-security.kubernetes.io/enforce-version": "latest",
                    }
                )
                meta["ownerReferences"] = [
                    {
                        "apiVersion": "operator.tigera.io/v1",
                        "kind": "Installation",
                        "name": "default",
                        "uid": self.uids["installation"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ]
            if name == "tigera-operator":
                labels["name"] = "tigera-operator"
            meta["labels"] = dict(sorted(labels.items()))
            self._put(
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": meta,
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                }
            )

    def _cluster_objects(self) -> None:
        f = self.facts
        ns = f.ns
        ready_workers = [w for w in self.workers if w.broken is None] or self.workers
        # DaemonSet calico-node
        template_spec = self.calico_pod_spec("", "kube-api-access")
        template_spec["volumes"] = [
            v for v in template_spec["volumes"] if not v["name"].startswith("kube-api-access")
        ]
        for c in template_spec["containers"] + template_spec["initContainers"]:
            c["volumeMounts"] = [m for m in c["volumeMounts"] if not m["name"].startswith("kube-api-access")]
        template_spec.pop("serviceAccount", None)
        template_spec.pop("priority", None)
        template_spec.pop("enableServiceLinks", None)
        template_spec.pop("preemptionPolicy", None)
        ds_meta: Json = {
            "name": "calico-node",
            "namespace": ns,
            "uid": self.uids["ds"],
            "generation": 3,
            "annotations": {"deprecated.daemonset.template.generation": "3"},
        }
        if not f.operator_era:
            ds_meta["labels"] = {"k8s-app": "calico-node"}
        if f.operator_era:
            ds_meta["ownerReferences"] = [
                {
                    "apiVersion": "operator.tigera.io/v1",
                    "kind": "Installation",
                    "name": "default",
                    "uid": self.uids["installation"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]
        tmpl_labels = {
            k: v
            for k, v in self.calico_pod_labels().items()
            if k not in ("controller-revision-hash", "pod-template-generation")
        }
        tmpl_meta: Json = {"creationTimestamp": None, "labels": tmpl_labels}
        if self.calico_pod_annotations():
            tmpl_meta["annotations"] = self.calico_pod_annotations()
        self.daemonset_doc = {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": ds_meta,
            "spec": {
                "selector": {"matchLabels": {"k8s-app": "calico-node"}},
                "template": {"metadata": tmpl_meta, "spec": template_spec},
                "updateStrategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
                },
                "revisionHistoryLimit": 10,
            },
            "status": {},
        }
        self._put(self.daemonset_doc)
        self.daemonset_doc = copy.deepcopy(self.daemonset_doc)
        # typha, kube-controllers, operator and a few kube-system workloads
        typha_replicas = operator_typha_replicas(self.total) if f.operator_era else 3
        typha_image = f.image("calico/typha")
        typha_container: Json = {
            "name": "calico-typha",
            "image": typha_image,
            "ports": [{"name": "calico-typha", "containerPort": 5473, "protocol": "TCP"}],
            "env": [
                {"name": "TYPHA_LOGSEVERITYSCREEN", "value": "info"},
                {"name": "TYPHA_LOGFILEPATH", "value": "none"},
                {"name": "TYPHA_HEALTHENABLED", "value": "true"},
                {"name": "TYPHA_HEALTHPORT", "value": "9098"},
                {"name": "TYPHA_K8SNAMESPACE", "value": ns},
                {"name": "TYPHA_DATASTORETYPE", "value": "kubernetes"},
            ],
            "livenessProbe": {
                "httpGet": {"host": "localhost", "path": "/liveness", "port": 9098, "scheme": "HTTP"},
                "timeoutSeconds": 10,
                "periodSeconds": 60,
                "successThreshold": 1,
                "failureThreshold": 3,
            },
            "readinessProbe": {
                "httpGet": {"host": "localhost", "path": "/readiness", "port": 9098, "scheme": "HTTP"},
                "timeoutSeconds": 10,
                "periodSeconds": 30,
                "successThreshold": 1,
                "failureThreshold": 3,
            },
            "resources": {},
            "imagePullPolicy": "IfNotPresent",
        }
        self._deployment(
            ns,
            "calico-typha",
            {"k8s-app": "calico-typha"},
            typha_replicas,
            [typha_container],
            ready_workers,
            host_network=True,
            service_account="calico-typha" if f.operator_era else "calico-node",
            priority="system-cluster-critical",
        )
        kc_container: Json = {
            "name": "calico-kube-controllers",
            "image": f.image("calico/kube-controllers"),
            "env": [
                {"name": "KUBE_CONTROLLERS_CONFIG_NAME", "value": "default"},
                {"name": "DATASTORE_TYPE", "value": "kubernetes"},
                {"name": "ENABLED_CONTROLLERS", "value": "node"},
            ],
            "livenessProbe": {
                "exec": {"command": ["/usr/bin/check-status", "-l"]},
                "periodSeconds": 60,
                "timeoutSeconds": 10,
                "failureThreshold": 6,
                "initialDelaySeconds": 10,
            },
            "readinessProbe": {
                "exec": {"command": ["/usr/bin/check-status", "-r"]},
                "periodSeconds": 30,
                "timeoutSeconds": 10,
            },
            "resources": {},
            "imagePullPolicy": "IfNotPresent",
        }
        self._deployment(
            ns,
            "calico-kube-controllers",
            {"k8s-app": "calico-kube-controllers"},
            1,
            [kc_container],
            ready_workers[1:] or ready_workers,
            service_account="calico-kube-controllers",
            priority="system-cluster-critical",
        )
        if f.operator_era:
            op_container: Json = {
                "name": "tigera-operator",
                "image": f"{REGISTRY}tigera/operator:{f.operator}-iks",
                "command": ["operator"],
                "env": [
                    {"name": "WATCH_NAMESPACE", "value": ""},
                    {"name": "OPERATOR_NAME", "value": "tigera-operator"},
                    {"name": "TIGERA_OPERATOR_INIT_IMAGE_VERSION", "value": f.operator},
                ],
                "resources": {},
                "imagePullPolicy": "IfNotPresent",
            }
            self._deployment(
                "tigera-operator",
                "tigera-operator",
                {"k8s-app": "tigera-operator", "name": "tigera-operator"},
                1,
                [op_container],
                ready_workers[2:] or ready_workers,
                host_network=True,
                service_account="tigera-operator",
                extra_pod_labels={"name": "tigera-operator"},
            )
        dns_container: Json = {
            "name": "coredns",
            "image": f"{REGISTRY}coredns:1.11.3",
            "args": ["-conf", "/etc/coredns/Corefile"],
            "ports": [
                {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
            ],
            "resources": {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}},
            "imagePullPolicy": "IfNotPresent",
        }
        self._deployment(
            "kube-system",
            "coredns",
            {"k8s-app": "kube-dns"},
            min(3, len(ready_workers)),
            [dns_container],
            ready_workers,
            service_account="coredns",
            priority="system-cluster-critical",
        )
        ms_container: Json = {
            "name": "metrics-server",
            "image": f"{REGISTRY}metrics-server:v0.7.2",
            "args": ["--secure-port=10250", "--kubelet-preferred-address-types=InternalIP"],
            "resources": {"requests": {"cpu": "50m", "memory": "60Mi"}},
            "imagePullPolicy": "IfNotPresent",
        }
        self._deployment(
            "kube-system",
            "metrics-server",
            {"k8s-app": "metrics-server"},
            1,
            [ms_container],
            ready_workers[-1:],
            service_account="metrics-server",
            priority="system-cluster-critical",
        )
        self._services()
        self._calico_resources()
        self._rbac_and_secrets()

    def _deployment(
        self,
        ns: str,
        name: str,
        selector: dict[str, str],
        replicas: int,
        containers: list[Json],
        nodes: list[Worker],
        *,
        host_network: bool = False,
        service_account: str = "default",
        priority: str = "",
        extra_pod_labels: dict[str, str] | None = None,
    ) -> None:
        rs_hash = _sha(f"{ns}/{name}")[:10].translate(str.maketrans("0123456789abcdef", "bcdfghjk56789xzq"))
        dep_uid, rs_uid = self.uid(), self.uid()
        created = self.rollout_time if ns != "kube-system" or name.startswith("calico") else self.install_time
        pod_labels = {**selector, **(extra_pod_labels or {}), "pod-template-hash": rs_hash}
        if self.facts.operator_era and name.startswith("calico"):
            pod_labels["app.kubernetes.io/name"] = name
        tmpl_spec: Json = {
            "containers": containers,
            "restartPolicy": "Always",
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": service_account,
            "terminationGracePeriodSeconds": 30,
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "tolerations": [
                {"key": "CriticalAddonsOnly", "operator": "Exists"},
                {"effect": "NoSchedule", "key": "node-role.kubernetes.io/master"},
            ],
        }
        if host_network:
            tmpl_spec["hostNetwork"] = True
            tmpl_spec["dnsPolicy"] = "ClusterFirstWithHostNet"
        if priority:
            tmpl_spec["priorityClassName"] = priority
        tmpl_labels = {k: v for k, v in pod_labels.items() if k != "pod-template-hash"}
        ready = 0
        pods_nodes = [nodes[i % len(nodes)] for i in range(replicas)] if nodes else []
        for w in pods_nodes:
            pod_created = created + timedelta(seconds=self.rng.randint(5, 60))
            pod_name = f"{name}-{rs_hash}-{self.suffix()}"
            pod_spec = dict(tmpl_spec, nodeName=w.name)
            pod_ip = (
                w.name
                if host_network
                else f"172.30.{(w.index % 1024) * 64 // 256}.{(w.index * 64) % 256 + 5}"
            )
            cstatuses = [
                {
                    "name": c["name"],
                    "state": {"running": {"startedAt": self.ts(pod_created + timedelta(seconds=4))}},
                    "lastState": {},
                    "ready": True,
                    "restartCount": 0,
                    "image": c["image"],
                    "imageID": f"{c['image'].rsplit(':', 1)[0]}@sha256:{_sha(c['image'])}",
                    "containerID": f"containerd://{self.hex(64)}",
                    "started": True,
                }
                for c in containers
            ]
            t0, t1 = self.ts(pod_created), self.ts(pod_created + timedelta(seconds=12))
            self._put(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": pod_name,
                        "generateName": f"{name}-{rs_hash}-",
                        "namespace": ns,
                        "creationTimestamp": t0,
                        "labels": dict(sorted(pod_labels.items())),
                        "ownerReferences": [
                            {
                                "apiVersion": "apps/v1",
                                "kind": "ReplicaSet",
                                "name": f"{name}-{rs_hash}",
                                "uid": rs_uid,
                                "controller": True,
                                "blockOwnerDeletion": True,
                            }
                        ],
                    },
                    "spec": pod_spec,
                    "status": {
                        "phase": "Running",
                        "conditions": [
                            {
                                "type": "PodReadyToStartContainers",
                                "status": "True",
                                "lastProbeTime": None,
                                "lastTransitionTime": t0,
                            },
                            {
                                "type": "Initialized",
                                "status": "True",
                                "lastProbeTime": None,
                                "lastTransitionTime": t0,
                            },
                            {
                                "type": "Ready",
                                "status": "True",
                                "lastProbeTime": None,
                                "lastTransitionTime": t1,
                            },
                            {
                                "type": "ContainersReady",
                                "status": "True",
                                "lastProbeTime": None,
                                "lastTransitionTime": t1,
                            },
                            {
                                "type": "PodScheduled",
                                "status": "True",
                                "lastProbeTime": None,
                                "lastTransitionTime": t0,
                            },
                        ],
                        "hostIP": w.name,
                        "hostIPs": [{"ip": w.name}],
                        "podIP": pod_ip,
                        "podIPs": [{"ip": pod_ip}],
                        "startTime": t0,
                        "containerStatuses": cstatuses,
                        "qosClass": "Burstable",
                    },
                }
            )
            ready += 1
        conditions = [
            {
                "type": "Available",
                "status": "True",
                "lastUpdateTime": self.ts(created + timedelta(minutes=1)),
                "lastTransitionTime": self.ts(created + timedelta(minutes=1)),
                "reason": "MinimumReplicasAvailable",
                "message": "Deployment has minimum availability.",
            },
            {
                "type": "Progressing",
                "status": "True",
                "lastUpdateTime": self.ts(created + timedelta(minutes=1)),
                "lastTransitionTime": self.ts(created),
                "reason": "NewReplicaSetAvailable",
                "message": f'ReplicaSet "{name}-{rs_hash}" has successfully progressed.',
            },
        ]
        dep_meta: Json = {
            "name": name,
            "namespace": ns,
            "uid": dep_uid,
            "generation": 1,
            "creationTimestamp": self.ts(created),
            "labels": dict(selector),
            "annotations": {"deployment.kubernetes.io/revision": "1"},
        }
        if self.facts.operator_era and (name.startswith("calico") and ns == "calico-system"):
            dep_meta["ownerReferences"] = [
                {
                    "apiVersion": "operator.tigera.io/v1",
                    "kind": "Installation",
                    "name": "default",
                    "uid": self.uids["installation"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]
        self._put(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": dep_meta,
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": dict(selector)},
                    "template": {
                        "metadata": {"creationTimestamp": None, "labels": tmpl_labels},
                        "spec": tmpl_spec,
                    },
                    "strategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
                    },
                    "revisionHistoryLimit": 10,
                    "progressDeadlineSeconds": 600,
                },
                "status": {
                    "observedGeneration": 1,
                    "replicas": replicas,
                    "updatedReplicas": replicas,
                    "readyReplicas": ready,
                    "availableReplicas": ready,
                    "conditions": conditions,
                },
            }
        )
        self._put(
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": f"{name}-{rs_hash}",
                    "namespace": ns,
                    "uid": rs_uid,
                    "generation": 1,
                    "creationTimestamp": self.ts(created),
                    "labels": {**selector, "pod-template-hash": rs_hash},
                    "annotations": {
                        "deployment.kubernetes.io/desired-replicas": str(replicas),
                        "deployment.kubernetes.io/max-replicas": str(replicas + 1),
                        "deployment.kubernetes.io/revision": "1",
                    },
                    "ownerReferences": [
                        {
                            "apiVersion": "apps/v1",
                            "kind": "Deployment",
                            "name": name,
                            "uid": dep_uid,
                            "controller": True,
                            "blockOwnerDeletion": True,
                        }
                    ],
                },
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": {**selector, "pod-template-hash": rs_hash}},
                    "template": {
                        "metadata": {"creationTimestamp": None, "labels": pod_labels},
                        "spec": tmpl_spec,
                    },
                },
                "status": {
                    "replicas": replicas,
                    "fullyLabeledReplicas": replicas,
                    "readyReplicas": ready,
                    "availableReplicas": ready,
                    "observedGeneration": 1,
                },
            }
        )

    def _services(self) -> None:
        ns = self.facts.ns

        def svc(
            name: str,
            namespace: str,
            ip: str,
            ports: list[Json],
            selector: dict[str, str] | None,
            labels: dict[str, str] | None = None,
        ) -> None:
            spec: Json = {
                "type": "ClusterIP",
                "clusterIP": ip,
                "clusterIPs": [ip],
                "ports": ports,
                "sessionAffinity": "None",
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "internalTrafficPolicy": "Cluster",
            }
            if selector:
                spec["selector"] = selector
            self._put(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
                    "spec": spec,
                    "status": {"loadBalancer": {}},
                }
            )

        svc(
            "kubernetes",
            "default",
            "172.21.0.1",
            [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 2040}],
            None,
            {"component": "apiserver", "provider": "kubernetes"},
        )
        svc(
            "kube-dns",
            "kube-system",
            "172.21.0.10",
            [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153},
            ],
            {"k8s-app": "kube-dns"},
            {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"},
        )
        svc(
            "metrics-server",
            "kube-system",
            "172.21.44.17",
            [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": "https"}],
            {"k8s-app": "metrics-server"},
        )
        svc(
            "calico-typha",
            ns,
            "172.21.189.70",
            [{"name": "calico-typha", "port": 5473, "protocol": "TCP", "targetPort": "calico-typha"}],
            {"k8s-app": "calico-typha"},
            {"k8s-app": "calico-typha"},
        )
        if self.facts.operator_era:
            svc(
                "calico-kube-controllers-metrics",
                ns,
                "None",
                [{"name": "metrics-port", "port": 9094, "protocol": "TCP", "targetPort": 9094}],
                {"k8s-app": "calico-kube-controllers"},
                {"k8s-app": "calico-kube-controllers"},
            )

    def _calico_resources(self) -> None:
        f = self.facts
        ibm = {"created-by": "IBMCloudKubernetesService"}
        crd = "crd.projectcalico.org/v1"
        self._put(
            {
                "apiVersion": crd,
                "kind": "BGPConfiguration",
                "metadata": {"name": "default", "annotations": dict(ibm), "generation": 1},
                "spec": {
                    "asNumber": 64512,
                    "logSeverityScreen": "Info",
                    "nodeToNodeMeshEnabled": True,
                    "nodeMeshPassword": {"secretKeyRef": {"name": "calico-bgp-password", "key": "password"}},
                },
            }
        )
        pool_meta: Json = {"name": "default-ipv4-ippool", "generation": 1}
        if not f.operator_era:
            pool_meta["annotations"] = dict(ibm)
        self._put(
            {
                "apiVersion": crd,
                "kind": "IPPool",
                "metadata": pool_meta,
                "spec": {
                    "cidr": IPPOOL_CIDR,
                    "ipipMode": "CrossSubnet",
                    "vxlanMode": "Never",
                    "natOutgoing": True,
                    "nodeSelector": "all()",
                    "blockSize": 26,
                    "allowedUses": ["Workload", "Tunnel"],
                },
            }
        )
        self._put(
            {
                "apiVersion": crd,
                "kind": "FelixConfiguration",
                "metadata": {"name": "default", "annotations": dict(ibm), "generation": 1},
                "spec": {
                    "bpfLogLevel": "",
                    "floatingIPs": "Disabled",
                    "healthPort": 9099,
                    "ipipMTU": 1480,
                    "logSeverityScreen": "Info",
                    "reportingInterval": "0s",
                    "logFilePath": "none" if f.operator_era else "/var/log/calico/felix.log",
                    "prometheusMetricsEnabled": False,
                },
            }
        )
        self._put(
            {
                "apiVersion": crd,
                "kind": "ClusterInformation",
                "metadata": {"name": "default", "generation": 1},
                "spec": {
                    "calicoVersion": f.calico,
                    "clusterGUID": _sha(f.cluster)[:32],
                    "clusterType": "k8s,operator,bgp" if f.operator_era else "k8s,bgp",
                    "datastoreReady": True,
                },
            }
        )
        if not f.operator_era:
            return
        op = "operator.tigera.io/v1"
        pool = {
            "blockSize": 26,
            "cidr": IPPOOL_CIDR,
            "disableBGPExport": False,
            "encapsulation": "IPIPCrossSubnet",
            "name": "default-ipv4-ippool",
            "natOutgoing": "Enabled",
            "nodeSelector": "all()",
        }
        spec: Json = {
            "calicoNetwork": {
                "bgp": "Enabled",
                "hostPorts": "Enabled",
                "ipPools": [pool],
                "linuxDataplane": "Iptables",
                "mtu": 1480,
                "multiInterfaceMode": "None",
                "nodeAddressAutodetectionV4": {"interface": AUTODETECT_INTERFACES},
            },
            "cni": {"ipam": {"type": "Calico"}, "type": "Calico"},
            "controlPlaneReplicas": 2,
            "flexVolumePath": "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/",
            "kubeletVolumePluginPath": "/var/lib/kubelet",
            "nodeUpdateStrategy": {"rollingUpdate": {"maxUnavailable": 1}, "type": "RollingUpdate"},
            "nonPrivileged": "Disabled",
            "registry": REGISTRY,
            "variant": "Calico",
        }
        if f.roks:
            spec["kubernetesProvider"] = "OpenShift"
        self._put(
            {
                "apiVersion": op,
                "kind": "Installation",
                "metadata": {
                    "name": "default",
                    "uid": self.uids["installation"],
                    "generation": 2,
                    "annotations": dict(ibm),
                    "finalizers": ["tigera.io/operator-cleanup"],
                },
                "spec": spec,
                "status": {
                    "variant": "Calico",
                    "mtu": 1480,
                    "calicoVersion": f.calico,
                    "computed": spec,
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "True",
                            "reason": "AllObjectsAvailable",
                            "message": "All Objects are available",
                            "lastTransitionTime": self.ts(self.rollout_time + timedelta(minutes=9)),
                            "observedGeneration": 2,
                        }
                    ],
                },
            }
        )
        self._put(
            {
                "apiVersion": op,
                "kind": "TigeraStatus",
                "metadata": {"name": "calico", "generation": 1},
                "spec": {},
                "status": {"conditions": []},
            }
        )

    def _rbac_and_secrets(self) -> None:
        f = self.facts
        secret_namespaces = ["kube-system"] + (["calico-system"] if f.operator_era else [])
        for ns in secret_namespaces:
            self._put(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {
                        "name": "calico-bgp-password",
                        "namespace": ns,
                        "labels": {"created-by": "IBMCloudKubernetesService"},
                    },
                    "data": {"password": "c2ltdWxhdGVkLWJncC1wYXNzd29yZC1ub3QtcmVhbA=="},
                    "type": "Opaque",
                }
            )
        role_ns, role_name = (
            ("calico-system", "bgp-secret-access")
            if f.operator_era
            else ("kube-system", "calico-node-secret-access")
        )
        self._put(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": role_name, "namespace": role_ns},
                "rules": [
                    {
                        "apiGroups": [""],
                        "resources": ["secrets"],
                        "resourceNames": ["calico-bgp-password"],
                        "verbs": ["watch", "list", "get"],
                    }
                ],
            }
        )
        self._put(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": role_name, "namespace": role_ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role_name},
                "subjects": [{"kind": "ServiceAccount", "name": "calico-node", "namespace": role_ns}],
            }
        )

    # --- events and scenario objects -------------------------------------------------------

    def _broken_events(self) -> None:
        f = self.facts
        for w in self.workers:
            if w.broken is None:
                continue
            variables = self.worker_variables(w)
            for raw in w.broken.events:
                event = resolve(raw, self.now, variables)
                about = event.pop("about", "pod")
                if about == "node":
                    # kubelet events name the node by its name as uid, controllers by its uid
                    # (kubectl describe node searches both)
                    reporter = (event.get("source") or {}).get("component", "node-controller")
                    uid = w.name if reporter == "kubelet" else w.values["node_uid"]
                    ref = {"kind": "Node", "name": w.name, "uid": uid, "apiVersion": "v1"}
                    ns, component = "default", "node-controller"
                else:
                    ref = {
                        "kind": "Pod",
                        "namespace": f.ns,
                        "name": w.pod_name,
                        "uid": w.values["pod_uid"],
                        "apiVersion": "v1",
                        "fieldPath": "spec.containers{calico-node}",
                    }
                    ns, component = f.ns, "kubelet"
                ref.update(event.get("involvedObject") or {})
                event["involvedObject"] = {k: v for k, v in ref.items() if v is not None}
                meta = event.setdefault("metadata", {})
                meta.setdefault("name", f"{ref['name']}.{self.hex(16)}")
                meta.setdefault("namespace", ns)
                meta.setdefault("creationTimestamp", event.get("firstTimestamp") or self.ts(self.now))
                event.setdefault("type", "Warning")
                event.setdefault("count", 1)
                event.setdefault("firstTimestamp", self.ts(self.now))
                event.setdefault(
                    "lastTimestamp", event["firstTimestamp"] if event["count"] == 1 else self.ts(self.now)
                )
                source = event.setdefault("source", {})
                source.setdefault("component", component)
                source.setdefault("host", w.name)
                event.setdefault("reportingComponent", source["component"])
                event.setdefault("reportingInstance", w.name if component == "kubelet" else "")
                event["apiVersion"], event["kind"] = "v1", "Event"
                self._put(event, EVENTS)

    def _apply_objects(self) -> None:
        for index, raw in enumerate(self.scenario.objects):
            doc = resolve(raw, self.now, self.variables)
            delete, merge = bool(doc.pop("delete", False)), bool(doc.pop("merge", False))
            rt = type_for_object(str(doc["apiVersion"]), str(doc["kind"]))
            if rt is None:
                raise ScenarioError(
                    f"{self.scenario.source}: objects[{index}]: the simulator does not serve "
                    f"{doc['apiVersion']} {doc['kind']}"
                )
            meta = doc["metadata"]
            ns = str(meta.get("namespace", "")) if rt.namespaced else ""
            if rt.namespaced and not ns:
                raise ScenarioError(
                    f"{self.scenario.source}: objects[{index}]: {rt.kind} needs metadata.namespace"
                )
            self.pinned.add((rt.key, ns, str(meta["name"])))
            api_defaults(doc, pod=rt is PODS)
            existing = self.store.find(rt, ns, str(meta["name"]))
            if delete:
                self.store.remove(rt, ns, str(meta["name"]))
                continue
            if merge and existing is not None:
                doc = merge_patch(existing.doc(), doc)
            elif existing is not None:
                old = existing.doc()["metadata"]
                meta.setdefault("uid", old.get("uid"))
                meta.setdefault("creationTimestamp", old.get("creationTimestamp"))
            self._put(doc, rt)
            if (
                rt is PODS
                and ns == self.facts.ns
                and (doc["metadata"].get("labels") or {}).get("k8s-app") == "calico-node"
            ):
                self._track_pod(doc)

    def _link_uids(self) -> None:
        """Every event carries the uid of the object it is about (kubectl describe finds events by
        uid), and a message quoting a pod as `<name>_<namespace>(<uid>)` quotes that pod's uid. An
        event about an object that is gone keeps a uid of its own (events outlive their objects)."""
        store = self.store
        for obj in list(store.objects(EVENTS)):
            doc = obj.doc()
            ref = doc.setdefault("involvedObject", {})
            rt = type_for_object(str(ref.get("apiVersion") or "v1"), str(ref.get("kind", "")))
            target = None
            if rt is not None:
                target = store.find(
                    rt, str(ref.get("namespace", "")) if rt.namespaced else "", str(ref.get("name", ""))
                )
            before = encode(doc)
            if target is not None:
                uid = str((target.doc().get("metadata") or {}).get("uid", ""))
                by_name = ref.get("kind") == "Node" and ref.get("uid") == ref.get("name")
                reporter = (doc.get("source") or {}).get("component") or doc.get("reportingComponent")
                if uid and not (by_name and reporter == "kubelet"):
                    ref["uid"] = uid
            elif not ref.get("uid"):
                ref["uid"] = self.uid()
            doc["message"] = self._quoted_uids(str(doc.get("message", "")))
            if encode(doc) != before:
                store.put(doc, rtype=EVENTS, bump=False)
        for obj in list(store.objects(PODS)):
            if b"restarting failed container" not in obj.item:
                continue
            doc = obj.doc()
            status = doc.get("status") or {}
            for cs in [
                *(status.get("initContainerStatuses") or []),
                *(status.get("containerStatuses") or []),
            ]:
                waiting = (cs.get("state") or {}).get("waiting") or {}
                if waiting.get("message"):
                    waiting["message"] = self._quoted_uids(str(waiting["message"]))
            store.put(doc, rtype=PODS, bump=False)

    def _quoted_uids(self, message: str) -> str:
        def real(m: re.Match[str]) -> str:
            pod = self.store.find(PODS, m.group(2), m.group(1))
            uid = str(((pod.doc().get("metadata") or {}).get("uid")) if pod is not None else "") or m.group(3)
            return f"{m.group(1)}_{m.group(2)}({uid})"

        return _QUOTED_POD.sub(real, message) if "(" in message else message

    # --- derived status --------------------------------------------------------------------

    def pod_event(self, event: str, pod: Json) -> None:
        """Keep the readiness bookkeeping in step with API writes to calico-node pods."""
        meta = pod.get("metadata") or {}
        if (
            meta.get("namespace") != self.facts.ns
            or (meta.get("labels") or {}).get("k8s-app") != "calico-node"
        ):
            return
        if event == "DELETED":
            self.calico_pod_ready.pop(meta["name"], None)
            self.calico_pod_failing.pop(meta["name"], None)
        else:
            self._track_pod(pod)

    def refresh_derived(self) -> None:
        """DaemonSet status and TigeraStatus `calico`, computed as their controllers do."""
        f = self.facts
        store = self.store
        ds_obj = store.find(DAEMONSETS, f.ns, "calico-node")
        desired = store.count(NODES)
        pods = len(self.calico_pod_ready)
        ready = sum(1 for r in self.calico_pod_ready.values() if r)
        ds_status = {
            "currentNumberScheduled": pods,
            "numberMisscheduled": 0,
            "desiredNumberScheduled": desired,
            "numberReady": ready,
            "observedGeneration": 3,
            "updatedNumberScheduled": pods,
            "numberAvailable": ready,
        }
        if desired - ready > 0:
            ds_status["numberUnavailable"] = desired - ready
        if ds_obj is not None and (DAEMONSETS.key, f.ns, "calico-node") not in self.pinned:
            doc = ds_obj.doc()
            if doc.get("status") != ds_status:
                doc["status"] = ds_status
                store.put(doc, rtype=DAEMONSETS)
        ts_obj = store.find(TIGERA_STATUSES, "", "calico")
        if ts_obj is None or (TIGERA_STATUSES.key, "", "calico") in self.pinned or not f.operator_era:
            return
        progressing: list[str] = []
        failing: list[str] = []
        if ds_obj is not None:
            unavailable = desired - ready
            if pods < desired:
                progressing.append(
                    f'DaemonSet "{f.ns}/calico-node" update is rolling out ({pods} out of {desired} updated)'
                )
            elif unavailable > 0:
                progressing.append(
                    f'DaemonSet "{f.ns}/calico-node" is not available (awaiting {unavailable} nodes)'
                )
            if self.calico_pod_failing:
                failing.append(self.calico_pod_failing[min(self.calico_pod_failing)])
        for dep in ("calico-typha", "calico-kube-controllers"):
            obj = store.find(DEPLOYMENTS, f.ns, dep)
            if obj is None:
                continue
            st = obj.doc().get("status") or {}
            if int(st.get("unavailableReplicas") or 0) > 0:
                progressing.append(
                    f'Deployment "{f.ns}/{dep}" is not available (awaiting {st["unavailableReplicas"]} replicas)'
                )
            elif int(st.get("availableReplicas") or 0) == 0:
                progressing.append(f'Deployment "{f.ns}/{dep}" is not yet scheduled on any nodes')
        doc = ts_obj.doc()
        old = {c["type"]: c for c in (doc.get("status") or {}).get("conditions") or []}
        healthy_since = self.ts(self.rollout_time + timedelta(minutes=9))
        changed_since = self.ts(self.now - timedelta(minutes=12))

        def cond(kind: str, on: bool, reason: str, message: str) -> Json:
            status = "True" if on else "False"
            prev = old.get(kind)
            if prev is not None and prev.get("status") == status:
                since = prev.get("lastTransitionTime")
            else:
                since = (
                    healthy_since
                    if (kind == "Available") == on and not failing and not progressing
                    else changed_since
                )
                if prev is not None:
                    since = self.ts(store.now())
            return {
                "type": kind,
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": since,
                "observedGeneration": 2,
            }

        available = not failing and not progressing
        conditions = [
            cond(
                "Available",
                available,
                "AllObjectsAvailable" if available else "NotAvailable",
                "All objects available" if available else "Not Available",
            ),
            cond(
                "Progressing",
                bool(progressing) and not failing,
                "ResourceNotReady" if progressing and not failing else "NotAvailable",
                "\n".join(progressing) if progressing and not failing else "Not Available",
            ),
            cond(
                "Degraded",
                bool(failing),
                "PodFailure" if failing else "NotAvailable",
                "\n".join(failing) if failing else "Not Available",
            ),
        ]
        if (doc.get("status") or {}).get("conditions") != conditions:
            doc["status"] = {"conditions": conditions}
            store.put(doc, rtype=TIGERA_STATUSES)

    # --- default logs ----------------------------------------------------------------------

    def default_log(self, namespace: str, pod_name: str, container: str, previous: bool) -> str | None:
        obj = self.store.find(PODS, namespace, pod_name)
        if obj is None:
            return None
        pod = obj.doc()
        node = (pod.get("spec") or {}).get("nodeName", "")
        pod_status = pod.get("status") or {}
        statuses = [
            *(pod_status.get("initContainerStatuses") or []),
            *(pod_status.get("containerStatuses") or []),
        ]
        started = self.now - timedelta(hours=1)
        for status in statuses:
            if status.get("name") == container:
                state = status.get("lastState" if previous else "state") or {}
                inner = state.get("running") or state.get("terminated") or {}
                stamp = inner.get("startedAt")
                if stamp:
                    started = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=self.now.tzinfo)
        return default_log_text(
            self.facts,
            pod_name,
            node,
            container,
            started,
            self.now,
            self.by_node.get(node),
            [w.name for w in self.workers[:6] if w.name != node],
        )


_PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}


def api_defaults(doc: Json, *, pod: bool) -> Json:
    """The defaults the apiserver fills into a stored pod spec (here: the probes' thresholds and
    periods), for a Pod (`pod`) or a workload's pod template given by a scenario."""
    spec = doc.get("spec") or {}
    template = (spec.get("template") or {}).get("spec") if isinstance(spec.get("template"), dict) else None
    for pod_spec in (spec if pod else None, template):
        if not isinstance(pod_spec, dict):
            continue
        for container in [*(pod_spec.get("initContainers") or []), *(pod_spec.get("containers") or [])]:
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                if isinstance(container.get(probe), dict):
                    for key, value in _PROBE_DEFAULTS.items():
                        container[probe].setdefault(key, value)
    return doc


def crash_waiting_containers(pod: Json) -> set[str]:
    """Containers waiting to restart after a terminated run (CrashLoopBackOff and the like)."""
    status = pod.get("status") or {}
    return {
        str(cs.get("name"))
        for cs in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
        if "waiting" in (cs.get("state") or {}) and (cs.get("lastState") or {}).get("terminated")
    }


_WHOLE_SECONDS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)Z$")


def lease_micro_times(lease: Json) -> Json:
    """A Lease's `renewTime`/`acquireTime` are MicroTime: six fractional digits, as the API always
    writes them (kubectl describe node refuses whole seconds). A scenario's `@now-15m` gives whole
    seconds; they are widened here."""
    spec = lease.get("spec") or {}
    for key in ("renewTime", "acquireTime"):
        value = spec.get(key)
        if isinstance(value, str) and (m := _WHOLE_SECONDS.match(value)):
            spec[key] = f"{m.group(1)}.000000Z"
    return lease


def pod_ready(pod: Json) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def pod_failing_message(pod: Json) -> str:
    """The Tigera operator's "failing pod" message for a pod, or ""."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    ident = f"{meta.get('namespace')}/{meta.get('name')}"
    if status.get("phase") == "Failed":
        return f"Pod {ident} has failed"
    for cs in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        state = cs.get("state") or {}
        waiting = (state.get("waiting") or {}).get("reason")
        if waiting == "CrashLoopBackOff":
            return f"Pod {ident} has crash looping container: {cs.get('name')}"
        if waiting in ("ImagePullBackOff", "ErrImagePull"):
            return f"Pod {ident} failed to pull container image for: {cs.get('name')}"
        if (state.get("terminated") or {}).get("reason") == "Error":
            return f"Pod {ident} has terminated container: {cs.get('name')}"
    return ""


def default_log_text(
    f: Facts,
    pod: str,
    node: str,
    container: str,
    started: datetime,
    now: datetime,
    worker: Worker | None,
    peers: list[str],
) -> str:
    """Plausible logs of a healthy container (what `kubectl logs` shows when nothing is wrong)."""

    def t(seconds: float) -> str:
        return calico_log_time(started + timedelta(seconds=seconds))

    bits = f.cidr_bits
    tunnel = worker.values["tunnel_ip"] if worker is not None else "172.30.0.0"
    lines: list[str]
    if container == "calico-node":
        lines = [
            f"{t(0)} [INFO][9] startup/startup.go 427: Early log level set to info",
            f"{t(0)} [INFO][9] startup/utils.go 126: Using NODENAME environment for node name {node}",
            f"{t(0)} [INFO][9] startup/utils.go 138: Determined node name: {node}",
            f"{t(0.01)} [INFO][9] startup/startup.go 94: Starting node {node} with version {f.calico}",
            f"{t(0.01)} [INFO][9] startup/startup.go 432: Checking datastore connection",
            f"{t(0.03)} [INFO][9] startup/startup.go 456: Datastore connection verified",
            f"{t(0.03)} [INFO][9] startup/startup.go 104: Datastore is ready",
            f"{t(0.05)} [INFO][9] startup/startup.go 490: Initialize BGP data",
            f"{t(0.05)} [INFO][9] startup/autodetection_methods.go 103: Using autodetected IPv4 address on interface "
            f"{f.interface}: {node}/{bits}",
            f"{t(0.05)} [INFO][9] startup/startup.go 566: Node IPv4 changed, will check for conflicts",
            f"{t(0.06)} [INFO][9] startup/startup.go 801: No AS number configured on node resource, using global value",
            f"{t(0.06)} [INFO][9] startup/startup.go 255: Using node name: {node}",
            f"{t(0.07)} [INFO][9] startup/utils.go 190: Setting NetworkUnavailable to false",
            f"{t(0.2)} [INFO][58] tunnel-ip-allocator/allocateip.go 309: Current address is still valid, do nothing "
            f'currentAddr="{tunnel}" type="ipipTunnelAddress"',
            "CALICO_NETWORKING_BACKEND is bird",
            "Calico node started successfully",
            f"{t(1.1)} [INFO][68] felix/daemon.go 405: Successfully loaded configuration. "
            f'GOMAXPROCS=4 builddate="" config=&config.Config{{UseInternalDataplaneDriver:true}} version="{f.calico}"',
            f'{t(1.2)} [INFO][68] felix/sync_client.go 150: Connecting to Typha. addr="{peers[0] if peers else node}:5473" '
            f'connID=0x0 type=""',
            f'{t(1.3)} [INFO][68] felix/sync_client.go 190: Connected to Typha. addr="{peers[0] if peers else node}:5473"',
        ]
        for i, peer in enumerate(peers[:4]):
            lines.append(f"bird: Mesh_{peer.replace('.', '_')}: State changed to up")
            if i == 0:
                lines.append(
                    f"{t(2.0)} [INFO][68] felix/health.go 336: Overall health status changed: live=true ready=true"
                )
        lines.append(
            f"{t(2.4)} [INFO][68] felix/int_dataplane.go 1916: Completed first update to dataplane. secsSinceStart=1.31"
        )
        # felix summarises its dataplane loops every minute: the last dozen, up to now
        running = int((now - started).total_seconds())
        first = max(60, running - 12 * 60)
        for i, offset in enumerate(range(first - first % 60 + 60, running, 60)):
            lines.append(
                f"{t(offset + 0.217)} [INFO][68] felix/summary.go 100: Summarising {10 + i % 5} dataplane "
                f"reconciliation loops over 1m0.{i % 9}s: avg={5 + i % 7}ms longest={18 + i % 23}ms "
                "(resync-filter-v4)"
            )
    elif container == "install-cni":
        prefix = "[INFO][1] cni-installer/<nil> <nil>:"
        lines = [f"{t(0)} {prefix} Running as a Kubernetes pod"]
        for binary in (
            "bandwidth",
            "calico",
            "calico-ipam",
            "flannel",
            "host-local",
            "loopback",
            "portmap",
            "tuning",
        ):
            lines.append(
                f'{t(0.1)} {prefix} File is already up to date, skipping file="/host/opt/cni/bin/{binary}"'
            )
        lines += [
            f"{t(0.3)} {prefix} Installed /host/opt/cni/bin/install",
            f"{t(0.3)} {prefix} Wrote Calico CNI binaries to /host/opt/cni/bin",
            f"{t(0.3)} {prefix} CNI plugin version: {f.calico}",
            f"{t(0.3)} {prefix} /host/secondary-bin-dir is not writeable, skipping",
            f"{t(0.4)} [WARNING][1] cni-installer/<nil> <nil>: Neither --kubeconfig nor --master was specified.  "
            "Using the inClusterConfig.  This might not work.",
            f"{t(0.4)} {prefix} Created /host/etc/cni/net.d/calico-kubeconfig",
            f"{t(0.4)} {prefix} Using CNI config template from CNI_NETWORK_CONFIG environment variable.",
            f"{t(0.4)} {prefix} Created /host/etc/cni/net.d/10-calico.conflist",
            f"{t(0.4)} {prefix} Done configuring CNI.  Sleep= false",
        ]
    elif container == "upgrade-ipam":
        lines = [
            f"{t(0)} [INFO][1] ipam/ipam_plugin.go 75: migrating from host-local to calico-ipam...",
            f"{t(0.1)} [INFO][1] ipam/migrate.go 64: checking host-local IPAM data dir dir existence...",
            f"{t(0.1)} [INFO][1] ipam/migrate.go 66: host-local IPAM data dir dir not found; no migration "
            "necessary, successfully exiting...",
        ]
    elif container == "calico-extension":
        lines = [
            f'time="{rfc3339(started)}" level=info msg="calico-extension starting" node={node}',
            f'time="{rfc3339(started)}" level=info msg="ensured HostEndpoint {node}-worker-private"',
            f'time="{rfc3339(started)}" level=info msg="done"',
        ]
    elif container == "calico-typha":
        lines = [
            f"{t(0)} [INFO][1] logutils.go 82: Early screen log level set to info",
            f'{t(0)} [INFO][1] daemon.go 172: Typha starting up GOMAXPROCS=4 buildDate="" version="{f.calico}"',
            f"{t(0.2)} [INFO][1] daemon.go 303: Kubernetes datastore driver handling resource limits",
            f"{t(0.5)} [INFO][1] sync_server.go 391: Server started on port 5473",
            f"{t(1.0)} [INFO][1] sync_server.go 641: Accepted new connection from {peers[0] if peers else node}",
        ]
    elif container == "calico-kube-controllers":
        lines = [
            f"{t(0)} [INFO][1] main.go 107: Loaded configuration from environment "
            'config=&config.Config{LogLevel:"info", WorkloadEndpointWorkers:1, ...}',
            f"{t(0.3)} [INFO][1] main.go 158: Getting initial config snapshot from datastore",
            f"{t(0.4)} [INFO][1] main.go 182: Got initial config snapshot",
            f"{t(0.5)} [INFO][1] node_controller.go 160: Starting Node controller",
        ]
    elif container == "tigera-operator":
        lines = [
            f'{{"level":"info","ts":"{rfc3339(started)}","logger":"setup","msg":"Version","version":"{f.operator}"}}',
            f'{{"level":"info","ts":"{rfc3339(started)}","logger":"controller_installation",'
            '"msg":"Reconciling Installation.operator.tigera.io","Request.Namespace":"","Request.Name":"default"}',
        ]
    elif container == "coredns":
        lines = [
            ".:53",
            "[INFO] plugin/reload: Running configuration SHA512 = " + _sha(pod)[:64] * 2,
            "CoreDNS-1.11.3",
            "linux/amd64, go1.22.7, a6338e9",
        ]
    elif container == "metrics-server":
        lines = [
            f"I{started.strftime('%m%d %H:%M:%S')}.000000       1 serving.go:374] Generated self-signed cert "
            "(/tmp/apiserver.crt, /tmp/apiserver.key)",
            f"I{started.strftime('%m%d %H:%M:%S')}.000000       1 secure_serving.go:213] Serving securely on [::]:10250",
        ]
    else:
        return ""
    return "\n".join(lines) + "\n"
