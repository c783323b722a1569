"""A case → the raw Kubernetes objects and container logs of its cluster, as an apiserver returns them.

Healthy defaults for everything the report does not show (Ready nodes posting status, leases
renewed at `now`, one Running/Ready calico pod per node, the Deployments of the install type),
then the report's changes (node conditions, pod container statuses, events, logs, literal
objects), then what Kubernetes derives from them: pod conditions and phase from container
readiness, main containers waiting `PodInitializing` behind a failed init container, pods on an
unreachable node marked not Ready, node taints from node conditions, stale leases for
`Ready Unknown`, DaemonSet/Deployment/ReplicaSet status counts from their pods.

Deterministic: uids, names and container ids are hashes of the case's slug and the object, so a
case builds the same bytes every time.
"""

from __future__ import annotations

from tests.corpus.case import Case, CaseError
from tests.corpus.context import OPERATOR_GROUP, Built
from tests.corpus.nodes import NodeParts
from tests.corpus.resources import ResourceParts

__all__ = ["Built", "ClusterBuild", "build_cluster"]


class ClusterBuild(NodeParts, ResourceParts):
    """Healthy defaults, the case's changes, then Kubernetes' derivations (see the module docstring)."""

    def build(self) -> Built:
        case = self.case
        for index, node in enumerate(case.nodes):
            self.node(node, index)
        self.namespaces_and_services()
        if not self.calico.absent:
            self.calico_workloads()
        if self.calico.install == "operator":
            self.operator_objects()
        else:
            self.out.absent_groups.add(OPERATOR_GROUP)
        self.calico_resources()
        changes = {p.ref: p for p in case.pods if p.generated}
        for ref in changes:
            if ref not in self.pod_owner:
                index = next(i for i, p in enumerate(case.pods) if p.ref == ref)
                raise CaseError(
                    f"pods[{index}].ref",
                    f"no generated pod {ref} (generated: {', '.join(sorted(self.pod_owner)) or 'none'})",
                )
        for index, change in enumerate(case.pods):
            if not change.generated:
                self.extra_pod(change, index)
        self.apply_pod_changes(changes)
        self.literal_objects()
        self.mark_pods_on_lost_nodes()
        self.derive_workload_status()
        for index, event in enumerate(case.events):
            self.event(event, index)
        for index, log in enumerate(case.logs):
            self.log(log, index)
        self.namespace_objects()
        return self.out


def build_cluster(case: Case) -> Built:
    """The objects and logs of a case's cluster (raises CaseError for a reference that resolves to nothing)."""
    return ClusterBuild(case).build()
