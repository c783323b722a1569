"""One check of one cluster, the same for the terminal and for Slack.

`run_check` resolves the cluster name (the real clusters first, then the sources the edge plugged
in: `bot.cluster.sources`), collects, and diagnoses. Failures the user can act on come back as
`CheckFailed` with what failed and what to try — never a traceback, never silence.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from bot import clock
from bot.cluster.assemble import latest_timestamp
from bot.cluster.collect import CollectOptions, collect
from bot.cluster.kube import ClusterConfigError, ClusterNotFound, KubeTransport, resolve_cluster
from bot.cluster.progress import Progress
from bot.cluster.sources import ClusterAccess, OpenCluster
from bot.observability import measure
from checks.common import human_age
from checks.diagnose import diagnose
from checks.model import Diagnosis
from checks.snapshot import Snapshot


@dataclass(frozen=True)
class CheckResult:
    snapshot: Snapshot
    diagnosis: Diagnosis
    notes: tuple[str, ...] = ()


class CheckFailed(Exception):
    """The check could not run: what failed, and what the user can try.

    `what_failed` and `try_next` are safe to show in a channel. `private` holds what only the
    requester (or the log) may see: kubeconfig paths, the names of the other clusters the bot
    knows, a server address.
    """

    def __init__(
        self, what_failed: str, try_next: str, *, private: str = "", result: CheckResult | None = None
    ) -> None:
        super().__init__(what_failed)
        self.what_failed = what_failed
        self.try_next = try_next
        self.private = private
        self.result = result
        """The (all-unknown) diagnosis when the cluster was reached but nothing could be read."""

    @property
    def full(self) -> str:
        """Everything, for the terminal: what failed, the private detail, what to try."""
        private = f"; {self.private}" if self.private else ""
        return f"{self.what_failed}{private} ({self.try_next})"


@asynccontextmanager
async def open_cluster(
    name: str, access: ClusterAccess, *, nodes: int | None = None
) -> AsyncIterator[OpenCluster]:
    """Resolve a cluster name and yield a transport to its API.

    Real clusters first: a kubeconfig context called `demo` is that cluster, not the simulator.
    Only a name no kubeconfig knows may fall through to the plugged-in sources (not with an explicit
    kubeconfig), the first that knows it opening it for as long as the block.

    Resolving reads and parses every kubeconfig file, and the client it makes loads CA files (and,
    the first time, the kubernetes package): blocking work, done in a worker thread so that a check
    starting in `serve` does not hold up the event loop answering Slack.
    """
    try:
        transport = await asyncio.to_thread(_live_transport, name, access)
    except ClusterNotFound as exc:
        for source in () if access.kubeconfig else access.sources:
            opener = source.open(name, nodes=nodes)
            if opener is not None:
                async with opener as opened:
                    yield opened
                return
        shown = ", ".join(exc.known[:30]) + (" …" if len(exc.known) > 30 else "") if exc.known else ""
        private = f"looked in {exc.where}; " + (
            f"known clusters: {shown}" if shown else "no cluster configured"
        )
        private += "".join(f"; {source.hint()}" for source in access.sources)
        raise CheckFailed(
            f"unknown cluster {_shown(name)}",
            "check the spelling: it is the kubeconfig context name of the cluster",
            private=private,
        ) from None
    except ClusterConfigError as exc:
        raise CheckFailed(
            f"cluster {_shown(name)}: its kubeconfig cannot be used",
            "check the kubeconfig for this cluster (file, context, credentials)",
            private=str(exc),
        ) from None
    try:
        yield OpenCluster(name=name, transport=transport, source="live", server=transport.server)
    finally:
        transport.close()


def _live_transport(name: str, access: ClusterAccess) -> KubeTransport:
    target = resolve_cluster(
        name, kubeconfig=access.kubeconfig, context=access.context, clusters_dir=access.clusters_dir
    )
    return KubeTransport(target)


def _shown(name: str) -> str:
    return repr(name if len(name) <= 80 else name[:79] + "…")


async def run_check(
    name: str,
    access: ClusterAccess,
    *,
    progress: Progress | None = None,
    nodes: int | None = None,
) -> CheckResult:
    async with open_cluster(name, access, nodes=nodes) as cluster:
        return await check_open(cluster, access, progress=progress)


async def check_open(
    cluster: OpenCluster, access: ClusterAccess, *, progress: Progress | None = None
) -> CheckResult:
    """Collect and diagnose an opened cluster (timed, with the situations found, in
    `calico_bot_check_seconds` and `calico_bot_situations_total`)."""
    started = time.perf_counter()
    try:
        snapshot = await collect(
            cluster.transport,
            cluster=cluster.name,
            source=cluster.source,
            collected_at=clock.utcnow(),
            options=CollectOptions(timeout=access.timeout),
            progress=progress,
        )
        # diagnose() is pure CPU (~0.25 s at 5,000 workers): off the event loop, like the decoding
        result = await asyncio.to_thread(_judge, snapshot, server=cluster.server)
    except CheckFailed:
        measure.check(cluster.source, "failed", time.perf_counter() - started)
        raise
    diagnosis = result.diagnosis
    situations = dict.fromkeys(s.id.value for s in diagnosis.situations)
    measure.check(cluster.source, diagnosis.verdict, time.perf_counter() - started, situations)
    return result


STALE_DATA_SECONDS = 600.0
"""A live API whose newest timestamp is older than this is replaying old data (or its clock stopped)."""


def judgement_time(snapshot: Snapshot) -> tuple[datetime, str]:
    """The moment a live snapshot is judged at, and a note when it is not the wall clock.

    A live cluster renews its leases every 10 s, so its newest timestamp is "now". When the data's
    newest moment is much older than this machine's clock — a cluster-info dump served as an API, a
    frozen apiserver — ages and grace periods are measured from that moment, exactly as for a dump,
    so the two modes judge the same evidence the same way.
    """
    wall = snapshot.collected_at
    newest = latest_timestamp(snapshot)
    if newest is None or (wall - newest).total_seconds() <= STALE_DATA_SECONDS:
        return wall, ""
    return newest, (
        f"the cluster's newest timestamp ({newest:%Y-%m-%d %H:%M:%S} UTC) is "
        f"{human_age((wall - newest).total_seconds())} older than this machine's clock: judged as of that moment"
    )


def run_dump(path: str, *, cluster: str | None) -> CheckResult:
    from bot.cluster.dump import DumpError, load_dump

    try:
        loaded = load_dump(path, cluster=cluster)
    except DumpError as exc:
        raise CheckFailed(
            str(exc), "send the output of `kubectl cluster-info dump --output-directory DIR`"
        ) from None
    snapshot = loaded.snapshot
    notes = tuple(f"dump: {p}" for p in loaded.problems)
    # A dump is judged at the moment it shows (its newest heartbeat), not at today's date.
    return CheckResult(
        snapshot=snapshot, diagnosis=diagnose(snapshot, now=snapshot.collected_at), notes=notes
    )


def nothing_read(snapshot: Snapshot) -> bool:
    """Every read failed: the cluster is unreachable or the credentials are refused everywhere."""
    return bool(snapshot.errors) and not snapshot.nodes and not snapshot.pods and not snapshot.daemonsets


def _judge(snapshot: Snapshot, *, server: str) -> CheckResult:
    now, note = judgement_time(snapshot)
    notes = (note,) if note else ()
    if nothing_read(snapshot):
        first = snapshot.errors[0]
        result = CheckResult(snapshot=snapshot, diagnosis=diagnose(snapshot, now=now))
        if first.status in (401, 403):
            raise CheckFailed(
                f"could not read cluster {snapshot.cluster}: its API server refused the bot's credentials "
                f"(HTTP {first.status})",
                "check the bot's ServiceAccount / RBAC (ClusterRole calico-bot-read, deploy/base/rbac.yaml)",
                private=first.reason,
                result=result,
            )
        raise CheckFailed(
            f"could not read cluster {snapshot.cluster}: its API server did not answer",
            "check that the API server is reachable from the bot (VPN, private endpoint, firewall)",
            private=f"API server {server}: {first.reason}",
            result=result,
        )
    return CheckResult(snapshot=snapshot, diagnosis=diagnose(snapshot, now=now), notes=notes)
