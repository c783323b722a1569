"""The literal signals calico-node emits, as patterns: probe output, log lines, pod states.

Patterns match the text of every Calico version the bot meets (manifest era <= 3.26 and operator
era 3.27+), containerd and CRI-O wording; see shared/reference/calico-iks.md sections 3 and 5.
Pure functions of strings: no snapshot here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- readiness / liveness probe output (calico-node -bird-ready -felix-ready, and 3.32's calico binary)

NOT_READY = re.compile(
    r"calico/node is not ready: (?P<comp>BIRD6?|bird6?/confd|bird6?|[Ff]elix) is not (?P<kind>ready|live): (?P<detail>.*)"
)
BGP_NOT_ESTABLISHED = re.compile(r"BGP not established with (?P<peers>[0-9a-fA-F.:,]+)")
PEERS_ESTABLISHED = re.compile(r"Number of node\(s\) with BGP peering established = (?P<n>\d+)")
BIRD_SOCKET = re.compile(r"unable to connect to BIRDv?[46]? socket|bird\.ctl: connect", re.IGNORECASE)
HTTP_PROBE = re.compile(
    r"(?:Liveness|Readiness|Startup) probe failed: (?:HTTP probe failed with statuscode: (?P<code>\d+)|Get \"(?P<url>[^\"]+)\": (?P<err>.*))"
)


@dataclass(frozen=True)
class ProbeReading:
    """What a failed readiness/liveness message says, parsed."""

    component: str  # "BIRD", "felix", "bird/confd", "http", ""
    kind: str  # "ready" / "live"
    detail: str
    peers: tuple[str, ...] = ()
    peers_established: int | None = None


def read_probe(message: str) -> ProbeReading | None:
    match = NOT_READY.search(message)
    established = PEERS_ESTABLISHED.search(message)
    count = int(established.group("n")) if established else None
    if match:
        peers_match = BGP_NOT_ESTABLISHED.search(match.group("detail"))
        peers = tuple(p for p in peers_match.group("peers").strip(",").split(",") if p) if peers_match else ()
        component = match.group("comp")
        component = "felix" if component.lower() == "felix" else component
        return ProbeReading(component, match.group("kind"), match.group("detail").strip(), peers, count)
    http = HTTP_PROBE.search(message)
    if http:
        kind = "live" if "Liveness" in message else "ready"
        detail = (
            f"HTTP {http.group('code')}"
            if http.group("code")
            else f"{http.group('url')}: {http.group('err')}"
        )
        return ProbeReading("http", kind, detail.strip(), (), count)
    return None


# --- log signatures -------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    id: str
    pattern: re.Pattern[str]
    meaning: str


LOG_SIGNATURES: tuple[Signature, ...] = (
    Signature(
        "ip-conflict",
        re.compile(r"Calico node '(?P<other>[^']+)' is already using the IPv4 address (?P<ip>[0-9.]+)"),
        "another (stale) Calico Node object holds this worker's IP: a replaced worker whose Calico Node was "
        "never deleted (calicoctl delete node)",
    ),
    Signature(
        "no-ip-autodetected",
        re.compile(r"Couldn't autodetect an? IPv4 address|Unable to confirm IPv4 address"),
        "calico-node could not autodetect the worker's IP (nodeAddressAutodetectionV4 / IP_AUTODETECTION_METHOD)",
    ),
    Signature(
        "autodetected-interface",
        re.compile(r"Using autodetected IPv4 address on interface (?P<iface>\S+): (?P<cidr>\S+)"),
        "the interface and address calico-node picked for BGP",
    ),
    Signature(
        "typha-unreachable",
        re.compile(r"Failed to connect to typha endpoint (?P<endpoint>\S+?)\.?\s|Failed to connect to Typha"),
        "calico-node cannot reach calico-typha (port 5473): typha health, host firewall / security groups",
    ),
    Signature(
        "rbac-forbidden",
        re.compile(
            r'(?P<what>\S+) is forbidden: User "(?P<user>[^"]+)" cannot (?P<verb>\w+) resource "(?P<resource>[^"]+)"'
        ),
        "calico's service account lacks a permission (RBAC changed or not migrated)",
    ),
    Signature(
        "datastore-unreachable",
        re.compile(
            r"Hit error connecting to datastore|Connection to the datastore is unauthorized|"
            r"Failed to set NetworkUnavailable|dial tcp (?P<addr>[0-9.]+:(?!5473\b)\d+): i/o timeout|"
            r"Client\.Timeout exceeded while awaiting headers"
        ),
        "calico-node cannot reach the Kubernetes API (datastore): master connectivity, webhooks, network",
    ),
    Signature(
        "cni-unauthorized",
        re.compile(r"Unable to create token for CNI kubeconfig|connection is unauthorized: Unauthorized"),
        "the CNI plugin's token is rejected",
    ),
    Signature(
        "ipam",
        re.compile(
            r"Unable to autoassign an address|failed to request IPv4 addresses|No configured Calico pools|"
            r"Unable to upgrade host's IPAM resources|pools are likely exhausted"
        ),
        "IP address management failed (pool exhausted, no pool, IPAM upgrade)",
    ),
    Signature(
        "bgp-password",
        re.compile(r"Can't read password (?:referenced by BGP Configuration|for BGPPeer)"),
        "confd cannot read the BGP password secret",
    ),
    Signature(
        "bird-config",
        re.compile(r"bird: .*syntax error|Unable to open configuration file /etc/calico/confd/config/bird"),
        "BIRD's generated configuration is broken",
    ),
    Signature(
        "mtu",
        re.compile(r"MTU needs to be updated|Failed to set \S+ tunnel device MTU"),
        "tunnel MTU problems",
    ),
    Signature(
        "felix-reporter",
        re.compile(r"Reporter is not (?:ready|live): (?P<reporter>.*)"),
        "a Felix component stopped reporting healthy",
    ),
)

SUSPICIOUS_INTERFACES = re.compile(
    r"^(docker\d*|br-[0-9a-f]+|kube-ipvs\d*|cni\d*|veth\S*|virbr\d*|flannel\S*|tunl\d*|cali\S*|vxlan\S*|lo)$"
)
IKS_INTERFACES = re.compile(r"^(bond0|eth0|ens6|ens3)$")


@dataclass(frozen=True)
class LogHit:
    signature: str
    meaning: str
    line: str
    groups: tuple[tuple[str, str], ...] = ()


_LOG_PREFIX = re.compile(r"^\S+ [\d:.]+ \[\w+\]\[\d+\] ")


def normalise(line: str) -> str:
    """A log line without Calico's timestamp and [LEVEL][pid] prefix, to group the same line across workers."""
    return _LOG_PREFIX.sub("", line).strip()


def scan_log(text: str, *, max_hits_per_signature: int = 2) -> list[LogHit]:
    """The signature lines in a log, newest last, a few per signature."""
    hits: dict[str, list[LogHit]] = {}
    for line in text.splitlines():
        if len(line) > 4000:
            line = line[:4000]
        for sig in LOG_SIGNATURES:
            match = sig.pattern.search(line)
            if match:
                groups = tuple((k, v) for k, v in match.groupdict().items() if v)
                bucket = hits.setdefault(sig.id, [])
                bucket.append(LogHit(sig.id, sig.meaning, line.strip(), groups))
                if len(bucket) > max_hits_per_signature:
                    bucket.pop(0)
    return [hit for bucket in hits.values() for hit in bucket]


def suspicious_interface(iface: str) -> bool:
    """An autodetected interface that is not a worker's real NIC (docker bridge, IPVS dummy, tunnels…)."""
    return bool(SUSPICIOUS_INTERFACES.match(iface)) or (
        not IKS_INTERFACES.match(iface) and iface.startswith(("br", "docker"))
    )


# --- container states -----------------------------------------------------------------------

IMAGE_PULL = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"})
BAD_WAITING = frozenset(
    {
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        *IMAGE_PULL,
    }
)
