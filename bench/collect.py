"""Benchmark: collect + diagnose a healthy simulated cluster, against two references, in one run.

    .venv/bin/python bench/collect.py                 # 100, 1,000 and 5,000 workers, 20 ms per request
    .venv/bin/python bench/collect.py --sizes 100 --latency-ms 5

For each size a simulator (`calico-bot sim`, its own process) serves a healthy cluster with the
given latency on every request. Three measurements, each in a fresh process so peak RSS is its own:

- calico   — calico-bot's collector (the read plan, raw bytes, typed msgspec decoding) + diagnose();
- floor    — the same requests with the same concurrency, the bodies only parsed as generic JSON
             (msgspec, the fastest generic parser here) into dicts;
- download — the same requests, bodies not parsed at all (the network + HTTP client lower bound);
- baseline — the same lists through the `kubernetes` client's generated models (list_node(), …).

It prints wall time, API requests, bytes, peak RSS, and the ratios calico/floor and baseline/calico.
A script, not a test: the numbers go into the issue notes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES = ("calico", "floor", "download", "baseline")


# --- the measured work, one mode per process --------------------------------------------------


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _run_calico(kubeconfig: str, cluster: str) -> dict[str, Any]:
    from bot import clock
    from bot.collect import collect
    from bot.kube import KubeTransport, resolve_cluster
    from checks.diagnose import diagnose

    transport = KubeTransport(resolve_cluster(cluster, kubeconfig=kubeconfig))
    start = time.perf_counter()
    snapshot = await collect(transport, cluster=cluster, source="sim", collected_at=clock.utcnow())
    diagnosis = diagnose(snapshot, now=snapshot.collected_at)
    wall = time.perf_counter() - start
    transport.close()
    return {
        "wall": wall,
        "verdict": diagnosis.verdict,
        "nodes": len(snapshot.nodes),
        "errors": len(snapshot.errors),
    }


async def _run_floor(kubeconfig: str, cluster: str, *, parse: bool = True) -> dict[str, Any]:
    """Same calls, same concurrency and paging; bodies parsed to plain Python objects (or, with
    parse=False, only scanned for the continue token: the pure download floor)."""
    import msgspec

    from bot.collect import GetCall, read_plan
    from bot.kube import KubeTransport, resolve_cluster

    transport = KubeTransport(resolve_cluster(cluster, kubeconfig=kubeconfig))
    limit = asyncio.Semaphore(8)
    kept: list[Any] = []

    async def one(call: Any) -> None:
        token = ""
        while True:
            params = [] if isinstance(call, GetCall) else [*call.params, ("limit", "500")]
            if token:
                params.append(("continue", token))
            async with limit:
                response = await transport.request("GET", call.path, params=params, accept=call.accept)
            if response.status != 200:
                return
            if isinstance(call, GetCall):
                return
            if parse:
                doc = await asyncio.to_thread(msgspec.json.decode, response.body)
                kept.append(doc.get("items", doc))
                token = (doc.get("metadata") or {}).get("continue", "")
            else:
                kept.append(len(response.body))
                token = _continue_token(response.body)
            if not token:
                return

    start = time.perf_counter()
    await asyncio.gather(*(one(c) for c in read_plan()))
    wall = time.perf_counter() - start
    transport.close()
    return {"wall": wall, "documents": len(kept)}


def _continue_token(body: bytes) -> str:
    """The list's continue token without parsing the body (the apiserver writes metadata first)."""
    head = body[:2048]
    marker = head.find(b'"continue":"')
    if marker < 0:
        return ""
    start = marker + len(b'"continue":"')
    return head[start : head.index(b'"', start)].decode()


def _run_baseline(kubeconfig: str, cluster: str) -> dict[str, Any]:
    """The same lists through the official client's generated models, 8 threads like the collector."""
    from concurrent.futures import ThreadPoolExecutor

    import kubernetes

    client = kubernetes.config.new_client_from_config(config_file=kubeconfig, context=cluster)
    core = kubernetes.client.CoreV1Api(client)
    apps = kubernetes.client.AppsV1Api(client)
    adm = kubernetes.client.AdmissionregistrationV1Api(client)
    coord = kubernetes.client.CoordinationV1Api(client)
    rbac = kubernetes.client.RbacAuthorizationV1Api(client)
    custom = kubernetes.client.CustomObjectsApi(client)
    selector = "k8s-app in (calico-node,calico-typha,calico-kube-controllers)"

    def paged(fn: Any, *args: Any, **kw: Any) -> list[Any]:
        items: list[Any] = []
        token = None
        while True:
            try:
                page = fn(*args, limit=500, _continue=token, **kw) if token else fn(*args, limit=500, **kw)
            except kubernetes.client.exceptions.ApiException:
                return items
            if isinstance(page, dict):
                items += page.get("items", [])
                token = page.get("metadata", {}).get("continue")
            else:
                items += page.items
                token = page.metadata._continue
            if not token:
                return items

    def single(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except kubernetes.client.exceptions.ApiException:
            return None

    jobs: list[Any] = [
        lambda: paged(core.list_node),
        lambda: paged(core.list_namespace),
        lambda: paged(core.list_pod_for_all_namespaces, label_selector=selector),
        lambda: paged(core.list_namespaced_event, "default", field_selector="involvedObject.kind=Node"),
        lambda: paged(core.list_namespaced_event, "calico-system"),
        lambda: paged(core.list_namespaced_event, "tigera-operator"),
        lambda: paged(core.list_namespaced_event, "kube-system", field_selector="type=Warning"),
        lambda: paged(adm.list_validating_webhook_configuration),
        lambda: paged(adm.list_mutating_webhook_configuration),
        lambda: paged(coord.list_namespaced_lease, "kube-node-lease"),
        lambda: single(rbac.read_namespaced_role, "bgp-secret-access", "calico-system"),
        lambda: single(rbac.read_namespaced_role_binding, "bgp-secret-access", "calico-system"),
    ]
    for ns in ("calico-system", "kube-system"):
        jobs.append(lambda ns=ns: paged(apps.list_namespaced_daemon_set, ns))
        jobs.append(lambda ns=ns: single(core.read_namespaced_secret, "calico-bgp-password", ns))
    for ns in ("calico-system", "kube-system", "tigera-operator"):
        jobs.append(lambda ns=ns: paged(apps.list_namespaced_deployment, ns))
    for group, plural in (
        ("crd.projectcalico.org", "bgpconfigurations"),
        ("crd.projectcalico.org", "ippools"),
        ("crd.projectcalico.org", "felixconfigurations"),
        ("crd.projectcalico.org", "nodes"),
        ("operator.tigera.io", "installations"),
        ("operator.tigera.io", "tigerastatuses"),
    ):
        jobs.append(lambda g=group, p=plural: paged(custom.list_cluster_custom_object, g, "v1", p))

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: job(), jobs))
    wall = time.perf_counter() - start
    return {"wall": wall, "objects": sum(len(r) for r in results if isinstance(r, list))}


def _measure(mode: str, kubeconfig: str, cluster: str) -> None:
    if mode == "calico":
        result = asyncio.run(_run_calico(kubeconfig, cluster))
    elif mode == "floor":
        result = asyncio.run(_run_floor(kubeconfig, cluster))
    elif mode == "download":
        result = asyncio.run(_run_floor(kubeconfig, cluster, parse=False))
    else:
        result = _run_baseline(kubeconfig, cluster)
    result["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(result))


# --- the orchestration ---------------------------------------------------------------------


def _sim_get(url: str, path: str, token: str, method: str = "GET") -> Any:
    request = urllib.request.Request(url + path, method=method, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else None


def _start_sim(nodes: int, latency_ms: int, workdir: Path) -> tuple[subprocess.Popen[bytes], str, str, str]:
    kubeconfig = workdir / f"sim-{nodes}.kubeconfig"
    cluster = f"bench-{nodes}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "sim",
            "--scenario",
            "healthy",
            "--nodes",
            str(nodes),
            "--latency-ms",
            str(latency_ms),
            "--cluster",
            cluster,
            "--kubeconfig-out",
            str(kubeconfig),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"simulator exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        if kubeconfig.exists():
            import yaml

            config = yaml.safe_load(kubeconfig.read_text())
            url = config["clusters"][0]["cluster"]["server"]
            token = config["users"][0]["user"]["token"]
            try:
                _sim_get(url, "/version", token)
                return proc, str(kubeconfig), url, token
            except OSError:
                pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("simulator did not start within 120 s")


def _requests(url: str, token: str) -> tuple[int, int]:
    log = _sim_get(url, "/_sim/requests", token)
    routes = log.get("routes", log) if isinstance(log, dict) else {}
    count = sum(int(v.get("count", 0)) for v in routes.values())
    size = sum(int(v.get("bytes", 0)) for v in routes.values())
    return count, size


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--measure", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--kubeconfig", help=argparse.SUPPRESS)
    parser.add_argument("--cluster", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        _measure(args.measure, args.kubeconfig, args.cluster)
        return 0

    rows: list[dict[str, Any]] = []
    print(
        f"collect + diagnose, healthy simulated cluster, {args.latency_ms} ms per request, python {sys.version.split()[0]}"
    )
    header = f"{'workers':>8} {'mode':<9} {'wall s':>8} {'requests':>9} {'MB':>8} {'peak RSS MB':>12}"
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            proc, kubeconfig, url, token = _start_sim(size, args.latency_ms, Path(tmp))
            try:
                results: dict[str, dict[str, Any]] = {}
                for mode in args.modes:
                    _sim_get(url, "/_sim/reset-log", token, method="POST")
                    done = subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--measure",
                            mode,
                            "--kubeconfig",
                            kubeconfig,
                            "--cluster",
                            f"bench-{size}",
                        ],
                        capture_output=True,
                        text=True,
                        cwd=ROOT,
                        env={**os.environ, "PYTHONPATH": str(ROOT)},
                    )
                    if done.returncode != 0:
                        print(f"{size:>8} {mode:<9} FAILED: {done.stderr.strip().splitlines()[-1:]}")
                        continue
                    result = json.loads(done.stdout.strip().splitlines()[-1])
                    result["requests"], result["bytes"] = _requests(url, token)
                    results[mode] = result
                    rows.append({"size": size, "mode": mode, **result})
                    print(
                        f"{size:>8} {mode:<9} {result['wall']:>8.2f} {result['requests']:>9} "
                        f"{result['bytes'] / 1e6:>8.1f} {result['peak_rss_mb']:>12.0f}"
                        + (f"   verdict={result['verdict']}" if "verdict" in result else "")
                    )
                calico, floor, base = results.get("calico"), results.get("floor"), results.get("baseline")
                ratios = []
                download = results.get("download")
                if calico and floor:
                    ratios.append(f"calico/floor = {calico['wall'] / floor['wall']:.2f}× (target ≤ 1.5×)")
                if calico and download:
                    ratios.append(f"calico/download = {calico['wall'] / download['wall']:.2f}×")
                if calico and base:
                    ratios.append(
                        f"baseline/calico = {base['wall'] / calico['wall']:.1f}× faster (target ≥ 5×)"
                    )
                if calico:
                    ratios.append(f"peak RSS {calico['peak_rss_mb']:.0f} MB (target < 400 MB)")
                print(f"{'':>8} ratios: " + "; ".join(ratios))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
