"""`calico-bot`: the command line.

    calico-bot check CLUSTER [--kubeconfig K] [--context C] [--clusters-dir D] [--json]
    calico-bot check demo                      # the built-in simulated cluster, loopback only
    calico-bot check --sim SCENARIO [--nodes N]
    calico-bot check --from-dump PATH [--cluster NAME] [--json]
    calico-bot sim [--scenario S] [--nodes N] [--port P] ...

Exit status: 0 healthy, 1 problems found, 2 could not check (bad input, unreachable, no
permission, something unknown). Bad input is one line on stderr, never a traceback.

Two rules keep the command as fast as its collector (bench/collect.py times it as a process):

- every coroutine given to `asyncio.run` does its own output and returns the exit code, a small
  int. Python 3.11's `asyncio.run` builds the repr of the main task, its result included, when it
  restores the SIGINT handler; the repr of a 5,000-worker CheckResult took 1-2 s and 130-170 MB.
- a subcommand imports what only it needs where it runs: the simulator (aiohttp's server) is loaded
  only for `calico-bot sim`, `--sim`, or a name no real cluster answers to (`demo`, `sim:<scenario>`:
  the CLI plugs it in as a cluster source, `bot.cluster.sources`), the text report only without
  --json, the Kubernetes client (by bot.cluster.kube) only when a cluster is opened.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from bot.cluster.checking import CheckFailed, CheckResult, check_open, run_check, run_dump
from bot.cluster.progress import Progress
from bot.cluster.sources import ClusterAccess, ClusterSource, LazySource
from checks.model import Diagnosis

EXIT_HEALTHY, EXIT_PROBLEMS, EXIT_CANNOT_CHECK = 0, 1, 2


class UsageProblem(Exception):
    """Bad input: printed as one line, exit 2."""


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

    gather = sub.add_parser(
        "gather",
        help="the runbook's data bundle for one worker (describe, logs, diagnosis) as a .tar.gz",
        description="Collect what the runbook's 'Logs and Data to Gather' section lists for one worker.",
    )
    gather.add_argument("cluster", help="cluster name (kubeconfig context), 'demo' or sim:<scenario>")
    gather.add_argument("node", help="worker (node) name: on IKS the worker's private IP")
    gather.add_argument("-o", "--output", help="bundle file (default: ./<bundle name>.tar.gz)")
    gather.add_argument("--kubeconfig", help="kubeconfig file(s), joined by ':' like KUBECONFIG")
    gather.add_argument("--context", help="kubeconfig context (default: the cluster name)")
    gather.add_argument("--clusters-dir", default=os.environ.get("CALICO_BOT_CLUSTERS_DIR"))
    gather.add_argument(
        "--tail-lines", type=int, default=5000, help="lines kept per container log (default 5000)"
    )
    gather.add_argument(
        "--max-total-mb", type=float, default=50, help="size cap of the whole bundle (default 50 MB)"
    )
    gather.add_argument("--timeout", type=float, default=30.0, help="seconds per API call (default 30)")
    gather.set_defaults(func=_cmd_gather)

    escalate = sub.add_parser(
        "escalate",
        help="print the hand-off for armada-network (diagnosis, links, a prefilled GHE issue)",
        description="Diagnose the cluster and print the escalation hand-off with its links. "
        "--page also triggers PagerDuty (CALICO_BOT_PAGERDUTY_ROUTING_KEY).",
    )
    escalate.add_argument("cluster", help="cluster name (kubeconfig context), 'demo' or sim:<scenario>")
    escalate.add_argument("--kubeconfig")
    escalate.add_argument("--context")
    escalate.add_argument("--clusters-dir", default=os.environ.get("CALICO_BOT_CLUSTERS_DIR"))
    escalate.add_argument(
        "--page", action="store_true", help="trigger a PagerDuty incident (one per cluster)"
    )
    escalate.add_argument("--timeout", type=float, default=20.0)
    escalate.set_defaults(func=_cmd_escalate)

    serve = sub.add_parser(
        "serve",
        help="run the Slack app (HTTP mode, or Socket Mode with SLACK_APP_TOKEN); configured by environment",
        description="Run the Slack app. Configuration comes from the environment: see the README "
        "(SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, SLACK_API_URL, CALICO_BOT_ALLOWED_CHANNELS, "
        "KUBECONFIG, CALICO_BOT_CLUSTERS_DIR, PORT).",
    )
    serve.set_defaults(func=_cmd_serve)

    worker = sub.add_parser(
        "worker",
        help="run queued jobs from Redis (checks, gathers, approved actions, sweeps); same environment as serve",
        description="Run the jobs that `serve` replicas put on the Redis queue (REDIS_URL). SIGTERM: stop "
        "taking jobs, let running ones finish (CALICO_BOT_SHUTDOWN_SECONDS), hand the rest back, exit 0.",
    )
    worker.set_defaults(func=_cmd_worker)

    # Its options belong to bot.sim.cli, which loads the simulator (aiohttp's server): they are
    # parsed by _sim_parser() in main(), so no other subcommand pays for that import.
    sim = sub.add_parser(
        "sim", help="serve a simulated cluster (Kubernetes API on 127.0.0.1)", add_help=False
    )
    sim.set_defaults(func=_cmd_sim)
    return parser


def _sim_parser() -> argparse.ArgumentParser:
    from bot.sim import cli as sim_cli

    parser = argparse.ArgumentParser(
        prog="calico-bot sim", description="Serve a simulated cluster (Kubernetes API on 127.0.0.1)."
    )
    sim_cli.add_arguments(parser)
    return parser


def _cmd_sim(args: argparse.Namespace) -> int:
    from bot.sim import cli as sim_cli

    code: int = sim_cli.run(args)
    return code


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line as a namespace; `sim`'s own options are parsed by the simulator's parser."""
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "sim":
        return _sim_parser().parse_args(rest, namespace=args)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return args


def run_small(coroutine: Coroutine[Any, Any, int]) -> int:
    """`asyncio.run` for the CLI: the coroutine prints what it has to and returns an exit code.

    Never a big result: asyncio.run (3.11) formats the main task with its result when it restores
    the SIGINT handler, and the repr of a whole CheckResult costs seconds at 5,000 workers.
    """
    return asyncio.run(coroutine)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
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
    return run_small(_check_and_print(args, show_progress))


async def _check_and_print(args: argparse.Namespace, show_progress: bool) -> int:
    """Check, print the diagnosis, and return only the exit code (see run_small)."""
    try:
        result = await _run_check(args, show_progress)
    except CheckFailed as failed:
        _clear_progress(show_progress)
        if args.json and failed.result is not None:
            _write_json(failed.result.diagnosis)
            return EXIT_CANNOT_CHECK
        raise UsageProblem(failed.full) from None
    _clear_progress(show_progress)
    for note in result.notes:
        print(f"calico-bot: {note}", file=sys.stderr)
    if args.json:
        _write_json(result.diagnosis)
    else:
        from bot.report import render_text

        color = (
            args.color if args.color is not None else (sys.stdout.isatty() and "NO_COLOR" not in os.environ)
        )
        sys.stdout.write(render_text(result.diagnosis, snapshot=result.snapshot, color=color))
    return result.diagnosis.exit_code


def _write_json(diagnosis: Diagnosis) -> None:
    sys.stdout.buffer.write(diagnosis.to_json() + b"\n")
    sys.stdout.flush()


async def _run_check(args: argparse.Namespace, show_progress: bool) -> CheckResult:
    if args.from_dump:
        return run_dump(args.from_dump, cluster=args.cluster)
    progress = _progress(args.cluster or args.sim, show_progress)
    access = _access(args)
    if args.sim:
        from bot.sim.source import SIMULATED

        async with SIMULATED.serve(args.sim, nodes=args.nodes) as opened:
            return await check_open(opened, access, progress=progress)
    return await run_check(args.cluster, access, progress=progress, nodes=args.nodes)


def _cmd_gather(args: argparse.Namespace) -> int:
    from bot.escalation.gather import GatherLimits, gather_cluster

    if args.tail_lines < 1 or args.max_total_mb <= 0:
        raise UsageProblem("--tail-lines and --max-total-mb must be positive")
    access = _access(args)
    limits = GatherLimits(
        tail_lines=args.tail_lines, max_total_bytes=int(args.max_total_mb * 1024 * 1024), timeout=args.timeout
    )

    async def gather_and_write() -> int:
        try:
            bundle = await gather_cluster(args.cluster, args.node, access, limits=limits)
        except CheckFailed as failed:
            raise UsageProblem(failed.full) from None
        output = args.output or bundle.name
        await asyncio.to_thread(Path(output).write_bytes, bundle.data)
        sys.stdout.write(bundle.summary)
        print(f"calico-bot: wrote {output} ({len(bundle.data):,} bytes)", file=sys.stderr)
        return EXIT_PROBLEMS if bundle.problems else 0

    return run_small(gather_and_write())


def _cmd_escalate(args: argparse.Namespace) -> int:
    from bot.escalation.escalate import diagnose_for_handoff, handoff_for, page
    from bot.escalation.pagerduty import PagerDutySettings

    access = _access(args)

    async def hand_off() -> int:
        try:
            result = await diagnose_for_handoff(args.cluster, access)
            paging = (await page(result, PagerDutySettings.from_env(os.environ)))[1] if args.page else ""
            text = handoff_for(result, requested_by=None).text
        except CheckFailed as failed:
            raise UsageProblem(failed.full) from None
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        if paging:
            print(paging)
        return EXIT_PROBLEMS if paging.startswith("Paging failed") else 0

    return run_small(hand_off())


def _cmd_serve(args: argparse.Namespace) -> int:
    from bot.serve import run_serve

    return run_serve()


def _cmd_worker(args: argparse.Namespace) -> int:
    from bot.worker.process import run_worker

    return run_worker()


def _simulated_scenarios() -> ClusterSource:
    from bot.sim.source import SIMULATED

    return SIMULATED


SIMULATORS = LazySource(_simulated_scenarios)
"""`demo` and `sim:<scenario>`, after the real clusters; the simulator is loaded only when a name
reaches it."""


def _access(args: argparse.Namespace) -> ClusterAccess:
    return ClusterAccess(
        kubeconfig=args.kubeconfig,
        context=args.context,
        clusters_dir=args.clusters_dir,
        timeout=args.timeout,
        sources=(SIMULATORS,),
    )


def _progress(cluster: str, enabled: bool) -> Progress:
    progress = Progress(total=0)
    if enabled:

        def show(p: Progress) -> None:
            megabytes = p.bytes / 1_000_000
            failed = f", {p.failed} failed" if p.failed else ""
            sys.stderr.write(
                f"\r\033[Kreading {cluster}: {p.done}/{p.total} calls ({p.phase}), {p.requests} requests, "
                f"{megabytes:.1f} MB{failed}"
            )
            sys.stderr.flush()

        progress.listen(show, every=0.1)  # at most ten redraws a second
    return progress


def _clear_progress(enabled: bool) -> None:
    if enabled:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


if __name__ == "__main__":
    raise SystemExit(main())
