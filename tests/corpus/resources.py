"""Operator objects (Installation, TigeraStatus, tigera-operator), Calico resources, the case's
literal objects, events (involvedObject, source, counts) and container logs.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.corpus.case import CaseError, EventSpec, stamp
from tests.corpus.context import CALICO_GROUP, OPERATOR_GROUP
from tests.corpus.profiles import Json
from tests.corpus.workloads import WorkloadParts

_CONTAINER_EVENTS = ("Unhealthy", "BackOff", "Pulled", "Pulling", "Created", "Started", "Killing", "Failed")
_NODE_CONTROLLER = ("NodeNotReady", "RegisteredNode", "RemovingNode", "DeletingNode", "NodeNotSchedulable")
_OPERATOR_VERSIONS = {
    (3, 20): "v1.20.4",
    (3, 21): "v1.21.1",
    (3, 22): "v1.23.3",
    (3, 23): "v1.27.7",
    (3, 24): "v1.28.0",
    (3, 25): "v1.29.0",
    (3, 26): "v1.30.4",
    (3, 27): "v1.32.3",
    (3, 28): "v1.34.0",
    (3, 29): "v1.36.0",
    (3, 30): "v1.38.0",
}


class ResourceParts(WorkloadParts):
    def operator_objects(self) -> None:
        version = self.calico.version
        major, minor = (int(x) for x in version.lstrip("v").split(".")[:2])
        op_version = _OPERATOR_VERSIONS.get((major, minor), "v1.30.4")
        self.out.namespaces |= {"tigera-operator", "calico-system"}
        labels = {"k8s-app": "tigera-operator", "name": "tigera-operator"}
        container = {
            "name": "tigera-operator",
            "image": f"quay.io/tigera/operator:{op_version}",
            "command": ["operator"],
            "env": [
                {"name": "WATCH_NAMESPACE", "value": ""},
                {"name": "OPERATOR_NAME", "value": "tigera-operator"},
                {"name": "TIGERA_OPERATOR_INIT_IMAGE_VERSION", "value": op_version},
            ],
        }
        template = self.pod_template(
            labels, "tigera-operator", [], [container], grace=60, node_critical=False, host_network=True
        )
        workers = [n.name for n in self.case.nodes if not n.roles] or [n.name for n in self.case.nodes]
        nodes = self.placement("tigera-operator", 1, workers)
        self.deployment(
            "tigera-operator", "tigera-operator", labels, template, nodes, strategy="RollingUpdate"
        )
        pool = self.profile.ippool
        since = self.t(days=30)
        self.add(
            f"{OPERATOR_GROUP}/v1",
            "Installation",
            {
                "metadata": self.meta(
                    "Installation", "default", generation=1, finalizers=["tigera.io/operator-cleanup"]
                ),
                "spec": {
                    "calicoNetwork": {
                        "bgp": "Enabled",
                        "hostPorts": "Enabled",
                        "ipPools": [
                            {
                                "blockSize": 26,
                                "cidr": pool["cidr"],
                                "disableBGPExport": False,
                                "encapsulation": "VXLANCrossSubnet",
                                "natOutgoing": "Enabled",
                                "nodeSelector": "all()",
                            }
                        ],
                        "linuxDataplane": "Iptables",
                        "multiInterfaceMode": "None",
                        "nodeAddressAutodetectionV4": {"firstFound": True},
                    },
                    "cni": {"ipam": {"type": "Calico"}, "type": "Calico"},
                    "controlPlaneReplicas": 2,
                    "flexVolumePath": "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/",
                    "kubeletVolumePluginPath": "/var/lib/kubelet",
                    "nodeUpdateStrategy": {"rollingUpdate": {"maxUnavailable": 1}, "type": "RollingUpdate"},
                    "nonPrivileged": "Disabled",
                    "variant": "Calico",
                },
                "status": {"calicoVersion": version, "mtu": 1450, "variant": "Calico"},
            },
        )
        self.add(
            f"{OPERATOR_GROUP}/v1",
            "TigeraStatus",
            {
                "metadata": self.meta("TigeraStatus", "calico", generation=1),
                "spec": {},
                "status": {
                    "conditions": [
                        {
                            "type": "Available",
                            "status": "True",
                            "reason": "AllObjectsAvailable",
                            "message": "All Objects Available",
                            "lastTransitionTime": since,
                            "observedGeneration": 1,
                        },
                        {
                            "type": "Progressing",
                            "status": "False",
                            "reason": "AllObjectsAvailable",
                            "message": "All Objects Available",
                            "lastTransitionTime": since,
                            "observedGeneration": 1,
                        },
                        {
                            "type": "Degraded",
                            "status": "False",
                            "reason": "AllObjectsAvailable",
                            "message": "All Objects Available",
                            "lastTransitionTime": since,
                            "observedGeneration": 1,
                        },
                    ]
                },
            },
        )

    def calico_resources(self) -> None:
        pool = dict(self.profile.ippool.items())
        if self.calico.install == "operator":
            pool["allowedUses"] = ["Workload", "Tunnel"]
        self.add(
            f"{CALICO_GROUP}/v1",
            "IPPool",
            {"metadata": self.meta("IPPool", "default-ipv4-ippool", generation=1), "spec": pool},
        )
        self.add(
            f"{CALICO_GROUP}/v1",
            "FelixConfiguration",
            {
                "metadata": self.meta("FelixConfiguration", "default", generation=1),
                "spec": {
                    "bpfLogLevel": "",
                    "floatingIPs": "Disabled",
                    "logSeverityScreen": "Info",
                    "reportingInterval": "0s",
                },
            },
        )

    def literal_objects(self) -> None:
        """The case's own objects, as written; one with the identity of a generated object replaces it."""
        for obj in self.case.objects:
            doc = copy.deepcopy(obj)
            meta = doc["metadata"]
            namespace = meta.get("namespace", "")
            group = doc["apiVersion"].rsplit("/", 1)[0] if "/" in doc["apiVersion"] else ""
            existing = self.out.find(doc["kind"], namespace, meta["name"], api_group=group)
            if existing is not None:
                self.out.objects.remove(existing)
                meta.setdefault("uid", existing["metadata"]["uid"])
                meta.setdefault("creationTimestamp", existing["metadata"]["creationTimestamp"])
            meta.setdefault("uid", self.uid(doc["kind"], namespace, meta["name"]))
            meta.setdefault("resourceVersion", self.next_rv())
            meta.setdefault("creationTimestamp", self.t(days=30))
            self.out.objects.append(doc)
            if namespace:
                self.out.namespaces.add(namespace)
            group = doc["apiVersion"].rsplit("/", 1)[0] if "/" in doc["apiVersion"] else ""
            self.out.absent_groups.discard(group)

    def resolve_ref(self, ref: str, where: str) -> tuple[str, str, str]:
        """A pod reference → (namespace, pod name); `<workload>@<node>` or `<namespace>/<name>`."""
        if "@" in ref:
            if ref not in self.pod_owner:
                raise CaseError(
                    where,
                    f"no generated pod {ref} (generated: {', '.join(sorted(self.pod_owner)) or 'none'})",
                )
            ns, name = self.pod_owner[ref]
            return "Pod", ns, name
        ns, _, name = ref.partition("/")
        return "Pod", ns, name

    def involved(self, about: str, where: str) -> tuple[Json, str]:
        """involvedObject of an event and the node it happened on ("" when none)."""
        if "@" in about:
            _, ns, name = self.resolve_ref(about, where)
            kind = "Pod"
        else:
            parts = about.split("/")
            if len(parts) == 3:
                kind, ns, name = parts
            elif len(parts) == 2:
                kind, ns, name = parts[0], "", parts[1]
            else:
                raise CaseError(
                    where,
                    f"{about!r}: <workload>@<node>, Node/<name>, Pod/<ns>/<name>, DaemonSet/<ns>/<name> …",
                )
        obj = self.out.find(kind, ns, name)
        api = {
            "Pod": "v1",
            "Node": "v1",
            "DaemonSet": "apps/v1",
            "Deployment": "apps/v1",
            "ReplicaSet": "apps/v1",
        }.get(kind, "v1")
        ref: Json = {"kind": kind}
        if ns:
            ref["namespace"] = ns
        ref["name"] = name
        ref["uid"] = obj["metadata"]["uid"] if obj is not None else self.uid(kind, ns, name)
        ref["apiVersion"] = api
        if obj is not None:
            ref["resourceVersion"] = obj["metadata"]["resourceVersion"]
        node = ""
        if kind == "Pod":
            node = obj["spec"].get("nodeName", "") if obj is not None else ""
        elif kind == "Node":
            node = name
        return ref, node

    def event(self, spec: EventSpec, index: int) -> None:
        where = f"events[{index}]"
        ref, node = self.involved(spec.about, f"{where}.about")
        kind = ref["kind"]
        if kind == "Pod":
            pod = self.out.find("Pod", ref["namespace"], ref["name"])
            names = [c["name"] for c in (pod or {}).get("spec", {}).get("containers", [])]
            names += [c["name"] for c in (pod or {}).get("spec", {}).get("initContainers", [])]
            mentioned = [
                n for n in names if f"container {n}" in spec.message or f"container={n}" in spec.message
            ]
            if mentioned or (spec.reason in _CONTAINER_EVENTS and names):
                cname = mentioned[0] if mentioned else names[0]
                init = pod is not None and cname in [c["name"] for c in pod["spec"].get("initContainers", [])]
                ref["fieldPath"] = f"spec.{'initContainers' if init else 'containers'}{{{cname}}}"
        component = spec.source or {
            "Node": "node-controller" if spec.reason in _NODE_CONTROLLER else "kubelet",
            "DaemonSet": "daemonset-controller",
            "Deployment": "deployment-controller",
            "ReplicaSet": "replicaset-controller",
        }.get(kind, "kubelet")
        if kind == "Node" and component == "kubelet":
            ref["uid"] = ref["name"]  # the kubelet refers to its node by name
        source: Json = {"component": component}
        if component == "kubelet" and node:
            source["host"] = node
        last = spec.last or stamp(self.now)
        first = spec.first or last
        namespace = ref.get("namespace") or "default"
        self.out.namespaces.add(namespace)
        name = f"{ref['name']}.{self.hexid('event', str(index), length=16)}"
        self.add(
            "v1",
            "Event",
            {
                "metadata": self.meta("Event", name, namespace, created=first),
                "involvedObject": ref,
                "reason": spec.reason,
                "message": spec.message,
                "source": source,
                "firstTimestamp": first,
                "lastTimestamp": last,
                "count": spec.count,
                "type": spec.type,
                "eventTime": None,
                "reportingComponent": component if self.minor >= 20 else "",
                "reportingInstance": source.get("host", "") if self.minor >= 20 else "",
            },
        )

    def log(self, spec: Any, index: int) -> None:
        where = f"logs[{index}]"
        _, ns, name = self.resolve_ref(spec.pod, f"{where}.pod")
        pod = self.out.find("Pod", ns, name)
        if pod is None:
            raise CaseError(f"{where}.pod", f"no pod {ns}/{name} in the cluster")
        names = [c["name"] for c in pod["spec"]["containers"]] + [
            c["name"] for c in pod["spec"].get("initContainers", [])
        ]
        if spec.container not in names:
            raise CaseError(
                f"{where}.container",
                f"pod {ns}/{name} has no container {spec.container!r} (has: {', '.join(names)})",
            )
        key = (ns, name, spec.container)
        text = spec.text if spec.text.endswith("\n") else spec.text + "\n"
        target = self.out.previous_logs if spec.previous else self.out.logs
        target[key] = text
        statuses = [*pod["status"].get("initContainerStatuses", []), *pod["status"]["containerStatuses"]]
        cstatus = next(s for s in statuses if s["name"] == spec.container)
        waiting_after_crash = "waiting" in cstatus.get("state", {}) and "terminated" in cstatus.get(
            "lastState", {}
        )
        if spec.previous and waiting_after_crash:
            self.out.logs.setdefault(key, text)  # the kubelet serves the last terminated run either way
