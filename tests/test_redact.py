"""Redaction of credentials in text the bot passes on (logs, bundles, Slack):
each documented pattern, the names that stay readable, and a canary in realistic log lines."""

from __future__ import annotations

import pytest

from bot.redact import redact

CANARY = "calico-canary-7f3a9c1d2e5b"
# Fake credential shapes, assembled at run time so secret scanners do not mistake this file for a leak.
PEM_BEGIN = "-----BEGIN RSA " + "PRIVATE KEY-----"
PEM_END = "-----END RSA " + "PRIVATE KEY-----"
SLACK_BOT_PREFIX = "xo" + "xb-"


@pytest.mark.parametrize(
    "line",
    [
        f"Authorization: Bearer {CANARY}",
        f"curl -H 'authorization: bearer {CANARY}=' https://172.21.0.1:443/api",
        f"password={CANARY}",
        f"BGP_PASSWORD: {CANARY}",
        f'{{"apikey": "{CANARY}", "region": "us-south"}}',
        f"client_secret={CANARY}&grant_type=x",
        f"routing_key: {CANARY}",
        f"IBMCLOUD_API_KEY={CANARY}",
        f"token {CANARY}" if False else f"token={CANARY}",
        f"https://admin:{CANARY}@registry.example.com/v2/",
        f"{PEM_BEGIN}\nMIIE{CANARY}\n{PEM_END}",
        SLACK_BOT_PREFIX + "1234567890-" + CANARY,
        "jwt eyJhbGciOiJSUzI1NiIsImtpZCI6Ij.eyJpc3MiOiJrdWJlcm5ldGVzL3Nlcn.c2lnbmF0dXJl" + CANARY,
    ],
)
def test_credentials_are_redacted(line: str) -> None:
    out = redact(line)
    assert CANARY not in out
    assert "REDACTED" in out


@pytest.mark.parametrize(
    "line",
    [
        "secretKeyRef: calico-bgp-password",
        "Can't read password referenced by BGP Configuration default in secret calico-bgp-password:password",
        "calico/node is not ready: BIRD is not ready: BGP not established with 10.94.227.28,10.94.227.48",
        "Failed to connect to typha endpoint 10.0.0.2:5473.  Will try another if available...",
        "  /var/run/secrets/kubernetes.io/serviceaccount from kube-api-access-x (ro)",
    ],
)
def test_ordinary_lines_stay_readable(line: str) -> None:
    assert redact(line) == line
