"""How each install type deploys calico-node: namespace, labels, images, init containers, containers.

The container specs follow the upstream manifests of each flavour (probes, commands, the env that
identifies the flavour), so a check reading the pod spec sees what a real cluster of that kind has:

- `manifest`  Calico's `calico.yaml` (kube-system; `upgrade-ipam`, `install-cni`, `flexvol-driver`;
              exec probes `-felix-live -bird-live` / `-felix-ready -bird-ready`);
- `operator`  the Tigera operator's render (calico-system; `flexvol-driver`, `install-cni`;
              readiness exec `-bird-ready -felix-ready`, liveness httpGet localhost:9099/liveness);
- `canal`     Calico's `canal.yaml` (kube-system DaemonSet `canal`, `k8s-app: canal`, containers
              calico-node + kube-flannel, init `install-cni`);
- `rke2-canal` rancher/rke2-charts `rke2-canal` (DaemonSet = the Helm release name, `k8s-app: canal`,
              rancher/hardened-calico images, `start_runit`, `/usr/bin/calico-node -felix-live`,
              readiness httpGet localhost:9099/readiness, init install-cni + flexvol-driver);
- `microk8s`  MicroK8s' calico.yaml (kube-system calico-node, VXLAN: `-felix-live` / `-felix-ready`
              only, hostPaths under /var/snap/microk8s, init upgrade-ipam + install-cni).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]


@dataclass(frozen=True)
class Profile:
    install: str
    app_label: str
    """The `k8s-app` value of the calico pods."""
    extra_pod_labels: tuple[tuple[str, str], ...]
    service_account: str
    init_containers: tuple[Json, ...]
    containers: tuple[Json, ...]
    termination_grace: int
    ippool: Json
    kube_controllers_image: str
    typha_image: str


def _env(*pairs: tuple[str, Any]) -> list[Json]:
    out: list[Json] = []
    for name, value in pairs:
        if isinstance(value, dict):
            out.append({"name": name, "valueFrom": value})
        else:
            out.append({"name": name, "value": str(value)})
    return out


NODE_NAME = {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}


def _cm(name: str, key: str) -> Json:
    return {"configMapKeyRef": {"name": name, "key": key}}


def _exec(*command: str, period: int = 10, timeout: int = 10, initial: int = 0, failures: int = 3) -> Json:
    probe: Json = {
        "exec": {"command": list(command)},
        "timeoutSeconds": timeout,
        "periodSeconds": period,
        "successThreshold": 1,
        "failureThreshold": failures,
    }
    if initial:
        probe["initialDelaySeconds"] = initial
    return probe


def _http(
    path: str,
    port: int,
    *,
    host: str = "localhost",
    period: int = 10,
    timeout: int = 10,
    initial: int = 0,
    failures: int = 3,
) -> Json:
    get: Json = {"path": path, "port": port, "scheme": "HTTP"}
    if host:
        get["host"] = host
    probe: Json = {
        "httpGet": get,
        "timeoutSeconds": timeout,
        "periodSeconds": period,
        "successThreshold": 1,
        "failureThreshold": failures,
    }
    if initial:
        probe["initialDelaySeconds"] = initial
    return probe


def _container(name: str, image: str, **extra: Any) -> Json:
    doc: Json = {"name": name, "image": image}
    doc.update(extra)
    doc.setdefault("resources", {})
    doc.update(
        {
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
        }
    )
    return doc


def _major_minor(version: str) -> tuple[int, int]:
    parts = version.lstrip("v").split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return 3, 26


def _calico_image(component: str, version: str) -> str:
    """Old manifests named `calico/node:vX`; since v3.15 `docker.io/calico/node:vX`."""
    prefix = "docker.io/" if _major_minor(version) >= (3, 15) else ""
    return f"{prefix}calico/{component}:{version}"


PRIVILEGED = {"securityContext": {"privileged": True}}


def manifest(version: str, *, microk8s: bool = False) -> Profile:
    """Calico's manifest as it was at `version`: install-cni a second container before v3.4 (pods
    `2/2`), `upgrade-ipam` since v3.6, `flexvol-driver` since v3.11, `mount-bpffs` since v3.23;
    HTTP liveness on :9099 before v3.6, then exec `-felix-live -bird-live`."""
    at = _major_minor(version)
    cni, node = _calico_image("cni", version), _calico_image("node", version)
    backend = ("CALICO_NETWORKING_BACKEND", _cm("calico-config", "calico_backend"))
    install_env = [
        ("CNI_CONF_NAME", "10-calico.conflist"),
        ("CNI_NETWORK_CONFIG", _cm("calico-config", "cni_network_config")),
        ("KUBERNETES_NODE_NAME", NODE_NAME),
        ("CNI_MTU", _cm("calico-config", "veth_mtu")),
        ("SLEEP", "false" if at >= (3, 4) else "true"),
    ]
    if microk8s:
        install_env.append(("CNI_NET_DIR", "/var/snap/microk8s/current/args/cni-network"))
    install = _container(
        "install-cni",
        cni,
        command=["/opt/cni/bin/install"] if at >= (3, 14) else ["/install-cni.sh"],
        env=_env(*install_env),
        **PRIVILEGED,
    )
    inits: list[Json] = []
    if at >= (3, 6):
        inits.append(
            _container(
                "upgrade-ipam",
                cni,
                command=["/opt/cni/bin/calico-ipam", "-upgrade"],
                env=_env(("KUBERNETES_NODE_NAME", NODE_NAME), backend),
                **PRIVILEGED,
            )
        )
    sidecars: list[Json] = []
    if at >= (3, 4):
        inits.append(install)
    else:
        sidecars.append(install)
    if not microk8s and at >= (3, 11):
        inits.append(_container("flexvol-driver", _calico_image("pod2daemon-flexvol", version), **PRIVILEGED))
    if not microk8s and at >= (3, 23):
        inits.append(
            _container("mount-bpffs", node, command=["calico-node", "-init", "-best-effort"], **PRIVILEGED)
        )
    bird = () if microk8s else ("-bird-live",)
    bird_ready = () if microk8s else ("-bird-ready",)
    env = _env(
        ("DATASTORE_TYPE", "kubernetes"),
        ("WAIT_FOR_DATASTORE", "true"),
        ("NODENAME", NODE_NAME),
        backend,
        ("CLUSTER_TYPE", "k8s,bgp"),
        ("IP", "autodetect"),
        *(
            (("IP_AUTODETECTION_METHOD", "first-found"), ("CALICO_IPV4POOL_VXLAN", "Always"))
            if microk8s
            else (("CALICO_IPV4POOL_IPIP", "Always"), ("CALICO_IPV4POOL_VXLAN", "Never"))
        ),
        ("FELIX_IPINIPMTU", _cm("calico-config", "veth_mtu")),
        ("CALICO_IPV4POOL_CIDR", "10.1.0.0/16" if microk8s else "192.168.0.0/16"),
        ("CALICO_DISABLE_FILE_LOGGING", "true"),
        ("FELIX_DEFAULTENDPOINTTOHOSTACTION", "ACCEPT"),
        ("FELIX_IPV6SUPPORT", "false"),
        ("FELIX_HEALTHENABLED", "true"),
    )
    if at >= (3, 6):
        liveness = _exec("/bin/calico-node", "-felix-live", *bird, initial=10, failures=6)
    else:
        liveness = _http("/liveness", 9099, host="", initial=10, failures=6, timeout=1)
    if at >= (3, 0):
        readiness = (
            _exec("/bin/calico-node", "-felix-ready", *bird_ready)
            if at >= (3, 6)
            else _exec("/bin/calico-node", "-bird-ready", "-felix-ready", timeout=1)
        )
    else:
        readiness = _http("/readiness", 9099, host="", timeout=1)
    calico_node = _container(
        "calico-node",
        node,
        env=env,
        resources={"requests": {"cpu": "250m"}},
        lifecycle={"preStop": {"exec": {"command": ["/bin/calico-node", "-shutdown"]}}},
        livenessProbe=liveness,
        readinessProbe=readiness,
        **PRIVILEGED,
    )
    pool: Json = (
        {"cidr": "10.1.0.0/16", "vxlanMode": "Always", "ipipMode": "Never"}
        if microk8s
        else {
            "cidr": "192.168.0.0/16",
            "ipipMode": "Always",
            "vxlanMode": "Never",
        }
    )
    return Profile(
        install="microk8s" if microk8s else "manifest",
        app_label="calico-node",
        extra_pod_labels=(),
        service_account="calico-node",
        init_containers=tuple(inits),
        containers=(calico_node, *sidecars),
        termination_grace=0,
        ippool={**pool, "blockSize": 26, "natOutgoing": True, "nodeSelector": "all()"},
        kube_controllers_image=_calico_image("kube-controllers", version),
        typha_image=_calico_image("typha", version),
    )


def operator(version: str) -> Profile:
    node = f"docker.io/calico/node:{version}"
    inits = (
        _container(
            "flexvol-driver",
            f"docker.io/calico/pod2daemon-flexvol:{version}",
            securityContext={"privileged": True, "runAsGroup": 0, "runAsNonRoot": False, "runAsUser": 0},
        ),
        _container(
            "install-cni",
            f"docker.io/calico/cni:{version}",
            command=["/opt/cni/bin/install"],
            env=_env(
                ("CNI_CONF_NAME", "10-calico.conflist"),
                ("SLEEP", "false"),
                ("CNI_NET_DIR", "/etc/cni/net.d"),
                ("CNI_NETWORK_CONFIG", _cm("cni-config", "config")),
                ("KUBERNETES_NODE_NAME", NODE_NAME),
            ),
            securityContext={"privileged": True, "runAsGroup": 0, "runAsNonRoot": False, "runAsUser": 0},
        ),
    )
    calico_node = _container(
        "calico-node",
        node,
        env=_env(
            ("DATASTORE_TYPE", "kubernetes"),
            ("WAIT_FOR_DATASTORE", "true"),
            ("CLUSTER_TYPE", "k8s,operator,bgp"),
            ("CALICO_DISABLE_FILE_LOGGING", "false"),
            ("FELIX_DEFAULTENDPOINTTOHOSTACTION", "ACCEPT"),
            ("FELIX_HEALTHENABLED", "true"),
            ("FELIX_HEALTHPORT", "9099"),
            ("NODENAME", NODE_NAME),
            ("NAMESPACE", {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}),
            ("FELIX_TYPHAK8SNAMESPACE", "calico-system"),
            ("FELIX_TYPHAK8SSERVICENAME", "calico-typha"),
            ("FELIX_TYPHACAFILE", "/etc/pki/tls/certs/tigera-ca-bundle.crt"),
            ("FELIX_TYPHACERTFILE", "/node-certs/tls.crt"),
            ("FELIX_TYPHAKEYFILE", "/node-certs/tls.key"),
            ("FELIX_TYPHACN", "typha-server"),
            ("CALICO_MANAGE_CNI", "true"),
            ("CALICO_NETWORKING_BACKEND", "bird"),
            ("IP", "autodetect"),
            ("IP_AUTODETECTION_METHOD", "first-found"),
            ("NO_DEFAULT_POOLS", "true"),
        ),
        lifecycle={"preStop": {"exec": {"command": ["/bin/calico-node", "-shutdown"]}}},
        livenessProbe=_http("/liveness", 9099),
        readinessProbe=_exec("/bin/calico-node", "-bird-ready", "-felix-ready", period=10),
        securityContext={
            "allowPrivilegeEscalation": True,
            "capabilities": {"drop": ["ALL"]},
            "privileged": True,
            "runAsGroup": 0,
            "runAsNonRoot": False,
            "runAsUser": 0,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    )
    return Profile(
        install="operator",
        app_label="calico-node",
        extra_pod_labels=(("app.kubernetes.io/name", "calico-node"),),
        service_account="calico-node",
        init_containers=inits,
        containers=(calico_node,),
        termination_grace=5,
        ippool={
            "cidr": "192.168.0.0/16",
            "vxlanMode": "CrossSubnet",
            "ipipMode": "Never",
            "blockSize": 26,
            "natOutgoing": True,
            "nodeSelector": "all()",
        },
        kube_controllers_image=f"docker.io/calico/kube-controllers:{version}",
        typha_image=f"docker.io/calico/typha:{version}",
    )


def canal(version: str, *, rke2: bool = False, config_map: str = "canal-config") -> Profile:
    if rke2:
        tag = version if "build" in version else f"{version}-build20230802"
        cni = node = flexvol = f"rancher/hardened-calico:{tag}"
        flannel = "rancher/hardened-flannel:v0.22.1-build20230802"
        binary = "/usr/bin/calico-node"
    else:
        cni, node = _calico_image("cni", version), _calico_image("node", version)
        flexvol = _calico_image("pod2daemon-flexvol", version)
        flannel = (
            "docker.io/flannel/flannel:v0.22.3"
            if _major_minor(version) >= (3, 26)
            else "quay.io/coreos/flannel:v0.15.1"
        )
        binary = "/bin/calico-node"
    install = _container(
        "install-cni",
        cni,
        command=["/opt/cni/bin/install"],
        env=_env(
            (
                "CALICO_CNI_SERVICE_ACCOUNT",
                {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.serviceAccountName"}},
            ),
            ("CNI_CONF_NAME", "10-canal.conflist"),
            ("CNI_NETWORK_CONFIG", _cm(config_map, "cni_network_config")),
            ("KUBERNETES_NODE_NAME", NODE_NAME),
            ("CNI_MTU", _cm(config_map, "veth_mtu")),
            ("SLEEP", "false"),
        ),
        **PRIVILEGED,
    )
    at = _major_minor(version)
    sidecar = not rke2 and at < (3, 4)  # canal before v3.4: install-cni runs as a container (pods 3/3)
    if not rke2 and at < (3, 14):
        install["command"] = ["/install-cni.sh"]
    inits = [] if sidecar else [install]
    if rke2:
        inits.append(
            _container(
                "flexvol-driver",
                flexvol,
                command=["/usr/local/bin/flexvol.sh", "-s", "/usr/local/bin/flexvol", "-i", "flexvoldriver"],
                **PRIVILEGED,
            )
        )
    calico_env = _env(
        ("DATASTORE_TYPE", "kubernetes"),
        ("USE_POD_CIDR", "true"),
        ("WAIT_FOR_DATASTORE", "true"),
        ("NODENAME", NODE_NAME),
        (
            "CALICO_CNI_SERVICE_ACCOUNT",
            {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.serviceAccountName"}},
        ),
        ("CALICO_NETWORKING_BACKEND", "none"),
        ("CLUSTER_TYPE", "k8s,canal"),
        ("FELIX_IPTABLESREFRESHINTERVAL", "60"),
        ("IP", ""),
        ("CALICO_DISABLE_FILE_LOGGING", "true"),
        ("FELIX_DEFAULTENDPOINTTOHOSTACTION", "ACCEPT"),
        ("FELIX_IPV6SUPPORT", "false"),
        ("FELIX_HEALTHENABLED", "true"),
    )
    extra: Json = {"command": ["start_runit"]} if rke2 else {}
    calico_node = _container(
        "calico-node",
        node,
        env=calico_env,
        resources={"requests": {"cpu": "250m"}},
        lifecycle={"preStop": {"exec": {"command": [binary, "-shutdown"]}}},
        livenessProbe=_exec(binary, "-felix-live", initial=10, failures=6)
        if rke2 or at >= (3, 6)
        else _http("/liveness", 9099, host="", initial=10, failures=6, timeout=1),
        readinessProbe=_http("/readiness", 9099),
        **extra,
        **PRIVILEGED,
    )
    kube_flannel = _container(
        "kube-flannel",
        flannel,
        command=["/opt/bin/flanneld", "--ip-masq", "--kube-subnet-mgr"]
        + (["--iptables-forward-rules=false", "--ip-blackhole-route"] if rke2 else []),
        env=_env(
            ("POD_NAME", {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}),
            ("POD_NAMESPACE", {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}),
            ("FLANNELD_IFACE", _cm(config_map, "canal_iface")),
            ("FLANNELD_IP_MASQ", _cm(config_map, "masquerade")),
        ),
        securityContext={"privileged": True}
        if rke2
        else {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}, "privileged": False},
    )
    cidr = "10.42.0.0/16" if rke2 else "10.244.0.0/16"
    return Profile(
        install="rke2-canal" if rke2 else "canal",
        app_label="canal",
        extra_pod_labels=(),
        service_account="canal",
        init_containers=tuple(inits),
        containers=(calico_node, *([install] if sidecar else []), kube_flannel),
        termination_grace=0,
        ippool={
            "cidr": cidr,
            "ipipMode": "Never",
            "vxlanMode": "Never",
            "blockSize": 26,
            "natOutgoing": True,
            "nodeSelector": "all()",
        },
        kube_controllers_image=f"rancher/hardened-calico:{version}-build20230802"
        if rke2
        else _calico_image("kube-controllers", version),
        typha_image=_calico_image("typha", version),
    )


def profile(install: str, version: str, daemonset: str) -> Profile:
    if install == "operator":
        return operator(version)
    if install == "canal":
        return canal(version)
    if install == "rke2-canal":
        return canal(version, rke2=True, config_map=f"{daemonset}-config")
    return manifest(version, microk8s=install == "microk8s")
