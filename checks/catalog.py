"""The catalog of literal failure signatures Calico software emits, as data.

One entry per signature: the pattern (matched against one log line or one event / condition
message), what it means, which runbook situation it points to, how serious it is on a pod that
otherwise looks fine, and the runbook step. The wording comes from the sources (Calico's startup,
felix, confd, BIRD, typha client, cni-plugin and kube-controllers; the Tigera operator; the kubelet)
and from public incident reports (`tests/corpus/`); `shared/reference/calico-iks.md` §3–§5 lists
the families.

`scope` says where a hit belongs:
- `worker`: something is wrong with calico-node on *this* worker — the worker-level situations
  (bad on one or a few / most or all / down on the worker) pick it up;
- `typha`, `bgp-password`, `other`: a cause with its own section, reported there (and listed first
  when calico-node fails, see `checks.diagnose`);
- `info`: context worth quoting, never a problem by itself.

Patterns are plain `re` expressions with bounded, unambiguous parts (each line is cut to 4,000
characters before matching), so scanning is linear in the size of the log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from checks.model import Severity


class Scope(StrEnum):
    WORKER = "worker"
    TYPHA = "typha"
    BGP_SECRET = "bgp-secret"  # noqa: S105 - a scope name, not a value
    OTHER = "other"
    INFO = "info"


@dataclass(frozen=True)
class Signature:
    id: str
    family: str
    pattern: re.Pattern[str]
    meaning: str
    scope: Scope
    severity: Severity
    """How serious a hit is on a pod whose status looks fine (a failing pod is critical anyway)."""
    step: str = ""
    """The runbook step (or documented fix) this signature leads to."""
    cleared_by: re.Pattern[str] | None = None
    """A later line that shows the condition passed (a reconnect): then the hit is history, not a
    problem of a pod that looks fine. Signatures without it count wherever they appear."""


def _sig(
    id: str,
    family: str,
    pattern: str,
    meaning: str,
    scope: Scope = Scope.WORKER,
    severity: Severity = Severity.WARNING,
    step: str = "",
    cleared_by: str = "",
) -> Signature:
    return Signature(
        id,
        family,
        re.compile(pattern),
        meaning,
        scope,
        severity,
        step,
        re.compile(cleared_by) if cleared_by else None,
    )


_LADDER = "runbook ladder for the worker: cordon, gather, delete the calico-node pod, reboot, reload/replace"
_MASTER = "calico-node cannot reach the Kubernetes API: check the master, webhooks, network policies and the path to the service VIP"
_TYPHA_STEP = "calico-typha troubleshooting runbook: typha pods Ready? port 5473 open between workers (firewall, security groups)?"
_BGP_STEP = (
    "runbook 'calico-node Pod Not Running after upgrading to IKS 1.29': copy the BGP password secret into "
    "calico-node's namespace and create Role/RoleBinding bgp-secret-access for ServiceAccount calico-node"
)

SIGNATURES: tuple[Signature, ...] = (
    # --- node address: autodetection, conflicts ---------------------------------------------
    _sig(
        "ip-conflict",
        "node-address",
        r"Calico node '(?P<other>[^']{1,253})' is already using the IPv[46] address (?P<ip>[0-9a-fA-F.:]{2,45})",
        "another (stale) Calico Node object holds this worker's IP: a replaced or renamed worker whose Calico "
        "Node was never deleted",
        severity=Severity.CRITICAL,
        step="delete the stale Calico Node (`calicoctl delete node <name>`), then delete the calico-node pod",
    ),
    _sig(
        "no-ip-autodetected",
        "node-address",
        r"Couldn't autodetect an? IPv[46] address|Unable to confirm IPv[46] address|"
        r"Failed to autodetect (?:an )?IPv[46] address|Unable to find (?:the )?interface with (?:the )?IP",
        "calico-node could not find the worker's IP address (IP autodetection method / "
        "nodeAddressAutodetectionV4 does not match this worker's interfaces)",
        severity=Severity.CRITICAL,
        step="fix the autodetection method (IP_AUTODETECTION_METHOD / Installation nodeAddressAutodetectionV4)",
    ),
    _sig(
        "autodetected-interface",
        "node-address",
        r"Using autodetected IPv4 address on interface (?P<iface>\S{1,64}): (?P<cidr>\S{1,64})",
        "the interface and address calico-node picked for BGP",
        scope=Scope.INFO,
        severity=Severity.INFO,
    ),
    _sig(
        "startup-failed",
        "node-address",
        r"Calico node failed to start|\[WARNING\]\[\d{1,10}\] startup/utils\.go \d{1,6}: Terminating",
        "calico-node's start-up gave up (the lines before it say why)",
        severity=Severity.CRITICAL,
    ),
    # --- typha -------------------------------------------------------------------------------
    _sig(
        "typha-unreachable",
        "typha",
        r"Failed to connect to typha endpoint (?P<endpoint>[^\s]{1,80}?)\.?\s|Failed to connect to Typha\b|"
        r"failed to connect to Typha",
        "calico-node cannot connect to calico-typha on port 5473 (typha down, or a firewall / security group "
        "between the workers)",
        scope=Scope.TYPHA,
        step=_TYPHA_STEP,
        cleared_by=r"(?:Successfully c|C)onnected to Typha",
    ),
    _sig(
        "typha-discovery",
        "typha",
        r"Didn't find any ready Typha instances|Typha discovery enabled but discovery failed|"
        r"Failed to (?:get|discover) Typha endpoint",
        "calico-node cannot find a Ready calico-typha (the calico-typha Service has no ready endpoint)",
        scope=Scope.TYPHA,
        severity=Severity.CRITICAL,
        step=_TYPHA_STEP,
        cleared_by=r"(?:Successfully c|C)onnected to Typha|Discovered initial set of Typha instances",
    ),
    _sig(
        "typha-connection-lost",
        "typha",
        r"Typha client (?:failed|disconnected)|connection to Typha (?:failed|lost|closed)|"
        r"Failed to read from typha|Failed to handshake with typha",
        "calico-node lost its connection to calico-typha",
        scope=Scope.TYPHA,
        step=_TYPHA_STEP,
        cleared_by=r"(?:Successfully c|C)onnected to Typha",
    ),
    # --- datastore / API server ----------------------------------------------------------------
    _sig(
        "datastore-unreachable",
        "datastore",
        r"Hit error connecting to datastore|Failed to \(re\)connect to datastore|"
        r"Failed to initialize Calico datastore|Error initializing datastore|"
        r"Failed to set NetworkUnavailable|Unable to connect to (?:the )?(?:Kubernetes )?(?:API ?server|datastore)|"
        r"dial tcp \[?[0-9a-fA-F.:]{2,45}\]?:(?!5473\b)\d{1,5}: (?:i/o timeout|connect: connection refused|"
        r"connect: no route to host|connect: network is unreachable)|"
        r"Client\.Timeout exceeded while awaiting headers|net/http: TLS handshake timeout",
        "calico cannot reach the Kubernetes API (its datastore), usually through the service VIP",
        step=_MASTER,
        cleared_by=r"Datastore connection verified|Datastore is ready|Calico datastore is initialized|"
        r"Successfully connected to (?:the )?datastore",
    ),
    _sig(
        "datastore-certificate",
        "datastore",
        r"x509: certificate (?:is valid for|signed by unknown authority|has expired)",
        "TLS to the API server fails: a certificate that does not match the address calico uses, or expired",
        step=_MASTER,
    ),
    _sig(
        "datastore-unauthorized",
        "datastore",
        r"Connection to the datastore is unauthorized|connection is unauthorized: Unauthorized|"
        r"Unable to create token for CNI kubeconfig|error=Unauthorized|: Unauthorized\s*$",
        "calico's credentials are rejected by the API server (expired or invalid service account token)",
        severity=Severity.CRITICAL,
        step="delete the calico-node pod so it gets a fresh token; if it recurs, check the service account and the "
        "CNI kubeconfig (CALICO_MANAGE_CNI)",
    ),
    _sig(
        "rbac-forbidden-secret",
        "rbac",
        r"secrets? \"(?P<secret>[^\"]{1,253})\" is forbidden: User \"(?P<user>[^\"]{1,253})\" cannot "
        r"(?P<verb>\w{1,20}) resource \"secrets\"",
        "calico-node's service account may not read a secret it needs (the BGP password secret)",
        scope=Scope.BGP_SECRET,
        severity=Severity.CRITICAL,
        step=_BGP_STEP,
    ),
    _sig(
        "rbac-forbidden",
        "rbac",
        r"(?P<what>[^\s\"]{1,253}(?: \"[^\"]{1,253}\")?) is forbidden: User \"(?P<user>[^\"]{1,253})\" cannot "
        r"(?P<verb>[\w-]{1,20}) resource \"(?P<resource>[^\"]{1,120})\"",
        "calico's service account lacks a permission (its ClusterRole/Role was changed, deleted or not updated)",
        severity=Severity.CRITICAL,
        step="restore Calico's RBAC: a master refresh re-applies IBM's Calico manifests",
    ),
    _sig(
        "crd-missing",
        "datastore",
        r"the server could not find the requested resource \([^)]{0,200}projectcalico\.org|"
        r"no matches for kind \"[A-Za-z]{1,60}\" in version \"crd\.projectcalico\.org",
        "a Calico custom resource type (CRD) is missing from the cluster",
        severity=Severity.CRITICAL,
        step="re-apply Calico's CRDs (IKS: master refresh)",
    ),
    # --- BGP / BIRD / confd --------------------------------------------------------------------
    _sig(
        "bgp-password",
        "bgp",
        r"Can't read password (?:referenced by BGP Configuration|for BGPPeer)",
        "confd cannot read the BGP password secret, so no BGP session can be established",
        scope=Scope.BGP_SECRET,
        severity=Severity.CRITICAL,
        step=_BGP_STEP,
    ),
    _sig(
        "bird-config",
        "bgp",
        r"bird6?: [^\n]{0,300}syntax error|Unable to open configuration file /etc/calico/confd/config/bird|"
        r"bird6?: [^\n]{0,200}Unable to open",
        "BIRD has no valid configuration: confd did not render it (datastore, typha or template problem)",
        severity=Severity.CRITICAL,
    ),
    _sig(
        "bgp-unknown-peer",
        "bgp",
        r"BGP: Unexpected connect from unknown address (?P<addr>[0-9a-fA-F.:]{2,45})",
        "a peer connects from an address this node has no BGP peering for: a node registered a wrong or stale IP",
        severity=Severity.CRITICAL,
        step="check every Calico Node's BGP address (calicoctl get nodes -o wide) against the workers' IPs",
    ),
    _sig(
        "bgp-session-error",
        "bgp",
        r"bird6?: (?P<peer>[A-Za-z0-9_]{1,80}): (?:Error|Received): (?P<error>[^\n]{1,200})",
        "a BGP session with a peer fails",
        cleared_by=r"State changed to up|Established",
    ),
    _sig(
        "bird-socket",
        "bgp",
        r"unable to connect to BIRDv?[46]? socket|bird6?\.ctl: connect: (?:connection refused|no such file)",
        "BIRD is not running inside calico-node",
        severity=Severity.CRITICAL,
    ),
    # --- felix / dataplane ---------------------------------------------------------------------
    _sig(
        "felix-reporter",
        "felix",
        r"Reporter is not (?:ready|live)\.?(?:\s{1,5}name=\"?(?P<reporter>[\w-]{1,80}))?",
        "a Felix component stopped reporting healthy",
        scope=Scope.INFO,
        severity=Severity.INFO,
    ),
    _sig(
        "iptables",
        "felix",
        r"Failed to execute ip\(?6?\)?tables-(?:restore|save)|ip6?tables-(?:restore|save|legacy-save|legacy-restore)"
        r"(?: v[\d.]{1,12})?: (?:line \d{1,6} failed|[^\n]{0,80}(?:[Ff]ailed|error|Error))|"
        r"Failed to (?:load|detect) iptables|Could not fetch rule set generation|iptables: Bad rule",
        "Felix cannot program iptables on the worker (iptables backend mismatch, lock contention, kernel modules)",
    ),
    _sig(
        "felix-fatal",
        "felix",
        r"\[(?:FATAL|PANIC)\]\[\d{1,10}\] (?:felix|int_dataplane|daemon)[^\n]{0,200}|"
        r"Failed to (?:start|create) (?:the )?dataplane|Failed to create (?:IPv[46] )?dataplane",
        "Felix (the policy and routing agent in calico-node) stopped with a fatal error",
        severity=Severity.CRITICAL,
    ),
    # --- MTU / encapsulation devices -----------------------------------------------------------
    _sig(
        "mtu",
        "encapsulation",
        r"Failed to set (?:vxlan|VXLAN|ipip|IPIP|wireguard) tunnel device MTU|"
        r"(?:VXLAN|vxlan|IPIP|ipip) device MTU needs to be updated|Failed to set MTU|failed to set MTU",
        "the tunnel device's MTU cannot be set (MTU larger than the host interface allows)",
        scope=Scope.OTHER,
        step="set Calico's MTU below the host MTU minus the encapsulation overhead (IKS: Installation calicoNetwork.mtu)",
    ),
    _sig(
        "tunnel-device",
        "encapsulation",
        r"Failed (?:to )?(?:create|configure|add|set up|bring up) (?:the )?(?:VXLAN|vxlan|IPIP|ipip|tunl0|vxlan\.calico)"
        r"[^\n]{0,40}(?:device|tunnel|interface)|"
        r"(?:VXLAN|vxlan|IPIP|ipip) (?:device|tunnel) (?:cannot|could not) be created|"
        r"Error creating (?:VXLAN|vxlan|IPIP|ipip) device",
        "the encapsulation device (vxlan.calico / tunl0) cannot be created on the worker",
        severity=Severity.CRITICAL,
    ),
    # --- IPAM ----------------------------------------------------------------------------------
    _sig(
        "ipam-exhausted",
        "ipam",
        r"Unable to autoassign an address|pools are likely exhausted|No configured Calico pools|"
        r"no (?:more )?free (?:affine )?blocks|failed to request IPv[46] addresses|"
        r"Could not allocate (?:an )?IP|no IP addresses available",
        "IP address management cannot hand out pod addresses (pool exhausted, no pool, block affinity)",
        scope=Scope.OTHER,
        severity=Severity.CRITICAL,
        step="check the IP pools (enabled, size, nodeSelector) and IPAM blocks (calicoctl ipam check)",
    ),
    _sig(
        "ipam-upgrade",
        "ipam",
        r"Unable to upgrade host's IPAM resources|Failed to (?:upgrade|migrate) IPAM",
        "the upgrade-ipam init container cannot convert the worker's IPAM data",
        severity=Severity.CRITICAL,
    ),
    _sig(
        "route-conflict",
        "ipam",
        r"route \S{1,64} already exists for an interface other than",
        "a pod route points at another interface: stale routes or overlapping address ranges on the worker",
        severity=Severity.CRITICAL,
    ),
    # --- CNI plugin, as seen on other pods -------------------------------------------------------
    _sig(
        "cni-nodename",
        "cni",
        r"stat /var/lib/calico/nodename: no such file or directory",
        "the Calico CNI plugin on this worker finds no calico-node: it is not running (or has not started) here",
        severity=Severity.CRITICAL,
        step=_LADDER,
    ),
    _sig(
        "cni-plugin-failed",
        "cni",
        r"plugin type=\"calico\" (?:name=\"[^\"]{0,64}\" )?failed \((?:add|delete|del|check)\)",
        "the Calico CNI plugin fails to set up (or tear down) pod networking on this worker",
        severity=Severity.CRITICAL,
        step=_LADDER,
    ),
    _sig(
        "cni-setup-failed",
        "cni",
        r"failed to set ?up (?:sandbox container \S{1,80} )?network for (?:sandbox|pod)|"
        r"NetworkPlugin cni failed to set up pod|failed to setup network for sandbox",
        "the CNI fails to set up pod networking on this worker",
        severity=Severity.CRITICAL,
        step=_LADDER,
    ),
    _sig(
        "cni-not-initialized",
        "cni",
        r"cni plugin not initialized|cni config uninitialized|No CNI configuration file|"
        r"NetworkPluginNotReady|network plugin is not ready",
        "the kubelet finds no working CNI on the worker: calico's install-cni has not written it",
        severity=Severity.CRITICAL,
        step=_LADDER,
    ),
    # --- host paths, permissions (init containers) --------------------------------------------
    _sig(
        "host-path",
        "host",
        r"(?:read-only file system|[Pp]ermission denied|Operation not permitted)",
        "a calico container cannot write to the worker (host path read-only or not permitted)",
        scope=Scope.INFO,
        severity=Severity.INFO,
    ),
)

BY_ID: dict[str, Signature] = {sig.id: sig for sig in SIGNATURES}
