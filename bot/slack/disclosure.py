"""What may be said in a channel about the host the bot runs on: nothing.

Error texts built from exceptions (a Kubernetes client error, an IKS or IAM call that got no
answer, a Redis URL) can carry a server's address, a kubeconfig path or a local file. Before such
a text goes into a channel (a card, a thread reply, an approval record shown on a card), the
address-like parts are replaced by a placeholder; the whole text goes to the log, and where there
is one, privately to the person who asked.

Worker names stay: on IKS a worker is named by its private IP (`10.188.156.137`), which the
channel needs, so a bare IP is kept and only an address with a port or a scheme is hidden.
"""

from __future__ import annotations

import re

import msgspec

from checks.model import Diagnosis

HIDDEN = "‹address hidden›"
PATH_HIDDEN = "‹path hidden›"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://anything (API servers, IKS/IAM endpoints, redis://, file://)
    (re.compile(r"\b[a-z][a-z0-9+.-]{1,15}://[^\s'\"<>`)\]]+", re.IGNORECASE), HIDDEN),
    # urllib3's HTTPSConnectionPool(host='…', port=…)
    (re.compile(r"\b(?:HTTPS?)?ConnectionPool\([^)]*\)"), HIDDEN),
    (re.compile(r"\bhost=['\"]?[^'\",)\s]+['\"]?(?:,\s*port=\d+)?"), HIDDEN),
    # [v6]:port, a.b.c.d:port, name.domain:port
    (re.compile(r"\[[0-9a-fA-F:.]+\](?::\d{1,5})?"), HIDDEN),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}:\d{1,5}\b"), HIDDEN),
    (
        re.compile(r"\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}:\d{1,5}\b", re.IGNORECASE),
        HIDDEN,
    ),
    # files: home directories, system and temp paths, anything kubeconfig-like
    (
        re.compile(
            r"(?<![\w/.-])~?/(?:home|root|Users|etc|var|tmp|opt|srv|run|mnt|private|workspace|work)(?:/[^\s'\",;:)\]]*)?"
        ),
        PATH_HIDDEN,
    ),
    (
        re.compile(
            r"[^\s'\",;:()\[\]]*(?:\.kube/|/[^\s'\",;:)\]/]*kubeconfig)[^\s'\",;:)\]]*", re.IGNORECASE
        ),
        PATH_HIDDEN,
    ),
)


def public_text(text: str) -> str:
    """`text` with server addresses, URLs and local paths replaced, for a channel."""
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text


def channel_safe(diagnosis: Diagnosis) -> Diagnosis:
    """The diagnosis as a channel may see it: the reasons of what could not be read (the bot's own
    failed calls, whose text can name the API server) pass through `public_text`. Findings are left
    alone: their evidence is the cluster's own literal text, which the runbook needs."""
    if not diagnosis.unknowns:
        return diagnosis
    unknowns = tuple(msgspec.structs.replace(u, reason=public_text(u.reason)) for u in diagnosis.unknowns)
    return msgspec.structs.replace(diagnosis, unknowns=unknowns)
