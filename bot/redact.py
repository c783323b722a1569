"""Redaction: secret values never leave the process — not into Slack, a bundle, a log or the JSON.

Applied to every log text the bot reads (collector, dump loader, gather) and to every file of a
gather bundle. Over-redaction is the safe side: a word that only looks like a credential is
replaced too. The patterns, in order:

| what | example | becomes |
|---|---|---|
| PEM private keys | a `-----BEGIN … PRIVATE KEY-----` block | `[REDACTED PRIVATE KEY]` |
| bearer tokens | `Authorization: Bearer eyJhbGciOi…` | `Bearer [REDACTED]` |
| JWTs anywhere | `eyJhbGciOi….eyJzdWIi….sig` | `[REDACTED JWT]` |
| Slack tokens | `xoxb-…`, `xapp-…` | `[REDACTED SLACK TOKEN]` |
| basic-auth in URLs | `https://user:pass@host` | `https://[REDACTED]@host` |
| name = value pairs whose name says secret | `password=…`, `BGP_PASSWORD: …`, `"apikey": "…"`, `client_secret=…`, `routing_key=…`, `token=…` | the name kept, the value `[REDACTED]` |
"""

from __future__ import annotations

import re

REDACTED = "[REDACTED]"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.DOTALL
        ),
        "[REDACTED PRIVATE KEY]",
    ),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*"), r"\1 " + REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}"), "[REDACTED JWT]"),
    (re.compile(r"\bx(?:ox[abprs]|app)-[A-Za-z0-9-]{6,}"), "[REDACTED SLACK TOKEN]"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1" + REDACTED + "@"),
    (
        re.compile(
            r"""(?ix)
            (?P<name>[A-Za-z0-9_.-]*
                (?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|routing[_-]?key|credential)
             [A-Za-z0-9_.-]*)
            (?P<sep>\s*[=:]\s*|"\s*:\s*"?|'\s*:\s*'?)
            (?P<quote>["']?)
            (?P<value>[^\s"',;}\]]+)
            """
        ),
        r"\g<name>\g<sep>\g<quote>" + REDACTED,
    ),
)

# Values that are names of things, not secrets: leave them readable (e.g. `secretKeyRef: calico-bgp-password`
# stays, because a secret's *name* is what an SRE needs to see).
_HARMLESS_VALUES = frozenset({REDACTED, "<set", "<none>", "true", "false", "null", "none", "[]", "{}"})
# …nor a bare key name after a secret's name (`calico-bgp-password:password` = secret:key in confd's message).
_KEY_NAMES = frozenset({"password", "passwd", "secret", "token", "key", "apikey", "api-key", "api_key"})


def redact(text: str) -> str:
    """`text` with every credential-looking value replaced."""
    for pattern, replacement in _PATTERNS[:-1]:
        text = pattern.sub(replacement, text)
    return _PATTERNS[-1][0].sub(_name_value, text)


def _name_value(match: re.Match[str]) -> str:
    name, value = match.group("name"), match.group("value")
    lowered = name.lower()
    if value.lower() in _HARMLESS_VALUES or value.lower() in _KEY_NAMES or value.startswith("[REDACTED"):
        return match.group(0)
    if lowered.endswith(("ref", "name", "names", "path", "file", "dir", "mode", "secrets")):
        return match.group(0)  # secretKeyRef, secretName, tokenPath, …: names and paths, not values
    return f"{name}{match.group('sep')}{match.group('quote')}{REDACTED}"
