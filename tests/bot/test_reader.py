"""The one Kubernetes reader (`bot.cluster.reader`) and its errors (`bot.cluster.errors`):

- one mapping from an HTTP answer to an exception type: the class by the status, refined by the
  Status body's `reason`, the message from the Status body (else the HTTP reason phrase);
- no answer is a `TransportError`, told apart by the exception's type: a refused connection is
  not a timeout, a slow server is a `Timeout` after exactly the configured time;
- typed objects out, 404 as `None` where the caller asks for one named object;
- one thread pool per process, shared by every transport, replaced after it is closed.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cluster import kube
from bot.cluster.errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    ServerError,
    Timeout,
    TooManyRequests,
    TransportError,
    Unauthorized,
    api_error,
)
from bot.cluster.kube import KubeTransport, resolve_cluster
from bot.cluster.reader import KubeReader
from bot.sim import SimCluster
from checks.objects import Node, Pod


def _status(code: int, reason: str, message: str) -> bytes:
    return (
        f'{{"kind":"Status","apiVersion":"v1","status":"Failure","code":{code},'
        f'"reason":"{reason}","message":"{message}"}}'
    ).encode()


@pytest.mark.parametrize(
    ("status", "reason", "cls"),
    [
        (400, "BadRequest", BadRequest),
        (401, "Unauthorized", Unauthorized),
        (403, "Forbidden", Forbidden),
        (404, "NotFound", NotFound),
        (409, "AlreadyExists", AlreadyExists),
        (409, "Conflict", Conflict),
        (410, "Expired", Gone),
        (422, "Invalid", Invalid),
        (429, "TooManyRequests", TooManyRequests),
        (500, "InternalError", ServerError),
        (503, "ServiceUnavailable", ServerError),
        (504, "Timeout", ServerError),
    ],
)
def test_the_status_picks_the_class_and_the_reason_refines_it(status: int, reason: str, cls: type) -> None:
    error = api_error(status, _status(status, reason, "what the server said"), "Phrase")
    assert type(error) is cls
    assert (error.status, error.reason, error.message) == (status, reason, "what the server said")
    assert str(error) == f"HTTP {status}: what the server said"


def test_a_conflict_is_not_an_already_exists_and_a_reason_never_overrides_the_status() -> None:
    assert type(api_error(409, _status(409, "Conflict", "changed"))) is Conflict
    assert isinstance(api_error(409, _status(409, "AlreadyExists", "there")), Conflict)
    assert type(api_error(403, _status(403, "NotFound", "odd"))) is Forbidden


def test_an_answer_without_a_status_body_keeps_the_http_reason() -> None:
    for body in (b"<html>502 Bad Gateway</html>", b"", b"[1, 2]", b'"text"', b"{" * 10_000):
        error = api_error(502, body, "Bad Gateway")
        assert type(error) is ServerError
        assert (error.message, error.reason) == ("Bad Gateway", "")
    assert type(api_error(418, b"", "I'm a teapot")) is ApiError


def test_an_error_keeps_the_size_of_its_body_but_never_the_body() -> None:
    body = _status(409, "AlreadyExists", 'secrets "calico-bgp-password" already exists')
    error = api_error(409, body + b" " * 100)
    assert error.size == len(body) + 100
    assert not any(isinstance(value, bytes) for value in vars(error).values())


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[tuple[SimCluster, Path]]:
    async with SimCluster("crashloop-one") as cluster:
        kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig", context="c")
        yield cluster, kubeconfig


async def test_objects_out_and_404_as_none(sim: tuple[SimCluster, Path]) -> None:
    _cluster, kubeconfig = sim
    transport = KubeTransport(resolve_cluster("c", kubeconfig=str(kubeconfig)))
    try:
        reader = KubeReader(transport, timeout=5)
        nodes = await reader.items("/api/v1/nodes", Node)
        assert nodes
        assert all(isinstance(n, Node) for n in nodes)
        one = await reader.find(f"/api/v1/nodes/{nodes[0].name}", Node)
        assert one is not None
        assert one.name == nodes[0].name
        assert await reader.find("/api/v1/nodes/no-such-worker", Node) is None
        with pytest.raises(NotFound):
            await reader.get("/api/v1/namespaces/kube-system/pods/no-such-pod", Pod)
    finally:
        transport.close()


async def test_a_refused_answer_raises_its_type(sim: tuple[SimCluster, Path]) -> None:
    cluster, kubeconfig = sim
    cluster.set_faults([{"route": "GET /api/v1/nodes", "status": 403}])
    transport = KubeTransport(resolve_cluster("c", kubeconfig=str(kubeconfig)))
    try:
        with pytest.raises(Forbidden) as caught:
            await KubeReader(transport, timeout=5).items("/api/v1/nodes", Node)
        assert caught.value.status == 403
        assert "forbidden" in caught.value.message
    finally:
        transport.close()


async def test_a_slow_server_is_a_timeout_after_the_configured_time(sim: tuple[SimCluster, Path]) -> None:
    cluster, kubeconfig = sim
    cluster.set_faults([{"route": "GET /api/v1/nodes", "delay_ms": 3000}])
    transport = KubeTransport(resolve_cluster("c", kubeconfig=str(kubeconfig)))
    try:
        started = time.monotonic()
        with pytest.raises(Timeout):
            await KubeReader(transport, timeout=0.5).items("/api/v1/nodes", Node)
        assert time.monotonic() - started < 2.5
    finally:
        transport.close()


async def test_a_refused_connection_is_a_transport_error_not_a_timeout(
    sim: tuple[SimCluster, Path], tmp_path: Path
) -> None:
    _cluster, kubeconfig = sim
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    text = kubeconfig.read_text()
    server = next(line.split("server:", 1)[1].strip() for line in text.splitlines() if "server:" in line)
    scheme = server.split("://", 1)[0]
    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(text.replace(server, f"{scheme}://127.0.0.1:{port}"))
    transport = KubeTransport(resolve_cluster("c", kubeconfig=str(dead)))
    try:
        with pytest.raises(TransportError) as caught:
            await KubeReader(transport, timeout=5).items("/api/v1/nodes", Node)
        assert not isinstance(caught.value, Timeout)
        assert str(caught.value) == "connection refused"
    finally:
        transport.close()


async def test_one_thread_pool_serves_every_transport(sim: tuple[SimCluster, Path]) -> None:
    _cluster, kubeconfig = sim
    first = KubeTransport(resolve_cluster("c", kubeconfig=str(kubeconfig)))
    second = KubeTransport(resolve_cluster("c", kubeconfig=str(kubeconfig)))
    try:
        pool = kube.executor()
        before = {t.name for t in threading.enumerate() if t.name.startswith("kube")}
        await asyncio.gather(
            *(
                KubeReader(t, timeout=5).items("/api/v1/nodes", Node)
                for t in (first, second)
                for _ in range(8)
            )
        )
        threads = {t.name for t in threading.enumerate() if t.name.startswith("kube")}
        assert kube.executor() is pool
        assert threads
        assert all(re.fullmatch(r"kube_\d+", name) for name in threads)
        assert len(threads) <= kube.POOL_THREADS
        assert before <= threads
    finally:
        first.close()
        second.close()
    kube.close_executor()
    assert kube.executor() is not pool  # closed at exit; a later call makes a new one
