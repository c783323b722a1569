"""The simulator's TLS: a certificate authority made for one run, and the server certificate it signs.

kubectl (and client-go in general) never sends a bearer token over plain HTTP, so the simulated
API serves HTTPS like a real apiserver. Each `SimTls()` makes a fresh CA (trustme, ECDSA) and a
certificate for `127.0.0.1`/`localhost`; nothing is written to disk except the CA's public
certificate, inlined into the kubeconfig as `certificate-authority-data`. The private keys live
only in this process.
"""

from __future__ import annotations

import base64
import ssl

import trustme

SERVER_NAMES = ("127.0.0.1", "localhost", "::1")


class SimTls:
    """One run's CA and server certificate, with the SSL contexts both ends need."""

    def __init__(self) -> None:
        self._ca = trustme.CA(organization_name="calico-bot simulator", organization_unit_name="sim")
        self._cert = self._ca.issue_cert(*SERVER_NAMES, common_name="calico-bot-sim")

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate (public), PEM."""
        return self._ca.cert_pem.bytes()

    @property
    def ca_data(self) -> str:
        """The CA certificate as a kubeconfig's `certificate-authority-data` (base64 of the PEM)."""
        return base64.b64encode(self.ca_pem).decode("ascii")

    def server_context(self) -> ssl.SSLContext:
        """What the listener presents: the server certificate and its chain, TLS 1.2 or newer."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._cert.configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this run's CA (and verifies the host name)."""
        return ssl.create_default_context(cadata=self.ca_pem.decode("ascii"))
