"""Pods: the healthy default, the case's container status fragments merged over it, and what the
kubelet and the node controller derive (phase, conditions, PodInitializing behind a failed init
container, not Ready on an unreachable node).
"""

from __future__ import annotations

import copy
from datetime import timedelta

from tests.corpus.case import CaseError, PodChange, parse_time, stamp
from tests.corpus.context import BuildContext
from tests.corpus.profiles import Json


class PodParts(BuildContext):
    def pod_template(
        self,
        labels: dict[str, str],
        service_account: str,
        inits: list[Json],
        containers: list[Json],
        *,
        grace: int,
        node_critical: bool,
        host_network: bool | None = None,
    ) -> Json:
        spec: Json = {}
        if inits:
            spec["initContainers"] = copy.deepcopy(inits)
        spec["containers"] = copy.deepcopy(containers)
        spec.update(
            {
                "restartPolicy": "Always",
                "terminationGracePeriodSeconds": grace,
                "dnsPolicy": "ClusterFirst",
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "serviceAccountName": service_account,
                "serviceAccount": service_account,
                "securityContext": {},
                "schedulerName": "default-scheduler",
            }
        )
        if node_critical:
            spec["hostNetwork"] = True
            spec["tolerations"] = [
                {"effect": "NoSchedule", "operator": "Exists"},
                {"key": "CriticalAddonsOnly", "operator": "Exists"},
                {"effect": "NoExecute", "operator": "Exists"},
            ]
            spec["priorityClassName"] = "system-node-critical"
        else:
            spec["tolerations"] = [
                {"key": "CriticalAddonsOnly", "operator": "Exists"},
                {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"},
                {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
            ]
            spec["priorityClassName"] = "system-cluster-critical"
            if host_network:
                spec["hostNetwork"] = True
        return {"metadata": {"labels": dict(labels)}, "spec": spec}

    def pod(
        self,
        name: str,
        ns: str,
        node: str,
        labels: dict[str, str],
        template: Json,
        owner: Json | None,
        *,
        daemonset: bool,
        created: str = "",
    ) -> Json:
        spec = copy.deepcopy(template["spec"])
        spec["nodeName"] = node
        if daemonset:
            spec["affinity"] = {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
                        ]
                    }
                }
            }
            spec["tolerations"] = spec.get("tolerations", []) + [
                {"key": f"node.kubernetes.io/{t}", "operator": "Exists", "effect": e}
                for t, e in (
                    ("not-ready", "NoExecute"),
                    ("unreachable", "NoExecute"),
                    ("disk-pressure", "NoSchedule"),
                    ("memory-pressure", "NoSchedule"),
                    ("pid-pressure", "NoSchedule"),
                    ("unschedulable", "NoSchedule"),
                    ("network-unavailable", "NoSchedule"),
                )
            ]
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        critical = spec.get("priorityClassName") == "system-node-critical"
        spec["priority"] = 2000001000 if critical else (2000000000 if spec.get("priorityClassName") else 0)
        start = created or self.t(days=7)
        meta = self.meta("Pod", name, ns, created=start, labels=dict(labels))
        if owner is not None:
            meta["generateName"] = name.rsplit("-", 1)[0] + "-"
            meta["ownerReferences"] = [owner]
        if self.calico.install == "operator" and ns == "calico-system":
            meta["annotations"] = {
                "hash.operator.tigera.io/cni-config": self.hexid("cni-config", length=40),
                "hash.operator.tigera.io/system": self.hexid("system", length=40),
                "hash.operator.tigera.io/tigera-ca-private": self.hexid("ca", length=40),
            }
        ip = self.node_ip(node)
        inits = spec.get("initContainers", [])
        init_statuses = [
            self.container_status(c, name, start, init=True, order=i) for i, c in enumerate(inits)
        ]
        main_statuses = [
            self.container_status(c, name, start, init=False, order=len(inits)) for c in spec["containers"]
        ]
        status: Json = {
            "phase": "Running",
            "hostIP": ip,
            "hostIPs": [{"ip": ip}],
            "podIP": ip if spec.get("hostNetwork") else self.pod_ip(name),
            "startTime": start,
            "qosClass": "Burstable"
            if any(c.get("resources", {}).get("requests") for c in spec["containers"])
            else "BestEffort",
        }
        status["podIPs"] = [{"ip": status["podIP"]}]
        if init_statuses:
            status["initContainerStatuses"] = init_statuses
        status["containerStatuses"] = main_statuses
        doc = self.add("v1", "Pod", {"metadata": meta, "spec": spec, "status": status})
        self.derive_pod_status(doc, phase="", conditions=None)
        return doc

    def pod_ip(self, name: str) -> str:
        digest = self._hash("podip", name)
        return f"10.{digest[0] % 200 + 20}.{digest[1]}.{digest[2] % 250 + 2}"

    def container_status(self, container: Json, pod: str, start: str, *, init: bool, order: int) -> Json:
        """A healthy status: init containers completed one after the other, then the containers running."""
        image = container["image"]
        began = parse_time(start, "startTime") + timedelta(seconds=2 + 2 * order)
        status: Json = {"name": container["name"]}
        cid = self.runtime_id(pod, container["name"], "0")
        if init:
            status["state"] = {
                "terminated": {
                    "exitCode": 0,
                    "reason": "Completed",
                    "startedAt": stamp(began),
                    "finishedAt": stamp(began + timedelta(seconds=1)),
                    "containerID": cid,
                }
            }
            status.update(lastState={}, ready=True, restartCount=0)
        else:
            status["state"] = {"running": {"startedAt": stamp(began + timedelta(seconds=1))}}
            status.update(lastState={}, ready=True, restartCount=0)
        status.update(image=image, imageID=self.image_id(image), containerID=cid, started=not init)
        return status

    def apply_pod_changes(self, changes: dict[str, PodChange]) -> None:
        for ref, change in changes.items():
            where = f"pods[{next(i for i, p in enumerate(self.case.pods) if p.ref == ref)}]"
            ns, name = self.pod_owner[ref]
            doc = self.out.find("Pod", ns, name)
            assert doc is not None
            if change.delete:
                self.out.objects.remove(doc)
                del self.pod_owner[ref]
                continue
            if change.name and change.name != name:
                doc["metadata"]["name"] = change.name
                doc["metadata"]["uid"] = self.uid("Pod", ns, change.name)
                self.pod_owner[ref] = (ns, change.name)
                for status in [
                    *doc["status"].get("initContainerStatuses", []),
                    *doc["status"]["containerStatuses"],
                ]:
                    status["containerID"] = self.runtime_id(change.name, status["name"], "0")
                    for section in ("state", "lastState"):
                        for value in status.get(section, {}).values():
                            if isinstance(value, dict) and "containerID" in value:
                                value["containerID"] = status["containerID"]
            self.change_pod(doc, change, where)

    def change_pod(self, doc: Json, change: PodChange, where: str) -> None:
        status = doc["status"]
        pod = doc["metadata"]["name"]
        if change.labels:
            doc["metadata"]["labels"].update(change.labels)
        for key, section, fragments in (
            ("initContainers", "initContainerStatuses", change.init_containers),
            ("containers", "containerStatuses", change.containers),
        ):
            names = [c["name"] for c in doc["spec"].get(key, [])]
            other = "containers" if key == "initContainers" else "initContainers"
            for cname, fragment in fragments.items():
                if cname not in names:
                    field_name = "init_containers" if key == "initContainers" else "containers"
                    hint = ""
                    if cname in [c["name"] for c in doc["spec"].get(other, [])]:
                        hint = (
                            f"; at calico.version {self.calico.version} it is {'a main' if other == 'containers' else 'an init'} "
                            f"container: move it, or set the version the report ran"
                        )
                    raise CaseError(
                        f"{where}.{field_name}.{cname}",
                        f"pod has no {'init ' if key == 'initContainers' else ''}container {cname!r} "
                        f"(has: {', '.join(names) or 'none'}){hint}",
                    )
                statuses = status.setdefault(section, [])
                current = next(s for s in statuses if s["name"] == cname)
                merged = self.merge_status(current, fragment, pod, init=key == "initContainers")
                statuses[statuses.index(current)] = merged
                if "image" in fragment:
                    spec_container = next(c for c in doc["spec"][key] if c["name"] == cname)
                    spec_container["image"] = fragment["image"]
        if change.reason:
            status["reason"] = change.reason
        if change.message:
            status["message"] = change.message
        self.derive_pod_status(
            doc,
            phase=change.phase,
            conditions=change.conditions,
            changed_init=bool(change.init_containers),
            changed_main=set(change.containers),
        )

    def merge_status(self, current: Json, fragment: Json, pod: str, *, init: bool) -> Json:
        merged = dict(current)
        merged.update(copy.deepcopy(fragment))
        state = merged.get("state") or {}
        if (state.get("waiting") or {}).get(
            "reason"
        ) == "CrashLoopBackOff" and "restartCount" not in fragment:
            merged["restartCount"] = max(
                1, int(merged.get("restartCount") or 0)
            )  # back-off follows a restart
        restarts = int(merged.get("restartCount") or 0)
        last = merged.get("lastState") or {}
        if restarts and (state.get("waiting") or {}).get("reason") == "CrashLoopBackOff" and not last:
            # a container backing off has a last terminated run: the kubelet serves it as its log
            last = {"terminated": {}}
            merged["lastState"] = last
        cname = merged["name"]
        if "image" in fragment and "imageID" not in fragment:
            merged["imageID"] = self.image_id(fragment["image"])
        last_id = self.runtime_id(pod, cname, str(max(restarts - 1, 0)))
        now_id = self.runtime_id(pod, cname, str(restarts))
        if "terminated" in last:
            term = last["terminated"]
            term.setdefault("exitCode", 1)
            term.setdefault("reason", "Error" if term["exitCode"] else "Completed")
            term.setdefault("finishedAt", self.t(minutes=1))
            term.setdefault(
                "startedAt", stamp(parse_time(term["finishedAt"], "finishedAt") - timedelta(seconds=20))
            )
            term.setdefault("containerID", last_id)
        if "running" in state:
            running = state["running"] or {}
            state["running"] = running
            if "startedAt" not in running:
                finished = (last.get("terminated") or {}).get("finishedAt")
                running["startedAt"] = (
                    stamp(parse_time(finished, "finishedAt") + timedelta(seconds=1))
                    if finished
                    else current["state"].get("running", {}).get("startedAt", self.t(days=7))
                )
            merged["containerID"] = fragment.get("containerID", now_id)
            merged.setdefault("started", True)
            if "started" not in fragment:
                merged["started"] = True
        elif "terminated" in state:
            term = state["terminated"]
            term.setdefault("exitCode", 1)
            term.setdefault("reason", "Error" if term["exitCode"] else "Completed")
            term.setdefault("finishedAt", self.t(minutes=1))
            term.setdefault(
                "startedAt", stamp(parse_time(term["finishedAt"], "finishedAt") - timedelta(seconds=5))
            )
            term.setdefault("containerID", now_id)
            merged["containerID"] = term["containerID"]
            if "started" not in fragment:
                merged["started"] = False
        elif "waiting" in state:
            if "started" not in fragment:
                merged["started"] = False
            if "terminated" in last:
                merged["containerID"] = last["terminated"]["containerID"]
            elif "containerID" not in fragment:
                merged.pop("containerID", None)
                if state["waiting"].get("reason") in (
                    "ContainerCreating",
                    "PodInitializing",
                    "ErrImagePull",
                    "ImagePullBackOff",
                ):
                    merged["imageID"] = ""
        if "ready" not in fragment:
            done = (state.get("terminated") or {}).get("exitCode") == 0
            merged["ready"] = "running" in state or (init and done)
        return merged

    def derive_pod_status(
        self,
        doc: Json,
        *,
        phase: str,
        conditions: tuple[Json, ...] | None,
        changed_init: bool = False,
        changed_main: set[str] | None = None,
    ) -> None:
        status = doc["status"]
        inits = status.get("initContainerStatuses", [])
        mains = status["containerStatuses"]
        blocked = None
        for init in inits:
            term = init.get("state", {}).get("terminated")
            if not (term is not None and term.get("exitCode") == 0):
                blocked = init["name"]
                break
        if blocked is not None and changed_init:
            after = False
            for init in inits:  # the init containers after the failed one have not started
                if after:
                    init.update(
                        state={"waiting": {"reason": "PodInitializing"}},
                        lastState={},
                        ready=False,
                        restartCount=0,
                        started=False,
                        imageID="",
                    )
                    init.pop("containerID", None)
                after = after or init["name"] == blocked
            for main in mains:
                if main["name"] not in (changed_main or set()):
                    main.update(
                        state={"waiting": {"reason": "PodInitializing"}},
                        lastState={},
                        ready=False,
                        restartCount=0,
                        started=False,
                        imageID="",
                    )
                    main.pop("containerID", None)
        start = status.get("startTime") or doc["metadata"]["creationTimestamp"]
        all_ready = all(m.get("ready") for m in mains)
        unready = [m["name"] for m in mains if not m.get("ready")]
        status["phase"] = phase or ("Pending" if blocked is not None else "Running")
        if conditions is not None:
            status["conditions"] = [dict(c) for c in conditions]
            return
        transition = start
        for main in mains:
            for stamp_text in (
                (main.get("state", {}).get("running") or {}).get("startedAt"),
                (main.get("lastState", {}).get("terminated") or {}).get("finishedAt"),
            ):
                if stamp_text and stamp_text > transition:
                    transition = stamp_text
        init_done = (
            (inits[-1].get("state", {}).get("terminated") or {}).get("finishedAt", start)
            if inits and blocked is None
            else start
        )
        conds: list[Json] = []
        if self.minor >= 29:
            conds.append(
                {
                    "type": "PodReadyToStartContainers",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": start,
                }
            )
        init_cond: Json = {
            "type": "Initialized",
            "status": "True",
            "lastProbeTime": None,
            "lastTransitionTime": init_done,
        }
        if blocked is not None:
            init_cond.update(
                status="False",
                reason="ContainersNotInitialized",
                message=f"containers with incomplete status: [{blocked}]",
            )
        conds.append(init_cond)
        for kind in ("Ready", "ContainersReady"):
            cond: Json = {
                "type": kind,
                "status": "True" if all_ready else "False",
                "lastProbeTime": None,
                "lastTransitionTime": transition,
            }
            if not all_ready:
                cond.update(
                    reason="ContainersNotReady",
                    message=f"containers with unready status: [{' '.join(unready)}]",
                )
            conds.append(cond)
        conds.append(
            {
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": doc["metadata"]["creationTimestamp"],
            }
        )
        status["conditions"] = conds

    def extra_pod(self, change: PodChange, index: int) -> None:
        where = f"pods[{index}]"
        ns, _, name = change.ref.partition("/")
        self.out.namespaces.add(ns)
        if change.delete:
            raise CaseError(f"{where}.delete", "only a generated pod can be deleted")
        containers = [
            {
                "name": cname,
                "image": str(fragment.get("image") or f"{cname}:latest"),
                "resources": {},
                "imagePullPolicy": "IfNotPresent",
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            }
            for cname, fragment in change.containers.items()
        ]
        if not containers:
            raise CaseError(
                f"{where}.containers", "an extra pod needs its containers (name: status fragment)"
            )
        inits = [
            {"name": cname, "image": str(fragment.get("image") or f"{cname}:latest"), "resources": {}}
            for cname, fragment in change.init_containers.items()
        ]
        template = self.pod_template(
            change.labels, "default", inits, containers, grace=30, node_critical=False
        )
        template["spec"]["tolerations"] = [
            {
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            },
            {
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            },
        ]
        template["spec"].pop("priorityClassName", None)
        template["spec"].pop("nodeSelector", None)
        if change.node:
            doc = self.pod(
                name, ns, change.node, change.labels, template, None, daemonset=False, created=change.created
            )
            self.change_pod(doc, change, where)
            return
        # not scheduled: Pending, no node, no container statuses
        meta = self.meta(
            "Pod", name, ns, created=change.created or self.t(minutes=10), labels=dict(change.labels)
        )
        self.add(
            "v1",
            "Pod",
            {
                "metadata": meta,
                "spec": template["spec"],
                "status": {
                    "phase": change.phase or "Pending",
                    "qosClass": "BestEffort",
                    "conditions": [dict(c) for c in change.conditions]
                    if change.conditions is not None
                    else [
                        {
                            "type": "PodScheduled",
                            "status": "False",
                            "lastProbeTime": None,
                            "lastTransitionTime": meta["creationTimestamp"],
                            "reason": change.reason or "Unschedulable",
                            "message": change.message,
                        }
                    ],
                },
            },
        )

    def mark_pods_on_lost_nodes(self) -> None:
        """The node lifecycle controller marks the pods of an unreachable node not Ready."""
        lost: dict[str, str] = {}
        for node in self.out.of_kind("Node"):
            for cond in node["status"]["conditions"]:
                if cond["type"] == "Ready" and cond["status"] == "Unknown":
                    lost[node["metadata"]["name"]] = cond["lastTransitionTime"]
        if not lost:
            return
        overridden = {
            self.pod_owner[p.ref] if p.generated else (p.ref.split("/", 1)[0], p.ref.split("/", 1)[1])
            for p in self.case.pods
            if p.conditions is not None and (p.ref in self.pod_owner or not p.generated)
        }
        for pod in self.out.of_kind("Pod"):
            node = pod["spec"].get("nodeName")
            key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
            if node in lost and key not in overridden:
                for cond in pod["status"].get("conditions", []):
                    if cond["type"] == "Ready" and cond["status"] == "True":
                        cond.update(status="False", lastTransitionTime=lost[node])
