"""The facts one simulated cluster is generated from: versions, era, provider, names, sizes.

`Facts.context()` is what the templates in `bot/sim/templates/` are filled with at cluster level
(the per-worker values come on top, see `bot.sim.generate`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.sim.scenario import Scenario

REGISTRY = "us.icr.io/armada-master/"
ACCOUNT = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
AUTODETECT_INTERFACES = "(^bond0$|^eth0$|^ens6$|^ens3$)"
IPPOOL_CIDR = "172.30.0.0/16"

_CALICO = {
    28: ("v3.26.4", ""),
    29: ("v3.27.4", "v1.32.10"),
    30: ("v3.27.4", "v1.32.10"),
    31: ("v3.29.3", "v1.36.5"),
    32: ("v3.29.3", "v1.36.5"),
}
"""Calico and Tigera operator versions IKS ships per Kubernetes minor (newer minors: the last)."""
_KUBE_PATCH = {25: 16, 26: 15, 27: 16, 28: 15, 29: 10, 30: 6, 31: 4, 32: 2}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def cluster_id_for(name: str) -> str:
    digest = sha(name)
    alphabet = "0123456789abcdefghijklmnopqrstuv"
    return "".join(alphabet[int(digest[i : i + 2], 16) % 32] for i in range(0, 40, 2))


def operator_typha_replicas(nodes: int) -> int:
    """The Tigera operator's typha count: <=2 nodes -> 1, <=4 -> 2, else nodes//200 + 2, at least 3."""
    if nodes <= 2:
        return 1
    if nodes <= 4:
        return 2
    return max(3, nodes // 200 + 2)


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

    def context(self) -> dict[str, Any]:
        """The cluster-level values and flags the templates name."""
        return {
            "operator_era": self.operator_era,
            "vpc": self.vpc,
            "roks": self.roks,
            "cluster": self.cluster,
            "cluster_id": self.cluster_id,
            "cluster_guid": sha(self.cluster)[:32],
            "ns": self.ns,
            "region": self.region,
            "machine_type": self.machine_type,
            "cidr_bits": self.cidr_bits,
            "kubelet": self.kubelet,
            "worker_version": self.worker_version,
            "calico": self.calico,
            "operator": self.operator,
            "registry": REGISTRY,
            "account": ACCOUNT,
            "autodetect_interfaces": AUTODETECT_INTERFACES,
            "ippool_cidr": IPPOOL_CIDR,
        }
