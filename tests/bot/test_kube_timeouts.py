"""The configured Kubernetes timeout is the real wall-clock limit of a call (issue #10 item 3).

Against a real socket on 127.0.0.1 that accepts connections and never answers: the call fails as a
`Timeout` within the timeout plus a small slack, over one connection (urllib3's default `Retry(3)`
used to send a timed-out GET three more times: 20 s became ~80 s). A server that trickles its
answer a byte at a time (every read within the timeout, the whole answer not) is cut off too.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.cluster.errors import Timeout
from bot.cluster.kube import KubeTransport, resolve_cluster


class SilentServer:
    """Accepts every connection, reads what is sent, and answers nothing (or trickles, slowly)."""

    def __init__(self, *, trickle: float | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.trickle = trickle
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._conns.append(conn)
            if self.trickle is not None:
                threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        assert self.trickle is not None
        answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        try:
            conn.recv(65536)
            for byte in answer + b"[" * 100_000:
                if self._stop.is_set():
                    return
                conn.sendall(bytes([byte]))
                time.sleep(self.trickle)
        except OSError:
            return

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        for conn in self._conns:
            conn.close()
        self._thread.join(timeout=5)


def kubeconfig_for(path: Path, port: int) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "silent", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "test-token"}}],
        "contexts": [{"name": "silent", "context": {"cluster": "silent", "user": "u"}}],
        "current-context": "silent",
    }
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


async def test_a_silent_server_times_out_once_within_the_timeout(
    silent: SilentServer, tmp_path: Path
) -> None:
    transport = KubeTransport(
        resolve_cluster("silent", kubeconfig=str(kubeconfig_for(tmp_path / "k", silent.port)))
    )
    try:
        started = time.monotonic()
        with pytest.raises(Timeout):
            await transport.request("GET", "/api/v1/nodes", timeout=1.0)
        elapsed = time.monotonic() - started
    finally:
        transport.close()
    assert 0.9 <= elapsed < 1.6, elapsed
    assert silent.accepted == 1  # no retry on a second connection


async def test_a_trickling_answer_is_cut_at_the_timeout(tmp_path: Path) -> None:
    server = SilentServer(trickle=0.05)
    transport = KubeTransport(
        resolve_cluster("silent", kubeconfig=str(kubeconfig_for(tmp_path / "k", server.port)))
    )
    try:
        started = time.monotonic()
        with pytest.raises(Timeout):
            await transport.request("GET", "/api/v1/nodes", timeout=1.0)
        elapsed = time.monotonic() - started
    finally:
        transport.close()
        server.close()
    assert elapsed < 2.0, elapsed
