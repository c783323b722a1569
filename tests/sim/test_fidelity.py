"""Object fidelity of every built-in scenario (issue #12 item 4): what kubectl and the bot look up
by uid finds its object, quoted pod uids are the pod's, lease times are MicroTime, scenario files
hold no fixed dates, and pods carry the probe defaults the apiserver stores."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.sim import SimCluster, scenario_names
from bot.sim.generate import EVENTS, LEASES, PODS
from bot.sim.scenario import SCENARIO_DIR
from bot.sim.store import type_for_object

NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
QUOTED = re.compile(r"([a-z0-9][-a-z0-9.]*)_([a-z0-9-]+)\(([0-9a-f-]{36})\)")


@pytest.mark.parametrize("scenario", scenario_names())
def test_events_name_their_objects_uid(scenario: str) -> None:
    sim = SimCluster(scenario, now=NOW)
    for obj in sim.store.objects(EVENTS):
        event = obj.doc()
        ref = event["involvedObject"]
        assert ref.get("uid"), f"{obj.name}: no involvedObject.uid"
        rtype = type_for_object(ref.get("apiVersion", "v1"), ref["kind"])
        assert rtype is not None
        target = sim.store.find(rtype, ref.get("namespace", "") if rtype.namespaced else "", ref["name"])
        if target is not None:
            uid = target.doc()["metadata"]["uid"]
            kubelet_node_event = ref["kind"] == "Node" and event["source"].get("component") == "kubelet"
            assert ref["uid"] == (ref["name"] if kubelet_node_event else uid), obj.name
        for name, namespace, uid in QUOTED.findall(event.get("message", "")):
            pod = sim.store.find(PODS, namespace, name)
            assert pod is None or pod.doc()["metadata"]["uid"] == uid, event["message"]


@pytest.mark.parametrize("scenario", scenario_names())
def test_quoted_uids_leases_and_probe_defaults(scenario: str) -> None:
    sim = SimCluster(scenario, now=NOW)
    for obj in sim.store.objects(PODS):
        pod = obj.doc()
        status = pod.get("status") or {}
        for cs in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
            message = ((cs.get("state") or {}).get("waiting") or {}).get("message", "")
            for name, namespace, uid in QUOTED.findall(message):
                assert (name, namespace, uid) == (obj.name, obj.namespace, pod["metadata"]["uid"]), message
        for container in [*(pod["spec"].get("initContainers") or []), *pod["spec"]["containers"]]:
            for probe in ("livenessProbe", "readinessProbe"):
                if probe in container:
                    assert container[probe]["successThreshold"] >= 1, (obj.name, probe)
                    assert container[probe]["failureThreshold"] >= 1, (obj.name, probe)
    for obj in sim.store.objects(LEASES):
        renew = obj.doc()["spec"].get("renewTime")
        assert renew is None or re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", renew), renew


def test_scenario_files_hold_no_fixed_dates() -> None:
    dated = [
        f"{path.name}:{n}: {line.strip()[:80]}"
        for path in sorted(SCENARIO_DIR.glob("*.yaml"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\b(19|20)\d\d-\d\d-\d\d", line)
    ]
    assert dated == []


def test_log_time_anywhere() -> None:
    from bot.sim.scenario import resolve_text

    assert resolve_text("probe: ${@now-20s|log} [INFO]", NOW) == "probe: 2026-03-14 11:59:40.000 [INFO]"
    assert resolve_text("at ${@now-20s}", NOW) == "at 2026-03-14T11:59:40Z"
