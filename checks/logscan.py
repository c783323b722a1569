"""Reading container logs: which lines are errors, and which catalogued signatures a log holds.

Pure functions of text. Calico's components log in several formats, all understood here:
Calico's own (`2024-02-12 14:42:49.280 [ERROR][37] felix/… 123: message`), logrus key/values
(`level=error msg=…`, the CNI plugin and older tools), klog (`E0612 10:00:00.123456 …`), zap JSON
(`{"level":"error",…}`, the Tigera operator), BIRD (`bird: …`), and plain lines (`Calico node
failed to start`). Lines are cut to `MAX_LINE` characters before any pattern runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from checks.catalog import SIGNATURES, Signature

MAX_LINE = 4000
QUOTE_MAX = 2000
"""Longest log line quoted as evidence (longer ones are cut with a marker)."""

_CALICO = re.compile(r"\[(?P<level>FATAL|PANIC|ERROR|WARNING|INFO|DEBUG)\]\[\d{1,10}\] ")
_LOGRUS = re.compile(r"\blevel=\"?(?P<level>[a-z]{3,7})\b")
_KLOG = re.compile(r"^(?P<level>[EFWI])\d{4} \d\d:\d\d:\d\d")
_ZAP = re.compile(r"\"level\"\s?:\s?\"(?P<level>[a-zA-Z]{3,7})\"")
_PLAIN_BAD = re.compile(
    r"(?i)\b(?:error|errors|fatal|failed|failure|panic|unable to|cannot|can't|couldn't|denied|refused|"
    r"timed out|timeout|no such file|not found|forbidden|unauthorized|invalid|unexpected)\b"
)
_LEVELS = {
    "error": "error",
    "err": "error",
    "e": "error",
    "fatal": "fatal",
    "f": "fatal",
    "panic": "fatal",
    "dpanic": "fatal",
    "warning": "warning",
    "warn": "warning",
    "w": "warning",
    "info": "info",
    "i": "info",
    "debug": "debug",
    "trace": "debug",
}
RANK = {"fatal": 3, "error": 2, "warning": 1, "info": 0, "debug": 0, "": 0}

_LOG_PREFIX = re.compile(r"^\S{0,40} [\d:.]{1,20} \[\w{1,10}\]\[\d{1,10}\] ")
_KLOG_PREFIX = re.compile(r"^[EFWI]\d{4} [\d:.]{8,20}\s{1,10}\d{1,10} ")


_LINE_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)")
_LOGRUS_TIME = re.compile(r"time=\"?(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)")
_ZAP_TS = re.compile(r"\"ts\"\s?:\s?(\d{9,11})(?:\.\d+)?[,}]")


def line_time(line: str) -> datetime | None:
    """When a log line was written, when it says (Calico's, RFC 3339, logrus `time=`, zap `ts`); UTC."""
    head = line[:200]
    match = _LINE_TIME.match(head.lstrip()) or _LOGRUS_TIME.search(head)
    if match:
        try:
            year, month, day, hour, minute, second = (int(g) for g in match.groups())
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            return None
    zap = _ZAP_TS.search(head)
    if zap:
        return datetime.fromtimestamp(int(zap.group(1)), UTC)
    return None


EMPTY_PANIC = re.compile(r"^\s{0,8}panic: \(\*?[\w./]{1,100}\) 0x[0-9a-f]{1,16}\s*$")
"""Go's line after a logrus PANIC (`panic: (*logrus.Entry) 0xc000720000`): a pointer, no words.
The PANIC line above it says what happened; quoting this one would crowd out the cause."""


def level_of(line: str) -> str:
    """ "fatal", "error", "warning", "info", "debug", or "" for a plain line that names no failure."""
    head = line[:300]
    if EMPTY_PANIC.match(head):
        return ""
    for pattern in (_CALICO, _KLOG, _ZAP, _LOGRUS):
        match = pattern.search(head)
        if match:
            return _LEVELS.get(match.group("level").lower(), "")
    if _PLAIN_BAD.search(line[:MAX_LINE]):
        return "error"
    return ""


def normalise(line: str) -> str:
    """A log line without its timestamp and [LEVEL][pid] / klog prefix, to group it across workers."""
    line = _LOG_PREFIX.sub("", line)
    return _KLOG_PREFIX.sub("", line).strip()


def quote(line: str) -> str:
    line = line.strip()
    return line if len(line) <= QUOTE_MAX else line[: QUOTE_MAX - 1] + "…"


def error_lines(text: str, *, limit: int = 3, min_rank: int = 1) -> list[str]:
    """Up to `limit` distinct lines at warning level or worse, in log order: the first of them (the
    root cause often comes first) and the last ones (what it died of). Errors and fatals are
    preferred; warnings fill in only when there are fewer of those."""
    first: dict[str, tuple[int, int, str]] = {}
    last: dict[str, tuple[int, int, str]] = {}
    for index, raw in enumerate(text.splitlines()):
        line = raw[:MAX_LINE].strip()
        if not line:
            continue
        rank = RANK[level_of(line)]
        if rank >= min_rank:
            key = normalise(line)
            first.setdefault(key, (rank, index, line))
            last[key] = (rank, index, line)
    if not last:
        return []
    best = max(rank for rank, _i, _l in last.values())
    worst = [key for key, entry in last.items() if entry[0] == best]
    serious = [key for key, entry in last.items() if entry[0] >= min(best, RANK["error"])]
    keys: list[str] = []
    if worst:
        keys.append(min(serious, key=lambda k: first[k][1]))  # the first error: often the root cause
        keys += (
            sorted((k for k in worst if k != keys[0]), key=lambda k: last[k][1])[-(limit - 1) :]
            if limit > 1
            else []
        )
    if len(keys) < limit:
        milder = sorted((k for k in last if last[k][0] < best and k not in keys), key=lambda k: last[k][1])
        keys += milder[-(limit - len(keys)) :]
    ordered = sorted(dict.fromkeys(keys), key=lambda k: first[k][1] if k == keys[0] else last[k][1])
    return [quote(last[k][2] if k != keys[0] else first[k][2]) for k in ordered[:limit]]


_TRACE = re.compile(
    r"^(?:\s|goroutine \d|created by |main\.main\(|[\w./-]{1,200}\.go:\d|[\w./*()-]{1,300}\([^)]{0,300}\)\s*$|"
    r"exit status \d|\.\.\.additional frames|panic: \(\*?[\w./]{1,100}\) 0x[0-9a-f]{1,16}\s*$)"
)


def last_words(text: str, *, limit: int = 3) -> list[str]:
    """The last lines a container wrote before it stopped, stack-trace frames left out."""
    words: list[str] = []
    for raw in reversed(text.splitlines()):
        line = raw[:MAX_LINE].rstrip()
        if not line.strip() or _TRACE.match(line):
            continue
        words.append(quote(line))
        if len(words) == limit:
            break
    return list(reversed(words))


LEAD_UP_LINES = 5


def lead_up(text: str, line: str, *, within: int = LEAD_UP_LINES) -> str:
    """The warning-or-worse line written just before the last time `line` (a FATAL/PANIC) was
    written, within `within` lines (stack frames skipped): what the process ran into before it gave
    up (`iptables save failed error=exit status 127` before `… failed after retries`). "" if none."""
    wanted = normalise(line)
    lines = text.splitlines()
    at = next((i for i in range(len(lines) - 1, -1, -1) if normalise(lines[i][:MAX_LINE]) == wanted), None)
    if at is None:
        return ""
    seen = 0
    for raw in reversed(lines[max(0, at - 4 * within) : at]):
        candidate = raw[:MAX_LINE].rstrip()
        if not candidate.strip() or _TRACE.match(candidate):
            continue
        seen += 1
        if seen > within:
            break
        if RANK[level_of(candidate)] >= RANK["warning"] and normalise(candidate) != wanted:
            return quote(candidate)
    return ""


@dataclass(frozen=True)
class LogHit:
    signature: str
    meaning: str
    line: str
    groups: tuple[tuple[str, str], ...] = ()
    cleared: bool = False
    """A later line shows the condition passed (e.g. typha reconnected): history, not the present."""

    @property
    def group(self) -> dict[str, str]:
        return dict(self.groups)


def scan(
    text: str, *, signatures: Iterable[Signature] = SIGNATURES, max_hits_per_signature: int = 2
) -> list[LogHit]:
    """The catalogued signature lines in a log (the last few per signature), in log order.

    A line takes the first signature of the catalog that matches it (specific ones come first: a
    denied BGP secret is a BGP-password line, not a generic RBAC one).
    """
    sigs = tuple(signatures)
    last_hit: dict[str, int] = {}
    hits: dict[str, list[tuple[int, LogHit]]] = {}
    cleared_at: dict[str, int] = {}
    for index, raw in enumerate(text.splitlines()):
        line = raw[:MAX_LINE]
        matched = False
        for sig in sigs:
            match = None if matched else sig.pattern.search(line)
            if match:  # the first (most specific) signature of the catalog names the line
                matched = True
                groups = tuple((k, v) for k, v in match.groupdict().items() if v)
                bucket = hits.setdefault(sig.id, [])
                bucket.append((index, LogHit(sig.id, sig.meaning, quote(line), groups)))
                if len(bucket) > max_hits_per_signature:
                    bucket.pop(0)
                last_hit[sig.id] = index
            elif sig.cleared_by is not None and sig.id in last_hit and sig.cleared_by.search(line):
                cleared_at[sig.id] = index
    found: list[tuple[int, LogHit]] = []
    for sig_id, bucket in hits.items():
        cleared = cleared_at.get(sig_id, -1) > last_hit[sig_id]
        for index, hit in bucket:
            found.append((index, LogHit(hit.signature, hit.meaning, hit.line, hit.groups, cleared)))
    found.sort(key=lambda pair: pair[0])
    return [hit for _index, hit in found]


def scan_message(message: str, *, signatures: Iterable[Signature] = SIGNATURES) -> list[LogHit]:
    """Signatures in one event or condition message (no clearing: a message is one moment)."""
    return scan(message, signatures=signatures, max_hits_per_signature=1)
