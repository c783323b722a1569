"""`kubectl get -w` on pods and nodes sees what the simulator changes while remediation runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

from bot.sim.generate import PODS
from tests.kubectl.conftest import Cluster, StartCluster, kubectl_binary


class Watching:
    """A `kubectl get -w` running in the background; its lines as they come."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    async def until(self, predicate: str, timeout: float = 20) -> str:
        """The first line (already seen or still to come) that contains `predicate`."""
        return await self.until_new(predicate, after=0, timeout=timeout)

    async def until_new(self, predicate: str, *, after: int, timeout: float = 20) -> str:
        """The first line containing `predicate` among the lines after the first `after`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = next((line for line in self.lines[after:] if predicate in line), None)
            if found is not None:
                return found
            remaining = deadline - asyncio.get_running_loop().time()
            assert remaining > 0, f"no line with {predicate!r} in {self.lines}"
            assert self.proc.stdout is not None
            try:
                raw = await asyncio.wait_for(self.proc.stdout.readline(), remaining)
            except TimeoutError:
                raise AssertionError(f"no line with {predicate!r} in {self.lines}") from None
            assert raw, f"kubectl -w ended: {self.lines}"
            self.lines.append(raw.decode().rstrip("\n"))


@contextlib.asynccontextmanager
async def watching(c: Cluster, *args: str) -> AsyncIterator[Watching]:
    proc = await asyncio.create_subprocess_exec(
        kubectl_binary(),
        "--cache-dir",
        str(c.workdir / "cache"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, **c.env()},
    )
    try:
        yield Watching(proc)
    finally:
        proc.terminate()
        await proc.wait()


async def test_watch_pods_sees_the_daemonset_recreate_a_deleted_pod(cluster: StartCluster) -> None:
    c = await cluster("crashloop-one", nodes=4, pod_recreate_delay_s=0.5)
    node = "10.188.156.137"
    old = next(
        o.name
        for o in c.sim.store.objects(PODS, "calico-system")
        if o.doc()["spec"].get("nodeName") == node and o.labels().get("k8s-app") == "calico-node"
    )
    args = ("get", "pods", "-n", "calico-system", "-l", "k8s-app=calico-node", "-w", "--output-watch-events")
    async with watching(c, *args) as w:
        assert "CrashLoopBackOff" in await w.until(old)
        for pod in [
            o.name
            for o in c.sim.store.objects(PODS, "calico-system")
            if o.labels().get("k8s-app") == "calico-node"
        ]:
            await w.until(pod)  # the whole initial list is printed before anything changes
        mark = len(w.lines)
        deleted = await c.kubectl("delete", "pod", "-n", "calico-system", old, "--wait=true", timeout=30)
        assert f'pod "{old}" deleted' in deleted.ok()  # --wait watched the pod until it was gone
        assert old in await w.until_new("DELETED", after=mark)
        recreated = await w.until_new("ADDED", after=mark)
        name = recreated.split()[1]
        assert name != old
        on_node = c.sim.store.find(PODS, "calico-system", name)
        assert on_node is not None
        assert on_node.doc()["spec"]["nodeName"] == node


async def test_watch_nodes_sees_a_cordon_and_an_uncordon(cluster: StartCluster) -> None:
    c = await cluster("healthy")
    node = next(iter(c.sim.builder.by_node))
    async with watching(c, "get", "nodes", "-w") as w:
        await w.until(node)
        (await c.kubectl("cordon", node)).ok()
        assert (await w.until("SchedulingDisabled")).split()[:2] == [node, "Ready,SchedulingDisabled"]
        mark = len(w.lines)
        (await c.kubectl("uncordon", node)).ok()
        while True:  # the cordon's own second update (its taint) may still come first
            line = await w.until_new(node, after=mark)
            mark = w.lines.index(line, mark) + 1
            if line.split()[1] == "Ready":
                break
