"""`calico-bot sim`: serve a simulated cluster on 127.0.0.1 until Ctrl-C / SIGTERM.

    calico-bot sim --list
    calico-bot sim --scenario crashloop-one --nodes 50 --latency-ms 20
    calico-bot sim --scenario ./my-scenario.yaml --write-dump ./dump      # write a dump and exit
    calico-bot sim --from-dump ./dump                                     # serve a cluster-info dump
    calico-bot sim --scenario healthy --time-scale 60                     # one second = one minute

Prints the API URL and the kubeconfig path; the kubeconfig's context is the cluster name, so
`calico-bot check <cluster> --kubeconfig <path>` (or `KUBECONFIG=<path> kubectl get nodes`) works.
The API is HTTPS with a CA made for this run (in the kubeconfig as certificate-authority-data):
kubectl sends a bearer token only over TLS. `--plain-http` serves plain HTTP instead (for tests
and clients that want it). The IKS/IAM routes are on a plain-HTTP port of their own (printed).
Time moves: heartbeats, leases and repeating events advance (`--time-scale` speeds the clock up).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from bot.sim.dump_writer import DUMP_NAMESPACES
from bot.sim.scenario import ScenarioError, load_scenario, scenario_descriptions
from bot.sim.server import ApiServer, SimCluster

DEFAULT_SCENARIO = "demo"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario",
        default=DEFAULT_SCENARIO,
        metavar="NAME|PATH",
        help=f"built-in scenario name or a scenario YAML file (default {DEFAULT_SCENARIO})",
    )
    parser.add_argument(
        "--nodes",
        type=int,
        default=None,
        metavar="N",
        help="total number of workers (default: the scenario's workers.count)",
    )
    parser.add_argument(
        "--port", type=int, default=0, metavar="P", help="port on 127.0.0.1 (default 0 = a free port)"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, metavar="X", help="latency added to every request"
    )
    parser.add_argument(
        "--cluster",
        default=None,
        metavar="NAME",
        help="cluster / kubeconfig context name (default: the scenario's cluster name)",
    )
    parser.add_argument(
        "--kubeconfig-out",
        default=None,
        metavar="PATH",
        help="where to write the kubeconfig (default ./sim-<cluster>.kubeconfig)",
    )
    parser.add_argument(
        "--write-dump",
        default=None,
        metavar="DIR",
        help="write a `kubectl cluster-info dump` of the scenario to DIR and exit",
    )
    parser.add_argument(
        "--dump-extras",
        action="store_true",
        help="with --write-dump: also write DIR/extras/ (webhooks, Calico CRs, leases, RBAC)",
    )
    parser.add_argument(
        "--iks-seconds",
        type=float,
        default=5.0,
        metavar="S",
        help="how long a simulated IKS worker reboot/reload/replace or master refresh takes (default 5)",
    )
    parser.add_argument(
        "--from-dump",
        default=None,
        metavar="PATH",
        help="serve a `kubectl cluster-info dump` (directory, stream file or archive) instead of a scenario",
    )
    parser.add_argument(
        "--plain-http",
        action="store_true",
        help="serve the Kubernetes API over plain HTTP (default: HTTPS with a CA made for this run; "
        "kubectl sends tokens only over HTTPS)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=None,
        metavar="X",
        help="run the simulated clock X times as fast as the wall clock (default 1: real time)",
    )
    parser.add_argument("--list", action="store_true", help="list the built-in scenarios and exit")


def run(args: argparse.Namespace) -> int:
    if args.list:
        rows = scenario_descriptions()
        width = max(len(name) for name, _ in rows)
        for name, description in rows:
            print(f"{name:<{width}}  {description}")
        return 0
    if args.from_dump:
        return _run_dump(args)
    if args.nodes is not None and args.nodes < 1:
        print("calico-bot sim: --nodes must be at least 1", file=sys.stderr)
        return 2
    if args.time_scale is not None and not (0 < args.time_scale <= 100_000):
        print("calico-bot sim: --time-scale must be a number above 0 (at most 100000)", file=sys.stderr)
        return 2
    try:
        scenario = load_scenario(args.scenario)
        sim = SimCluster(
            scenario,
            nodes=args.nodes,
            latency_ms=args.latency_ms,
            cluster_name=args.cluster,
            iks_seconds=args.iks_seconds,
            tls=not args.plain_http,
            time_scale=args.time_scale,
        )
    except ScenarioError as exc:
        print(f"calico-bot sim: {exc}", file=sys.stderr)
        return 2
    if args.write_dump:
        out = sim.write_cluster_info_dump(
            args.write_dump, namespaces=DUMP_NAMESPACES, extras=args.dump_extras
        )
        print(f"Cluster info dumped to {out}")
        return 0
    kubeconfig = Path(args.kubeconfig_out or f"sim-{sim.cluster_name}.kubeconfig").absolute()

    def about() -> list[str]:
        pace = "" if args.time_scale in (None, 1) else f"; clock x{args.time_scale:g}"
        return [
            f"simulated cluster {sim.cluster_name!r} (scenario {sim.scenario.name}, {sim.nodes} workers) "
            f"at {sim.url}{pace}",
            f"IKS API: IKS_API_URL={sim.iks_url} IAM_URL={sim.iam_url} (any IBMCLOUD_API_KEY but 'invalid'; "
            f"worker actions take {sim.iks_seconds:g} s)",
        ]

    try:
        return asyncio.run(_serve(sim, args.port, kubeconfig, about))
    except KeyboardInterrupt:
        return 0


def _run_dump(args: argparse.Namespace) -> int:
    from bot.cluster.dump import DumpError
    from bot.sim.replay import DumpCluster

    for flag, value in (
        ("--scenario", args.scenario != DEFAULT_SCENARIO),
        ("--nodes", args.nodes is not None),
        ("--write-dump", bool(args.write_dump)),
        ("--time-scale", args.time_scale is not None),
    ):
        if value:
            print(f"calico-bot sim: {flag} does not go with --from-dump", file=sys.stderr)
            return 2
    try:
        sim = DumpCluster.from_dump(
            args.from_dump, cluster_name=args.cluster, latency_ms=args.latency_ms, tls=not args.plain_http
        )
    except DumpError as exc:
        print(f"calico-bot sim: {exc}", file=sys.stderr)
        return 2
    for problem in sim.problems:
        print(f"calico-bot sim: dump: {problem}", file=sys.stderr)
    kubeconfig = Path(args.kubeconfig_out or f"sim-{sim.cluster_name}.kubeconfig").absolute()

    def about() -> list[str]:
        return [
            f"cluster-info dump {args.from_dump} as cluster {sim.cluster_name!r} ({sim.nodes} nodes) at {sim.url}"
        ]

    try:
        return asyncio.run(_serve(sim, args.port, kubeconfig, about))
    except KeyboardInterrupt:
        return 0


async def _serve(sim: ApiServer, port: int, kubeconfig: Path, about: Callable[[], list[str]]) -> int:
    """Serve until SIGINT/SIGTERM; `about()` gives the headline and any further lines, once listening."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # non-Unix event loops
            loop.add_signal_handler(sig, stop.set)
    try:
        url = await sim.start(port=port)
    except OSError as exc:
        print(f"calico-bot sim: cannot listen on 127.0.0.1:{port}: {exc}", file=sys.stderr)
        return 2
    try:
        sim.write_kubeconfig(kubeconfig, context=sim.cluster_name)
        headline, *more = about()
        print(headline, file=sys.stderr)
        print(f"kubeconfig: {kubeconfig}  (context {sim.cluster_name})", file=sys.stderr)
        print(f"  calico-bot check {sim.cluster_name} --kubeconfig {kubeconfig}", file=sys.stderr)
        print(f"  KUBECONFIG={kubeconfig} kubectl get nodes", file=sys.stderr)
        for line in more:
            print(line, file=sys.stderr)
        print("Ctrl-C to stop", file=sys.stderr)
        print(url, flush=True)
        await stop.wait()
    finally:
        await sim.stop()
    return 0
