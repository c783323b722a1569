"""Benchmark: redaction throughput and worst cases, bot.redact against the pattern set it replaced.

    .venv/bin/python bench/redact.py                  # 100 MB log, 1 MB worst-case lines
    .venv/bin/python bench/redact.py --mb 20 --baseline-mb 5

Measured, in one run:

- throughput: MB/s of `redact` on a generated calico-node-like log (felix, confd, BIRD, CNI lines,
  ~0.1% of them carrying a credential), 100 MB by default;
- worst case: seconds for 1 MB single-token lines (a run of word characters, a 1 MB token value, a
  1 MB base64 line, `password` repeated, an unterminated private key before 1 MB of base64), and the
  time ratio 1 MB / 100 KB (about 10 for linear work);
- baseline: the same inputs through the redaction of commit 7fb9858 (copied below as
  `baseline_redact`, unchanged). Its throughput is measured on the first `--baseline-mb` MB only,
  and its worst case is measured on growing runs of word characters until one call takes more than
  `--cap` seconds, then extrapolated quadratically to 1 MB (it is quadratic: 1 MB would take hours).

A script, not a test: the numbers go into the issue notes.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.redact import redact  # noqa: E402

# --- BASELINE: bot/redact.py as of commit 7fb9858, copied unchanged (quadratic name/value pattern) ----

BASELINE_REDACTED = "[REDACTED]"
_BASELINE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.DOTALL
        ),
        "[REDACTED PRIVATE KEY]",
    ),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*"), r"\1 " + BASELINE_REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}"), "[REDACTED JWT]"),
    (re.compile(r"\bx(?:ox[abprs]|app)-[A-Za-z0-9-]{6,}"), "[REDACTED SLACK TOKEN]"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1" + BASELINE_REDACTED + "@"),
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
        r"\g<name>\g<sep>\g<quote>" + BASELINE_REDACTED,
    ),
)
_BASELINE_HARMLESS_VALUES = frozenset(
    {BASELINE_REDACTED, "<set", "<none>", "true", "false", "null", "none", "[]", "{}"}
)
_BASELINE_KEY_NAMES = frozenset(
    {"password", "passwd", "secret", "token", "key", "apikey", "api-key", "api_key"}
)


def baseline_redact(text: str) -> str:
    """BASELINE (commit 7fb9858): `text` with every credential-looking value replaced."""
    for pattern, replacement in _BASELINE_PATTERNS[:-1]:
        text = pattern.sub(replacement, text)
    return _BASELINE_PATTERNS[-1][0].sub(_baseline_name_value, text)


def _baseline_name_value(match: re.Match[str]) -> str:
    name, value = match.group("name"), match.group("value")
    lowered = name.lower()
    if (
        value.lower() in _BASELINE_HARMLESS_VALUES
        or value.lower() in _BASELINE_KEY_NAMES
        or value.startswith("[REDACTED")
    ):
        return match.group(0)
    if lowered.endswith(("ref", "name", "names", "path", "file", "dir", "mode", "secrets")):
        return match.group(0)
    return f"{name}{match.group('sep')}{match.group('quote')}{BASELINE_REDACTED}"


# --- inputs -----------------------------------------------------------------------------------------

_LINES = (
    '{ts} [INFO][{p}] felix/int_dataplane.go 1954: Received *proto.HostMetadataV4V6Update update from calculation graph msg=hostname:"10.94.227.{o}" ipv4_addr:"10.94.227.{o}/26" labels:<key:"beta.kubernetes.io/arch" value:"amd64" >',
    "{ts} [INFO][{p}] felix/summary.go 100: Summarising 12 dataplane reconciliation loops over 1m2.3s: avg=4ms longest=14ms (resync-filter-v4,resync-nat-v4)",
    "{ts} [INFO][{p}] felix/health.go 336: Overall health status changed: live=true ready=true",
    '{ts} [INFO][{p}] felix/sync_client.go 190: Connected to Typha. addr="10.188.156.{o}:5473"',
    "{ts} [INFO][{p}] confd/client.go 1402: Starting secret watcher for BGP passwords",
    "{ts} [WARNING][{p}] confd/client.go 1041: Can't read password referenced by BGP Configuration default in secret calico-bgp-password:password error=no data available for secret calico-bgp-password",
    '{ts} [INFO][{p}] felix/route_table.go 1181: Syncing routes: removing old routes. ifaceName="cali{h}" ifaceRegex="^cali.*" ipVersion=0x4 tableIndex=0',
    '{ts} [INFO][{p}] felix/endpoint_mgr.go 602: Updating per-endpoint chains. id=proto.WorkloadEndpointID{{OrchestratorId:"k8s", WorkloadId:"kube-system/coredns-{h}", EndpointId:"eth0"}}',
    "bird: Mesh_10_94_227_{o}: State changed to start",
    "bird: BGP: Unexpected connect from unknown address 10.94.227.{o} (port 42{o})",
    "{ts} [INFO][{p}] felix/calc_graph.go 467: Local endpoint updated id=WorkloadEndpoint(node=10.94.227.{o}, orchestrator=k8s, workload=default/web-{h}, name=eth0)",
    '{ts} [ERROR][{p}] felix/daemon.go 320: Failed to connect to datastore error=Get "https://172.21.0.1:443/apis/crd.projectcalico.org/v1/clusterinformations/default": dial tcp 172.21.0.1:443: i/o timeout',
    '{ts} [INFO][{p}] tunnel-ip-allocator/allocateip.go 305: Current address is still valid, do nothing currentAddr="172.30.{o}.0" type="ipipTunnelAddress"',
    '{ts} [INFO][{p}] felix/ipsets.go 304: Finished IPSets resync family="inet" numInconsistenciesFound=0 resyncDuration=3.1ms',
    "{ts} [WARNING][{p}] cni-installer/install.go 453: Unable to create token for CNI kubeconfig error=Unauthorized",
    "{ts} [INFO][{p}] felix/int_dataplane.go 2036: Finished applying updates to dataplane. msecToApply=2.{o}",
    "{ts} [INFO][{p}] felix/xdp_state.go 1051: Updating ipsetIDsToMembers cache. family=4",
    "{ts} [INFO][{p}] felix/daemon.go 1236: Receiving config update from datastore. datastore=kubernetes",
)
_SECRET_LINES = (
    "{ts} [INFO][{p}] cni-plugin/k8s.go 92: client config host=https://172.21.0.1:443 token=eyJhbGciOiJSUzI1NiIsImtpZCI6I{h}.eyJpc3MiOiJrdWJlcm5ldGVz{h}.c2lnbmF0dXJl{h}",
    '{ts} [DEBUG][{p}] confd/client.go 1056: BGP password updated password="s3cr3t-{h}"',
    "{ts} [DEBUG][{p}] felix/http.go 80: request headers map[Authorization:[Bearer {h}{h}] User-Agent:[calico-node]]",
)


def calico_log(n_bytes: int, *, seed: int = 1) -> str:
    rng = random.Random(seed)
    lines: list[str] = []
    size = 0
    while size < n_bytes:
        template = rng.choice(_SECRET_LINES) if rng.random() < 0.001 else rng.choice(_LINES)
        line = template.format(
            ts=f"2024-02-12 14:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{rng.randrange(1000):03d}",
            p=rng.randrange(100),
            o=rng.randrange(256),
            h=f"{rng.getrandbits(40):010x}",
        )
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n"


B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
PEM_BEGIN = "-----BEGIN RSA " + "PRIVATE KEY-----"
WORST: dict[str, Callable[[int], str]] = {
    "word-character run": lambda n: "a" * n,
    "token= + n chars": lambda n: "token=" + "x" * n,
    "key + base64 line": lambda n: "key " + (B64 * (n // 64 + 1))[:n],
    "password repeated": lambda n: "password" * (n // 8),
    "Authorization: repeated": lambda n: "Authorization: " * (n // 15),
    "--password - repeated": lambda n: "--password -" * (n // 12),
    "unterminated key + base64 lines": lambda n: (
        PEM_BEGIN + "\n" + "\n".join([B64] * (n // 65)) + "\n2024-02-12 next log line\n"
    ),
}


def seconds(fn: Callable[[str], str], text: str) -> float:
    start = time.perf_counter()
    fn(text)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=float, default=100.0, help="size of the generated log (MB)")
    parser.add_argument("--baseline-mb", type=float, default=10.0, help="log MB given to the baseline")
    parser.add_argument(
        "--cap", type=float, default=3.0, help="seconds after which the baseline worst case stops growing"
    )
    args = parser.parse_args()

    text = calico_log(int(args.mb * 1_000_000))
    mb = len(text) / 1e6
    took = seconds(redact, text)
    print(f"throughput, calico-node-like log of {mb:.0f} MB:")
    print(f"  bot.redact            {mb / took:8.1f} MB/s  ({took:.2f} s)")
    sample = text[: int(args.baseline_mb * 1_000_000)]
    took_old = seconds(baseline_redact, sample)
    print(
        f"  baseline (7fb9858)    {len(sample) / 1e6 / took_old:8.1f} MB/s  (first {len(sample) / 1e6:.0f} MB: {took_old:.2f} s)"
    )

    print("worst case, one line (seconds at 100 KB and at 1 MB, ratio; ~10 = linear):")
    for name, make in WORST.items():
        small, big = seconds(redact, make(100_000)), seconds(redact, make(1_000_000))
        print(f"  bot.redact  {name:34s} {small:7.4f} s  {big:7.4f} s  x{big / small:5.1f}")

    print(f"baseline (7fb9858) on a run of word characters, doubling until a call takes > {args.cap:g} s:")
    n, took_old = 1_000, 0.0
    while took_old < args.cap and n <= 1_000_000:
        took_old = seconds(baseline_redact, "a" * n)
        print(f"  {n:>9,} chars  {took_old:8.3f} s")
        n *= 2
    n //= 2
    if n < 1_000_000:
        estimate = took_old * (1_000_000 / n) ** 2
        print(f"  1,000,000 chars  ~{estimate:,.0f} s extrapolated (quadratic), not run")


if __name__ == "__main__":
    main()
