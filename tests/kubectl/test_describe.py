"""`kubectl describe node` / `describe pod` print line for line what the bot's gather bundle holds.

For every built-in scenario, each broken worker and one healthy one are gathered by the bot
(`bot.gather`, through the official client) and described by the real kubectl from the same
simulated objects (a fixed clock: nothing changes between the two). Allowed differences:

- ages: kubectl measures them by the wall clock, the bundle by the simulator's; every age-shaped
  token is masked and runs of blanks are folded, since an age of another width moves a column;
- the kubectl release: `bot.describe` prints the 1.33-1.34 layout (its docstring); a kubectl of
  1.35 or newer prints probes as `successThreshold=1 failureThreshold=3` (not `#success=1
  #failure=3`), prefixes event messages with the sub-object (`spec.containers{calico-node}: `)
  and no longer prints `Kube-Proxy Version:`; one older than 1.33 prints a projected ConfigMap's
  `ConfigMapOptional: <nil>` (not `Optional: false`) and container ports without their names
  (`5473/TCP`, not `5473/TCP (calico-typha)`). Exactly these are folded to one form.
"""

from __future__ import annotations

import difflib
import re

import pytest

from bot.cluster.kube import KubeTransport, resolve_cluster
from bot.escalation.gather import gather
from bot.sim import scenario_names
from bot.sim.generate import PODS
from tests.archives import bundle_texts
from tests.kubectl.conftest import Cluster, StartCluster, kubectl_minor

AGE = re.compile(r"(?<![\w.:=/-])\d+(?:y\d+d|y|d\d+h|d|h\d+m|h|m\d+s|m|s)(?![\w.:/-])")


def layout_of_134(text: str, minor: int) -> str:
    """kubectl's output folded to the 1.34 layout the bot prints (module docstring)."""
    if minor >= 35:
        text = re.sub(r"successThreshold=(\d+) failureThreshold=(\d+)", r"#success=\1 #failure=\2", text)
        text = re.sub(r"(\s)spec\.(?:initContainers|containers|ephemeralContainers)\{[^}]+\}: ", r"\1", text)
    if minor < 33:
        text = re.sub(r"ConfigMapOptional:(\s+)<nil>", r"Optional:\1false", text)
    return text


def comparable(text: str, *, drop_kube_proxy: bool = False, port_names: bool = True) -> list[str]:
    lines = []
    for line in text.strip("\n").split("\n"):
        if drop_kube_proxy and line.strip().startswith("Kube-Proxy Version:"):
            continue
        if not port_names and re.match(r"^\s+(?:Host )?Ports?:", line):
            line = re.sub(r" \([^)]*\)$", "", line)
        lines.append(re.sub(r"\s{2,}", "  ", AGE.sub("<age>", line)).rstrip())
    return lines


async def bundle_files(c: Cluster, node: str) -> dict[str, str]:
    transport = KubeTransport(resolve_cluster("sim", kubeconfig=str(c.kubeconfig)))
    try:
        bundle = await gather(transport, cluster="sim", node_name=node, now=c.sim.now)
    finally:
        transport.close()
    return {name: text for name, text in bundle_texts(bundle.data).items() if name.startswith("describe-")}


def workers_to_describe(c: Cluster) -> list[str]:
    broken = [w.name for w in c.sim.builder.workers if w.broken is not None]
    healthy = [w.name for w in c.sim.builder.workers if w.broken is None][:1]
    return broken + healthy


@pytest.mark.parametrize("scenario", scenario_names())
async def test_describe_matches_the_gather_bundle(cluster: StartCluster, scenario: str) -> None:
    c = await cluster(scenario)
    minor = kubectl_minor()
    compared = 0
    problems: list[str] = []
    for node in workers_to_describe(c):
        for name, ours in sorted((await bundle_files(c, node)).items()):
            if name.startswith("describe-node-"):
                args = ["describe", "node", node]
            else:
                namespace, pod = next(
                    (o.namespace, o.name)
                    for o in c.sim.store.objects(PODS)
                    if name == f"describe-pod-{o.namespace}-{o.name}.txt"
                )
                args = ["describe", "pod", "-n", namespace, pod]
            theirs = layout_of_134((await c.kubectl(*args)).ok(), minor)
            want = comparable(theirs)
            got = comparable(ours, drop_kube_proxy=minor >= 35, port_names=minor >= 33)
            compared += 1
            if want != got:
                diff = "\n".join(
                    difflib.unified_diff(want, got, "kubectl " + " ".join(args), name, lineterm="", n=1)
                )
                problems.append(diff)
    assert compared >= 2
    assert not problems, "\n\n".join(problems)
