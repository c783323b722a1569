"""Calico problems outside the runbook's sections, from the cluster's Calico configuration.

- IP pools: a pool overlapping the service network (IKS default 172.21.0.0/16) or the workers'
  own addresses; no enabled pool at all ("No configured Calico pools").
- The operator: `TigeraStatus calico` Degraded while calico-node does run (image pulls, crash
  loops, migration errors), with its message.
- Deviations from IKS defaults that are prime suspects when Calico misbehaves (reported as info):
  MTU (1480; 1450 on Satellite), IP autodetection, pool encapsulation.
- The IKS 1.28 → 1.29 migration in progress (info; it is not "missing on half the workers").
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from datetime import datetime

from checks import calico_pods, typha_unhealthy
from checks.model import Finding, ObjRef, Severity, SituationId
from checks.objects import CustomObject
from checks.snapshot import Read, Snapshot

CHECK_ID = "other"
SERVICE_CIDR = ipaddress.ip_network("172.21.0.0/16")
IKS_MTUS = (1480, 1450)
IKS_AUTODETECT = "(^bond0$|^eth0$|^ens6$|^ens3$)"
MIGRATION_LABEL = "projectcalico.org/operator-node-migration"


def _finding(
    severity: Severity, title: str, detail: str, evidence: list[str], objects: list[ObjRef]
) -> Finding:
    return Finding(
        check=CHECK_ID,
        situation=SituationId.OTHER,
        severity=severity,
        title=title,
        detail=detail,
        evidence=tuple(evidence),
        objects=tuple(objects),
    )


def check(snapshot: Snapshot, *, now: datetime) -> list[Finding]:
    findings: list[Finding] = []
    if snapshot.read_ok(Read.IP_POOLS):
        findings += _ip_pools(snapshot, snapshot.custom_objects(Read.IP_POOLS.value))
    if (
        snapshot.calico_node_pods()
        and not calico_pods.analyse(snapshot, now=now)[0]
        and not typha_unhealthy.check(snapshot, now=now)
    ):
        # with calico-node or typha failing, Degraded only repeats what those findings say
        findings += _tigera_degraded(snapshot)
    findings += _installation_deviations(snapshot)
    findings += _migration(snapshot)
    return findings


def _ip_pools(snapshot: Snapshot, pools: tuple[CustomObject, ...]) -> list[Finding]:
    findings: list[Finding] = []
    v4 = [p for p in pools if ":" not in str(p.spec.get("cidr", ""))]
    if v4 and all(p.spec.get("disabled") for p in v4):
        findings.append(
            _finding(
                Severity.CRITICAL,
                "Every IPv4 IP pool is disabled: new pods get no address",
                "CNI reports 'No configured Calico pools' / 'failed to request IPv4 addresses'.",
                [f"IPPool {p.metadata.name} {p.spec.get('cidr')} disabled" for p in v4],
                [ObjRef(kind="IPPool", name=p.metadata.name) for p in v4],
            )
        )
    worker_ips = [ip for ip in (n.address() for n in snapshot.nodes) if ip]
    for pool in v4:
        try:
            cidr = ipaddress.ip_network(str(pool.spec.get("cidr", "")), strict=False)
        except ValueError:
            continue
        clashes = []
        if cidr.overlaps(SERVICE_CIDR):
            clashes.append(f"the IKS service network {SERVICE_CIDR}")
        inside = [ip for ip in worker_ips if _in(ip, cidr)]
        if inside:
            clashes.append(f"{len(inside)} worker address(es), e.g. {inside[0]}")
        if clashes and not pool.spec.get("disabled"):
            findings.append(
                _finding(
                    Severity.WARNING,
                    f"IP pool {pool.metadata.name} ({cidr}) overlaps {' and '.join(clashes)}",
                    "Pod addresses that collide with services or workers break routing (calico-node cannot "
                    "reach the apiserver, cross-node traffic fails). IKS's pool is 172.30.0.0/16.",
                    [f"IPPool {pool.metadata.name} cidr {cidr}"],
                    [ObjRef(kind="IPPool", name=pool.metadata.name)],
                )
            )
    return findings


def _in(ip: str, cidr: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(ip) in cidr
    except ValueError:
        return False


def _tigera_degraded(snapshot: Snapshot) -> list[Finding]:
    findings = []
    for status in snapshot.custom_objects(Read.TIGERA_STATUSES.value):
        if status.metadata.name != "calico":
            continue
        for cond in status.status.get("conditions", []) or []:
            message = str(cond.get("message", "")) if isinstance(cond, dict) else ""
            if "calico-node" in message or "calico-typha" in message:
                continue  # a pod the pod checks judge themselves
            if isinstance(cond, dict) and cond.get("type") == "Degraded" and cond.get("status") == "True":
                findings.append(
                    _finding(
                        Severity.WARNING,
                        f"The Tigera operator reports Calico Degraded: {cond.get('reason', '')}".rstrip(": "),
                        "IKS shows this as cluster health issue NHC005 (degraded).",
                        [f"TigeraStatus calico Degraded: {cond.get('message', '')}"],
                        [ObjRef(kind="TigeraStatus", name="calico")],
                    )
                )
    return findings


def _installation_deviations(snapshot: Snapshot) -> list[Finding]:
    evidence = []
    for inst in snapshot.custom_objects(Read.INSTALLATIONS.value):
        network = inst.spec.get("calicoNetwork") or {}
        mtu = network.get("mtu")
        if isinstance(mtu, int) and mtu not in IKS_MTUS:
            evidence.append(f"Installation {inst.metadata.name}: calicoNetwork.mtu {mtu} (IKS default 1480)")
        auto = (network.get("nodeAddressAutodetectionV4") or {}).get("interface")
        if auto and auto != IKS_AUTODETECT:
            evidence.append(
                f"Installation {inst.metadata.name}: nodeAddressAutodetectionV4.interface {auto!r} (IKS: {IKS_AUTODETECT})"
            )
    for pool in snapshot.custom_objects(Read.IP_POOLS.value):
        encapsulation = pool.spec.get("ipipMode") or pool.spec.get("encapsulation")
        if encapsulation and encapsulation not in ("CrossSubnet", "IPIPCrossSubnet"):
            evidence.append(
                f"IPPool {pool.metadata.name}: encapsulation {encapsulation} (IKS: IPIP CrossSubnet)"
            )
    if not evidence:
        return []
    return [
        _finding(
            Severity.INFO,
            "Calico settings differ from the IKS defaults",
            "Only settings the IKS documentation describes (such as the MTU) may be changed; others are unsupported "
            "and are the first suspects when Calico misbehaves.",
            evidence,
            [],
        )
    ]


def _migration(snapshot: Snapshot) -> list[Finding]:
    labels = Counter(n.metadata.labels.get(MIGRATION_LABEL, "") for n in snapshot.nodes)
    labels.pop("", None)
    if not labels:
        return []
    parts = ", ".join(f"{count} {value}" for value, count in sorted(labels.items()))
    return [
        _finding(
            Severity.INFO,
            f"Calico is migrating from kube-system to calico-system (IKS 1.29 update): {parts}",
            "During the migration the kube-system DaemonSet serves the pre-operator workers and the calico-system "
            "DaemonSet the migrated ones; it is done when no node carries the migration label.",
            [f"node label {MIGRATION_LABEL}: {parts}"],
            [],
        )
    ]
