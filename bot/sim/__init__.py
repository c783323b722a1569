"""The simulated cluster: a real Kubernetes API on 127.0.0.1 serving a scenario (`calico-bot sim`).

from bot.sim import SimCluster, load_scenario, scenario_names

async with SimCluster(load_scenario("crashloop-one"), nodes=50) as sim:
    sim.write_kubeconfig("sim.kubeconfig", context="demo")   # https + this run's CA + token
    ...  # sim.url, sim.token, sim.requests, sim.set_faults([...]), sim.client_ssl_context()

`tls=False` serves plain HTTP; `now=T` fixes the clock, `time_scale=X` runs it X times as fast.
"""

from bot.sim.routes import RouteStats
from bot.sim.scenario import Scenario, ScenarioError, builtin_scenario, load_scenario, scenario_names
from bot.sim.server import SimCluster

__all__ = [
    "RouteStats",
    "Scenario",
    "ScenarioError",
    "SimCluster",
    "builtin_scenario",
    "load_scenario",
    "scenario_names",
]
