"""The literal signals of calico-node's probes and container states, as patterns.

Log lines live in `checks.catalog` (the signature catalog) and `checks.logscan` (reading logs).

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


SUSPICIOUS_INTERFACES = re.compile(
    r"^(docker\d*|br-[0-9a-f]+|kube-ipvs\d*|cni\d*|veth\S*|virbr\d*|flannel\S*|tunl\d*|cali\S*|vxlan\S*|lo)$"
)
IKS_INTERFACES = re.compile(r"^(bond0|eth0|ens6|ens3)$")


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


POD_NETWORK_WORDS = (
    "calico",
    "network for sandbox",
    "networkplugin cni",
    "network for pod",
    "network plugin",
    "cni plugin",
)


def about_pod_network(message: str) -> bool:
    """A sandbox failure about pod networking (the CNI), not e.g. the pause image or a volume."""
    lowered = message.lower()
    return any(word in lowered for word in POD_NETWORK_WORDS)
