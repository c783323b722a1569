"""`calico-bot`: the command line.

    calico-bot check CLUSTER [--kubeconfig K] [--context C] [--clusters-dir D] [--json]
    calico-bot check demo                      # the built-in simulated cluster, loopback only
    calico-bot check --sim SCENARIO [--nodes N]
    calico-bot check --from-dump PATH [--cluster NAME] [--json]
    calico-bot sim [--scenario S] [--nodes N] [--port P] ...

Exit status: 0 healthy, 1 problems found, 2 could not check (bad input, unreachable, no
permission, something unknown). Bad input is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot import clock
from bot.collect import CollectOptions, Progress, collect
from bot.kube import ClusterConfigError, ClusterNotFound, KubeTransport, resolve_cluster
from bot.report import render_text
from checks.diagnose import diagnose
from checks.model import Diagnosis
from checks.snapshot import Snapshot

EXIT_HEALTHY, EXIT_PROBLEMS, EXIT_CANNOT_CHECK = 0, 1, 2
DEMO_CLUSTER = "demo"


class UsageProblem(Exception):
    """Bad input: printed as one line, exit 2."""


@dataclass(frozen=True)
class CheckResult:
    snapshot: Snapshot
    diagnosis: Diagnosis
    notes: tuple[str, ...] = ()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="calico-bot",
        description="Diagnose calico-node on IKS/ROKS clusters by the armada-network runbook.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="more detail on stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser(
        "check",
        help="diagnose a cluster, the built-in demo, a simulated scenario or a cluster-info dump",
        description="Diagnose one cluster. CLUSTER is a kubeconfig context, a <CLUSTER>.yaml in "
        "--clusters-dir, 'in-cluster', or 'demo' (the built-in simulated cluster).",
    )
    check.add_argument("cluster", nargs="?", help="cluster name (kubeconfig context)")
    check.add_argument("--kubeconfig", help="kubeconfig file(s), joined by ':' like KUBECONFIG")
    check.add_argument("--context", help="kubeconfig context to use (default: the cluster name)")
    check.add_argument(
        "--clusters-dir",
        default=os.environ.get("CALICO_BOT_CLUSTERS_DIR"),
        help="directory of <cluster>.yaml kubeconfigs (env CALICO_BOT_CLUSTERS_DIR)",
    )
    check.add_argument(
        "--from-dump", metavar="PATH", help="a `kubectl cluster-info dump` directory, stream file or .tar.gz"
    )
    check.add_argument(
        "--sim", metavar="SCENARIO", help="run a built-in simulated scenario in-process and check it"
    )
    check.add_argument("--nodes", type=int, default=None, help="with demo/--sim: total number of workers")
    check.add_argument("--json", action="store_true", help="print the diagnosis as one JSON object")
    colour = check.add_mutually_exclusive_group()
    colour.add_argument("--color", dest="color", action="store_true", default=None, help="force colour")
    colour.add_argument("--no-color", dest="color", action="store_false", help="never colour")
    check.add_argument("--timeout", type=float, default=20.0, help="seconds per API call (default 20)")
    check.set_defaults(func=_cmd_check)

    sim = sub.add_parser("sim", help="serve a simulated cluster (Kubernetes API on 127.0.0.1)")
    from bot.sim import cli as sim_cli

    sim_cli.add_arguments(sim)
    sim.set_defaults(func=sim_cli.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except UsageProblem as problem:
        print(f"calico-bot: {problem}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    except KeyboardInterrupt:
        print("calico-bot: interrupted", file=sys.stderr)
        return 130
    return code


def _cmd_check(args: argparse.Namespace) -> int:
    sources = [bool(args.from_dump), bool(args.sim), bool(args.cluster)]
    if sum(sources) == 0:
        raise UsageProblem("name a cluster (or 'demo'), or give --from-dump PATH or --sim SCENARIO")
    if args.from_dump and (args.sim or (args.cluster and args.kubeconfig)):
        raise UsageProblem("--from-dump reads a dump; it does not take --sim or --kubeconfig")
    if args.nodes is not None and args.nodes < 1:
        raise UsageProblem("--nodes must be at least 1")
    show_progress = not args.json and sys.stderr.isatty()
    try:
        result = asyncio.run(_run_check(args, show_progress))
    except (ClusterNotFound, ClusterConfigError) as exc:
        raise UsageProblem(str(exc)) from None
    for note in result.notes:
        print(f"calico-bot: {note}", file=sys.stderr)
    if args.json:
        sys.stdout.buffer.write(result.diagnosis.to_json() + b"\n")
        sys.stdout.flush()
    else:
        if _nothing_read(result.snapshot):
            reason = result.snapshot.errors[0].reason if result.snapshot.errors else "no data"
            print(f"calico-bot: could not read cluster {result.snapshot.cluster}: {reason}", file=sys.stderr)
            return EXIT_CANNOT_CHECK
        color = (
            args.color if args.color is not None else (sys.stdout.isatty() and "NO_COLOR" not in os.environ)
        )
        sys.stdout.write(render_text(result.diagnosis, snapshot=result.snapshot, color=color))
    return result.diagnosis.exit_code


def _nothing_read(snapshot: Snapshot) -> bool:
    return bool(snapshot.errors) and not snapshot.nodes and not snapshot.pods and not snapshot.daemonsets


async def _run_check(args: argparse.Namespace, show_progress: bool) -> CheckResult:
    if args.from_dump:
        return _check_dump(args.from_dump, cluster=args.cluster)
    scenario = args.sim or (DEMO_CLUSTER if args.cluster == DEMO_CLUSTER and not args.kubeconfig else None)
    options = CollectOptions(timeout=args.timeout)
    if scenario:
        return await _check_sim(scenario, nodes=args.nodes, options=options, show_progress=show_progress)
    target = resolve_cluster(
        args.cluster, kubeconfig=args.kubeconfig, context=args.context, clusters_dir=args.clusters_dir
    )
    transport = KubeTransport(target)
    try:
        snapshot = await collect(
            transport,
            cluster=args.cluster,
            source="live",
            collected_at=clock.utcnow(),
            options=options,
            progress=_progress(args.cluster, show_progress),
        )
    finally:
        transport.close()
    _clear_progress(show_progress)
    return CheckResult(snapshot=snapshot, diagnosis=diagnose(snapshot, now=snapshot.collected_at))


def _check_dump(path: str, *, cluster: str | None) -> CheckResult:
    from bot.dump import DumpError, load_dump

    try:
        loaded = load_dump(path, cluster=cluster)
    except DumpError as exc:
        raise UsageProblem(str(exc)) from None
    snapshot = loaded.snapshot
    notes = tuple(f"dump: {p}" for p in loaded.problems)
    # A dump is judged at the moment it shows (its newest heartbeat), not at today's date.
    return CheckResult(
        snapshot=snapshot, diagnosis=diagnose(snapshot, now=snapshot.collected_at), notes=notes
    )


async def _check_sim(
    scenario_name: str, *, nodes: int | None, options: CollectOptions, show_progress: bool
) -> CheckResult:
    from bot.sim import SimCluster, load_scenario

    try:
        scenario = load_scenario(scenario_name)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise UsageProblem(f"unknown scenario {scenario_name!r}: {exc}") from None
    cluster = getattr(scenario, "cluster_name", None) or scenario_name
    async with SimCluster(scenario, nodes=nodes) as sim:
        with tempfile.TemporaryDirectory(prefix="calico-bot-sim-") as tmp:
            kubeconfig = Path(tmp) / "kubeconfig"
            sim.write_kubeconfig(kubeconfig, context=cluster)
            target = resolve_cluster(cluster, kubeconfig=str(kubeconfig))
            transport = KubeTransport(target)
            try:
                snapshot = await collect(
                    transport,
                    cluster=cluster,
                    source="sim",
                    collected_at=clock.utcnow(),
                    options=options,
                    progress=_progress(cluster, show_progress),
                )
            finally:
                transport.close()
    _clear_progress(show_progress)
    return CheckResult(snapshot=snapshot, diagnosis=diagnose(snapshot, now=snapshot.collected_at))


def _progress(cluster: str, enabled: bool) -> Progress:
    progress = Progress(total=0)
    if enabled:

        last = [0.0]

        def show(p: Progress) -> None:
            now = time.monotonic()
            if now - last[0] < 0.1 and p.phase != "done":
                return  # at most ten redraws a second
            last[0] = now
            megabytes = p.bytes / 1_000_000
            failed = f", {p.failed} failed" if p.failed else ""
            sys.stderr.write(
                f"\r\033[Kreading {cluster}: {p.done}/{p.total} calls ({p.phase}), {p.requests} requests, "
                f"{megabytes:.1f} MB{failed}"
            )
            sys.stderr.flush()

        progress.listeners.append(show)
    return progress


def _clear_progress(enabled: bool) -> None:
    if enabled:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


if __name__ == "__main__":
    raise SystemExit(main())
