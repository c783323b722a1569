"""`bot.escalation.describe` prints what `kubectl describe pod` / `kubectl describe node` print.

- real kubectl output reproduced line for line from the objects it was printed from: a pod and a
  node published on kubernetes.io (times normalised, ours are UTC), and the runbook's own excerpts
  (the node events table, the NotReady Conditions rows);
- section headers, container fields, Events and Conditions headers in the order of a real
  calico-node describe pasted in a public issue;
- golden outputs of what the bot gathers: a crash-looping operator-era calico-node, a healthy
  manifest-era one, a NotReady node and a Ready node with three pods (simulator objects);
  `UPDATE_GOLDEN=1 pytest tests/gather` rewrites them;
- the pieces: apimachinery's HumanDuration, canonical quantities, the tabwriter's blocks, event
  intervals, requests/limits totals, and kubectl's quirks (env fieldRef values, trailing spaces,
  zero times, `<none>`/`<unset>`).
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bot.escalation.describe import describe_node, describe_pod, format_quantity, human_duration, tabwrite
from bot.sim import SimCluster

Json = dict[str, Any]

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2026, 11, 29, 18, 12, 44, tzinfo=UTC)
TIME = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}")
TIME_MASK = "Ddd, DD Mmm YYYY hh:mm:ss +zzzz"  # as wide as the real thing, so alignment still counts


def _ts(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _masked_lines(text: str) -> list[str]:
    """Lines with times masked and trailing blanks dropped (web pages strip them; kubectl pads)."""
    return [TIME.sub(TIME_MASK, line).rstrip() for line in text.strip("\n").split("\n")]


def _assert_same(expected: list[str], actual: list[str]) -> None:
    diff = "\n".join(
        difflib.unified_diff(expected, actual, "kubectl", "bot.escalation.describe", lineterm="")
    )
    assert actual == expected, diff


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run UPDATE_GOLDEN=1 pytest {Path(__file__).name}"
    _assert_same(path.read_text(encoding="utf-8").split("\n"), text.split("\n"))


# --- simulator objects ----------------------------------------------------------------------


@cache
def _cluster(scenario: str) -> dict[tuple[str, str, str], Json]:
    """(kind, namespace, name) -> object, for the core kinds and Leases of a 3-worker simulation."""
    sim = SimCluster(scenario, nodes=3, now=NOW)
    return {
        (o.rtype.kind, o.namespace, o.name): o.doc()
        for o in sim.store.iter_all()
        if o.rtype.group in ("", "coordination.k8s.io")
    }


def _obj(scenario: str, kind: str, namespace: str, name: str) -> Json:
    return copy.deepcopy(_cluster(scenario)[(kind, namespace, name)])


def _events_for(scenario: str, kind: str, name: str) -> list[Json]:
    return [
        copy.deepcopy(doc)
        for (k, _, _), doc in _cluster(scenario).items()
        if k == "Event" and doc["involvedObject"]["kind"] == kind and doc["involvedObject"]["name"] == name
    ]


def _pods_on(scenario: str, node: str) -> list[Json]:
    return [
        copy.deepcopy(doc)
        for (k, _, _), doc in _cluster(scenario).items()
        if k == "Pod" and doc["spec"].get("nodeName") == node
    ]


def _sections(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^([A-Z][A-Za-z -]*):", text, re.MULTILINE)]


def _container_fields(text: str) -> dict[str, list[str]]:
    """container name -> its field labels in order, for the containers of a pod description."""
    fields: dict[str, list[str]] = {}
    current = None
    for line in text.split("\n"):
        if re.match(r"^[A-Z]", line):
            current = None
        if re.match(r"^(Init )?Containers:", line):
            current = ""
            continue
        if current is None:
            continue
        if match := re.match(r"^  ([a-z0-9-]+):$", line):
            current = match.group(1)
            fields[current] = []
        elif (match := re.match(r"^    ([A-Z][A-Za-z ]*):", line)) and current:
            fields[current].append(match.group(1))
    return fields


def _table(text: str, title: str) -> list[list[str]]:
    """The header and underline of the table under `title:`, split on runs of 2+ blanks."""
    lines = text.split("\n")
    start = lines.index(f"{title}:")
    return [re.split(r"\s{2,}", line.strip()) for line in lines[start + 1 : start + 3]]


# --- real kubectl output: a pod ---------------------------------------------------------------

# kubectl 1.23 output from kubernetes.io "Debug Running Pods" (kubernetes/website,
# content/en/docs/tasks/debug/debug-application/debug-running-pod.md), printed from the pod YAML
# shown on the same page (transcribed in `_nginx_pod`). That kubectl predates the `Service Account:`
# line, so the pod is given without a service account; and 1.33 changed the projected volume's
# `ConfigMapOptional: <nil>` into `Optional: false` (swapped in below). Trailing blanks stripped.
NGINX_DESCRIBE = """
Name:         nginx-deployment-67d4bdd6f5-w6kd7
Namespace:    default
Priority:     0
Node:         kube-worker-1/192.168.0.113
Start Time:   Thu, 17 Feb 2022 16:51:01 -0500
Labels:       app=nginx
              pod-template-hash=67d4bdd6f5
Annotations:  <none>
Status:       Running
IP:           10.88.0.3
IPs:
  IP:           10.88.0.3
  IP:           2001:db8::1
Controlled By:  ReplicaSet/nginx-deployment-67d4bdd6f5
Containers:
  nginx:
    Container ID:   containerd://5403af59a2b46ee5a23fb0ae4b1e077f7ca5c5fb7af16e1ab21c00e0e616462a
    Image:          nginx
    Image ID:       docker.io/library/nginx@sha256:2834dc507516af02784808c5f48b7cbe38b8ed5d0f4837f16e78d00deb7e7767
    Port:           80/TCP
    Host Port:      0/TCP
    State:          Running
      Started:      Thu, 17 Feb 2022 16:51:05 -0500
    Ready:          True
    Restart Count:  0
    Limits:
      cpu:     500m
      memory:  128Mi
    Requests:
      cpu:        500m
      memory:     128Mi
    Environment:  <none>
    Mounts:
      /var/run/secrets/kubernetes.io/serviceaccount from kube-api-access-bgsgp (ro)
Conditions:
  Type              Status
  Initialized       True
  Ready             True
  ContainersReady   True
  PodScheduled      True
Volumes:
  kube-api-access-bgsgp:
    Type:                    Projected (a volume that contains injected data from multiple sources)
    TokenExpirationSeconds:  3607
    ConfigMapName:           kube-root-ca.crt
    ConfigMapOptional:       <nil>
    DownwardAPI:             true
QoS Class:                   Guaranteed
Node-Selectors:              <none>
Tolerations:                 node.kubernetes.io/not-ready:NoExecute op=Exists for 300s
                             node.kubernetes.io/unreachable:NoExecute op=Exists for 300s
Events:
  Type    Reason     Age   From               Message
  ----    ------     ----  ----               -------
  Normal  Scheduled  34s   default-scheduler  Successfully assigned default/nginx-deployment-67d4bdd6f5-w6kd7 to kube-worker-1
  Normal  Pulling    31s   kubelet            Pulling image "nginx"
  Normal  Pulled     30s   kubelet            Successfully pulled image "nginx" in 1.146417389s
  Normal  Created    30s   kubelet            Created container nginx
  Normal  Started    30s   kubelet            Started container nginx
"""
NGINX_NOW = datetime(2022, 2, 17, 21, 51, 35, tzinfo=UTC)


def _nginx_pod() -> Json:
    resources = {"cpu": "500m", "memory": "128Mi"}
    return {
        "metadata": {
            "name": "nginx-deployment-67d4bdd6f5-w6kd7",
            "namespace": "default",
            "creationTimestamp": "2022-02-17T21:51:01Z",
            "labels": {"app": "nginx", "pod-template-hash": "67d4bdd6f5"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "nginx-deployment-67d4bdd6f5",
                    "controller": True,
                }
            ],
        },
        "spec": {
            "containers": [
                {
                    "name": "nginx",
                    "image": "nginx",
                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "resources": {"limits": dict(resources), "requests": dict(resources)},
                    "volumeMounts": [
                        {
                            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                            "name": "kube-api-access-bgsgp",
                            "readOnly": True,
                        }
                    ],
                }
            ],
            "nodeName": "kube-worker-1",
            "priority": 0,
            "tolerations": [
                {
                    "effect": "NoExecute",
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "tolerationSeconds": 300,
                },
                {
                    "effect": "NoExecute",
                    "key": "node.kubernetes.io/unreachable",
                    "operator": "Exists",
                    "tolerationSeconds": 300,
                },
            ],
            "volumes": [
                {
                    "name": "kube-api-access-bgsgp",
                    "projected": {
                        "defaultMode": 420,
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {
                                "configMap": {
                                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                    "name": "kube-root-ca.crt",
                                }
                            },
                            {
                                "downwardAPI": {
                                    "items": [
                                        {"fieldRef": {"fieldPath": "metadata.namespace"}, "path": "namespace"}
                                    ]
                                }
                            },
                        ],
                    },
                }
            ],
        },
        "status": {
            "conditions": [
                {"status": "True", "type": "Initialized"},
                {"status": "True", "type": "Ready"},
                {"status": "True", "type": "ContainersReady"},
                {"status": "True", "type": "PodScheduled"},
            ],
            "containerStatuses": [
                {
                    "containerID": "containerd://5403af59a2b46ee5a23fb0ae4b1e077f7ca5c5fb7af16e1ab21c00e0e616462a",
                    "image": "docker.io/library/nginx:latest",
                    "imageID": "docker.io/library/nginx@sha256:2834dc507516af02784808c5f48b7cbe38b8ed5d0f4837f16e78d00deb7e7767",
                    "lastState": {},
                    "name": "nginx",
                    "ready": True,
                    "restartCount": 0,
                    "started": True,
                    "state": {"running": {"startedAt": "2022-02-17T21:51:05Z"}},
                }
            ],
            "hostIP": "192.168.0.113",
            "phase": "Running",
            "podIP": "10.88.0.3",
            "podIPs": [{"ip": "10.88.0.3"}, {"ip": "2001:db8::1"}],
            "qosClass": "Guaranteed",
            "startTime": "2022-02-17T21:51:01Z",
        },
    }


def _kubelet_event(
    reason: str, message: str, last: datetime, *, first: datetime | None = None, count: int = 1, **extra: Any
) -> Json:
    return {
        "type": extra.pop("type", "Normal"),
        "reason": reason,
        "message": message,
        "count": count,
        "firstTimestamp": _ts(first or last),
        "lastTimestamp": _ts(last),
        "source": {"component": extra.pop("component", "kubelet")},
        **extra,
    }


def _nginx_events() -> list[Json]:
    at = NGINX_NOW
    name = "nginx-deployment-67d4bdd6f5-w6kd7"
    return [
        _kubelet_event(
            "Scheduled",
            f"Successfully assigned default/{name} to kube-worker-1",
            at - timedelta(seconds=34),
            component="default-scheduler",
        ),
        _kubelet_event("Pulling", 'Pulling image "nginx"', at - timedelta(seconds=31)),
        _kubelet_event(
            "Pulled", 'Successfully pulled image "nginx" in 1.146417389s', at - timedelta(seconds=30)
        ),
        _kubelet_event("Created", "Created container nginx", at - timedelta(seconds=30)),
        _kubelet_event("Started", "Started container nginx", at - timedelta(seconds=30)),
    ]


def test_pod_matches_real_kubectl_output_line_for_line() -> None:
    """The kubernetes.io pod description comes out identical, alignment included."""
    expected = _masked_lines(
        NGINX_DESCRIBE.replace("ConfigMapOptional:       <nil>", "Optional:                false")
    )
    actual = describe_pod(_nginx_pod(), _nginx_events(), now=NGINX_NOW)
    _assert_same(expected, _masked_lines(actual))
    assert "Start Time:   Thu, 17 Feb 2022 21:51:01 +0000\n" in actual


# --- real kubectl output: a node --------------------------------------------------------------

# kubectl 1.23 output from kubernetes.io "Troubleshooting Clusters" (kubernetes/website,
# content/en/docs/tasks/debug/debug-cluster/_index.md), "Example: debugging a down/unreachable
# node". The page elides the events ("..."), so the comparison stops before `Events:`.
NODE_DESCRIBE = """
Name:               kube-worker-1
Roles:              <none>
Labels:             beta.kubernetes.io/arch=amd64
                    beta.kubernetes.io/os=linux
                    kubernetes.io/arch=amd64
                    kubernetes.io/hostname=kube-worker-1
                    kubernetes.io/os=linux
Annotations:        kubeadm.alpha.kubernetes.io/cri-socket: /run/containerd/containerd.sock
                    node.alpha.kubernetes.io/ttl: 0
                    volumes.kubernetes.io/controller-managed-attach-detach: true
CreationTimestamp:  Thu, 17 Feb 2022 16:46:30 -0500
Taints:             node.kubernetes.io/unreachable:NoExecute
                    node.kubernetes.io/unreachable:NoSchedule
Unschedulable:      false
Lease:
  HolderIdentity:  kube-worker-1
  AcquireTime:     <unset>
  RenewTime:       Thu, 17 Feb 2022 17:13:09 -0500
Conditions:
  Type                 Status    LastHeartbeatTime                 LastTransitionTime                Reason              Message
  ----                 ------    -----------------                 ------------------                ------              -------
  NetworkUnavailable   False     Thu, 17 Feb 2022 17:09:13 -0500   Thu, 17 Feb 2022 17:09:13 -0500   WeaveIsUp           Weave pod has set this
  MemoryPressure       Unknown   Thu, 17 Feb 2022 17:12:40 -0500   Thu, 17 Feb 2022 17:13:52 -0500   NodeStatusUnknown   Kubelet stopped posting node status.
  DiskPressure         Unknown   Thu, 17 Feb 2022 17:12:40 -0500   Thu, 17 Feb 2022 17:13:52 -0500   NodeStatusUnknown   Kubelet stopped posting node status.
  PIDPressure          Unknown   Thu, 17 Feb 2022 17:12:40 -0500   Thu, 17 Feb 2022 17:13:52 -0500   NodeStatusUnknown   Kubelet stopped posting node status.
  Ready                Unknown   Thu, 17 Feb 2022 17:12:40 -0500   Thu, 17 Feb 2022 17:13:52 -0500   NodeStatusUnknown   Kubelet stopped posting node status.
Addresses:
  InternalIP:  192.168.0.113
  Hostname:    kube-worker-1
Capacity:
  cpu:                2
  ephemeral-storage:  15372232Ki
  hugepages-2Mi:      0
  memory:             2025188Ki
  pods:               110
Allocatable:
  cpu:                2
  ephemeral-storage:  14167048988
  hugepages-2Mi:      0
  memory:             1922788Ki
  pods:               110
System Info:
  Machine ID:                 9384e2927f544209b5d7b67474bbf92b
  System UUID:                aa829ca9-73d7-064d-9019-df07404ad448
  Boot ID:                    5a295a03-aaca-4340-af20-1327fa5dab5c
  Kernel Version:             5.13.0-28-generic
  OS Image:                   Ubuntu 21.10
  Operating System:           linux
  Architecture:               amd64
  Container Runtime Version:  containerd://1.5.9
  Kubelet Version:            v1.23.3
  Kube-Proxy Version:         v1.23.3
Non-terminated Pods:          (4 in total)
  Namespace                   Name                                 CPU Requests  CPU Limits  Memory Requests  Memory Limits  Age
  ---------                   ----                                 ------------  ----------  ---------------  -------------  ---
  default                     nginx-deployment-67d4bdd6f5-cx2nz    500m (25%)    500m (25%)  128Mi (6%)       128Mi (6%)     23m
  default                     nginx-deployment-67d4bdd6f5-w6kd7    500m (25%)    500m (25%)  128Mi (6%)       128Mi (6%)     23m
  kube-system                 kube-proxy-dnxbz                     0 (0%)        0 (0%)      0 (0%)           0 (0%)         28m
  kube-system                 weave-net-gjxxp                      100m (5%)     0 (0%)      200Mi (10%)      0 (0%)         28m
Allocated resources:
  (Total limits may be over 100 percent, i.e., overcommitted.)
  Resource           Requests     Limits
  --------           --------     ------
  cpu                1100m (55%)  1 (50%)
  memory             456Mi (24%)  256Mi (13%)
  ephemeral-storage  0 (0%)       0 (0%)
  hugepages-2Mi      0 (0%)       0 (0%)
Events:
"""
NODE_NOW = datetime(2022, 2, 17, 22, 14, 30, tzinfo=UTC)


def _worker_1() -> Json:
    def condition(kind: str, status: str, beat: str, change: str, reason: str, message: str) -> Json:
        return {
            "type": kind,
            "status": status,
            "lastHeartbeatTime": beat,
            "lastTransitionTime": change,
            "reason": reason,
            "message": message,
        }

    lost = (
        "2022-02-17T22:12:40Z",
        "2022-02-17T22:13:52Z",
        "NodeStatusUnknown",
        "Kubelet stopped posting node status.",
    )
    return {
        "metadata": {
            "name": "kube-worker-1",
            "creationTimestamp": "2022-02-17T21:46:30Z",
            "labels": {
                "kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": "kube-worker-1",
            },
            "annotations": {
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                "kubeadm.alpha.kubernetes.io/cri-socket": "/run/containerd/containerd.sock",
                "node.alpha.kubernetes.io/ttl": "0",
            },
        },
        "spec": {
            "taints": [
                {
                    "key": "node.kubernetes.io/unreachable",
                    "effect": "NoSchedule",
                    "timeAdded": "2022-02-17T22:13:52Z",
                },
                {
                    "key": "node.kubernetes.io/unreachable",
                    "effect": "NoExecute",
                    "timeAdded": "2022-02-17T22:13:57Z",
                },
            ]
        },
        "status": {
            "conditions": [
                condition(
                    "NetworkUnavailable",
                    "False",
                    "2022-02-17T22:09:13Z",
                    "2022-02-17T22:09:13Z",
                    "WeaveIsUp",
                    "Weave pod has set this",
                ),
                *(
                    condition(kind, "Unknown", *lost)
                    for kind in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")
                ),
            ],
            "addresses": [
                {"type": "InternalIP", "address": "192.168.0.113"},
                {"type": "Hostname", "address": "kube-worker-1"},
            ],
            "capacity": {
                "cpu": "2",
                "ephemeral-storage": "15372232Ki",
                "hugepages-2Mi": "0",
                "memory": "2025188Ki",
                "pods": "110",
            },
            "allocatable": {
                "cpu": "2",
                "ephemeral-storage": "14167048988",
                "hugepages-2Mi": "0",
                "memory": "1922788Ki",
                "pods": "110",
            },
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": "5a295a03-aaca-4340-af20-1327fa5dab5c",
                "containerRuntimeVersion": "containerd://1.5.9",
                "kernelVersion": "5.13.0-28-generic",
                "kubeProxyVersion": "v1.23.3",
                "kubeletVersion": "v1.23.3",
                "machineID": "9384e2927f544209b5d7b67474bbf92b",
                "operatingSystem": "linux",
                "osImage": "Ubuntu 21.10",
                "systemUUID": "aa829ca9-73d7-064d-9019-df07404ad448",
            },
        },
    }


def _simple_pod(namespace: str, name: str, created: str, resources: Json, phase: str = "Running") -> Json:
    return {
        "metadata": {"namespace": namespace, "name": name, "creationTimestamp": created},
        "spec": {
            "nodeName": "kube-worker-1",
            "containers": [{"name": "main", "image": "x", "resources": resources}],
        },
        "status": {"phase": phase},
    }


def _worker_1_pods() -> list[Json]:
    nginx = {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "500m", "memory": "128Mi"}}
    return [  # not in list order: describe_node sorts as the API lists them
        _simple_pod(
            "kube-system",
            "weave-net-gjxxp",
            "2022-02-17T21:46:30Z",
            {"requests": {"cpu": "100m", "memory": "200Mi"}},
        ),
        _simple_pod("default", "nginx-deployment-67d4bdd6f5-w6kd7", "2022-02-17T21:51:01Z", nginx),
        _simple_pod("kube-system", "kube-proxy-dnxbz", "2022-02-17T21:46:30Z", {}),
        _simple_pod("default", "nginx-deployment-67d4bdd6f5-cx2nz", "2022-02-17T21:51:01Z", nginx),
        _simple_pod("default", "finished-job-x7k2p", "2022-02-17T21:50:00Z", nginx, phase="Succeeded"),
    ]


WORKER_1_LEASE = {
    "spec": {
        "holderIdentity": "kube-worker-1",
        "leaseDurationSeconds": 40,
        "renewTime": "2022-02-17T22:13:09.123456Z",
    }
}


def test_node_matches_real_kubectl_output_line_for_line() -> None:
    """The kubernetes.io NotReady node description comes out identical up to its elided events."""
    actual = describe_node(_worker_1(), _worker_1_pods(), [], now=NODE_NOW, lease=WORKER_1_LEASE)
    lines = _masked_lines(actual)
    events_at = next(i for i, line in enumerate(lines) if line.startswith("Events:"))
    _assert_same(_masked_lines(NODE_DESCRIBE)[:-1], lines[:events_at])
    assert "CreationTimestamp:  Thu, 17 Feb 2022 21:46:30 +0000\n" in actual
    assert "  RenewTime:       Thu, 17 Feb 2022 22:13:09 +0000\n" in actual


# --- the runbook's excerpts ---------------------------------------------------------------------

# From the runbook (shared/runbook/calico-node-troubleshooting.md, "Reason 1"), rows of the node
# events table of `kubectl describe node`, in the order kubectl printed them. Kept: the rows that
# set the column widths (NodeAllocatableEnforced, "42m (x7 over 42m)", a Warning) and a few others.
RUNBOOK_NODE_EVENTS = """
  Normal   Starting                 44m                kubelet  Starting kubelet.
  Normal   NodeReady                44m                kubelet  Node 10.188.156.137 status is now: NodeReady
  Normal   NodeAllocatableEnforced  42m                kubelet  Updated Node Allocatable limit across pods
  Normal   NodeHasSufficientPID     42m (x7 over 42m)  kubelet  Node 10.188.156.137 status is now: NodeHasSufficientPID
  Normal   Starting                 31m                kubelet  Starting kubelet.
  Warning  InvalidDiskCapacity      31m                kubelet  invalid capacity 0 on image filesystem
  Normal   NodeNotReady             31m                kubelet  Node 10.188.156.137 status is now: NodeNotReady
  Normal   NodeReady                21m (x2 over 27m)  kubelet  Node 10.188.156.137 status is now: NodeReady
  Normal   NodeHasSufficientMemory  16m (x8 over 17m)  kubelet  Node 10.188.156.137 status is now: NodeHasSufficientMemory
"""

# Same runbook section: the Conditions rows of a node whose kubelet went silent. The table also had
# a NetworkUnavailable row (the Type column is sized by it); the runbook left that row out.
RUNBOOK_CONDITIONS = """
  MemoryPressure       Unknown   Thu, 07 Oct 2021 00:34:33 -0500   Thu, 07 Oct 2021 00:39:42 -0500   NodeStatusUnknown   Kubelet stopped posting node status.
  DiskPressure         Unknown   Thu, 07 Oct 2021 00:34:33 -0500   Thu, 07 Oct 2021 00:39:42 -0500   NodeStatusUnknown   Kubelet stopped posting node status.
  PIDPressure          Unknown   Thu, 07 Oct 2021 00:34:33 -0500   Thu, 07 Oct 2021 00:39:42 -0500   NodeStatusUnknown   Kubelet stopped posting node status.
  Ready                Unknown   Thu, 07 Oct 2021 00:34:33 -0500   Thu, 07 Oct 2021 00:39:42 -0500   NodeStatusUnknown   Kubelet stopped posting node status.
"""


def _ago(age: str) -> datetime:
    return NOW - timedelta(minutes=int(age.removesuffix("m")))


def _events_from_rows(rows: str) -> list[Json]:
    """Events that kubectl would print as `rows` (parsed back from the printed columns)."""
    events = []
    for line in rows.strip("\n").split("\n"):
        kind, reason, interval, source, message = re.split(r"\s{2,}", line.strip(), maxsplit=4)
        if match := re.fullmatch(r"(\S+) \(x(\d+) over (\S+)\)", interval):
            last, count, first = _ago(match.group(1)), int(match.group(2)), _ago(match.group(3))
        else:
            last, count, first = _ago(interval), 1, _ago(interval)
        events.append(
            _kubelet_event(reason, message, last, first=first, count=count, type=kind, component=source)
        )
    return events


def _events_table(text: str) -> list[str]:
    lines = text.rstrip("\n").split("\n")
    return lines[lines.index("Events:") + 3 :]


def test_node_events_match_the_runbook_excerpt() -> None:
    """The runbook's node events rows come out identical, sorted by last seen, whatever the input order."""
    events = _events_from_rows(RUNBOOK_NODE_EVENTS)
    shuffled = sorted(events, key=lambda e: str(e["lastTimestamp"]), reverse=True)
    text = describe_node(_worker_1(), [], shuffled, now=NOW)
    _assert_same(RUNBOOK_NODE_EVENTS.strip("\n").split("\n"), _events_table(text))


def test_node_conditions_match_the_runbook_excerpt() -> None:
    """The runbook's NotReady Conditions rows come out identical; times are shown in UTC."""
    node = _worker_1()
    unknown = {
        "status": "Unknown",
        "lastHeartbeatTime": "2021-10-07T00:34:33-05:00",
        "lastTransitionTime": "2021-10-07T00:39:42-05:00",
        "reason": "NodeStatusUnknown",
        "message": "Kubelet stopped posting node status.",
    }
    node["status"]["conditions"] = [
        {
            "type": "NetworkUnavailable",
            "status": "False",
            "reason": "CalicoIsUp",
            "message": "Calico is running on this node",
        },
        *({"type": kind, **unknown} for kind in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")),
    ]
    text = describe_node(node, [], [], now=NOW)
    lines = _masked_lines(text)
    start = lines.index("Conditions:") + 4  # header, underline, the NetworkUnavailable row
    _assert_same(_masked_lines(RUNBOOK_CONDITIONS), lines[start : start + 4])
    assert (
        "Unknown   Thu, 07 Oct 2021 05:34:33 +0000   Thu, 07 Oct 2021 05:39:42 +0000   NodeStatusUnknown"
        in text
    )


# --- structure of a real calico-node describe --------------------------------------------------

# A manifest-era calico-node as `kubectl describe pod` printed it (kubectl 1.32, microk8s), pasted
# in https://github.com/canonical/microk8s/issues/4939 (March 2025). Shortened: one init container
# of two, and most lines inside the Environment, Mounts, Volumes and Tolerations lists left out.
CALICO_NODE_DESCRIBE = """
Name:                 calico-node-zs2sp
Namespace:            kube-system
Priority:             2000001000
Priority Class Name:  system-node-critical
Service Account:      calico-node
Node:                 k8sgw1/10.188.50.201
Start Time:           Fri, 14 Mar 2025 16:17:01 +0000
Labels:               controller-revision-hash=59f6d5f95c
                      k8s-app=calico-node
                      pod-template-generation=1
Annotations:          <none>
Status:               Pending
IP:                   10.188.50.201
IPs:
  IP:           10.188.50.201
Controlled By:  DaemonSet/calico-node
Init Containers:
  install-cni:
    Container ID:
    Image:         docker.io/calico/cni:v3.28.1
    Image ID:
    Port:          <none>
    Host Port:     <none>
    Command:
      /opt/cni/bin/install
    State:          Waiting
      Reason:       PodInitializing
    Ready:          False
    Restart Count:  0
    Environment Variables from:
      kubernetes-services-endpoint  ConfigMap  Optional: true
    Environment:
      CNI_CONF_NAME:         10-calico.conflist
      KUBERNETES_NODE_NAME:   (v1:spec.nodeName)
    Mounts:
      /host/etc/cni/net.d from cni-net-dir (rw)
Containers:
  calico-node:
    Container ID:
    Image:          docker.io/calico/node:v3.28.1
    Image ID:
    Port:           <none>
    Host Port:      <none>
    State:          Waiting
      Reason:       PodInitializing
    Ready:          False
    Restart Count:  0
    Requests:
      cpu:      250m
    Liveness:   exec [/bin/calico-node -felix-live] delay=10s timeout=10s period=10s #success=1 #failure=6
    Readiness:  exec [/bin/calico-node -felix-ready] delay=0s timeout=10s period=10s #success=1 #failure=3
    Environment Variables from:
      kubernetes-services-endpoint  ConfigMap  Optional: true
    Environment:
      DATASTORE_TYPE:                     kubernetes
      NODENAME:                            (v1:spec.nodeName)
    Mounts:
      /lib/modules from lib-modules (ro)
Conditions:
  Type                        Status
  PodReadyToStartContainers   False
  Initialized                 False
  Ready                       False
  ContainersReady             False
  PodScheduled                True
Volumes:
  lib-modules:
    Type:          HostPath (bare host directory volume)
    Path:          /lib/modules
    HostPathType:
QoS Class:                   Burstable
Node-Selectors:              kubernetes.io/os=linux
Tolerations:                 :NoSchedule op=Exists
                             :NoExecute op=Exists
                             CriticalAddonsOnly op=Exists
Events:
  Type     Reason                  Age                  From     Message
  ----     ------                  ----                 ----     -------
  Warning  FailedCreatePodSandBox  46s (x5 over 7m19s)  kubelet  Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox image "registry.k8s.io/pause:3.10"
"""


def _manifest_calico_node() -> str:
    pod = _obj("kube-system-crashloop", "Pod", "kube-system", "calico-node-rdqc5")
    return describe_pod(pod, _events_for("kube-system-crashloop", "Pod", "calico-node-rdqc5"), now=NOW)


def test_pod_sections_come_in_the_order_of_a_real_calico_node_describe() -> None:
    """Top-level section headers are those of the real calico-node describe, in the same order."""
    assert _sections(_manifest_calico_node()) == _sections(CALICO_NODE_DESCRIBE)


def test_container_fields_come_in_the_order_of_a_real_calico_node_describe() -> None:
    """Each container's fields keep kubectl's order; the core fields are all there."""
    real = _container_fields(CALICO_NODE_DESCRIBE)
    ours = _container_fields(_manifest_calico_node())
    core = [
        "Container ID",
        "Image",
        "Image ID",
        "Port",
        "Host Port",
        "State",
        "Ready",
        "Restart Count",
        "Environment",
        "Mounts",
    ]
    for name in ("install-cni", "calico-node"):
        shared = [f for f in ours[name] if f in real[name]]
        assert shared == [f for f in real[name] if f in ours[name]], name
        assert set(core) <= set(shared), name
    assert {"Liveness", "Readiness"} <= set(ours["calico-node"])


def test_events_and_conditions_headers_are_kubectls() -> None:
    """The Events and Conditions table headers are those of the real calico-node describe and node sample."""
    pod = _obj("crashloop-one", "Pod", "calico-system", "calico-node-bvvhf")
    text = describe_pod(pod, _events_for("crashloop-one", "Pod", "calico-node-bvvhf"), now=NOW)
    assert _table(text, "Events") == _table(CALICO_NODE_DESCRIBE, "Events")
    assert (
        _table(text, "Conditions")[0] == _table(CALICO_NODE_DESCRIBE, "Conditions")[0] == ["Type", "Status"]
    )
    node_text = describe_node(_worker_1(), [], [], now=NOW)
    assert _table(node_text, "Conditions") == _table(NODE_DESCRIBE, "Conditions")
    # No events: kubectl writes `Events:\t<none>` without flushing its tabwriter, so the line joins
    # the Allocated resources block (real node describes show "Events:              <none>").
    assert node_text.endswith("\n  hugepages-2Mi      0 (0%)    0 (0%)\nEvents:              <none>\n")


# --- golden outputs of what the bot gathers ----------------------------------------------------


def test_golden_crashlooping_operator_calico_node() -> None:
    """A crash-looping calico-system calico-node: init containers, CrashLoopBackOff, BackOff (x204 over 73m)."""
    pod = _obj("crashloop-one", "Pod", "calico-system", "calico-node-bvvhf")
    events = _events_for("crashloop-one", "Pod", "calico-node-bvvhf")
    for event in events:
        if event["reason"] == "BackOff":
            event["firstTimestamp"] = _ts(NOW - timedelta(minutes=73))
    text = describe_pod(pod, events, now=NOW)
    _check_golden("pod_calico_node_crashloop.txt", text)
    assert (
        text.index("Init Containers:\n  flexvol-driver:")
        < text.index("  install-cni:")
        < text.index("Containers:\n  calico-node:")
    )
    assert (
        "    State:           Waiting\n      Reason:        CrashLoopBackOff\n    Last State:      Terminated\n"
        in text
    )
    assert "    Restart Count:   14\n" in text
    assert (
        "  Warning  BackOff    20s (x204 over 73m)  kubelet  Back-off restarting failed container calico-node"
        in text
    )
    assert (
        "    Liveness:        http-get http://localhost:9099/liveness delay=0s timeout=10s period=60s #success=1 #failure=3\n"
        in text
    )
    assert (
        "    Readiness:       exec [/bin/calico-node -bird-ready -felix-ready] delay=0s timeout=10s period=30s"
        in text
    )


def test_golden_healthy_manifest_calico_node() -> None:
    """A healthy kube-system calico-node (IKS 1.28 manifests): four init containers, no events."""
    text = _manifest_calico_node()
    _check_golden("pod_calico_node_kube_system_healthy.txt", text)
    assert "Namespace:            kube-system\n" in text
    assert "    State:          Running\n" in text
    assert "CrashLoopBackOff" not in text
    assert list(_container_fields(text)) == [
        "upgrade-ipam",
        "install-cni",
        "flexvol-driver",
        "calico-extension",
        "calico-node",
    ]
    assert text.endswith("Events:                      <none>\n")


def _notready_node_events() -> list[Json]:
    node = "10.188.156.140"
    started = NOW - timedelta(days=3, hours=4, minutes=10)
    history = [
        _kubelet_event("Starting", "Starting kubelet.", started),
        _kubelet_event(
            "NodeHasSufficientMemory",
            f"Node {node} status is now: NodeHasSufficientMemory",
            started,
            first=started - timedelta(seconds=20),
            count=8,
        ),
        _kubelet_event(
            "NodeHasNoDiskPressure",
            f"Node {node} status is now: NodeHasNoDiskPressure",
            started,
            first=started - timedelta(seconds=20),
            count=8,
        ),
        _kubelet_event(
            "NodeHasSufficientPID",
            f"Node {node} status is now: NodeHasSufficientPID",
            started,
            first=started - timedelta(seconds=20),
            count=7,
        ),
        _kubelet_event("NodeAllocatableEnforced", "Updated Node Allocatable limit across pods", started),
        _kubelet_event("NodeReady", f"Node {node} status is now: NodeReady", started + timedelta(seconds=30)),
    ]
    return history + _events_for("worker-notready-kubelet", "Node", node)


def test_golden_notready_node() -> None:
    """A worker whose kubelet went silent: Ready Unknown, unreachable taints, stale lease, NodeNotReady."""
    scenario, name = "worker-notready-kubelet", "10.188.156.140"
    text = describe_node(
        _obj(scenario, "Node", "", name),
        _pods_on(scenario, name),
        _notready_node_events(),
        now=NOW,
        lease=_obj(scenario, "Lease", "kube-node-lease", name),
    )
    _check_golden("node_notready.txt", text)
    assert (
        "Taints:             node.kubernetes.io/unreachable:NoExecute\n                    node.kubernetes.io/unreachable:NoSchedule\n"
        in text
    )
    assert re.search(
        r"\n  Ready +Unknown +Sun, 29 Nov 2026 17:57:44 \+0000 +Sun, 29 Nov 2026 17:58:44 \+0000 +NodeStatusUnknown +Kubelet stopped posting node status.\n",
        text,
    )
    assert "  RenewTime:       Sun, 29 Nov 2026 17:57:44 +0000\n" in text
    assert re.search(
        r"\n  Normal +NodeNotReady +14m +node-controller +Node 10.188.156.140 status is now: NodeNotReady\n",
        text,
    )
    assert re.search(r"NodeHasSufficientMemory +3d4h \(x8 over 3d4h\)", text)
    assert "Non-terminated Pods:          (1 in total)\n" in text


def test_golden_ready_node_with_three_pods() -> None:
    """A Ready worker with calico-node, typha and coredns: pods table, allocated resources, no events."""
    scenario, name = "crashloop-one", "10.189.156.4"
    keep = ("calico-node-", "calico-typha-", "coredns-")
    pods = [p for p in _pods_on(scenario, name) if p["metadata"]["name"].startswith(keep)]
    assert len(pods) == 3
    text = describe_node(
        _obj(scenario, "Node", "", name),
        pods,
        [],
        now=NOW,
        lease=_obj(scenario, "Lease", "kube-node-lease", name),
    )
    _check_golden("node_ready_three_pods.txt", text)
    assert "Non-terminated Pods:          (3 in total)\n" in text
    assert re.search(
        r"\n  kube-system +coredns-\S+ +100m \(2%\) +0 \(0%\) +70Mi \(0%\) +170Mi \(1%\) +41d\n", text
    )
    assert re.search(r"\n  cpu +100m \(2%\) +0 \(0%\)\n  memory +70Mi \(0%\) +170Mi \(1%\)\n", text)
    assert "  hugepages-1Gi      0 (0%)     0 (0%)\n" in text
    assert text.endswith("\n  hugepages-2Mi      0 (0%)     0 (0%)\nEvents:              <none>\n")


# --- the pieces ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [
        (timedelta(seconds=-5), "<invalid>"),
        (timedelta(seconds=-1), "0s"),
        (timedelta(milliseconds=-500), "0s"),
        (timedelta(seconds=0), "0s"),
        (timedelta(seconds=119), "119s"),
        (timedelta(minutes=2), "2m"),
        (timedelta(minutes=7, seconds=5), "7m5s"),
        (timedelta(minutes=9, seconds=59), "9m59s"),
        (timedelta(minutes=10, seconds=59), "10m"),
        (timedelta(minutes=73), "73m"),
        (timedelta(minutes=179, seconds=59), "179m"),
        (timedelta(hours=3), "3h"),
        (timedelta(hours=7, minutes=59), "7h59m"),
        (timedelta(hours=8, minutes=30), "8h"),
        (timedelta(hours=47, minutes=59), "47h"),
        (timedelta(hours=48), "2d"),
        (timedelta(days=3, hours=4, minutes=9), "3d4h"),
        (timedelta(days=7, hours=23), "7d23h"),
        (timedelta(days=8), "8d"),
        (timedelta(days=729), "729d"),
        (timedelta(days=730), "2y"),
        (timedelta(days=800), "2y70d"),
        (timedelta(days=365 * 8 + 3), "8y"),
    ],
)
def test_ages_follow_apimachinery_human_duration(elapsed: timedelta, expected: str) -> None:
    """Ages switch units at HumanDuration's boundaries (2m, 10m, 3h, 8h, 48h, 8d, 2y, 8y)."""
    assert human_duration(elapsed) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0", "0"),
        ("0.5", "500m"),
        ("1000m", "1"),
        ("1500m", "1500m"),
        ("3910m", "3910m"),
        ("1024Mi", "1Gi"),
        ("1.5Gi", "1536Mi"),
        ("16380460Ki", "16380460Ki"),
        ("94743938007", "94743938007"),
        ("100M", "100M"),
        ("1e3", "1e3"),
        ("512", "512"),
        ("0.5Ki", "512"),
        ("1n", "1n"),
        ("0.1n", "1n"),
        (2, "2"),
    ],
)
def test_quantities_print_in_canonical_form(raw: object, expected: str) -> None:
    """Quantities print as resource.Quantity.String() does."""
    assert format_quantity(raw) == expected


def test_tabwriter_blocks_end_at_a_line_without_tabs() -> None:
    """Columns align over consecutive tabbed lines only; the last cell is never padded."""
    assert tabwrite("a:\tx\nlonger:\ty\n") == "a:       x\nlonger:  y\n"
    assert tabwrite("a:\tx\nbreak\nlonger:\ty\n") == "a:  x\nbreak\nlonger:  y\n"
    assert (
        tabwrite("ns\tname\t\tcpu\nkube-system\tp\t\t1\n")
        == "ns           name    cpu\nkube-system  p       1\n"
    )
    assert tabwrite("k:\t\n") == "k:  \n"


def test_env_values_resolved_only_where_kubectl_resolves_them() -> None:
    """fieldRef env shows a value only for metadata.name/namespace; the key refs say where from."""
    pod = _nginx_pod()
    pod["spec"]["containers"][0]["env"] = [
        {"name": "NODENAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
        {
            "name": "PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "calico-bgp-password", "key": "password"}},
        },
        {
            "name": "MTU",
            "valueFrom": {"configMapKeyRef": {"name": "calico-config", "key": "veth_mtu", "optional": True}},
        },
        {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
        {"name": "MULTI", "value": "one\ntwo"},
    ]
    text = describe_pod(pod, [], now=NGINX_NOW)
    assert "      NODENAME:   (v1:spec.nodeName)\n" in text
    assert "      POD:       nginx-deployment-67d4bdd6f5-w6kd7 (v1:metadata.name)\n" in text
    assert (
        "      PASSWORD:  <set to the key 'password' in secret 'calico-bgp-password'>  Optional: false\n"
        in text
    )
    assert (
        "      MTU:       <set to the key 'veth_mtu' of config map 'calico-config'>    Optional: true\n"
        in text
    )
    assert "      CPU:       1 (limits.cpu)\n" in text
    assert "      MULTI:     one\n                 two\n" in text


def test_pod_quirks_kept_from_kubectl() -> None:
    """Condition statuses keep their trailing blank; a deleted pod reads Terminating; no events prints <none>."""
    pod = _nginx_pod()
    pod["metadata"]["deletionTimestamp"] = _ts(NGINX_NOW - timedelta(seconds=45))
    pod["metadata"]["deletionGracePeriodSeconds"] = 30
    text = describe_pod(pod, [], now=NGINX_NOW)
    assert "\n  Ready             True \n" in text
    assert "Status:                    Terminating (lasts 45s)\nTermination Grace Period:  30s\n" in text
    assert text.endswith("\nEvents:                      <none>\n")


def test_probe_lines_for_each_handler() -> None:
    """tcp-socket, grpc and host-less http-get probes print as kubectl prints them; unset fields are the API defaults."""
    pod = _nginx_pod()
    container = pod["spec"]["containers"][0]
    container["livenessProbe"] = {
        "httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTPS"},
        "initialDelaySeconds": 5,
    }
    container["readinessProbe"] = {"tcpSocket": {"port": "http"}}
    container["startupProbe"] = {"grpc": {"port": 9090, "service": ""}, "failureThreshold": 30}
    text = describe_pod(pod, [], now=NGINX_NOW)
    # The probe lines share a block with the Requests entries above them (no tab-less line between).
    assert (
        "      memory:     128Mi\n    Liveness:     http-get https://:8080/healthz delay=5s timeout=1s period=10s #success=1 #failure=3\n"
        in text
    )
    assert "    Readiness:    tcp-socket :http delay=0s timeout=1s period=10s #success=1 #failure=3\n" in text
    assert (
        "    Startup:      grpc <pod>:9090  delay=0s timeout=1s period=10s #success=1 #failure=30\n" in text
    )


def test_event_intervals_from_series_and_event_time() -> None:
    """A series event shows its own count and last observation; eventTime wins over firstTimestamp."""
    series = {
        "type": "Warning",
        "reason": "Unhealthy",
        "message": "  Readiness probe failed: BIRD is not ready  ",
        "eventTime": "2026-11-29T17:00:44.000000Z",
        "series": {"count": 201, "lastObservedTime": "2026-11-29T18:10:51.900000Z"},
        "reportingComponent": "kubelet",
        "involvedObject": {"kind": "Pod", "fieldPath": "spec.containers{calico-node}"},
    }
    text = describe_pod(_nginx_pod(), [series], now=NOW)
    assert text.endswith(
        "  Warning  Unhealthy  112s (x201 over 72m)  kubelet  Readiness probe failed: BIRD is not ready\n"
    )


def test_pod_without_node_or_status() -> None:
    """An unscheduled, freshly created pod reads as kubectl shows it: Node <none>, IPs <none>, containers without state."""
    pod = {
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"containers": [{"name": "c", "image": "busybox", "args": ["sleep", "3600"]}]},
        "status": {"phase": "Pending"},
    }
    text = describe_pod(pod, [], now=NOW)
    assert "Node:         <none>\n" in text
    assert "IPs:          <none>\n" in text
    assert "\nVolumes:          <none>\n" in text
    assert "    Args:\n      sleep\n      3600\n    Environment:  <none>\n    Mounts:       <none>\n" in text
    assert "QoS Class:        BestEffort\n" in text
    assert "Container ID" not in text
    assert "Conditions:" not in text


def test_qos_and_totals_count_init_and_sidecar_containers() -> None:
    """Pod requests take the larger of containers and init containers; sidecars add up; QoS is computed when absent."""
    pod = _simple_pod(
        "default",
        "p",
        "2022-02-17T22:00:00Z",
        {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
    )
    pod["spec"]["initContainers"] = [
        {
            "name": "init",
            "image": "x",
            "resources": {
                "requests": {"cpu": "1", "memory": "64Mi"},
                "limits": {"cpu": "1", "memory": "64Mi"},
            },
        },
        {
            "name": "sidecar",
            "image": "x",
            "restartPolicy": "Always",
            "resources": {
                "requests": {"cpu": "50m", "memory": "16Mi"},
                "limits": {"cpu": "50m", "memory": "16Mi"},
            },
        },
    ]
    text = describe_node(_worker_1(), [pod], [], now=NODE_NOW)
    assert re.search(r"\n  default +p +1 \(50%\) +1 \(50%\) +80Mi \(4%\) +80Mi \(4%\) +14m\n", text)
    assert re.search(r"\nQoS Class: +Guaranteed\n", describe_pod(pod, [], now=NODE_NOW))
    del pod["spec"]["initContainers"][0]["resources"]["limits"]["memory"]
    assert re.search(r"\nQoS Class: +Burstable\n", describe_pod(pod, [], now=NODE_NOW))


def test_node_details_roles_lease_and_zero_times() -> None:
    """Roles come from labels; a lease without acquireTime shows <unset>; no lease leaves the section out;
    a condition without heartbeat prints Go's zero time."""
    node = _worker_1()
    node["metadata"]["labels"]["node-role.kubernetes.io/worker"] = ""
    node["metadata"]["labels"]["kubernetes.io/role"] = "edge"
    node["spec"]["providerID"] = "ibm://account///cluster/worker"
    node["spec"]["podCIDRs"] = ["172.30.0.0/24", "fd00::/64"]
    del node["status"]["conditions"][0]["lastHeartbeatTime"]
    text = describe_node(node, [], [], now=NODE_NOW, lease={"spec": {}})
    assert "Roles:              edge,worker\n" in text
    assert (
        "Lease:\n  HolderIdentity:  <unset>\n  AcquireTime:     <unset>\n  RenewTime:       <unset>\n" in text
    )
    assert "False     Mon, 01 Jan 0001 00:00:00 +0000   Thu, 17 Feb 2022 22:09:13 +0000   WeaveIsUp" in text
    assert (
        "PodCIDRs:                     172.30.0.0/24,fd00::/64\nProviderID:                   ibm://account///cluster/worker\n"
        in text
    )
    assert "Lease:" not in describe_node(node, [], [], now=NODE_NOW)


def test_annotations_long_and_last_applied() -> None:
    """kubectl's last-applied annotation is hidden; a long annotation wraps and is cut at 140 characters."""
    pod = _nginx_pod()
    pod["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": '{"apiVersion":"v1"}',
        "long": "x" * 200,
    }
    text = describe_pod(pod, [], now=NGINX_NOW)
    assert "last-applied" not in text
    assert f"Annotations:  long:\n                {'x' * 138}...\n" in text
