"""Everything the cluster generator produces for one case, as one comparable structure.

A case is a scenario (a built-in, or a built-in with its cluster facts changed: VPC, ROKS on
classic, other Kubernetes minors, the manifest era on 1.29, a machine type), a worker count and a
seed, built at the fixed clock `NOW`. `snapshot` records every stored object byte for byte (key
order included), the logs, the resource version, the builder's own state (worker values, uids,
the DaemonSet kept for a master refresh, readiness bookkeeping, pinned objects), the default logs
of every container of every pod, and what the builder hands out after the build (a healthy
worker's Node conditions, the calico-node pod the DaemonSet recreates, broken or not), in the order
that consumes the random generator. Two builders that give equal snapshots for a case generate the
same cluster and react the same afterwards.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.sim.scenario import Scenario, load_scenario, scenario_names
from bot.sim.store import Store, encode
from tests.sim.conftest import NOW

BuilderClass = Any  # a ClusterBuilder class (the comparison with the code-built generator passed one of each)


def _variant(base: str, **cluster: Any) -> Scenario:
    scenario = load_scenario(base)
    namespace = cluster.pop("calico_namespace", None)
    machine_type = cluster.pop("machine_type", None)
    spec = dataclasses.replace(scenario.cluster, **cluster)
    minor = spec.minor + (13 if spec.version.startswith("4.") else 0)
    if namespace is None:
        namespace = "calico-system" if spec.platform == "roks" or minor >= 29 else "kube-system"
    workers = scenario.workers
    if machine_type is not None:
        workers = dataclasses.replace(workers, machine_type=machine_type)
    absent = frozenset() if namespace == "calico-system" else frozenset({"operator.tigera.io"})
    return dataclasses.replace(
        scenario, cluster=spec, calico_namespace=namespace, workers=workers, absent_api_groups=absent
    )


VARIANTS: dict[str, dict[str, Any]] = {
    "iks-vpc-1.29": {"provider": "vpc"},
    "iks-vpc-1.28": {"provider": "vpc", "version": "1.28"},
    "iks-classic-1.25": {"version": "1.25"},
    "iks-classic-1.30": {"version": "1.30"},
    "iks-classic-1.31": {"version": "1.31"},
    "iks-classic-1.32": {"version": "1.32"},
    "iks-classic-1.33": {"version": "1.33"},
    "roks-classic-4.14": {"platform": "roks", "version": "4.14"},
    "roks-vpc-4.16": {"platform": "roks", "provider": "vpc", "version": "4.16"},
    "iks-1.29-manifest-era": {"calico_namespace": "kube-system"},
    "iks-eu-de-machine-type": {"region": "eu-de", "machine_type": "m3c.8x64"},
}


def case_ids() -> list[str]:
    """Every built-in at its own size and at 7 workers; healthy at the typha steps; the variants."""
    ids = [f"{name}@default" for name in scenario_names()]
    ids += [f"{name}@7" for name in scenario_names()]
    ids += [f"healthy@{n}" for n in (0, 1, 2, 4, 1200)]
    ids += [f"variant:{name}@5" for name in VARIANTS]
    ids += ["crashloop-one@default/seed=12345", "demo@40/seed=7"]
    return ids


def case(case_id: str) -> tuple[Scenario, int | None, int | None]:
    """(scenario, nodes, seed) of a case id `<scenario>@<nodes|default>[/seed=N]`."""
    spec, _, seed_text = case_id.partition("/seed=")
    name, _, nodes_text = spec.partition("@")
    scenario = (
        _variant("healthy", **VARIANTS[name[8:]]) if name.startswith("variant:") else load_scenario(name)
    )
    nodes = None if nodes_text == "default" else int(nodes_text)
    return scenario, nodes, int(seed_text) if seed_text else None


def snapshot(builder_class: BuilderClass, case_id: str, now: datetime = NOW) -> dict[str, Any]:
    scenario, nodes, seed = case(case_id)
    store = Store(now=lambda: now)
    builder = builder_class(scenario, store=store, nodes=nodes, now=now, seed=seed)
    builder.build()
    out: dict[str, Any] = {}
    for key in sorted(store._objects):
        for (namespace, name), obj in store._objects[key].items():
            out[f"object {key} {namespace}/{name}"] = obj.item.decode()
    out["order"] = [f"{key} {ns}/{name}" for key in store._objects for (ns, name) in store._objects[key]]
    out["resourceVersion"] = store.resource_version
    out["history"] = len(store.history)
    out["absent_groups"] = sorted(store.absent_groups)
    out["logs"] = {"|".join(map(str, k)): v for k, v in sorted(store.logs.items())}
    out["daemonset_doc"] = encode(builder.daemonset_doc).decode()
    out["variables"] = builder.variables
    out["uids"] = builder.uids
    out["calico_pod_ready"] = builder.calico_pod_ready
    out["calico_pod_failing"] = builder.calico_pod_failing
    out["pinned"] = sorted(map(list, builder.pinned))
    out["workers"] = [
        [w.index, w.name, w.zone, w.zone_index, w.pool, w.worker_id, w.pool_id, w.values]
        for w in builder.workers
    ]
    for key in sorted(store._objects):
        if key != "pods":
            continue
        for (namespace, name), obj in store._objects[key].items():
            spec = obj.doc().get("spec") or {}
            for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
                for previous in (False, True):
                    text = builder.default_log(namespace, name, container["name"], previous)
                    out[f"default log {namespace}/{name}/{container['name']}/{previous}"] = text
    for w in builder.workers[:4]:
        out[f"after {w.name}"] = [
            builder.recreates_broken(w.name),
            builder.healthy_node_conditions(w.name),
            builder.fresh_calico_pod(w.name),
            builder.fresh_calico_pod(w.name, broken=True),
            builder.fresh_calico_pod(w.name, broken=False),
        ]
    out["after unknown"] = [builder.fresh_calico_pod("10.0.0.1"), builder.healthy_node_conditions("x")]
    return out


def digest(snap: dict[str, Any]) -> str:
    return hashlib.sha256(encode(snap)).hexdigest()


GOLDEN = Path(__file__).with_name("golden") / "generator-digests.json"


def main() -> None:
    """`python -m tests.sim.generator_cases`: rewrite the pinned digests from the current generator
    (after a deliberate change to what it generates; review why every changed case changed)."""
    from bot.sim.generate import ClusterBuilder

    digests = {case_id: digest(snapshot(ClusterBuilder, case_id)) for case_id in case_ids()}
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(digests, indent=1) + "\n")
    print(f"{GOLDEN}: {len(digests)} cases")


if __name__ == "__main__":
    main()
