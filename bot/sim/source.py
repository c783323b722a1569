"""The simulator as a cluster source (`bot.cluster.sources.ClusterSource`): `demo` and
`sim:<scenario>` name built-in scenarios, served on 127.0.0.1 for as long as the check needs them
and reached through the real client, like any cluster.

Only names: whether a scenario exists is decided by `builtin_scenario` against the shipped list,
never by opening a path (`sim:/etc/passwd` is an unknown scenario). The CLI plugs this source in
after the real clusters; `serve` does only when `CALICO_BOT_SIMULATORS=1`.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from bot.cluster.checking import CheckFailed
from bot.cluster.kube import KubeTransport, resolve_cluster
from bot.cluster.sources import OpenCluster
from bot.sim.scenario import ScenarioError, builtin_scenario
from bot.sim.server import SimCluster

DEMO_CLUSTER = "demo"
SIM_PREFIX = "sim:"
"""`sim:<scenario>` names a built-in simulated scenario."""


class SimulatedScenarios:
    """The built-in scenarios as clusters named `demo` and `sim:<scenario>`."""

    simulated = True

    def scenario_of(self, name: str) -> str | None:
        """The built-in scenario a cluster name stands for, if any."""
        if name == DEMO_CLUSTER:
            return DEMO_CLUSTER
        if name.startswith(SIM_PREFIX):
            return name[len(SIM_PREFIX) :]
        return None

    def open(self, name: str, *, nodes: int | None) -> AbstractAsyncContextManager[OpenCluster] | None:
        scenario = self.scenario_of(name)
        return None if scenario is None else self.serve(scenario, nodes=nodes)

    def hint(self) -> str:
        return f"simulated: {DEMO_CLUSTER}, {SIM_PREFIX}<scenario>"

    @asynccontextmanager
    async def serve(self, scenario_name: str, *, nodes: int | None) -> AsyncIterator[OpenCluster]:
        """The scenario served on 127.0.0.1 and opened through the real client."""
        try:
            scenario = builtin_scenario(scenario_name)
        except ScenarioError as exc:
            raise CheckFailed(str(exc), "list them with `calico-bot sim --list`") from None
        cluster = scenario.cluster_name or scenario_name
        async with SimCluster(scenario, nodes=nodes) as sim:
            with tempfile.TemporaryDirectory(prefix="calico-bot-sim-") as tmp:
                kubeconfig = Path(tmp) / "kubeconfig"
                sim.write_kubeconfig(kubeconfig, context=cluster)
                transport = KubeTransport(resolve_cluster(cluster, kubeconfig=str(kubeconfig)))
                try:
                    yield OpenCluster(name=cluster, transport=transport, source="sim", server=sim.url)
                finally:
                    transport.close()


SIMULATED = SimulatedScenarios()
"""The source to plug into `ClusterAccess.sources`."""
