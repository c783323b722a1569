"""Case builder: a corpus case (FORMAT.md) → a `kubectl cluster-info dump --output-directory` tree.

    python -m tests.corpus.build tests/corpus/cases/harness-bgp-wrong-nic.yaml --out /tmp/dump

The objects come from `tests.corpus.objects`; the tree is written by the simulator's own
cluster-info dump writer (`bot.sim.server.write_dump`: kubectl's file names, List documents with
4-space JSON, `logs.txt` START/END blocks, 0600/0700) with `extras/` (webhooks, Calico and
operator resources, node leases, namespaces, BGP secret metadata, RBAC, `apis.json`). Objects the
writer has no file for (ConfigMaps, BGPPeers, ClusterRoles …) go to `extras/case-objects.json`;
Secrets never carry their data. Previous container logs have no place in kubectl's layout and are
not written (a container waiting after a crash has the same log as current, which is written).

Exit status: 0 written, 2 malformed case (one line naming the field).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bot.sim.server import DUMP_NAMESPACES, write_dump
from bot.sim.store import Store, type_for_object
from tests.corpus.case import Case, CaseError, load_case
from tests.corpus.objects import Built, build_cluster

PER_NAMESPACE_KINDS = frozenset(
    {"Event", "ReplicationController", "Service", "DaemonSet", "Deployment", "ReplicaSet", "Pod"}
)
EXTRA_KINDS = frozenset(
    {
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("crd.projectcalico.org", "BGPConfiguration"),
        ("crd.projectcalico.org", "IPPool"),
        ("crd.projectcalico.org", "FelixConfiguration"),
        ("crd.projectcalico.org", "Node"),
        ("operator.tigera.io", "Installation"),
        ("operator.tigera.io", "TigeraStatus"),
        ("", "Namespace"),
        ("", "Node"),
    }
)
CALICO_NAMESPACES = ("calico-system", "kube-system")


def build_case(path: str | Path) -> tuple[Case, Built]:
    """Read a case and build its cluster; CaseError for a malformed case."""
    case = load_case(path)
    return case, build_cluster(case)


def dumped_namespaces(built: Built) -> list[str]:
    """kubectl's default pair plus the Calico namespaces (as the README asks) and any holding case pods/events."""
    holding = {
        o["metadata"]["namespace"]
        for o in built.objects
        if o["kind"] in PER_NAMESPACE_KINDS and o["metadata"].get("namespace")
    }
    return [*DUMP_NAMESPACES, *sorted(holding - set(DUMP_NAMESPACES))]


def _group(obj: dict[str, Any]) -> str:
    api = str(obj.get("apiVersion", ""))
    return api.rsplit("/", 1)[0] if "/" in api else ""


def written_by_dump(obj: dict[str, Any], namespaces: Sequence[str]) -> bool:
    """Whether `write_dump(extras=True)` writes this object somewhere."""
    kind, group = obj["kind"], _group(obj)
    namespace = str(obj["metadata"].get("namespace", ""))
    if group in ("", "apps") and kind in PER_NAMESPACE_KINDS:
        return namespace in namespaces
    if (group, kind) in EXTRA_KINDS:
        return True
    if (group, kind) == ("coordination.k8s.io", "Lease"):
        return namespace == "kube-node-lease"
    if (group, kind) in (
        ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "RoleBinding"),
        ("", "Secret"),
    ):
        return namespace in CALICO_NAMESPACES
    return False


def _without_secret_values(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] != "Secret":
        return obj
    return {k: v for k, v in obj.items() if k not in ("data", "stringData")}


def write_case_dump(case: Case, built: Built, out: str | Path) -> Path:
    """Write the kubectl cluster-info dump tree of a built case (plus extras) into `out`."""
    directory = Path(out)
    store = Store(now=lambda: case.now)
    store.absent_groups = set(built.absent_groups)
    leftovers: list[dict[str, Any]] = []
    namespaces = dumped_namespaces(built)
    for obj in built.objects:
        rtype = type_for_object(str(obj["apiVersion"]), str(obj["kind"]))
        if rtype is not None and store.served(rtype):
            store.put(copy.deepcopy(obj), rtype=rtype, bump=False)
        if rtype is None or not written_by_dump(obj, namespaces):
            leftovers.append(_without_secret_values(obj))
    for (namespace, pod, container), text in built.logs.items():
        store.set_log(namespace, pod, container, text)
    write_dump(store, directory, namespaces=namespaces, extras=True)
    if leftovers:
        path = directory / "extras" / "case-objects.json"
        path.write_text(
            json.dumps({"kind": "List", "apiVersion": "v1", "items": leftovers}, indent=4) + "\n",
            encoding="utf-8",
        )
        path.chmod(0o600)
    return directory


def build_dump(path: str | Path, out: str | Path) -> Path:
    case, built = build_case(path)
    return write_case_dump(case, built, out)


def strings_of(value: Any) -> Iterator[str]:
    """Every string leaf of a JSON-like value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_of(item)


def dump_strings(built: Built) -> list[str]:
    """The strings a dump of this case holds: every object's string fields and every current log."""
    return [*strings_of(built.objects), *built.logs.values()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.corpus.build", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("case", help="a case file (tests/corpus/cases/<slug>.yaml)")
    parser.add_argument("--out", required=True, help="the dump directory to write")
    args = parser.parse_args(argv)
    try:
        out = build_dump(args.case, args.out)
    except CaseError as exc:
        print(f"{args.case}: {exc}", file=sys.stderr)
        return 2
    print(f"Cluster info dumped to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
