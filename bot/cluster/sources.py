"""Where a cluster name may lead, in order: the real clusters, then whatever the edge plugged in.

The real clusters come first, always, in `bot.cluster.kube.resolve_cluster`'s order: an explicit
`--kubeconfig` (and `--context`), a `<name>.yaml` in the clusters directory, a context in
`KUBECONFIG`, `in-cluster` in a pod. Only a name none of them knows is offered to the further
`ClusterAccess.sources`, in order. The built-in simulated scenarios are such a source
(`bot.sim.source`): the CLI plugs it in, and `serve` does when `CALICO_BOT_SIMULATORS=1`. Nothing
here knows the simulator.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from bot.cluster.kube import KubeTransport
from bot.cluster.reader import DEFAULT_TIMEOUT
from checks.snapshot import Source


@dataclass(frozen=True)
class OpenCluster:
    """A reachable cluster: its name as the user gave it, the transport, and where the data comes from."""

    name: str
    transport: KubeTransport
    source: Source
    server: str


class ClusterSource(Protocol):
    """A place cluster names may lead after the real clusters (the simulator's scenarios)."""

    @property
    def simulated(self) -> bool:
        """Whether its clusters are simulations (a drill tool, off in `serve` unless enabled)."""
        ...

    def open(self, name: str, *, nodes: int | None) -> AbstractAsyncContextManager[OpenCluster] | None:
        """The cluster `name` stands for here, opened for as long as the block; None when this source
        does not know the name."""
        ...

    def hint(self) -> str:
        """How this source names its clusters, for the private part of "unknown cluster"."""
        ...


@dataclass(frozen=True)
class LazySource:
    """A source loaded when a name first reaches it (the CLI's simulator: its server and scenarios
    are imported only when a name falls through the real clusters)."""

    load: Callable[[], ClusterSource]
    simulated: bool = True

    def open(self, name: str, *, nodes: int | None) -> AbstractAsyncContextManager[OpenCluster] | None:
        return self.load().open(name, nodes=nodes)

    def hint(self) -> str:
        return self.load().hint()


@dataclass(frozen=True)
class ClusterAccess:
    """How cluster names are resolved: the CLI flags, or the bot's environment."""

    kubeconfig: str | None = None
    context: str | None = None
    clusters_dir: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    """Seconds per Kubernetes API call."""
    sources: tuple[ClusterSource, ...] = field(default=())
    """Tried in order for a name no real cluster answers to (never with an explicit `--kubeconfig`)."""

    @property
    def simulators(self) -> bool:
        """Whether a name may lead to a simulated cluster."""
        return any(source.simulated for source in self.sources)
