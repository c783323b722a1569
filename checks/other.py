"""Calico problems outside the runbook's sections, from the cluster's Calico configuration.

- IP pools: a pool overlapping the service network (IKS default 172.21.0.0/16) or the workers'
  own addresses; no enabled pool at all ("No configured Calico pools").
- The operator: `TigeraStatus calico` Degraded while calico-node does run (image pulls, crash
  loops, migration errors), with its message.
- Deviations from IKS defaults that are prime suspects when Calico misbehaves (reported as info):
  MTU (1480; 1450 on Satellite), IP autodetection, pool encapsulation.
- The IKS 1.28 → 1.29 migration in progress (info; it is not "missing on half the workers"), or
  stuck: the operator reports Calico Degraded, or its log shows errors, while nodes still carry the
  migration label — said in the operator's own words.
- Catalogued problems outside the runbook's sections, quoted from calico-node's logs (MTU and
  tunnel devices) and from other pods' sandbox failures (IPAM: no address for new pods).
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from datetime import datetime

from checks import calico_pods, typha_unhealthy
from checks.calico_crashloop_most_workers import shared_lines
from checks.catalog import BY_ID, Scope
from checks.common import age, event_line
from checks.logscan import error_lines, last_words
from checks.model import Finding, ObjRef, Severity, SituationId
from checks.objects import CALICO_KUBE_CONTROLLERS, TIGERA_OPERATOR, CustomObject
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
    quiet = (
        snapshot.calico_node_pods()
        and not calico_pods.worker_troubles(snapshot, now=now)[0]
        and not typha_unhealthy.check(snapshot, now=now)
    )
    if quiet:
        # with calico-node or typha failing, Degraded only repeats what those findings say
        findings += _tigera_degraded(snapshot)
    findings += _running_with_problems(snapshot, now)
    findings += _other_signatures(snapshot, now)
    findings += _components(snapshot, now)
    findings += _daemonset_warnings(snapshot, now)
    findings += _installation_deviations(snapshot)
    findings += _migration(snapshot, now)
    return findings


def _other_signatures(snapshot: Snapshot, now: datetime) -> list[Finding]:
    """Catalogued problems outside the runbook's sections: calico logs, and other pods' CNI errors."""
    by_sig: dict[str, tuple[list[str], list[str]]] = {}
    for pod, log in snapshot.calico_node_logs():
        for hit in calico_pods.live_hits(snapshot, pod, log):
            if BY_ID[hit.signature].scope == Scope.OTHER:
                nodes, lines = by_sig.setdefault(hit.signature, ([], []))
                where = pod.node_name if pod is not None else log.pod
                if where not in nodes:
                    nodes.append(where)
                lines.append(f"log {log.container} on {where}: {hit.line}")
    troubled = {t.node for t in calico_pods.analyse(snapshot, now=now)[0]}
    cni_only: dict[str, tuple[list[str], list[str]]] = {}
    for node, failures in calico_pods.cni_failures_by_node(snapshot, now).items():
        for failure in failures:
            ref = failure.event.involved_object
            line = f"{event_line(failure.event, now)} (pod {ref.namespace}/{ref.name})"
            for hit in failure.hits:
                if BY_ID[hit.signature].scope == Scope.OTHER:
                    nodes, lines = by_sig.setdefault(hit.signature, ([], []))
                elif node not in troubled and hit.signature not in calico_pods.CNI_SAYS_CALICO_NODE_IS_DOWN:
                    nodes, lines = cni_only.setdefault(hit.signature, ([], []))
                else:
                    continue  # in the worker's own finding
                if node not in nodes:
                    nodes.append(node)
                lines.append(line)
    findings = _cni_beside_running_calico(cni_only)
    for sig_id, (nodes, lines) in by_sig.items():
        sig = BY_ID[sig_id]
        where = nodes[0] if len(nodes) == 1 else f"{len(nodes)} workers"
        findings.append(
            _finding(
                sig.severity,
                f"{sig.meaning[:1].upper()}{sig.meaning[1:]} (on {where})",
                sig.step
                or "Not one of the runbook's sections: gather the data and escalate to armada-network.",
                list(dict.fromkeys(lines))[:6],
                [ObjRef(kind="Node", name=n) for n in nodes[:50]],
            )
        )
    return findings


def _running_with_problems(snapshot: Snapshot, now: datetime) -> list[Finding]:
    """calico-node Ready and steady, yet its probes fail in events or its logs carry an error signature."""
    troubles = [t for t in calico_pods.analyse(snapshot, now=now)[0] if t.kind == calico_pods.RUNNING]
    if not troubles:
        return []
    reasons = Counter(r for t in troubles for r in t.reasons)
    nodes = list(dict.fromkeys(t.node for t in troubles))
    where = nodes[0] if len(nodes) == 1 else f"{len(nodes)} workers"
    severity = (
        Severity.CRITICAL if any(t.severity == Severity.CRITICAL for t in troubles) else Severity.WARNING
    )
    return [
        _finding(
            severity,
            f"calico-node is Running and Ready on {where}, but: {reasons.most_common(1)[0][0]}",
            "calico-node has not restarted and reports Ready, so none of the runbook's worker sections applies; "
            "what its probes or logs say is quoted. Gather the data; if pods on these workers lose "
            "connectivity, follow the runbook ladder for one worker and escalate to armada-network.",
            [
                *shared_lines(troubles),
                *(
                    t.evidence[0] for t in troubles[:5] if t.evidence
                ),  # each pod as `kubectl get pods` shows it
                *(f"{count}× {reason}" for reason, count in reasons.most_common(4)),
            ],
            [ObjRef(kind="Node", name=n) for n in nodes[:50]],
        )
    ]


def _daemonset_warnings(snapshot: Snapshot, now: datetime) -> list[Finding]:
    """Warnings about a calico-node DaemonSet that still has pods (a rollout a webhook or a quota
    blocks): calico-absent-everywhere quotes them when it has none."""
    if not snapshot.calico_node_pods():
        return []
    findings = []
    for ds in snapshot.calico_daemonsets():
        events = [
            e
            for e in snapshot.events_for("DaemonSet", ds.metadata.name, ds.metadata.namespace)
            if e.type == "Warning" and (age(e.last_seen, now) or 0) < calico_pods.EVENT_WINDOW_SECONDS
        ]
        if not events:
            continue
        st = ds.status
        findings.append(
            _finding(
                Severity.WARNING,
                f"DaemonSet {ds.metadata.namespace}/{ds.metadata.name}: {events[0].reason}: {events[0].message}"[
                    :300
                ],
                "The DaemonSet cannot create or place calico-node pods everywhere it should (an admission webhook, "
                "a policy or a quota): workers that lose their calico-node will not get it back.",
                [
                    f"desired {st.desired_number_scheduled}, current {st.current_number_scheduled}, "
                    f"ready {st.number_ready}, up-to-date {st.updated_number_scheduled}",
                    *(event_line(e, now) for e in events[:4]),
                ],
                [ObjRef(kind="DaemonSet", name=ds.metadata.name, namespace=ds.metadata.namespace)],
            )
        )
    return findings


def _components(snapshot: Snapshot, now: datetime) -> list[Finding]:
    """calico-kube-controllers and the Tigera operator judged like calico-node: not Ready, restarting, erroring."""
    findings = []
    for component in (CALICO_KUBE_CONTROLLERS, TIGERA_OPERATOR):
        for trouble in calico_pods.component_troubles(snapshot, component, now=now):
            assert trouble.pod is not None
            pod = trouble.pod
            findings.append(
                _finding(
                    trouble.severity,
                    f"{component} {pod.name} on {pod.node_name or 'no worker'}: {', '.join(trouble.reasons)}",
                    "Not one of the runbook's sections: "
                    + (
                        "calico-kube-controllers keeps Calico's datastore in step with Kubernetes (IPAM garbage "
                        "collection, node and policy sync); "
                        if component == CALICO_KUBE_CONTROLLERS
                        else "the operator installs and upgrades Calico; "
                    )
                    + "its logs say why it fails. Gather them and escalate to armada-network if it persists.",
                    list(trouble.evidence),
                    [ObjRef(kind="Pod", name=pod.name, namespace=pod.namespace)],
                )
            )
    return findings


def _cni_beside_running_calico(by_sig: dict[str, tuple[list[str], list[str]]]) -> list[Finding]:
    """The Calico CNI fails for other pods on workers where calico-node itself runs fine."""
    if not by_sig:
        return []
    nodes = list(dict.fromkeys(n for ns, _lines in by_sig.values() for n in ns))
    lines = list(dict.fromkeys(line for _ns, ls in by_sig.values() for line in ls))
    meanings = "; ".join(BY_ID[sig].meaning for sig in by_sig)
    where = nodes[0] if len(nodes) == 1 else f"{len(nodes)} workers"
    return [
        _finding(
            Severity.CRITICAL,
            f"The Calico CNI plugin fails for new pods on {where} while calico-node runs: {meanings}",
            "Pods on these workers cannot get a network (sandbox creation fails), although calico-node looks "
            "healthy: the CNI plugin's own credentials, RBAC or datastore access is broken. "
            + " ".join(dict.fromkeys(BY_ID[sig].step for sig in by_sig if BY_ID[sig].step)),
            lines[:6],
            [ObjRef(kind="Node", name=n) for n in nodes[:50]],
        )
    ]


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
    """The operator's Degraded conditions (called only while calico-node and typha look fine), with its log errors."""
    findings = []
    for status in snapshot.custom_objects(Read.TIGERA_STATUSES.value):
        for cond in status.status.get("conditions", []) or []:
            if not (
                isinstance(cond, dict) and cond.get("type") == "Degraded" and cond.get("status") == "True"
            ):
                continue
            name = status.metadata.name
            evidence = [f"TigeraStatus {name} Degraded ({cond.get('reason', '')}): {cond.get('message', '')}"]
            for pod in snapshot.component_pods(TIGERA_OPERATOR):
                for log in snapshot.logs_for(pod.namespace, pod.name):
                    evidence += [
                        f"log {pod.name}: {line}" for line in error_lines(log.text, limit=3, min_rank=2)
                    ]
            findings.append(
                _finding(
                    Severity.WARNING,
                    f"The Tigera operator reports {name} Degraded: {cond.get('reason', '')}".rstrip(": "),
                    "IKS shows this as cluster health issue NHC005 (degraded).",
                    evidence,
                    [ObjRef(kind="TigeraStatus", name=name)],
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


def _migration(snapshot: Snapshot, now: datetime) -> list[Finding]:
    labels = Counter(n.metadata.labels.get(MIGRATION_LABEL, "") for n in snapshot.nodes)
    labels.pop("", None)
    if not labels:
        return []
    parts = ", ".join(f"{count} {value}" for value, count in sorted(labels.items()))
    words = _operator_words(snapshot)
    stuck = bool(words) or any(calico_pods.component_troubles(snapshot, TIGERA_OPERATOR, now=now))
    if stuck:
        words += [line for line in _operator_last_words(snapshot) if line not in words]
        return [
            _finding(
                Severity.WARNING,
                f"The kube-system → calico-system migration is stuck: {(words or ['the operator restarts'])[0][:200]}",
                "The Tigera operator moves Calico node by node; nodes still carry the migration label and the "
                "operator reports a problem. Its own words are quoted; the BGP password secret (runbook) and "
                "calico-typha's anti-affinity (not enough untainted workers) are the usual causes.",
                [f"node label {MIGRATION_LABEL}: {parts}", *words],
                [ObjRef(kind="TigeraStatus", name="calico")],
            )
        ]
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


def _operator_words(snapshot: Snapshot) -> list[str]:
    """What the operator says is wrong: TigeraStatus Degraded messages, then its log's error lines."""
    words: list[str] = []
    for status in snapshot.custom_objects(Read.TIGERA_STATUSES.value):
        for cond in status.status.get("conditions", []) or []:
            if not isinstance(cond, dict) or cond.get("status") != "True":
                continue
            if cond.get("type") == "Degraded" or (
                cond.get("type") == "Progressing"
                and cond.get("reason") not in (None, "", "AllObjectsAvailable")
            ):
                words.append(
                    f"TigeraStatus {status.metadata.name} {cond.get('type')} ({cond.get('reason', '')}): "
                    f"{cond.get('message', '')}".strip()
                )
    for pod in snapshot.component_pods(TIGERA_OPERATOR):
        for log in snapshot.logs_for(pod.namespace, pod.name):
            words += [f"log {pod.name}: {line}" for line in error_lines(log.text, limit=3, min_rank=2)]
    return words


def _operator_last_words(snapshot: Snapshot) -> list[str]:
    """The last lines the operator wrote (what it was doing when it stopped making progress)."""
    return [
        f"log {pod.name}: {line}"
        for pod in snapshot.component_pods(TIGERA_OPERATOR)
        for log in snapshot.logs_for(pod.namespace, pod.name)
        for line in last_words(log.text, limit=3)
    ]
