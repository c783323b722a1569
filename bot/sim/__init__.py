"""The simulated cluster: a real Kubernetes API on 127.0.0.1 serving a scenario (`calico-bot sim`).

from bot.sim import SimCluster, load_scenario, scenario_names

async with SimCluster(load_scenario("crashloop-one"), nodes=50) as sim:
    sim.write_kubeconfig("sim.kubeconfig", context="demo")
    ...  # sim.url, sim.token, sim.requests, sim.set_faults([...])
"""

from bot.sim.scenario import Scenario, ScenarioError, builtin_scenario, load_scenario, scenario_names
from bot.sim.server import RouteStats, SimCluster

__all__ = [
    "RouteStats",
    "Scenario",
    "ScenarioError",
    "SimCluster",
    "builtin_scenario",
    "load_scenario",
    "scenario_names",
]
