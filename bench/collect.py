"""Benchmark: collect + diagnose a healthy simulated cluster, in-process and as the user runs it.

    .venv/bin/python bench/collect.py                 # 100, 1,000 and 5,000 workers, 20 ms per request
    .venv/bin/python bench/collect.py --sizes 100 --latency-ms 5
    .venv/bin/python bench/collect.py --sizes 5000 --repeat 3 --modes cli floor baseline

For each size a simulator (`calico-bot sim`, its own process) serves a healthy cluster with the
given latency on every request. Each measurement is a fresh process; its wall time ("process s",
interpreter start and imports included) and peak RSS come from the outside (os.wait4), and the
modes that run code of this script also report the wall time of the measured work alone
("in-proc s", imports and client set-up excluded):

- calico    — calico-bot's collector (the read plan, raw bytes, typed msgspec decoding) + diagnose();
- floor     — the same requests with the same concurrency and the same HTTP client, the bodies only
              parsed as generic JSON (msgspec, the fastest generic parser here) into dicts;
- download  — the same requests, bodies not parsed at all (the network + HTTP client lower bound);
- baseline  — the same lists through the `kubernetes` client's generated models (list_node(), …);
- cli       — the command itself: `python -m bot check CLUSTER --kubeconfig K --json`;
- bigresult — the same check with `asyncio.run` returning the whole CheckResult, as the CLI did
              before: on Python 3.11 asyncio.run builds the repr of the main task (its result
              included) when it restores the SIGINT handler. Shows what that cost, in this run.

It prints, per size, the in-process ratios (calico/floor, baseline/calico) and the whole-process
ones the issue sets targets for at 5,000 workers: cli/floor ≤ 1.5× (both as processes),
baseline/cli ≥ 5× (both as processes), cli peak RSS ≤ 400 MB; then a summary table of all sizes.
A script, not a test: the numbers go into the issue notes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES = ("calico", "floor", "download", "baseline", "cli", "bigresult")
TARGET_SIZE = 5000  # the targets are set for this many workers
TARGET_FLOOR_RATIO = 1.5  # cli / floor, whole processes, at most
TARGET_BASELINE_RATIO = 5.0  # baseline / cli, whole processes, at least
TARGET_RSS_MB = 400.0  # cli peak RSS, at most


# --- the measured work, one mode per process --------------------------------------------------


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _run_calico(kubeconfig: str, cluster: str) -> dict[str, Any]:
    from bot import clock
    from bot.cluster.collect import collect
    from bot.cluster.kube import KubeTransport, resolve_cluster
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

    from bot.cluster.collect import GetCall, read_plan
    from bot.cluster.kube import KubeTransport, resolve_cluster

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


def _run_bigresult(kubeconfig: str, cluster: str) -> dict[str, Any]:
    """The check as `calico-bot check` ran it before: asyncio.run returns the whole CheckResult."""
    from bot.cluster.checking import run_check
    from bot.cluster.sources import ClusterAccess

    start = time.perf_counter()
    result = asyncio.run(run_check(cluster, ClusterAccess(kubeconfig=kubeconfig)))
    size = len(result.diagnosis.to_json())
    wall = time.perf_counter() - start
    return {"wall": wall, "verdict": result.diagnosis.verdict, "json_bytes": size}


def _measure(mode: str, kubeconfig: str, cluster: str) -> None:
    if mode == "calico":
        result = asyncio.run(_run_calico(kubeconfig, cluster))
    elif mode == "bigresult":
        result = _run_bigresult(kubeconfig, cluster)
    elif mode == "floor":
        result = asyncio.run(_run_floor(kubeconfig, cluster))
    elif mode == "download":
        result = asyncio.run(_run_floor(kubeconfig, cluster, parse=False))
    else:
        result = _run_baseline(kubeconfig, cluster)
    result["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(result))


# --- the orchestration ---------------------------------------------------------------------


@dataclass
class Sim:
    """A `calico-bot sim` process and how to reach it (over TLS with its own CA when it says so)."""

    proc: subprocess.Popen[bytes]
    kubeconfig: str
    cluster: str
    url: str
    token: str
    tls: ssl.SSLContext | None

    def call(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30, context=self.tls) as response:
            body = response.read()
        return json.loads(body) if body else None

    def requests(self) -> tuple[int, int]:
        """API requests and response bytes since the last reset of its log."""
        log = self.call("/_sim/requests")
        routes = log.get("routes", log) if isinstance(log, dict) else {}
        count = sum(int(v.get("count", 0)) for v in routes.values())
        size = sum(int(v.get("bytes", 0)) for v in routes.values())
        return count, size


def _sim_from_kubeconfig(proc: subprocess.Popen[bytes], path: Path) -> Sim:
    import yaml

    config = yaml.safe_load(path.read_text())
    cluster = config["clusters"][0]["cluster"]
    ca = cluster.get("certificate-authority-data")
    tls = ssl.create_default_context(cadata=base64.b64decode(ca).decode()) if ca else None
    return Sim(
        proc=proc,
        kubeconfig=str(path),
        cluster=config["contexts"][0]["name"],
        url=cluster["server"],
        token=config["users"][0]["user"]["token"],
        tls=tls,
    )


def _start_sim(nodes: int, latency_ms: int, workdir: Path) -> Sim:
    kubeconfig = workdir / f"sim-{nodes}.kubeconfig"
    command = ["sim", "--scenario", "healthy", "--nodes", str(nodes), "--latency-ms", str(latency_ms)]
    command += ["--cluster", f"bench-{nodes}", "--kubeconfig-out", str(kubeconfig)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", *command], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"simulator exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        if kubeconfig.exists():
            try:
                sim = _sim_from_kubeconfig(proc, kubeconfig)
                sim.call("/version")
                return sim
            except (OSError, KeyError, IndexError, TypeError, ValueError):
                pass  # still being written, or not listening yet
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("simulator did not start within 180 s")


def _command(mode: str, kubeconfig: str, cluster: str) -> list[str]:
    if mode == "cli":
        return [sys.executable, "-m", "bot", "check", cluster, "--kubeconfig", kubeconfig, "--json"]
    return [sys.executable, __file__, "--measure", mode, "--kubeconfig", kubeconfig, "--cluster", cluster]


def _run_process(command: list[str], workdir: Path) -> dict[str, Any]:
    """Run one measurement as its own process: its wall time and peak RSS seen from outside."""
    out_path, err_path = workdir / "stdout", workdir / "stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=err, env={**os.environ, "PYTHONPATH": str(ROOT)}
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "process_wall": wall,
        "process_rss_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
        "returncode": proc.returncode,
        "stdout": out_path.read_text(),
        "stderr": err_path.read_text(),
    }


def _one_run(mode: str, sim: Sim, workdir: Path) -> dict[str, Any]:
    sim.call("/_sim/reset-log", method="POST")
    done = _run_process(_command(mode, sim.kubeconfig, sim.cluster), workdir)
    lines = done["stdout"].strip().splitlines()
    if mode == "cli":
        # 0 healthy, 1 problems: both are a finished check; its output is the diagnosis JSON.
        if done["returncode"] not in (0, 1) or not lines:
            raise RuntimeError(f"exit {done['returncode']}: {done['stderr'].strip()[-300:]}")
        diagnosis = json.loads(lines[-1])
        result: dict[str, Any] = {"verdict": diagnosis["situations"][0]["id"]}
    else:
        if done["returncode"] != 0 or not lines:
            raise RuntimeError(f"exit {done['returncode']}: {done['stderr'].strip()[-300:]}")
        result = json.loads(lines[-1])
    result["process_wall"] = done["process_wall"]
    result["peak_rss_mb"] = done["process_rss_mb"]
    result["requests"], result["bytes"] = sim.requests()
    return result


def _measured(mode: str, sim: Sim, workdir: Path, repeat: int) -> dict[str, Any]:
    """The median run of `repeat` (by whole-process wall time)."""
    runs = [_one_run(mode, sim, workdir) for _ in range(repeat)]
    runs.sort(key=lambda r: float(r["process_wall"]))
    chosen = dict(runs[len(runs) // 2])
    if repeat > 1:
        chosen["spread"] = (runs[0]["process_wall"], runs[-1]["process_wall"])
    return chosen


def _row(size: int, mode: str, result: dict[str, Any]) -> str:
    inproc = f"{result['wall']:>9.2f}" if "wall" in result else f"{'-':>9}"
    spread = f"  ({result['spread'][0]:.2f}–{result['spread'][1]:.2f})" if "spread" in result else ""
    verdict = f"   verdict={result['verdict']}" if "verdict" in result else ""
    return (
        f"{size:>8} {mode:<9} {inproc} {result['process_wall']:>10.2f} {result['requests']:>9} "
        f"{result['bytes'] / 1e6:>8.1f} {result['peak_rss_mb']:>12.0f}{verdict}{spread}"
    )


def _ratios(size: int, results: dict[str, dict[str, Any]]) -> list[str]:
    """The ratios of one size; the whole-process ones marked against the targets at 5,000 workers."""

    def mark(ok: bool) -> str:
        return ("ok" if ok else "MISSED") if size >= TARGET_SIZE else ""

    calico, floor, base = results.get("calico"), results.get("floor"), results.get("baseline")
    download, cli, big = results.get("download"), results.get("cli"), results.get("bigresult")
    lines = []
    inproc = []
    if calico and floor:
        inproc.append(f"calico/floor = {calico['wall'] / floor['wall']:.2f}×")
    if calico and download:
        inproc.append(f"calico/download = {calico['wall'] / download['wall']:.2f}×")
    if calico and base:
        inproc.append(f"baseline/calico = {base['wall'] / calico['wall']:.1f}× faster")
    if inproc:
        lines.append("in-process:    " + "; ".join(inproc))
    whole = []
    if cli and floor:
        ratio = cli["process_wall"] / floor["process_wall"]
        whole.append(
            f"cli/floor = {ratio:.2f}× (target ≤ {TARGET_FLOOR_RATIO}×) {mark(ratio <= TARGET_FLOOR_RATIO)}"
        )
    if cli and download:
        whole.append(
            f"cli/download = {cli['process_wall'] / download['process_wall']:.2f}× (bodies not parsed)"
        )
    if cli and base:
        ratio = base["process_wall"] / cli["process_wall"]
        whole.append(
            f"baseline/cli = {ratio:.1f}× faster (target ≥ {TARGET_BASELINE_RATIO:.0f}×) "
            f"{mark(ratio >= TARGET_BASELINE_RATIO)}"
        )
    if cli:
        rss = cli["peak_rss_mb"]
        whole.append(
            f"cli peak RSS {rss:.0f} MB (target ≤ {TARGET_RSS_MB:.0f} MB) {mark(rss <= TARGET_RSS_MB)}"
        )
    if cli and big:
        whole.append(
            f"bigresult − cli = {big['process_wall'] - cli['process_wall']:+.2f} s, "
            f"{big['peak_rss_mb'] - cli['peak_rss_mb']:+.0f} MB (the repr of the result)"
        )
    if whole:
        lines.append("whole process: " + "; ".join(whole))
    return lines


def _summary(table: dict[int, dict[str, dict[str, Any]]]) -> list[str]:
    """All sizes, whole processes: the figures the issue's targets are about."""
    columns = [
        ("cli s", "cli", "process_wall", ".2f"),
        ("floor s", "floor", "process_wall", ".2f"),
        ("download s", "download", "process_wall", ".2f"),
        ("baseline s", "baseline", "process_wall", ".2f"),
        ("cli RSS MB", "cli", "peak_rss_mb", ".0f"),
        ("bigresult s", "bigresult", "process_wall", ".2f"),
        ("bigresult MB", "bigresult", "peak_rss_mb", ".0f"),
    ]
    ratios = [
        ("cli/floor", "cli", "floor"),
        ("cli/download", "cli", "download"),
        ("baseline/cli", "baseline", "cli"),
    ]
    names = [name for name, *_ in columns] + [name for name, *_ in ratios]
    header = f"{'workers':>8} " + " ".join(f"{name:>{len(name)}}" for name in names)
    lines = [
        "",
        "whole process (python -m bot check CLUSTER --json), median runs:",
        header,
        "-" * len(header),
    ]
    for size, results in table.items():
        cells = [
            format(results[mode][key], fmt) if mode in results else "-" for _name, mode, key, fmt in columns
        ]
        cells += [
            f"{results[top]['process_wall'] / results[bottom]['process_wall']:.2f}×"
            if top in results and bottom in results
            else "-"
            for _name, top, bottom in ratios
        ]
        lines.append(
            f"{size:>8} " + " ".join(f"{cell:>{len(name)}}" for cell, name in zip(cells, names, strict=True))
        )
    lines.append(
        f"targets at {TARGET_SIZE:,} workers: cli/floor ≤ {TARGET_FLOOR_RATIO}×, "
        f"baseline/cli ≥ {TARGET_BASELINE_RATIO:.0f}×, cli peak RSS ≤ {TARGET_RSS_MB:.0f} MB"
    )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--repeat", type=int, default=1, help="runs per mode; the median is shown")
    parser.add_argument("--measure", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--kubeconfig", help=argparse.SUPPRESS)
    parser.add_argument("--cluster", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        _measure(args.measure, args.kubeconfig, args.cluster)
        return 0

    table: dict[int, dict[str, dict[str, Any]]] = {}
    print(
        f"collect + diagnose, healthy simulated cluster, {args.latency_ms} ms per request, "
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {args.repeat}"
    )
    header = (
        f"{'workers':>8} {'mode':<9} {'in-proc s':>9} {'process s':>10} {'requests':>9} {'MB':>8} "
        f"{'peak RSS MB':>12}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            sim = _start_sim(size, args.latency_ms, Path(tmp))
            try:
                results: dict[str, dict[str, Any]] = {}
                for mode in args.modes:
                    try:
                        result = _measured(mode, sim, Path(tmp), args.repeat)
                    except RuntimeError as exc:
                        print(f"{size:>8} {mode:<9} FAILED: {exc}")
                        continue
                    results[mode] = result
                    print(_row(size, mode, result), flush=True)
                table[size] = results
                for line in _ratios(size, results):
                    print(f"{'':>8} {line}")
            finally:
                sim.proc.terminate()
                sim.proc.wait(timeout=30)
    print("\n".join(_summary(table)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
