"""The install type's workloads: the DaemonSet(s), the Deployments with their ReplicaSets, their
pods placed on nodes, and the status counts derived from those pods.
"""

from __future__ import annotations

import re

from tests.corpus.pods import PodParts
from tests.corpus.profiles import Json


class WorkloadParts(PodParts):
    def calico_workloads(self) -> None:
        prof, calico = self.profile, self.calico
        ns = calico.namespace
        self.out.namespaces.add(ns)
        pod_labels = {"k8s-app": prof.app_label, **dict(prof.extra_pod_labels)}
        template = self.pod_template(
            pod_labels,
            prof.service_account,
            list(prof.init_containers),
            list(prof.containers),
            grace=prof.termination_grace,
            node_critical=True,
        )
        self.daemonset(calico.daemonset, ns, pod_labels, template)
        if calico.csi_node_driver and calico.install == "operator":
            csi_labels = {
                "k8s-app": "csi-node-driver",
                "app.kubernetes.io/name": "csi-node-driver",
                "name": "csi-node-driver",
            }
            csi = self.pod_template(
                csi_labels,
                "csi-node-driver",
                [],
                [
                    {"name": "calico-csi", "image": f"docker.io/calico/csi:{calico.version}"},
                    {
                        "name": "csi-node-driver-registrar",
                        "image": f"docker.io/calico/node-driver-registrar:{calico.version}",
                    },
                ],
                grace=30,
                node_critical=True,
            )
            self.daemonset("csi-node-driver", ns, csi_labels, csi)
        workers = [n.name for n in self.case.nodes if not n.roles] or [n.name for n in self.case.nodes]
        control = [n.name for n in self.case.nodes if n.roles] or workers
        if calico.kube_controllers:
            labels = {"k8s-app": "calico-kube-controllers"}
            if calico.install == "operator":
                labels["app.kubernetes.io/name"] = "calico-kube-controllers"
            container = {
                "name": "calico-kube-controllers",
                "image": prof.kube_controllers_image,
                "env": [
                    {"name": "ENABLED_CONTROLLERS", "value": "node"},
                    {"name": "DATASTORE_TYPE", "value": "kubernetes"},
                ],
                "livenessProbe": {
                    "exec": {"command": ["/usr/bin/check-status", "-l"]},
                    "periodSeconds": 10,
                    "initialDelaySeconds": 10,
                    "failureThreshold": 6,
                    "timeoutSeconds": 10,
                    "successThreshold": 1,
                },
                "readinessProbe": {
                    "exec": {"command": ["/usr/bin/check-status", "-r"]},
                    "periodSeconds": 10,
                    "failureThreshold": 3,
                    "timeoutSeconds": 1,
                    "successThreshold": 1,
                },
            }
            template = self.pod_template(
                labels, "calico-kube-controllers", [], [container], grace=30, node_critical=False
            )
            nodes = self.placement("calico-kube-controllers", 1, control + workers)
            self.deployment("calico-kube-controllers", ns, labels, template, nodes, strategy="Recreate")
        if calico.typha:
            labels = {"k8s-app": "calico-typha"}
            if calico.install == "operator":
                labels["app.kubernetes.io/name"] = "calico-typha"
            container = {
                "name": "calico-typha",
                "image": prof.typha_image,
                "ports": [
                    {"containerPort": 5473, "hostPort": 5473, "name": "calico-typha", "protocol": "TCP"}
                ],
                "env": [
                    {"name": "TYPHA_HEALTHENABLED", "value": "true"},
                    {"name": "TYPHA_K8SNAMESPACE", "value": ns},
                ],
                "livenessProbe": {
                    "httpGet": {"host": "localhost", "path": "/liveness", "port": 9098, "scheme": "HTTP"},
                    "periodSeconds": 30,
                    "initialDelaySeconds": 30,
                    "timeoutSeconds": 10,
                    "failureThreshold": 3,
                    "successThreshold": 1,
                },
                "readinessProbe": {
                    "httpGet": {"host": "localhost", "path": "/readiness", "port": 9098, "scheme": "HTTP"},
                    "periodSeconds": 10,
                    "timeoutSeconds": 10,
                    "failureThreshold": 3,
                    "successThreshold": 1,
                },
            }
            template = self.pod_template(
                labels, "calico-typha", [], [container], grace=300, node_critical=False, host_network=True
            )
            nodes = list(calico.typha_nodes) or self.placement(
                "calico-typha", calico.typha, workers + control
            )
            self.deployment("calico-typha", ns, labels, template, nodes, strategy="RollingUpdate")
            self.add(
                "v1",
                "Service",
                {
                    "metadata": self.meta("Service", "calico-typha", ns, labels={"k8s-app": "calico-typha"}),
                    "spec": {
                        "clusterIP": "10.96.120.45",
                        "clusterIPs": ["10.96.120.45"],
                        "ports": [
                            {
                                "name": "calico-typha",
                                "port": 5473,
                                "protocol": "TCP",
                                "targetPort": "calico-typha",
                            }
                        ],
                        "selector": {"k8s-app": "calico-typha"},
                        "sessionAffinity": "None",
                        "type": "ClusterIP",
                    },
                    "status": {"loadBalancer": {}},
                },
            )

    def placement(self, workload: str, count: int, candidates: list[str]) -> list[str]:
        """Nodes for a Deployment's pods: those the case's pod refs name (`<workload>@<node>`) first,
        then the candidates in order (spreading before doubling up)."""
        named = [
            p.ref.split("@", 1)[1]
            for p in self.case.pods
            if p.generated and p.ref.split("@", 1)[0] == workload
        ]
        chosen = list(dict.fromkeys(named))
        pool = [n for n in dict.fromkeys(candidates) if n not in chosen] or list(dict.fromkeys(candidates))
        index = 0
        while len(chosen) < count and pool:
            chosen.append(pool[index % len(pool)])
            index += 1
        return chosen[: max(count, len(set(named)))]

    def template_hash(self, ns: str, name: str) -> str:
        """The pod-template-hash of a Deployment's ReplicaSet: taken from a pod name the case gives
        (`<deployment>-<hash>-<suffix>`), else derived."""
        pattern = re.compile(rf"^{re.escape(name)}-([a-z0-9]{{6,10}})-[a-z0-9]{{5}}$")
        for change in self.case.pods:
            if change.generated and change.ref.split("@", 1)[0] == name and change.name:
                match = pattern.match(change.name)
                if match is not None:
                    return match.group(1)
        return self.suffix(ns, name, "template", length=10)

    def daemonset(self, name: str, ns: str, labels: dict[str, str], template: Json) -> None:
        ds_labels = {"k8s-app": labels["k8s-app"]}
        annotations = {"deprecated.daemonset.template.generation": "1"}
        if self.calico.install == "rke2-canal" and name == self.calico.daemonset:
            ds_labels["app.kubernetes.io/managed-by"] = "Helm"
            annotations.update({"meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": ns})
        meta = self.meta("DaemonSet", name, ns, labels=ds_labels, annotations=annotations, generation=1)
        if self.installation_ref():
            meta["ownerReferences"] = self.installation_ref()
        self.add(
            "apps/v1",
            "DaemonSet",
            {
                "metadata": meta,
                "spec": {
                    "selector": {"matchLabels": {"k8s-app": labels["k8s-app"]}},
                    "template": template,
                    "updateStrategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
                    },
                    "revisionHistoryLimit": 10,
                },
                "status": {},
            },
        )
        revision = self.hexid("revision", ns, name, length=10)
        for node in self.case.nodes:
            pod_name = f"{name}-{self.suffix(ns, name, node.name)}"
            pod_labels = {**labels, "controller-revision-hash": revision, "pod-template-generation": "1"}
            self.pod(
                pod_name,
                ns,
                node.name,
                pod_labels,
                template,
                self.owner_ref("apps/v1", "DaemonSet", name, ns),
                daemonset=True,
                created=self.created_for(f"{name}@{node.name}"),
            )
            self.pod_owner[f"{name}@{node.name}"] = (ns, pod_name)

    def deployment(
        self, name: str, ns: str, labels: dict[str, str], template: Json, nodes: list[str], *, strategy: str
    ) -> None:
        meta = self.meta(
            "Deployment",
            name,
            ns,
            labels=dict(labels),
            annotations={"deployment.kubernetes.io/revision": "1"},
            generation=1,
        )
        if self.installation_ref():
            meta["ownerReferences"] = self.installation_ref()
        spec_strategy: Json = {"type": strategy}
        if strategy == "RollingUpdate":
            spec_strategy["rollingUpdate"] = {"maxSurge": "25%", "maxUnavailable": "25%"}
        self.add(
            "apps/v1",
            "Deployment",
            {
                "metadata": meta,
                "spec": {
                    "replicas": len(nodes),
                    "selector": {"matchLabels": {"k8s-app": labels["k8s-app"]}},
                    "template": template,
                    "strategy": spec_strategy,
                    "revisionHistoryLimit": 2,
                    "progressDeadlineSeconds": 600,
                },
                "status": {},
            },
        )
        template_hash = self.template_hash(ns, name)
        rs_name = f"{name}-{template_hash}"
        self.add(
            "apps/v1",
            "ReplicaSet",
            {
                "metadata": self.meta(
                    "ReplicaSet",
                    rs_name,
                    ns,
                    labels={**labels, "pod-template-hash": template_hash},
                    annotations={
                        "deployment.kubernetes.io/desired-replicas": str(len(nodes)),
                        "deployment.kubernetes.io/revision": "1",
                    },
                    ownerReferences=[self.owner_ref("apps/v1", "Deployment", name, ns)],
                    generation=1,
                ),
                "spec": {
                    "replicas": len(nodes),
                    "selector": {
                        "matchLabels": {**{"k8s-app": labels["k8s-app"]}, "pod-template-hash": template_hash}
                    },
                    "template": template,
                },
                "status": {},
            },
        )
        for node in nodes:
            pod_name = f"{rs_name}-{self.suffix(ns, rs_name, node)}"
            self.pod(
                pod_name,
                ns,
                node,
                {**labels, "pod-template-hash": template_hash},
                template,
                self.owner_ref("apps/v1", "ReplicaSet", rs_name, ns),
                daemonset=False,
                created=self.created_for(f"{name}@{node}"),
            )
            self.pod_owner.setdefault(f"{name}@{node}", (ns, pod_name))

    def owned_pods(self, kind: str, ns: str, name: str) -> list[Json]:
        return [
            p
            for p in self.out.of_kind("Pod")
            if p["metadata"].get("namespace") == ns
            and any(o["kind"] == kind and o["name"] == name for o in p["metadata"].get("ownerReferences", []))
        ]

    @staticmethod
    def ready(pod: Json) -> bool:
        return any(
            c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", [])
        )

    def derive_workload_status(self) -> None:
        for ds in self.out.of_kind("DaemonSet"):
            if ds["status"]:
                continue
            meta = ds["metadata"]
            pods = self.owned_pods("DaemonSet", meta["namespace"], meta["name"])
            desired = len(self.case.nodes)
            ready = sum(self.ready(p) for p in pods)
            status: Json = {
                "currentNumberScheduled": len(pods),
                "numberMisscheduled": 0,
                "desiredNumberScheduled": desired,
                "numberReady": ready,
                "observedGeneration": 1,
                "updatedNumberScheduled": len(pods),
                "numberAvailable": ready,
            }
            if desired - ready > 0:
                status["numberUnavailable"] = desired - ready
            if not ready:
                del status["numberAvailable"]
            ds["status"] = status
        for rs in self.out.of_kind("ReplicaSet"):
            if rs["status"]:
                continue
            meta = rs["metadata"]
            pods = self.owned_pods("ReplicaSet", meta["namespace"], meta["name"])
            ready = sum(self.ready(p) for p in pods)
            rs["status"] = {
                "replicas": len(pods),
                "fullyLabeledReplicas": len(pods),
                "readyReplicas": ready,
                "availableReplicas": ready,
                "observedGeneration": 1,
            }
            if not ready:
                del rs["status"]["readyReplicas"], rs["status"]["availableReplicas"]
        for deploy in self.out.of_kind("Deployment"):
            if deploy["status"]:
                continue
            meta = deploy["metadata"]
            sets = [
                rs
                for rs in self.out.of_kind("ReplicaSet")
                if any(
                    o["kind"] == "Deployment" and o["name"] == meta["name"]
                    for o in rs["metadata"].get("ownerReferences", [])
                )
                and rs["metadata"]["namespace"] == meta["namespace"]
            ]
            pods = [
                p
                for rs in sets
                for p in self.owned_pods("ReplicaSet", meta["namespace"], rs["metadata"]["name"])
            ]
            ready = sum(self.ready(p) for p in pods)
            wanted = deploy["spec"]["replicas"]
            max_unavailable = wanted // 4 if deploy["spec"]["strategy"]["type"] == "RollingUpdate" else 0
            available = ready >= wanted - max_unavailable and ready > 0
            since = self.t(days=7)
            status = {
                "observedGeneration": 1,
                "replicas": len(pods),
                "updatedReplicas": len(pods),
                "readyReplicas": ready,
                "availableReplicas": ready,
                "conditions": [
                    {
                        "type": "Available",
                        "status": "True" if available else "False",
                        "lastUpdateTime": since,
                        "lastTransitionTime": since,
                        "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                        "message": "Deployment has minimum availability."
                        if available
                        else "Deployment does not have minimum availability.",
                    },
                    {
                        "type": "Progressing",
                        "status": "True",
                        "lastUpdateTime": since,
                        "lastTransitionTime": since,
                        "reason": "NewReplicaSetAvailable",
                        "message": f'ReplicaSet "{sets[0]["metadata"]["name"]}" has successfully progressed.'
                        if sets
                        else "",
                    },
                ],
            }
            if len(pods) - ready > 0:
                status["unavailableReplicas"] = len(pods) - ready
            if not ready:
                del status["readyReplicas"], status["availableReplicas"]
            deploy["status"] = status
