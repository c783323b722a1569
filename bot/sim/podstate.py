"""Pure functions over pod and lease documents that the generator and the simulated controllers
share: the apiserver's probe defaults, crash-loop and readiness state, the operator's "failing
pod" message, MicroTime leases."""

from __future__ import annotations

import re

from bot.sim.store import Json

_PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}


def api_defaults(doc: Json, *, pod: bool) -> Json:
    """The defaults the apiserver fills into a stored pod spec (here: the probes' thresholds and
    periods), for a Pod (`pod`) or a workload's pod template given by a scenario."""
    spec = doc.get("spec") or {}
    template = (spec.get("template") or {}).get("spec") if isinstance(spec.get("template"), dict) else None
    for pod_spec in (spec if pod else None, template):
        if not isinstance(pod_spec, dict):
            continue
        for container in [*(pod_spec.get("initContainers") or []), *(pod_spec.get("containers") or [])]:
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                if isinstance(container.get(probe), dict):
                    for key, value in _PROBE_DEFAULTS.items():
                        container[probe].setdefault(key, value)
    return doc


def crash_waiting_containers(pod: Json) -> set[str]:
    """Containers waiting to restart after a terminated run (CrashLoopBackOff and the like)."""
    status = pod.get("status") or {}
    return {
        str(cs.get("name"))
        for cs in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
        if "waiting" in (cs.get("state") or {}) and (cs.get("lastState") or {}).get("terminated")
    }


_WHOLE_SECONDS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)Z$")


def lease_micro_times(lease: Json) -> Json:
    """A Lease's `renewTime`/`acquireTime` are MicroTime: six fractional digits, as the API always
    writes them (kubectl describe node refuses whole seconds). A scenario's `@now-15m` gives whole
    seconds; they are widened here."""
    spec = lease.get("spec") or {}
    for key in ("renewTime", "acquireTime"):
        value = spec.get(key)
        if isinstance(value, str) and (m := _WHOLE_SECONDS.match(value)):
            spec[key] = f"{m.group(1)}.000000Z"
    return lease


def pod_ready(pod: Json) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def pod_failing_message(pod: Json) -> str:
    """The Tigera operator's "failing pod" message for a pod, or ""."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    ident = f"{meta.get('namespace')}/{meta.get('name')}"
    if status.get("phase") == "Failed":
        return f"Pod {ident} has failed"
    for cs in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        state = cs.get("state") or {}
        waiting = (state.get("waiting") or {}).get("reason")
        if waiting == "CrashLoopBackOff":
            return f"Pod {ident} has crash looping container: {cs.get('name')}"
        if waiting in ("ImagePullBackOff", "ErrImagePull"):
            return f"Pod {ident} failed to pull container image for: {cs.get('name')}"
        if (state.get("terminated") or {}).get("reason") == "Error":
            return f"Pod {ident} has terminated container: {cs.get('name')}"
    return ""
