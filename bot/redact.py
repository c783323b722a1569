"""Redaction: secret values never leave the process — not into Slack, a bundle, a log or the JSON.

Applied to every log text the bot reads (collector, dump loader, gather) and to every file of a
gather bundle. Lines that only *mention* a secret stay whole, because they are the evidence an SRE
needs (`Can't read password referenced by BGP Configuration default in secret calico-bgp-password:password`,
`Unable to create token for CNI kubeconfig error=Unauthorized`, `TokenExpirationSeconds:  3607`).
The shapes, in the order they are applied:

| what | example | becomes |
|---|---|---|
| PEM / PGP private keys | a `-----BEGIN … PRIVATE KEY-----` or `… PRIVATE KEY BLOCK-----` block | `[REDACTED PRIVATE KEY]` |
| JWTs anywhere | `eyJhbGciOi….eyJzdWIi….sig` | `[REDACTED JWT]` |
| Slack tokens | `xoxb-…`, `xapp-…` | `[REDACTED SLACK TOKEN]` |
| GitHub tokens | `ghp_…`, `gho_…`, `ghu_…`, `ghs_…`, `ghr_…`, `github_pat_…` | `[REDACTED GITHUB TOKEN]` |
| AWS access key ids | `AKIA…`, `ASIA…` (20 characters) | `[REDACTED AWS KEY ID]` |
| basic-auth in URLs | `https://user:pass@host` | `https://[REDACTED]@host` |
| Authorization headers | `Authorization: Basic …`, `Bearer …`, `Token …`, `Digest …` (also JSON, Go maps) | the scheme kept, the rest `[REDACTED]` |
| cookies | `Cookie: a=b; c=d`, `Set-Cookie: id=…` | `Cookie: [REDACTED]` |
| bearer tokens | `bearer eyJhbGciOi…` anywhere | `bearer [REDACTED]` |
| BIRD passwords | `password "two words";` | `password "[REDACTED]";` |
| command-line flags | `--password hunter2`, `-db-token x` | the flag kept, the value `[REDACTED]` |
| name = value pairs whose name says secret | `password=…`, `BGP_PASSWORD: …`, `"apikey": "…"`, `aws_secret_access_key = …`, `DB_PASS=…`, `pwd=…`, `"auth": "…"`, `password: "correct horse battery staple"` | the name kept, the value `[REDACTED]` |

A name says secret when it contains password/passwd/passphrase/secret/token/credential or an
`api`/`access`/`private`/`routing`/`client`/`tls`/… `key`, or ends in the segment `pass`, `pwd` or `auth`
(`DB_PASS`, `dbPass`, `basic_auth`; not `bypass`, `passed`, `oauth`). A value stays when it is not a
secret by its name or its shape: names ending in ref/name/path/file/seconds/ttl/… (`secretKeyRef`,
`secretName`, `token-path`, `TokenExpirationSeconds`), values in `NOT_SECRETS` (placeholders such as
`<set`, booleans, and single error words: `token: Unauthorized`, `token: expired`, `token: not found`),
nested structures (`nodeMeshPassword: map[…]`, `{…}`, or nothing after the colon), sizes (`password:
8 bytes`), a Secret's key in confd's `in secret NAME:KEY`, and a directory as `PWD=/root`.

Cost: linear in the input. No pattern has an unbounded run that can be re-entered from many start
positions: every run either starts at a fixed literal whose left edge is checked (`eyJ` not inside a
word), or is bounded (`{0,64}`), or is possessive and scanned once because the scan resumes after it.
Only lines that contain a trigger word (`pass`, `token`, `key`, `auth`, `@`, …; found with `str.find`)
are handed to the patterns, so ordinary log lines cost a few passes of a substring search. An
unterminated private key is cut after its key-looking lines (at most 16 KiB of them), never at the end
of the text.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Iterator
from typing import NewType

Redacted = NewType("Redacted", str)
"""Text that has been through `redact`."""

REDACTED = "[REDACTED]"
REDACTED_PREFIX = "[redacted"
"""Every mark this module writes starts so (lower-cased); a value that does is left alone (idempotence)."""
PRIVATE_KEY_MARK = "[REDACTED PRIVATE KEY]"
KEY_BLOCK_MAX = 16 * 1024
"""How far an unterminated private key block may reach (key-looking lines only); an RSA-16384 PEM is ~12.5 KiB."""

NOT_SECRETS = frozenset(
    {
        # placeholders, booleans, markers of absence
        "",
        "<set",
        "<unset>",
        "<none>",
        "<nil>",
        "<empty>",
        "<redacted>",
        "<hidden>",
        "redacted",
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "null",
        "nil",
        "none",
        "n/a",
        "-",
        "[]",
        "{}",
        "optional",
        "required",
        "set",
        "unset",
        "present",
        "absent",
        "missing",
        "empty",
        "enabled",
        "disabled",
        "unknown",
        # one English error word after `token:` / `password:`
        "unauthorized",
        "forbidden",
        "expired",
        "invalid",
        "not",
        "eof",
        "error",
        "failed",
        "failure",
        "denied",
        "revoked",
        "malformed",
        "timeout",
        "refused",
        "unavailable",
        "notfound",
        "bad",
        "wrong",
        "incorrect",
        "mismatch",
        "rejected",
        "unsupported",
        # the first word of a Go error after a name (`…token": dial tcp …`, `Secret: secrets "x" is …`)
        "dial",
        "get",
        "post",
        "put",
        "patch",
        "read",
        "write",
        "lookup",
        "secrets",
        # the name of a key inside a Secret (`calico-bgp-password:password`)
        "password",
        "passwd",
        "secret",
        "token",
        "key",
        "apikey",
        "api-key",
        "api_key",
        "username",
        "user",
    }
)
"""Values that are never treated as secrets (compared lower-cased, trailing `.,:;!` dropped)."""

# Words after `bearer` that are prose, not a credential ("invalid bearer token", `Bearer realm="x"`).
_BEARER_PROSE = NOT_SECRETS | {
    "token",
    "tokens",
    "auth",
    "authentication",
    "authorization",
    "realm",
    "scheme",
}

# Names that end like this hold a reference, a location or a setting, not a secret value.
_NOT_SECRET_NAME_ENDINGS = (
    "ref",
    "refs",
    "name",
    "names",
    "path",
    "paths",
    "file",
    "files",
    "dir",
    "mode",
    "secrets",
    "seconds",
    "ttl",
    "expiry",
    "expiration",
    "expires",
    "timeout",
    "interval",
    "count",
    "length",
    "size",
    "type",
    "kind",
    "enabled",
    "required",
    "policy",
    "format",
    "version",
    "url",
    "uri",
    "endpoint",
    ".yaml",
    ".yml",
    ".json",
    ".txt",
    ".conf",
)

_KEY_OWNERS = r"api|access|private|routing|signing|encryption|client|service|integration|master|ssh|license|session|auth|secret|tls"
_STRONG_NAME = re.compile(rf"passw(?:or)?d|passphrase|secret|token|credential|(?:{_KEY_OWNERS})[_.-]?key")
_WEAK_LAST_SEGMENT = frozenset({"pass", "pwd", "auth"})
_CAMEL_WEAK_END = re.compile(r"(?<=[a-z0-9])(?:Pass|PASS|Pwd|PWD|Auth|AUTH)\Z")
_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "_.-")
_NAME_MAX = 64

# Only lines holding one of these (lower-cased) are looked at by the patterns below.
_TRIGGERS = (
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "cred",
    "auth",
    "cookie",
    "bearer",
    "@",
    "eyj",
    "xox",
    "xapp",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "akia",
    "asia",
)

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)

Edit = tuple[int, int, str]


def redact(text: str) -> Redacted:
    """`text` with every credential-looking value replaced; linear in `len(text)`."""
    if "PRIVATE KEY" in text:
        text = _private_keys(text)
    low = _lower(text)
    parts: list[str] = []
    last = 0
    for start, end in _flagged_spans(low):
        parts.append(text[last:start])
        parts.append(_redact_span(text[start:end], low[start:end]))
        last = end
    if not parts:
        return Redacted(text)
    parts.append(text[last:])
    return Redacted("".join(parts))


def decode_and_redact(data: bytes) -> Redacted:
    """A log body as text (UTF-8, bad bytes replaced), redacted: one call to run in a worker thread."""
    return redact(data.decode("utf-8", "replace"))


def _lower(text: str) -> str:
    """Lower-cased with every index unchanged (`str.lower` can lengthen a few characters, e.g. 'İ')."""
    low = text.lower()
    return low if len(low) == len(text) else text.translate(_ASCII_LOWER)


def _flagged_spans(low: str) -> list[tuple[int, int]]:
    """(start, end) of the runs of lines that hold a trigger word, merged, in order."""
    spans: list[tuple[int, int]] = []
    find, rfind, size = low.find, low.rfind, len(low)
    for word in _TRIGGERS:
        pos = find(word)
        while pos >= 0:
            start = rfind("\n", 0, pos) + 1
            end = find("\n", pos)
            if end < 0:
                end = size
            spans.append((start, end))
            pos = find(word, end)
    if len(spans) < 2:
        return spans
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end + 1:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def _redact_span(text: str, low: str) -> str:
    for triggers, rule in _RULES:
        if triggers and not any(t in low for t in triggers):
            continue
        edits = list(rule(text, low))
        if edits:
            text = _apply(text, edits)
            low = _lower(text)
    return text


def _apply(text: str, edits: list[Edit]) -> str:
    parts: list[str] = []
    last = 0
    for start, end, replacement in edits:
        parts += (text[last:start], replacement)
        last = end
    parts.append(text[last:])
    return "".join(parts)


# --- private keys (whole text: the only multi-line shape) ------------------------------------------

_PEM_HEADER = re.compile(r"-{4,5} ?BEGIN (?:[A-Z0-9]{1,20} ){0,4}PRIVATE KEY(?: BLOCK)? ?-{4,5}")
_PEM_FOOTER = re.compile(r"-{4,5} ?END (?:[A-Z0-9]{1,20} ){0,4}PRIVATE KEY(?: BLOCK)? ?-{4,5}")
_PEM_REACH = 100  # "PRIVATE KEY" sits at most this far from either end of a header or footer
# After an unterminated header: base64 on the same line, then whole lines of base64 (any length),
# armor headers (`Proc-Type:`, `Version:`) or blank lines, also with JSON-escaped newlines.
_KEY_SAME_LINE = re.compile(r"(?:[ \t]{1,16}+[A-Za-z0-9+/=]{16,}+)*+")
_KEY_LINE = re.compile(
    r"(?:\r?\n|\\r\\n|\\n)[ \t]{0,16}+"
    r"(?:[A-Za-z0-9+/=]++|(?:Proc-Type|DEK-Info|Version|Comment|Hash|Charset|MessageID): ?[^\r\n\\]{0,200}+)?"
    r"[ \t]{0,16}+(?=\r?\n|\\r|\\n|[\"']|\Z)"
)


def _private_keys(text: str) -> str:
    parts: list[str] = []
    last = pos = 0
    while (hit := text.find("PRIVATE KEY", pos)) >= 0:
        head = _PEM_HEADER.search(text, max(last, hit - _PEM_REACH), hit + 30)
        if head is None or not head.start() <= hit < head.end():
            pos = hit + 1
            continue
        end = _key_block_end(text, head.end())
        parts += (text[last : head.start()], PRIVATE_KEY_MARK)
        last = pos = end
    if not parts:
        return text
    parts.append(text[last:])
    return "".join(parts)


def _key_block_end(text: str, body: int) -> int:
    """Through the matching footer if it is near, else through the key-looking lines after the header."""
    nxt = text.find("PRIVATE KEY", body, body + KEY_BLOCK_MAX)
    if nxt >= 0:
        foot = _PEM_FOOTER.search(text, max(body, nxt - _PEM_REACH), nxt + 30)
        if foot is not None and foot.start() <= nxt < foot.end():
            return foot.end()
    same_line = _KEY_SAME_LINE.match(text, body)
    pos = same_line.end() if same_line else body
    limit = body + KEY_BLOCK_MAX
    while pos < limit and (line := _KEY_LINE.match(text, pos)) is not None and line.end() > pos:
        pos = line.end()
    return pos


# --- token shapes (case matters) --------------------------------------------------------------------
# Each starts with a literal (fast to find) and then checks, looking back, that it does not sit inside
# a longer word, so every run of characters is scanned from one start only.

_TOKEN_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"eyJ(?<![A-Za-z0-9_-]eyJ)[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]{4,}+"),
        "[REDACTED JWT]",
    ),
    (re.compile(r"x(?<![A-Za-z0-9_-]x)(?:ox[abeprs]|app)-[A-Za-z0-9-]{6,}+"), "[REDACTED SLACK TOKEN]"),
    (re.compile(r"gh[pousr]_(?<![A-Za-z0-9_]gh[pousr]_)[A-Za-z0-9]{20,}+"), "[REDACTED GITHUB TOKEN]"),
    (re.compile(r"github_pat_(?<![A-Za-z0-9_]github_pat_)[A-Za-z0-9_]{20,}+"), "[REDACTED GITHUB TOKEN]"),
    (re.compile(r"A[KS]IA(?<![A-Za-z0-9]A[KS]IA)[A-Z0-9]{16}(?![A-Za-z0-9])"), "[REDACTED AWS KEY ID]"),
)


def _token_shapes(text: str, low: str) -> Iterator[Edit]:
    for pattern, mark in _TOKEN_SHAPES:
        for m in pattern.finditer(text):
            yield m.start(), m.end(), mark


def _sorted_token_shapes(text: str, low: str) -> list[Edit]:
    """The shapes may interleave; applied as one sorted, non-overlapping list of edits."""
    kept: list[Edit] = []
    for edit in sorted(_token_shapes(text, low)):
        if not kept or edit[0] >= kept[-1][1]:
            kept.append(edit)
    return kept


# `scheme://user:password@` — starts at the literal `://`; the user part cannot hold `:`, `/` or `@`.
_URL_USERINFO = re.compile(r"://(?P<info>[^/\s:@]*+:[^/\s@]++)@")


def _url_userinfo(text: str, low: str) -> Iterator[Edit]:
    for m in _URL_USERINFO.finditer(text):
        yield m.start("info"), m.end("info"), REDACTED


# --- headers and prose shapes (matched on the lower-cased text; indices are the same) ---------------

_HEADER_SEP = r"(?P<sep>\\?[\"']?[ \t]{0,16}+[:=][ \t]{0,16}+\[?)"
_AUTHORIZATION = re.compile(r"authorization(?<![a-z0-9_.]authorization)" + _HEADER_SEP)
_COOKIE = re.compile(r"cookie(?<![a-z0-9_.]cookie)" + _HEADER_SEP.replace("[:=]", ":"))
_OPEN_QUOTE = re.compile(r"\\\"|\"|'")
# Schemes whose credential is one token; others (Digest, AWS4-HMAC-SHA256, …) are redacted to the end.
_TOKEN_SCHEME = re.compile(
    r"(?:basic|bearer|token|negotiate|ntlm|apikey|api-key|sso-key|jwt|oauth|key)[ \t]++"
)
_PARAM_SCHEME = re.compile(
    r"(?:digest|aws4-hmac-sha256|hoba|mutual|vapid|scram-sha-1|scram-sha-256|gnap|privatetoken)[ \t]++"
)
_ONE_TOKEN = re.compile(r"[^\s\"'\\\]]++")
# The rest of a header value, by how it was opened: \", ", ' or not quoted.
_REST_OF_VALUE = {
    '\\"': re.compile(r'(?:[^"\\\r\n]|\\[^"\r\n])*+'),
    '"': re.compile(r'(?:[^"\\\r\n]|\\[^\r\n])*+'),
    "'": re.compile(r"[^'\r\n]*+"),
    "": re.compile(r"[^\r\n\]']*+"),
}
_BEARER = re.compile(r"bearer(?<![a-z0-9_.-]bearer)[ \t]++(?P<cred>[a-z0-9\-._~+/]++=*+)")
_BIRD_PASSWORD = re.compile(r"password(?<![a-z0-9_]password)[ \t]++\"(?P<cred>[^\"\r\n]*+)\"?")


def _authorization(text: str, low: str) -> Iterator[Edit]:
    """`Authorization: <scheme> <credentials>`: the scheme stays; a token scheme's one token goes,
    any other scheme's whole value goes (Digest's `response=…`)."""
    pos = 0
    while (m := _AUTHORIZATION.search(low, pos)) is not None:
        quote = _OPEN_QUOTE.match(low, m.end())
        pos = quote.end() if quote else m.end()
        scheme = _TOKEN_SCHEME.match(low, pos)
        if scheme is not None:
            cred = _ONE_TOKEN.match(low, scheme.end())
        else:
            param = _PARAM_SCHEME.match(low, pos)
            start = param.end() if param else pos
            cred = _REST_OF_VALUE[quote.group() if quote else ""].match(low, start)
        if cred is not None:
            pos = cred.end()  # the next search starts after this value: each value is scanned once
            yield from _header_edit(text, cred.start(), cred.end())


def _cookie(text: str, low: str) -> Iterator[Edit]:
    """`Cookie:` / `Set-Cookie:`: the whole value (`a=b; c=d`, `id=…; Path=/`)."""
    pos = 0
    while (m := _COOKIE.search(low, pos)) is not None:
        quote = _OPEN_QUOTE.match(low, m.end())
        cred = _REST_OF_VALUE[quote.group() if quote else ""].match(low, quote.end() if quote else m.end())
        pos = cred.end() if cred is not None else m.end()
        if cred is not None:
            yield from _header_edit(text, cred.start(), cred.end())


def _header_edit(text: str, start: int, end: int) -> Iterator[Edit]:
    words = text[start:end].split(maxsplit=1)
    if words and _is_secret_value(words[0]):
        yield start, end, REDACTED


def _bearer(text: str, low: str) -> Iterator[Edit]:
    for m in _BEARER.finditer(low):
        if m.group("cred").rstrip("=") not in _BEARER_PROSE:
            yield m.start("cred"), m.end("cred"), REDACTED


def _bird_password(text: str, low: str) -> Iterator[Edit]:
    for m in _BIRD_PASSWORD.finditer(low):
        if _is_secret_value(text[m.start("cred") : m.end("cred")]):
            yield m.start("cred"), m.end("cred"), REDACTED


# --- name = value, and --flag value ----------------------------------------------------------------

_KEYWORD = r"passw(?:or)?d|passphrase|pass|pwd|secret|token|credential|auth|key"
# Found at the keyword (a fast scan); the rest of the name is bounded, the separator too.
_NAME_SEP = re.compile(
    rf"(?:{_KEYWORD})(?P<tail>[a-z0-9_.-]{{0,{_NAME_MAX}}}+)"
    r"(?P<sep>\\?[\"']?[ \t]{0,16}+(?::=|[:=])[ \t]{0,16}+)"
)
# A flag: one or two dashes at the start of a word, a name holding a keyword, blanks, a value that is
# not another flag.
_FLAG = re.compile(
    rf"-(?<![a-z0-9_.-]-)-?(?P<name>[a-z0-9_.-]{{0,40}}?(?:{_KEYWORD})[a-z0-9_.-]{{0,40}}+)[ \t]++(?!-)"
)
_VALUE = re.compile(
    r"""
      \\"(?P<ev>(?:[^"\\\r\n]|\\[^"\r\n])*+)(?:\\")?
    | "(?P<dv>(?:[^"\\\r\n]|\\[^\r\n])*+)"?
    | '(?P<sv>[^'\r\n]*+)'?
    | (?P<uv>[^\s"'`\\,;&{}\]]++)
    """,
    re.X,
)


def _name_values(text: str, low: str) -> Iterator[Edit]:
    pos = 0
    while (m := _NAME_SEP.search(low, pos)) is not None:
        pos = m.end()
        start = _name_start(text, m.start())
        name = text[start : m.end("tail")]
        if not _is_secret_name(name) or _is_path_or_type(text, start, name):
            continue  # the value is scanned again as ordinary text
        value = _VALUE.match(low, m.end())
        if value is None:
            continue
        if _is_secret_reference(text, start, m, value):
            continue
        pos = value.end()
        edit = _value_edit(text, value, pwd=name.lower().endswith("pwd"))
        if edit is not None:
            yield edit


def _flags(text: str, low: str) -> Iterator[Edit]:
    pos = 0
    while (m := _FLAG.search(low, pos)) is not None:
        pos = m.end()
        if not _is_secret_name(text[m.start("name") : m.end("name")]):
            continue
        value = _VALUE.match(low, m.end())
        if value is None:
            continue
        pos = value.end()
        edit = _value_edit(text, value, pwd=m.group("name").endswith("pwd"))
        if edit is not None:
            yield edit


def _value_edit(text: str, value: re.Match[str], *, pwd: bool) -> Edit | None:
    group = value.lastgroup or "uv"
    start, end = value.start(group), value.end(group)
    raw = text[start:end]
    if group == "uv":
        if raw.lower().startswith(("map[", "&{", REDACTED_PREFIX)):
            return None  # a Go map or struct printed after the name, or redacted already
        if raw.startswith("["):  # Go's `Password:[hunter2]`
            start, raw = start + 1, raw[1:]
        if raw.isdigit() and text.startswith(" bytes", end):
            return None  # `kubectl describe secret`: a size
        if pwd and raw.startswith(("/", "~")):
            return None  # `PWD=/root`: the shell's working directory
    if not _is_secret_value(raw):
        return None
    return start, end, REDACTED


_SECRET_REFERENCE_NAME = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]{1,253}")


def _is_secret_reference(text: str, start: int, name_sep: re.Match[str], value: re.Match[str]) -> bool:
    """confd's `in secret calico-bgp-password:KEY`: a Secret's name (DNS-1123) and the key inside it."""
    return (
        name_sep.group("sep") == ":"
        and text[max(0, start - 10) : start] == "in secret "
        and _SECRET_REFERENCE_NAME.fullmatch(text, start, name_sep.start("sep")) is not None
        and value.lastgroup == "uv"
        and _SECRET_KEY.fullmatch(text, value.start(), value.end()) is not None
    )


def _name_start(text: str, pos: int) -> int:
    start = pos
    floor = max(0, pos - _NAME_MAX)
    while start > floor and text[start - 1] in _NAME_CHARS:
        start -= 1
    return start


def _is_secret_name(name: str) -> bool:
    bare = name.lstrip("-")
    lowered = bare.lower()
    if lowered.endswith(_NOT_SECRET_NAME_ENDINGS):
        return False
    if _STRONG_NAME.search(lowered):
        return True
    last = re.split(r"[_.-]", bare)[-1]
    return last.lower() in _WEAK_LAST_SEGMENT or _CAMEL_WEAK_END.search(last) is not None


_GO_TYPE = re.compile(r"v\d+(?:alpha\d+|beta\d+)?\.[A-Z]\w*")


def _is_path_or_type(text: str, start: int, name: str) -> bool:
    """A URL path's last segment (`…/serviceaccounts/x/token": dial tcp …`) or a Go type (`*v1.Secret:
    secrets "x" is forbidden`): the words after them are an error message, not a credential."""
    before = text[start - 1] if start > 0 else ""
    return before == "/" or _GO_TYPE.fullmatch(name) is not None


def _is_secret_value(value: str) -> bool:
    lowered = value.lower().rstrip(".,:;!")
    if lowered in NOT_SECRETS or lowered.startswith(REDACTED_PREFIX):
        return False
    return value.strip("*") != ""  # `********` is masked already


Rule = Callable[[str, str], Iterable[Edit]]
"""(text, the same text lower-cased) -> edits in order, not overlapping."""

# (any of these words must be in the lower-cased line, the rule), applied in this order.
_RULES: tuple[tuple[tuple[str, ...], Rule], ...] = (
    (("eyj", "xox", "xapp", "gh", "github_pat_", "akia", "asia"), _sorted_token_shapes),
    (("@",), _url_userinfo),
    (("authorization",), _authorization),
    (("cookie",), _cookie),
    (("bearer",), _bearer),
    (("password",), _bird_password),
    (("-",), _flags),
    ((), _name_values),
)
