"""The state of one case build and the helpers every part uses: deterministic ids and names,
resourceVersions, timestamps relative to the case's `now`, object metadata, image and container ids.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tests.corpus.case import Case, stamp
from tests.corpus.profiles import Json, Profile, profile

SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
OPERATOR_GROUP = "operator.tigera.io"
CALICO_GROUP = "crd.projectcalico.org"


@dataclass
class Built:
    """The cluster of a case: objects (with apiVersion/kind), current and previous logs."""

    objects: list[Json] = field(default_factory=list)
    logs: dict[tuple[str, str, str], str] = field(default_factory=dict)
    previous_logs: dict[tuple[str, str, str], str] = field(default_factory=dict)
    absent_groups: set[str] = field(default_factory=set)
    namespaces: set[str] = field(default_factory=set)

    def find(self, kind: str, namespace: str, name: str, api_group: str | None = None) -> Json | None:
        """The object of this kind/namespace/name (and API group, when given: Calico's `Node` is not a
        Kubernetes `Node`)."""
        for obj in self.objects:
            meta = obj["metadata"]
            if (
                obj["kind"] == kind
                and meta.get("namespace", "") == namespace
                and meta["name"] == name
                and (api_group is None or _group(obj.get("apiVersion", "")) == api_group)
            ):
                return obj
        return None

    def of_kind(self, kind: str) -> list[Json]:
        return [o for o in self.objects if o["kind"] == kind]


def _group(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def _minor(version: str) -> int:
    try:
        return int(version.lstrip("v").split(".")[1])
    except (IndexError, ValueError):
        return 28


class BuildContext:
    """One build of one case (state: resourceVersion counter, the objects made so far)."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.now = case.now
        self.created = case.now - timedelta(days=60)
        self.calico = case.calico
        self.profile: Profile = profile(case.calico.install, case.calico.version, case.calico.daemonset)
        self.minor = _minor(case.kubernetes_version)
        self.docker = self.minor < 24 and case.distribution in ("kubeadm", "kubespray", "rke", "other")
        self.rv = 41_000
        self.out = Built()
        self.pod_owner: dict[str, tuple[str, str]] = {}  # "<workload>@<node>" -> (namespace, pod name)

    def _hash(self, *parts: str) -> bytes:
        return hashlib.sha256("/".join((self.case.slug, *parts)).encode()).digest()

    def uid(self, *parts: str) -> str:
        return str(uuid.UUID(bytes=self._hash("uid", *parts)[:16], version=4))

    def hexid(self, *parts: str, length: int = 64) -> str:
        return self._hash("hex", *parts).hex()[:length]

    def suffix(self, *parts: str, length: int = 5) -> str:
        digest = self._hash("name", *parts)
        return "".join(SUFFIX_ALPHABET[b % len(SUFFIX_ALPHABET)] for b in digest[:length])

    def next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    def t(self, **delta: float) -> str:
        return stamp(self.now - timedelta(**delta))

    def meta(self, kind: str, name: str, namespace: str = "", *, created: str = "", **extra: Any) -> Json:
        meta: Json = {"name": name}
        if namespace:
            meta["namespace"] = namespace
        meta["uid"] = self.uid(kind, namespace, name)
        meta["resourceVersion"] = self.next_rv()
        meta["creationTimestamp"] = created or stamp(self.created)
        meta.update(extra)
        return meta

    def add(self, api_version: str, kind: str, doc: Json) -> Json:
        full = {"apiVersion": api_version, "kind": kind, **doc}
        self.out.objects.append(full)
        namespace = doc["metadata"].get("namespace")
        if namespace:
            self.out.namespaces.add(namespace)
        return full

    def runtime_id(self, *parts: str) -> str:
        return ("docker://" if self.docker else "containerd://") + self.hexid("container", *parts)

    def image_id(self, image: str) -> str:
        repo = image.rsplit(":", 1)[0]
        digest = hashlib.sha256(image.encode()).hexdigest()
        if self.docker:
            return f"docker-pullable://{repo}@sha256:{digest}"
        if repo.count("/") < 2 and not repo.startswith(("docker.io/", "quay.io/", "registry.k8s.io/")):
            repo = "docker.io/" + (repo if "/" in repo else f"library/{repo}")
        return f"{repo}@sha256:{digest}"

    def owner_ref(self, api_version: str, kind: str, name: str, namespace: str) -> Json:
        return {
            "apiVersion": api_version,
            "kind": kind,
            "name": name,
            "uid": self.uid(kind, namespace, name),
            "controller": True,
            "blockOwnerDeletion": True,
        }

    def installation_ref(self) -> list[Json]:
        if self.calico.install != "operator":
            return []
        return [self.owner_ref(f"{OPERATOR_GROUP}/v1", "Installation", "default", "")]

    def node_ip(self, name: str) -> str:
        spec = self.case.node(name)
        return spec.ip if spec is not None else ""

    def created_for(self, ref: str) -> str:
        """The creation time a case gives a generated pod (`created:`), else ""."""
        return next((p.created for p in self.case.pods if p.ref == ref and p.created), "")
