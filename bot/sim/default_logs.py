"""The logs of a healthy container, made up when a scenario gives none (what `kubectl logs` shows
when nothing is wrong): calico-node, its init containers, typha, kube-controllers, the operator,
CoreDNS and metrics-server."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.sim.facts import Facts, sha
from bot.sim.scenario import calico_log_time, rfc3339


def default_log_text(
    f: Facts,
    pod: str,
    node: str,
    container: str,
    started: datetime,
    now: datetime,
    tunnel_ip: str | None,
    peers: list[str],
) -> str:
    """Plausible logs of a healthy container (what `kubectl logs` shows when nothing is wrong)."""

    def t(seconds: float) -> str:
        return calico_log_time(started + timedelta(seconds=seconds))

    bits = f.cidr_bits
    tunnel = tunnel_ip or "172.30.0.0"
    lines: list[str]
    if container == "calico-node":
        lines = [
            f"{t(0)} [INFO][9] startup/startup.go 427: Early log level set to info",
            f"{t(0)} [INFO][9] startup/utils.go 126: Using NODENAME environment for node name {node}",
            f"{t(0)} [INFO][9] startup/utils.go 138: Determined node name: {node}",
            f"{t(0.01)} [INFO][9] startup/startup.go 94: Starting node {node} with version {f.calico}",
            f"{t(0.01)} [INFO][9] startup/startup.go 432: Checking datastore connection",
            f"{t(0.03)} [INFO][9] startup/startup.go 456: Datastore connection verified",
            f"{t(0.03)} [INFO][9] startup/startup.go 104: Datastore is ready",
            f"{t(0.05)} [INFO][9] startup/startup.go 490: Initialize BGP data",
            f"{t(0.05)} [INFO][9] startup/autodetection_methods.go 103: Using autodetected IPv4 address on interface "
            f"{f.interface}: {node}/{bits}",
            f"{t(0.05)} [INFO][9] startup/startup.go 566: Node IPv4 changed, will check for conflicts",
            f"{t(0.06)} [INFO][9] startup/startup.go 801: No AS number configured on node resource, using global value",
            f"{t(0.06)} [INFO][9] startup/startup.go 255: Using node name: {node}",
            f"{t(0.07)} [INFO][9] startup/utils.go 190: Setting NetworkUnavailable to false",
            f"{t(0.2)} [INFO][58] tunnel-ip-allocator/allocateip.go 309: Current address is still valid, do nothing "
            f'currentAddr="{tunnel}" type="ipipTunnelAddress"',
            "CALICO_NETWORKING_BACKEND is bird",
            "Calico node started successfully",
            f"{t(1.1)} [INFO][68] felix/daemon.go 405: Successfully loaded configuration. "
            f'GOMAXPROCS=4 builddate="" config=&config.Config{{UseInternalDataplaneDriver:true}} version="{f.calico}"',
            f'{t(1.2)} [INFO][68] felix/sync_client.go 150: Connecting to Typha. addr="{peers[0] if peers else node}:5473" '
            f'connID=0x0 type=""',
            f'{t(1.3)} [INFO][68] felix/sync_client.go 190: Connected to Typha. addr="{peers[0] if peers else node}:5473"',
        ]
        for i, peer in enumerate(peers[:4]):
            lines.append(f"bird: Mesh_{peer.replace('.', '_')}: State changed to up")
            if i == 0:
                lines.append(
                    f"{t(2.0)} [INFO][68] felix/health.go 336: Overall health status changed: live=true ready=true"
                )
        lines.append(
            f"{t(2.4)} [INFO][68] felix/int_dataplane.go 1916: Completed first update to dataplane. secsSinceStart=1.31"
        )
        # felix summarises its dataplane loops every minute: the last dozen, up to now
        running = int((now - started).total_seconds())
        first = max(60, running - 12 * 60)
        for i, offset in enumerate(range(first - first % 60 + 60, running, 60)):
            lines.append(
                f"{t(offset + 0.217)} [INFO][68] felix/summary.go 100: Summarising {10 + i % 5} dataplane "
                f"reconciliation loops over 1m0.{i % 9}s: avg={5 + i % 7}ms longest={18 + i % 23}ms "
                "(resync-filter-v4)"
            )
    elif container == "install-cni":
        prefix = "[INFO][1] cni-installer/<nil> <nil>:"
        lines = [f"{t(0)} {prefix} Running as a Kubernetes pod"]
        for binary in (
            "bandwidth",
            "calico",
            "calico-ipam",
            "flannel",
            "host-local",
            "loopback",
            "portmap",
            "tuning",
        ):
            lines.append(
                f'{t(0.1)} {prefix} File is already up to date, skipping file="/host/opt/cni/bin/{binary}"'
            )
        lines += [
            f"{t(0.3)} {prefix} Installed /host/opt/cni/bin/install",
            f"{t(0.3)} {prefix} Wrote Calico CNI binaries to /host/opt/cni/bin",
            f"{t(0.3)} {prefix} CNI plugin version: {f.calico}",
            f"{t(0.3)} {prefix} /host/secondary-bin-dir is not writeable, skipping",
            f"{t(0.4)} [WARNING][1] cni-installer/<nil> <nil>: Neither --kubeconfig nor --master was specified.  "
            "Using the inClusterConfig.  This might not work.",
            f"{t(0.4)} {prefix} Created /host/etc/cni/net.d/calico-kubeconfig",
            f"{t(0.4)} {prefix} Using CNI config template from CNI_NETWORK_CONFIG environment variable.",
            f"{t(0.4)} {prefix} Created /host/etc/cni/net.d/10-calico.conflist",
            f"{t(0.4)} {prefix} Done configuring CNI.  Sleep= false",
        ]
    elif container == "upgrade-ipam":
        lines = [
            f"{t(0)} [INFO][1] ipam/ipam_plugin.go 75: migrating from host-local to calico-ipam...",
            f"{t(0.1)} [INFO][1] ipam/migrate.go 64: checking host-local IPAM data dir dir existence...",
            f"{t(0.1)} [INFO][1] ipam/migrate.go 66: host-local IPAM data dir dir not found; no migration "
            "necessary, successfully exiting...",
        ]
    elif container == "calico-extension":
        lines = [
            f'time="{rfc3339(started)}" level=info msg="calico-extension starting" node={node}',
            f'time="{rfc3339(started)}" level=info msg="ensured HostEndpoint {node}-worker-private"',
            f'time="{rfc3339(started)}" level=info msg="done"',
        ]
    elif container == "calico-typha":
        lines = [
            f"{t(0)} [INFO][1] logutils.go 82: Early screen log level set to info",
            f'{t(0)} [INFO][1] daemon.go 172: Typha starting up GOMAXPROCS=4 buildDate="" version="{f.calico}"',
            f"{t(0.2)} [INFO][1] daemon.go 303: Kubernetes datastore driver handling resource limits",
            f"{t(0.5)} [INFO][1] sync_server.go 391: Server started on port 5473",
            f"{t(1.0)} [INFO][1] sync_server.go 641: Accepted new connection from {peers[0] if peers else node}",
        ]
    elif container == "calico-kube-controllers":
        lines = [
            f"{t(0)} [INFO][1] main.go 107: Loaded configuration from environment "
            'config=&config.Config{LogLevel:"info", WorkloadEndpointWorkers:1, ...}',
            f"{t(0.3)} [INFO][1] main.go 158: Getting initial config snapshot from datastore",
            f"{t(0.4)} [INFO][1] main.go 182: Got initial config snapshot",
            f"{t(0.5)} [INFO][1] node_controller.go 160: Starting Node controller",
        ]
    elif container == "tigera-operator":
        lines = [
            f'{{"level":"info","ts":"{rfc3339(started)}","logger":"setup","msg":"Version","version":"{f.operator}"}}',
            f'{{"level":"info","ts":"{rfc3339(started)}","logger":"controller_installation",'
            '"msg":"Reconciling Installation.operator.tigera.io","Request.Namespace":"","Request.Name":"default"}',
        ]
    elif container == "coredns":
        lines = [
            ".:53",
            "[INFO] plugin/reload: Running configuration SHA512 = " + sha(pod)[:64] * 2,
            "CoreDNS-1.11.3",
            "linux/amd64, go1.22.7, a6338e9",
        ]
    elif container == "metrics-server":
        lines = [
            f"I{started.strftime('%m%d %H:%M:%S')}.000000       1 serving.go:374] Generated self-signed cert "
            "(/tmp/apiserver.crt, /tmp/apiserver.key)",
            f"I{started.strftime('%m%d %H:%M:%S')}.000000       1 secure_serving.go:213] Serving securely on [::]:10250",
        ]
    else:
        return ""
    return "\n".join(lines) + "\n"
