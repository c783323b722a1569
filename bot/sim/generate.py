"""Generate a realistic IKS/ROKS cluster from a scenario, into a `Store`.

The objects' shapes are data: `bot/sim/templates/*.yaml`, one file per object family (the Node,
the calico-node Pod and DaemonSet, the Lease, Calico's resources, the workloads, namespaces,
Services, RBAC), with `${…}` placeholders and a few `$if`/`$when` conditionals for the eras
(`bot/sim/templating.py` says how they are filled). This module is the program around them: it
plans the workers, fills the templates in the order the cluster is built (the random generator is
consumed in a fixed order, so a seed always gives the same cluster), applies the scenario's
overrides, and keeps what the simulated controllers need afterwards.

Healthy workers are stamped out of one pre-encoded JSON template per kind (Node, calico-node Pod,
Lease, Calico Node): the template is filled once with `@@name@@` markers for the per-worker values,
encoded, and every worker is a join of byte slices and its own values, so 5,000 workers take about
a second. The scenario's broken workers are rendered the same way, decoded, deep-merged with the
scenario's overrides and re-encoded.

The shapes follow what an IKS cluster really returns: IBM labels under `ibm-cloud.kubernetes.io/`,
node names = private IPs, `managedFields`, the operator era (`calico-system`, Tigera operator
v1.32+, HTTP liveness) versus the manifest era (`kube-system`, exec liveness, `upgrade-ipam` and
IBM's `calico-extension` init containers).
"""

from __future__ import annotations

import copy
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.sim.default_logs import default_log_text
from bot.sim.facts import Facts, cluster_id_for, operator_typha_replicas, sha
from bot.sim.podstate import (
    api_defaults,
    crash_waiting_containers,
    lease_micro_times,
    pod_failing_message,
    pod_ready,
)
from bot.sim.scenario import BrokenWorker, Scenario, ScenarioError, resolve, rfc3339
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
from bot.sim.templating import Template, fill, fill_doc, fill_list, json_values, load, marker

__all__ = [
    "CALICO_NODES",
    "DAEMONSETS",
    "DEPLOYMENTS",
    "EVENTS",
    "LEASES",
    "NODES",
    "PODS",
    "TIGERA_STATUSES",
    "ClusterBuilder",
    "Worker",
    "operator_typha_replicas",
    "rtype",
]

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

_RS_HASH = str.maketrans("0123456789abcdef", "bcdfghjk56789xzq")


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
        base_seed = seed if seed is not None else int(sha(f"{scenario.name}/{cluster}")[:8], 16)
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
        self._context: dict[str, Any] = {}  # the templates' cluster-level values (see build)

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
        self._context = self._cluster_context()
        self._put_all(fill_list("namespaces", "namespaces", self._context))
        self._workers()
        self._cluster_objects()
        self._broken_events()
        self._apply_objects()
        self._link_uids()
        self.refresh_derived()

    def _cluster_context(self) -> dict[str, Any]:
        """What the templates are filled with at cluster level (see `Facts.context`)."""
        ready = [w for w in self.workers if w.broken is None] or self.workers
        return self.facts.context() | {
            "ds_uid": self.uids["ds"],
            "installation_uid": self.uids["installation"],
            "installation_ready_since": self.ts(self.rollout_time + timedelta(minutes=9)),
            "operator_typha_replicas": operator_typha_replicas(self.total),
            "dns_replicas": min(3, len(ready)),
        }

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
                pool_id=f"{f.cluster_id}-{sha(pool)[:5]}",
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
            "subnet_id": f"0717-{sha(w.zone)[:8]}-{sha(w.zone)[8:12]}-{sha(w.zone)[12:16]}",
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
            markers = {k: marker(k) for k in self.workers[0].values} if self.workers else {}
            tpl = self._templates[kind] = Template(self._worker_doc(kind, markers))
        return tpl

    def _worker_doc(self, kind: str, values: dict[str, str]) -> Json:
        """A per-worker document filled with `values` (the markers, to build its byte template)."""
        context = self._context | values
        if kind == "node":
            return fill_doc("node", "node", context | {"images": self._node_images()})
        if kind == "pod":
            return self._calico_pod_doc(context)
        if kind == "lease":
            return fill_doc("lease", "lease", context)
        return fill_doc("calico-resources", "node", context)

    def _node_images(self) -> list[Json]:
        images = []
        for name, tag, size in fill_list("node", "images", self._context):
            repo = self._context["registry"] + name
            values = {"repo": repo, "tag": tag, "size": size, "digest": sha(repo + tag)}
            images.append(fill_doc("node", "image", values))
        return images

    def _calico_pod_doc(self, context: dict[str, Any]) -> Json:
        """The calico-node Pod: its era's spec, a status entry per init container, the rest."""
        context = context | {"for_pod": True, "node": context["ip"]}
        spec = fill_doc("calico-node", "pod_spec", context)
        statuses = []
        for i, container in enumerate(spec["initContainers"]):
            run = "init1" if i == 0 else "init2"
            status_values = {
                "name": container["name"],
                "image": container["image"],
                "started": context[f"{run}_started"],
                "finished": context[f"{run}_finished"],
                "cid": context[f"cid{i + 2}"],
            }
            statuses.append(fill_doc("calico-node", "init_status", context | status_values))
        return fill_doc("calico-node", "pod", context | {"spec": spec, "init_statuses": statuses})

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

    # --- cluster-level objects -------------------------------------------------------------

    def _put(self, doc: Json, rt: ResourceType | None = None) -> None:
        kind = rt or type_for_object(str(doc.get("apiVersion", "")), str(doc.get("kind", "")))
        if kind is PODS or (kind is not None and kind.group == "apps"):
            api_defaults(doc, pod=kind is PODS)
        meta = doc.setdefault("metadata", {})
        meta.setdefault("uid", self.uid())
        meta.setdefault("creationTimestamp", self.ts(self.install_time))
        self.store.put(doc, rtype=rt)

    def _put_all(self, docs: list[Json]) -> None:
        for doc in docs:
            self._put(doc)

    def _cluster_objects(self) -> None:
        context = self._context
        daemonset = fill_doc("calico-node", "daemonset", context | {"for_pod": False})
        self._put(daemonset)
        self.daemonset_doc = copy.deepcopy(daemonset)  # what a master refresh puts back
        ready_workers = [w for w in self.workers if w.broken is None] or self.workers
        for entry in load("workloads")["workloads"]:
            self._workload(entry, ready_workers)
        self._put_all(fill_list("services", "services", context))
        self._put_all(fill_list("calico-resources", "cluster", context))
        self._put_all(fill_list("rbac", "rbac", context))

    def _workload(self, entry: Json, ready_workers: list[Worker]) -> None:
        """A Deployment of templates/workloads.yaml: its pods, the Deployment, its ReplicaSet."""
        first = fill(entry, self._context | {"rs_hash": ""})  # its name and namespace give the hash
        if first is None:  # `$when`: not in this era
            return
        name, ns = str(first["name"]), str(first["namespace"])
        rs_hash = sha(f"{ns}/{name}")[:10].translate(_RS_HASH)
        workload = fill(entry, self._context | {"rs_hash": rs_hash})
        dep_uid, rs_uid = self.uid(), self.uid()
        created = self.rollout_time if workload["created"] == "rollout" else self.install_time
        replicas = int(workload["replicas"])
        selector, pod_labels = workload["selector"], workload["pod_labels"]
        placement = workload.get("placement") or {}
        if "skip" in placement:
            nodes = ready_workers[int(placement["skip"]) :] or ready_workers
        elif "last" in placement:
            nodes = ready_workers[-int(placement["last"]) :]
        else:
            nodes = ready_workers
        context = (
            self._context
            | {"host_network": False, "priority": "", "installation_owned": False}
            | workload
            | {
                "rs_hash": rs_hash,
                "dep_uid": dep_uid,
                "rs_uid": rs_uid,
                "created_at": self.ts(created),
                "available_at": self.ts(created + timedelta(minutes=1)),
                "desired_replicas": str(replicas),
                "max_replicas": str(replicas + 1),
                "rs_selector": {**selector, "pod-template-hash": rs_hash},
                "sorted_pod_labels": dict(sorted(pod_labels.items())),
                "template_labels": {k: v for k, v in pod_labels.items() if k != "pod-template-hash"},
            }
        )
        pods_nodes = [nodes[i % len(nodes)] for i in range(replicas)] if nodes else []
        for w in pods_nodes:
            pod_created = created + timedelta(seconds=self.rng.randint(5, 60))
            pod_name = f"{name}-{rs_hash}-{self.suffix()}"
            started = self.ts(pod_created + timedelta(seconds=4))
            statuses = [
                fill_doc(
                    "workloads",
                    "container_status",
                    {"name": c["name"], "image": c["image"], "started_at": started, "cid": self.hex(64)},
                )
                for c in workload["containers"]
            ]
            overlay_ip = f"172.30.{(w.index % 1024) * 64 // 256}.{(w.index * 64) % 256 + 5}"
            pod_values = {
                "node": w.name,
                "pod_name": pod_name,
                "pod_ip": w.name if context["host_network"] else overlay_ip,
                "t0": self.ts(pod_created),
                "t1": self.ts(pod_created + timedelta(seconds=12)),
                "container_statuses": statuses,
            }
            self._put(fill_doc("workloads", "pod", context | pod_values))
        context["ready"] = len(pods_nodes)
        self._put(fill_doc("workloads", "deployment", context))
        self._put(fill_doc("workloads", "replicaset", context))

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
            worker.values["tunnel_ip"] if (worker := self.by_node.get(node)) is not None else None,
            [w.name for w in self.workers[:6] if w.name != node],
        )
