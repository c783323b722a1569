"""Nodes (labels, addresses, nodeInfo, conditions with the node controller's derivations, taints),
their leases in kube-node-lease, namespaces and the `kubernetes` Service.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

from tests.corpus.case import NodeSpec, parse_time, stamp
from tests.corpus.context import BuildContext
from tests.corpus.profiles import Json


class NodeParts(BuildContext):
    def node(self, spec: NodeSpec, index: int) -> None:
        created = self.created + timedelta(days=30, minutes=7 * index)
        labels = {
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": spec.name,
            "kubernetes.io/os": "linux",
        }
        roles = spec.roles
        distro = self.case.distribution
        for role in roles:
            labels[f"node-role.kubernetes.io/{role}"] = "true" if distro in ("rke2", "k3s") else ""
        if distro == "rke2":
            labels["node.kubernetes.io/instance-type"] = "rke2"
        if distro == "microk8s" or self.calico.install == "microk8s":
            labels["microk8s.io/cluster"] = "true"
            kind = "controlplane" if roles else "worker"
            labels[f"node.kubernetes.io/microk8s-{kind}"] = f"microk8s-{kind}"
        labels.update(spec.labels)
        conditions = self.node_conditions(spec, created)
        ready = next(c for c in conditions if c["type"] == "Ready")
        taints: list[Json] = []
        for role in roles:
            if role in ("control-plane", "master") and distro not in ("rke2", "k3s", "microk8s"):
                taints.append({"key": f"node-role.kubernetes.io/{role}", "effect": "NoSchedule"})
        taints += self.condition_taints(conditions)
        taints += [copy.deepcopy(t) for t in spec.taints]
        annotations: Json = {
            "node.alpha.kubernetes.io/ttl": "0",
            "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        }
        if distro in ("kubeadm", "kubespray"):
            annotations["kubeadm.alpha.kubernetes.io/cri-socket"] = (
                "/var/run/dockershim.sock" if self.docker else "unix:///var/run/containerd/containerd.sock"
            )
        node_spec: Json = {}
        if self.calico.install in ("canal", "rke2-canal"):
            base = "10.42" if self.calico.install == "rke2-canal" else "10.244"
            node_spec["podCIDR"] = f"{base}.{index}.0/24"
            node_spec["podCIDRs"] = [f"{base}.{index}.0/24"]
            annotations.update(
                {
                    "flannel.alpha.coreos.com/backend-type": "vxlan",
                    "flannel.alpha.coreos.com/kube-subnet-manager": "true",
                    "flannel.alpha.coreos.com/public-ip": spec.ip,
                }
            )
        elif not self.calico.absent:
            annotations["projectcalico.org/IPv4Address"] = f"{spec.ip}/24"
        if taints:
            node_spec["taints"] = taints
        version = self.case.kubernetes_version
        runtime = {
            "rke2": "containerd://1.7.7-k3s1",
            "k3s": "containerd://1.7.7-k3s1",
            "microk8s": "containerd://1.6.15",
        }.get(distro, "docker://20.10.7" if self.docker else "containerd://1.7.2")
        status: Json = {
            "capacity": {
                "cpu": "4",
                "ephemeral-storage": "101430960Ki",
                "hugepages-2Mi": "0",
                "memory": "16393916Ki",
                "pods": "110",
            },
            "allocatable": {
                "cpu": "4",
                "ephemeral-storage": "93478772582",
                "hugepages-2Mi": "0",
                "memory": "16291516Ki",
                "pods": "110",
            },
            "conditions": conditions,
            "addresses": [
                {"type": "InternalIP", "address": spec.ip},
                {"type": "Hostname", "address": spec.name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": self.hexid("machine", spec.name, length=32),
                "systemUUID": self.uid("system", spec.name).upper(),
                "bootID": self.uid("boot", spec.name),
                "kernelVersion": "5.15.0-88-generic",
                "osImage": "Ubuntu 22.04.3 LTS",
                "containerRuntimeVersion": runtime,
                "kubeletVersion": version,
                "kubeProxyVersion": version,
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        }
        self.add(
            "v1",
            "Node",
            {
                "metadata": self.meta(
                    "Node", spec.name, created=stamp(created), labels=labels, annotations=annotations
                ),
                "spec": node_spec,
                "status": status,
            },
        )
        renew = self.now - timedelta(seconds=3 + index % 7)
        if ready["status"] == "Unknown":
            renew = parse_time(ready["lastHeartbeatTime"], f"cluster.nodes[{index}].conditions")
        node_uid = self.uid("Node", "", spec.name)
        self.add(
            "coordination.k8s.io/v1",
            "Lease",
            {
                "metadata": self.meta(
                    "Lease",
                    spec.name,
                    "kube-node-lease",
                    created=stamp(created),
                    ownerReferences=[
                        {"apiVersion": "v1", "kind": "Node", "name": spec.name, "uid": node_uid}
                    ],
                ),
                "spec": {
                    "holderIdentity": spec.name,
                    "leaseDurationSeconds": 40,
                    "renewTime": renew.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                },
            },
        )

    def node_conditions(self, spec: NodeSpec, created: datetime) -> list[Json]:
        heartbeat = self.t(seconds=12)
        since = stamp(created)
        pressure = (
            ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        )
        conditions: list[Json] = []
        if not self.calico.absent or self.calico.install in ("canal", "rke2-canal"):
            flannel = self.calico.install in ("canal", "rke2-canal")
            conditions.append(
                {
                    "type": "NetworkUnavailable",
                    "status": "False",
                    "lastHeartbeatTime": since,
                    "lastTransitionTime": since,
                    "reason": "FlannelIsUp" if flannel else "CalicoIsUp",
                    "message": "Flannel is running on this node"
                    if flannel
                    else "Calico is running on this node",
                }
            )
        for kind, reason, message in pressure:
            conditions.append(
                {
                    "type": kind,
                    "status": "False",
                    "lastHeartbeatTime": heartbeat,
                    "lastTransitionTime": since,
                    "reason": reason,
                    "message": message,
                }
            )
        conditions.append(
            {
                "type": "Ready",
                "status": "True",
                "lastHeartbeatTime": heartbeat,
                "lastTransitionTime": since,
                "reason": "KubeletReady",
                "message": "kubelet is posting ready status"
                + (". AppArmor enabled" if self.minor < 27 else ""),
            }
        )
        given = {c["type"]: dict(c) for c in spec.conditions}
        ready = given.get("Ready")
        if ready is not None and ready["status"] == "Unknown":
            transition = ready.setdefault("lastTransitionTime", self.t(minutes=5))
            stale = ready.setdefault(
                "lastHeartbeatTime", stamp(parse_time(transition, "Ready") - timedelta(seconds=40))
            )
            for cond in conditions:  # the node controller: every kubelet-posted condition goes Unknown
                if (
                    cond["type"] in ("MemoryPressure", "DiskPressure", "PIDPressure")
                    and cond["type"] not in given
                ):
                    cond.update(
                        status="Unknown",
                        reason="NodeStatusUnknown",
                        message="Kubelet stopped posting node status.",
                        lastHeartbeatTime=stale,
                        lastTransitionTime=transition,
                    )
        out = []
        for cond in conditions:
            if cond["type"] in given:
                merged = given.pop(cond["type"])
                merged.setdefault("lastHeartbeatTime", cond["lastHeartbeatTime"])
                merged.setdefault("lastTransitionTime", self.t(minutes=10))
                merged.setdefault("reason", cond["reason"])
                merged.setdefault("message", "")
                out.append(merged)
            else:
                out.append(cond)
        for cond in given.values():
            cond.setdefault("lastHeartbeatTime", heartbeat)
            cond.setdefault("lastTransitionTime", self.t(minutes=10))
            out.append(cond)
        return out

    def condition_taints(self, conditions: list[Json]) -> list[Json]:
        by_type = {c["type"]: c for c in conditions}
        ready = by_type.get("Ready", {})
        taints: list[Json] = []
        since = ready.get("lastTransitionTime") or self.t(minutes=5)
        if ready.get("status") == "Unknown":
            taints += [
                {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": since},
                {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": since},
            ]
        elif ready.get("status") == "False":
            taints += [
                {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule", "timeAdded": since},
                {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute", "timeAdded": since},
            ]
        network = by_type.get("NetworkUnavailable", {})
        if network.get("status") == "True":
            taints.append(
                {
                    "key": "node.kubernetes.io/network-unavailable",
                    "effect": "NoSchedule",
                    "timeAdded": network.get("lastTransitionTime") or since,
                }
            )
        return taints

    def namespaces_and_services(self) -> None:
        self.out.namespaces |= {"default", "kube-system", "kube-public", "kube-node-lease"}
        cluster_ip = {
            "rke": "10.43.0.1",
            "rke2": "10.43.0.1",
            "k3s": "10.43.0.1",
            "microk8s": "10.152.183.1",
            "eks": "10.100.0.1",
            "iks": "172.21.0.1",
            "roks": "172.21.0.1",
        }.get(self.case.distribution, "10.96.0.1")
        self.add(
            "v1",
            "Service",
            {
                "metadata": self.meta(
                    "Service",
                    "kubernetes",
                    "default",
                    labels={"component": "apiserver", "provider": "kubernetes"},
                ),
                "spec": {
                    "clusterIP": cluster_ip,
                    "clusterIPs": [cluster_ip],
                    "internalTrafficPolicy": "Cluster",
                    "ipFamilies": ["IPv4"],
                    "ipFamilyPolicy": "SingleStack",
                    "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                    "sessionAffinity": "None",
                    "type": "ClusterIP",
                },
                "status": {"loadBalancer": {}},
            },
        )

    def namespace_objects(self) -> None:
        for name in sorted(self.out.namespaces):
            if self.out.find("Namespace", "", name) is not None:
                continue
            self.add(
                "v1",
                "Namespace",
                {
                    "metadata": self.meta("Namespace", name, labels={"kubernetes.io/metadata.name": name}),
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                },
            )
