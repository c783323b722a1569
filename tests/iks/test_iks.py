"""`bot.remediation.iks` against the fake IAM + IKS API (`tests/iks/fake_iks.py`, real HTTP on 127.0.0.1):

- the IAM exchange: once for concurrent callers, again at 80 % of the lifetime, again after IKS
  refuses a token (once);
- each action's exact method, path and body; list/get parsing of classic and VPC worker JSON;
- reload refused for VPC workers without calling the action endpoint;
- HTTP/timeout/connection failures mapped to the clear messages, with neither the API key nor a
  token in any exception text or log record;
- the pure helpers: guard_worker_action, not_ready_share, worker_id_for;
- the fake's worker lifecycle (the scenarios later tests build on).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
import pytest

from bot.remediation.iks import (
    DEFAULT_API_URL,
    DEFAULT_IAM_URL,
    IksClient,
    IksConfigError,
    IksError,
    IksRefused,
    IksSettings,
    Worker,
    guard_worker_action,
    not_ready_share,
    parse_worker,
    worker_id_for,
)
from checks.objects import Node
from tests.factories import node, unknown_node
from tests.iks.fake_iks import FakeIks, FakeWorker, ManualClock, default_workers

API_KEY = "fake-api-key-0123456789"
C1 = [f"kube-c1abc-classic-default-0000000{i}" for i in (1, 2, 3)]
V1 = [f"kube-v1xyz-vpc-default-0000000{i}" for i in (1, 2)]


@pytest.fixture(autouse=True)
def _all_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


@pytest.fixture
async def fake() -> AsyncIterator[FakeIks]:
    async with FakeIks(default_workers(), api_key=API_KEY) as started:
        yield started


def settings_for(fake: FakeIks, **kw: Any) -> IksSettings:
    kw.setdefault("api_key", API_KEY)
    kw.setdefault("api_url", fake.api_url)
    kw.setdefault("iam_url", fake.iam_url)
    return IksSettings(**kw)


def iks_calls(fake: FakeIks) -> list[tuple[str, str, Any]]:
    return [(c.method, c.path, c.body) for c in fake.calls if c.path.startswith("/global/")]


def assert_no_secrets(fake: FakeIks, caplog: pytest.LogCaptureFixture, *texts: str) -> None:
    secrets = [API_KEY, *fake.issued_tokens]
    for text in texts:
        for secret in secrets:
            assert secret not in text, text
    for record in caplog.records:
        for secret in secrets:
            assert secret not in record.getMessage(), record
            assert secret not in repr(record.args), record


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# =================================================================================================
# Settings
# =================================================================================================


def test_settings_from_env_defaults_and_overrides() -> None:
    plain = IksSettings.from_env({"IBMCLOUD_API_KEY": " key-1 "})
    assert (plain.api_key, plain.api_url, plain.iam_url, plain.timeout) == (
        "key-1",
        DEFAULT_API_URL,
        DEFAULT_IAM_URL,
        30,
    )
    custom = IksSettings.from_env(
        {
            "IBMCLOUD_API_KEY": "key-2",
            "IKS_API_URL": "https://private.us-south.containers.cloud.ibm.com/global/",
            "IAM_URL": "https://private.iam.cloud.ibm.com/identity/token",
        }
    )
    assert custom.api_url == "https://private.us-south.containers.cloud.ibm.com/global"
    assert custom.iam_url == "https://private.iam.cloud.ibm.com/identity/token"


def test_settings_without_a_key_or_with_bad_urls_say_what_is_wrong() -> None:
    with pytest.raises(IksConfigError) as missing:
        IksSettings.from_env({})
    assert missing.value.problems[0].startswith("IBMCLOUD_API_KEY is not set")
    assert "Operator" in missing.value.problems[0]
    with pytest.raises(IksConfigError) as bad:
        IksSettings.from_env(
            {"IBMCLOUD_API_KEY": "k", "IKS_API_URL": "containers.cloud.ibm.com", "IAM_URL": "ftp://x"}
        )
    assert bad.value.problems == [
        "IKS_API_URL 'containers.cloud.ibm.com' is not an http(s) URL",
        "IAM_URL 'ftp://x' is not an http(s) URL",
    ]


def test_settings_repr_hides_the_key() -> None:
    settings = IksSettings(api_key=API_KEY)
    assert API_KEY not in repr(settings)
    assert API_KEY not in repr(IksClient(settings))


# =================================================================================================
# IAM token
# =================================================================================================


async def test_concurrent_calls_exchange_the_api_key_once(
    fake: FakeIks, caplog: pytest.LogCaptureFixture
) -> None:
    fake.token_delay = 0.2  # every caller arrives while the first exchange is still under way
    async with IksClient(settings_for(fake)) as iks:
        lists = await asyncio.gather(*(iks.list_workers("c1") for _ in range(8)))
    assert [len(workers) for workers in lists] == [3] * 8
    assert fake.token_exchanges == 1
    (exchange,) = [c for c in fake.calls if c.path == "/identity/token"]
    assert exchange.method == "POST"
    assert exchange.content_type == "application/x-www-form-urlencoded"
    assert exchange.accept == "application/json"
    assert exchange.body == {"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": API_KEY}
    listing = [c for c in fake.calls if c.path == "/global/v2/getWorkers"]
    assert len(listing) == 8
    assert {c.authorization for c in listing} == {"Bearer fake-iam-token-1"}
    assert {c.query["showDeleted"] for c in listing} == {"false"}
    assert_no_secrets(fake, caplog)


async def test_the_token_is_refreshed_at_80_percent_of_its_lifetime() -> None:
    clock = ManualClock()
    async with (
        FakeIks(default_workers(), api_key=API_KEY, token_expires_in=100, clock=clock) as fake,
        IksClient(settings_for(fake), clock=clock) as iks,
    ):
        assert await iks.token() == "fake-iam-token-1"
        clock.advance(79)
        await iks.list_workers("c1")
        assert fake.token_exchanges == 1
        clock.advance(2)  # 81 s of 100: past 80 %, still valid at IAM, but refreshed
        await iks.list_workers("c1")
        assert fake.token_exchanges == 2
        assert fake.calls[-1].authorization == "Bearer fake-iam-token-2"


async def test_a_token_iks_refuses_is_exchanged_again_once(fake: FakeIks) -> None:
    async with IksClient(settings_for(fake)) as iks:
        await iks.list_workers("c1")
        fake.revoke_tokens()  # e.g. revoked at IAM before its expiry
        workers = await iks.list_workers("c1")
    assert len(workers) == 3
    assert fake.token_exchanges == 2
    statuses = [c.authorization for c in fake.calls if c.path == "/global/v2/getWorkers"]
    assert statuses == ["Bearer fake-iam-token-1", "Bearer fake-iam-token-1", "Bearer fake-iam-token-2"]


async def test_iks_refusing_every_token_is_reported_as_a_rejected_key(
    fake: FakeIks, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail("getWorkers", 401, "The IAM token could not be validated.", code="E0401", times=5)
    async with IksClient(settings_for(fake)) as iks:
        with pytest.raises(IksError) as raised:
            await iks.list_workers("c1")
    assert raised.value.status == 401
    assert raised.value.message.startswith(
        "IBM Cloud rejected the API key (the IKS API refused its IAM token"
    )
    assert "The IAM token could not be validated. [E0401]" in raised.value.message
    assert len([c for c in fake.calls if c.path == "/global/v2/getWorkers"]) == 2  # one retry, no more
    assert_no_secrets(fake, caplog, str(raised.value))


async def test_an_unknown_api_key_is_rejected_by_iam(fake: FakeIks, caplog: pytest.LogCaptureFixture) -> None:
    wrong = "wrong-key-abcdef987654"
    async with IksClient(settings_for(fake, api_key=wrong)) as iks:
        with pytest.raises(IksError) as raised:
            await iks.reboot("c1", C1[0])
    assert raised.value.status == 400
    assert raised.value.code == "BXNIM0415E"
    assert raised.value.message.startswith(
        "IBM Cloud rejected the API key (IAM answered HTTP 400: BXNIM0415E Provided API key could not be found.)"
    )
    assert iks_calls(fake) == []  # nothing reached IKS
    assert wrong not in str(raised.value)
    assert all(wrong not in r.getMessage() for r in caplog.records)
    assert_no_secrets(fake, caplog, str(raised.value))


# =================================================================================================
# Actions: exact requests
# =================================================================================================


Action = Callable[[IksClient], Awaitable[None]]

ACTIONS: list[tuple[str, Action, tuple[str, str, Any]]] = [
    (
        "reboot",
        lambda iks: iks.reboot("c1", C1[0]),
        ("PUT", f"/global/v1/clusters/c1/workers/{C1[0]}", {"action": "os_reboot", "force": False}),
    ),
    (
        "reload-classic",
        lambda iks: iks.reload("c1", C1[1], vpc=False),
        ("PUT", f"/global/v1/clusters/c1/workers/{C1[1]}", {"action": "reload", "force": False}),
    ),
    (
        "replace-classic",
        lambda iks: iks.replace("c1", C1[2], vpc=False),
        ("POST", "/global/v2/replaceWorker", {"cluster": "c1", "workerID": C1[2], "update": False}),
    ),
    (
        "replace-vpc",
        lambda iks: iks.replace("v1", V1[0], vpc=True),
        ("POST", "/global/v2/vpc/replaceWorker", {"cluster": "v1", "workerID": V1[0], "update": False}),
    ),
    (
        "refresh-master",
        lambda iks: iks.refresh_master("c1"),
        ("PUT", "/global/v1/clusters/c1/masters", {"action": "refresh"}),
    ),
]


@pytest.mark.parametrize(("name", "action", "expected"), ACTIONS, ids=[a[0] for a in ACTIONS])
async def test_each_action_sends_the_exact_request(
    fake: FakeIks, name: str, action: Action, expected: tuple[str, str, Any]
) -> None:
    async with IksClient(settings_for(fake)) as iks:
        await action(iks)
    assert iks_calls(fake) == [expected]
    call = fake.calls[-1]
    assert call.authorization == "Bearer fake-iam-token-1"
    assert call.accept == "application/json"
    assert call.content_type == "application/json"


async def test_reload_without_the_vpc_flag_asks_iks_what_the_worker_is(fake: FakeIks) -> None:
    async with IksClient(settings_for(fake)) as iks:
        await iks.reload("c1", C1[0])
    assert iks_calls(fake) == [
        ("GET", "/global/v2/getWorker", None),
        ("PUT", f"/global/v1/clusters/c1/workers/{C1[0]}", {"action": "reload", "force": False}),
    ]
    assert fake.calls[-2].query == {"cluster": "c1", "worker": C1[0]}


@pytest.mark.parametrize("vpc", [True, None])
async def test_reload_of_a_vpc_worker_is_refused_before_any_action(fake: FakeIks, vpc: bool | None) -> None:
    async with IksClient(settings_for(fake)) as iks:
        with pytest.raises(IksRefused) as raised:
            await iks.reload("v1", V1[0], vpc=vpc)
    assert raised.value.status is None
    assert f"worker {V1[0]} is a VPC virtual worker" in raised.value.message
    assert "VPC virtual workers cannot be reloaded — replace them" in raised.value.message
    assert [m for m, _, _ in iks_calls(fake)] == ([] if vpc else ["GET"])
    assert fake.worker("v1", V1[0]).state == "deployed"


@pytest.mark.parametrize(("cluster", "worker"), [("c1", "../masters"), ("c 1", C1[0]), ("", C1[0])])
async def test_malformed_ids_never_reach_iks(fake: FakeIks, cluster: str, worker: str) -> None:
    async with IksClient(settings_for(fake)) as iks:
        with pytest.raises(ValueError, match="is not a valid IKS"):
            await iks.reboot(cluster, worker)
    assert fake.calls == []


async def test_the_client_must_be_opened_first(fake: FakeIks) -> None:
    with pytest.raises(RuntimeError, match="async with IksClient"):
        await IksClient(settings_for(fake)).list_workers("c1")


# =================================================================================================
# Worker JSON
# =================================================================================================


async def test_list_and_get_parse_classic_and_vpc_workers(fake: FakeIks) -> None:
    fake.workers["c1"][1].state = "deploy_failed"
    fake.workers["c1"][1].health_state = "critical"
    fake.workers["c1"][1].health_message = "Failed to deploy the worker"
    async with IksClient(settings_for(fake)) as iks:
        classic = await iks.list_workers("c1")
        vpc = await iks.list_workers("v1")
        one = await iks.get_worker("v1", V1[1])
    assert classic[0] == Worker(
        id=C1[0],
        state="deployed",
        health_state="normal",
        health_message="Ready",
        pending_operation="",
        pool="default",
        zone="dal10",
        private_ip="10.0.0.1",
        kube_version="1.30.4_1540",
        flavor="b3c.4x16",
        provider="classic",
    )
    assert (classic[1].state, classic[1].health_state, classic[1].health_message) == (
        "deploy_failed",
        "critical",
        "Failed to deploy the worker",
    )
    assert [w.provider for w in vpc] == ["vpc", "vpc"]
    assert one == vpc[1]
    assert (one.id, one.private_ip, one.flavor, one.is_vpc) == (V1[1], "10.240.0.2", "bx2.4x16", True)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (  # v2 with an explicit provider field; the primary interface wins
            {
                "id": "w-a",
                "provider": "vpc-gen2",
                "lifecycle": {"actualState": "Deployed", "pendingOperation": "reload"},
                "health": {"state": "warning", "message": "Reloading"},
                "networkInterfaces": [
                    {"ipAddress": "10.1.0.9", "primary": False},
                    {"ipAddress": "10.1.0.5", "primary": True},
                ],
                "kubeVersion": {"actual": "1.31.2_1530"},
                "poolName": "edge",
                "location": "us-south-1",
                "flavor": "cx2.2x4",
            },
            Worker(
                "w-a",
                "deployed",
                "warning",
                "Reloading",
                "reload",
                "edge",
                "us-south-1",
                "10.1.0.5",
                "1.31.2_1530",
                "cx2.2x4",
                "vpc",
            ),
        ),
        (  # v2 classic shape, provider field says classic
            {
                "id": "w-b",
                "provider": "classic",
                "lifecycle": {"actualState": "provision_failed"},
                "health": {"state": "critical", "message": "Provisioning failed"},
                "networkInformation": {"privateIP": "10.2.0.7"},
            },
            Worker(
                "w-b",
                "provision_failed",
                "critical",
                "Provisioning failed",
                "",
                "",
                "",
                "10.2.0.7",
                "",
                "",
                "classic",
            ),
        ),
        (  # v1 shape
            {
                "id": "w-c",
                "state": "normal",
                "status": "Ready",
                "privateIP": "10.3.0.1",
                "privateVlan": "123",
                "poolName": "default",
                "location": "dal12",
                "kubeVersion": "1.30.4_1540",
                "machineType": "b3c.16x64",
            },
            Worker(
                "w-c",
                "normal",
                "normal",
                "Ready",
                "",
                "default",
                "dal12",
                "10.3.0.1",
                "1.30.4_1540",
                "b3c.16x64",
                "classic",
            ),
        ),
        (  # junk types never crash the parser
            {"id": 7, "lifecycle": "x", "health": None, "networkInterfaces": [None, {"ipAddress": 3}]},
            Worker("", provider="vpc"),
        ),
    ],
    ids=["v2-vpc-explicit", "v2-classic", "v1", "junk"],
)
def test_parse_worker_shapes(data: dict[str, Any], expected: Worker) -> None:
    assert parse_worker(data) == expected


# =================================================================================================
# Errors
# =================================================================================================


Scenario = Callable[[FakeIks, IksClient], Awaitable[None]]


async def _reboot_w1(fake: FakeIks, iks: IksClient) -> None:
    await iks.reboot("c1", C1[0])


async def _list_c1(fake: FakeIks, iks: IksClient) -> None:
    await iks.list_workers("c1")


async def _forbidden_reboot(fake: FakeIks, iks: IksClient) -> None:
    fake.fail(
        "workerAction",
        403,
        "You are not authorized to perform this action.",
        code="E0403",
        kind="Authorization",
    )
    await iks.reboot("c1", C1[0])


async def _forbidden_list(fake: FakeIks, iks: IksClient) -> None:
    fake.fail("getWorkers", 403, "You are not authorized to view this cluster.", code="E0403")
    await iks.list_workers("c1")


async def _unknown_cluster(fake: FakeIks, iks: IksClient) -> None:
    await iks.list_workers("nosuch")


async def _unknown_worker(fake: FakeIks, iks: IksClient) -> None:
    await iks.reboot("c1", "kube-c1abc-classic-default-00000099")


async def _reboot_twice(fake: FakeIks, iks: IksClient) -> None:
    await iks.reboot("c1", C1[0])
    await iks.reload("c1", C1[0], vpc=False)


async def _refresh_twice(fake: FakeIks, iks: IksClient) -> None:
    await iks.refresh_master("c1")
    await iks.refresh_master("c1")


async def _server_error(fake: FakeIks, iks: IksClient) -> None:
    fake.fail("workerAction", 500, "An internal error occurred.", code="E0500")
    await iks.reboot("c1", C1[0])


async def _bad_request(fake: FakeIks, iks: IksClient) -> None:
    await iks.replace("c1", C1[0], vpc=True)  # a classic worker on the VPC path: the fake says 400


async def _echoed_secrets(fake: FakeIks, iks: IksClient) -> None:
    token = await iks.token()
    fake.fail("workerAction", 500, f"upstream said apikey={API_KEY} token={token}", code="E0500")
    await iks.reboot("c1", C1[0])


async def _long_description(fake: FakeIks, iks: IksClient) -> None:
    fake.fail("getWorkers", 500, "x" * 5000, code="E0500")
    await iks.list_workers("c1")


ERRORS: list[tuple[str, Scenario, int | None, list[str]]] = [
    (
        "403-action",
        _forbidden_reboot,
        403,
        [
            "the API key's identity lacks the IAM Operator role on containers-kubernetes for cluster c1 "
            "(reboot-worker needs Operator;",
            '"OS Reloads and Rescue Kernel"',
            "(IKS: You are not authorized to perform this action. [E0403])",
        ],
    ),
    (
        "403-read",
        _forbidden_list,
        403,
        [
            "the API key's identity lacks the IAM Viewer role on containers-kubernetes for cluster c1 "
            "(listing workers needs Viewer) (IKS: You are not authorized to view this cluster. [E0403])"
        ],
    ),
    (
        "404-cluster",
        _unknown_cluster,
        404,
        [
            "IKS does not know cluster nosuch (IKS: The specified cluster 'nosuch' could not be found. [E0404C])"
        ],
    ),
    (
        "404-worker",
        _unknown_worker,
        404,
        [
            "IKS does not know worker kube-c1abc-classic-default-00000099 in cluster c1 (IKS: The specified worker"
        ],
    ),
    (
        "409-worker",
        _reboot_twice,
        409,
        [
            f"an operation is already running on worker {C1[0]} (The worker node '{C1[0]}' has a pending operation"
        ],
    ),
    (
        "409-master",
        _refresh_twice,
        409,
        [
            "an operation is already running on the master of cluster c1 (A master operation is already in progress"
        ],
    ),
    (
        "500",
        _server_error,
        500,
        [
            f"the IKS API did not answer reboot-worker for worker {C1[0]} in cluster c1 (HTTP 500: An internal error"
        ],
    ),
    (
        "400",
        _bad_request,
        400,
        [
            f"the IKS API refused replace-worker for worker {C1[0]} in cluster c1 (HTTP 400: Worker '{C1[0]}' is a classic"
        ],
    ),
    ("echoed-secrets", _echoed_secrets, 500, ["upstream said apikey=[redacted] token=[redacted]"]),
    ("long-description", _long_description, 500, ["(HTTP 500: xxxxxxxx", "xxxx… [E0500]); try again"]),
]


@pytest.mark.parametrize(("name", "scenario", "status", "fragments"), ERRORS, ids=[e[0] for e in ERRORS])
async def test_http_errors_are_clear_messages_without_secrets(
    fake: FakeIks,
    caplog: pytest.LogCaptureFixture,
    name: str,
    scenario: Scenario,
    status: int,
    fragments: list[str],
) -> None:
    async with IksClient(settings_for(fake)) as iks:
        with pytest.raises(IksError) as raised:
            await scenario(fake, iks)
    error = raised.value
    assert error.status == status
    for fragment in fragments:
        assert fragment in error.message, error.message
    assert str(error) == error.message
    assert len(error.message) < 600
    assert error.code.startswith("E")
    assert error.incident_id.startswith("fake-incident-")
    assert any(r.levelno == logging.WARNING and error.message in r.getMessage() for r in caplog.records)
    assert_no_secrets(fake, caplog, str(error), repr(error), error.code)


async def test_a_silent_iks_api_times_out(fake: FakeIks, caplog: pytest.LogCaptureFixture) -> None:
    fake.hang("workerAction")
    async with IksClient(settings_for(fake, timeout=0.5)) as iks:
        with pytest.raises(IksError) as raised:
            await asyncio.wait_for(iks.reboot("c1", C1[0]), 10)
    assert raised.value.status is None
    assert raised.value.message == (
        f"the IKS API did not answer within 0.5 s (reboot-worker for worker {C1[0]} in cluster c1)"
    )
    assert raised.value.__cause__ is None
    assert_no_secrets(fake, caplog, str(raised.value))


async def test_a_silent_iam_times_out(fake: FakeIks, caplog: pytest.LogCaptureFixture) -> None:
    fake.hang("token")
    async with IksClient(settings_for(fake, timeout=0.5)) as iks:
        with pytest.raises(IksError) as raised:
            await asyncio.wait_for(iks.list_workers("c1"), 10)
    assert raised.value.message.startswith("IBM Cloud IAM (http://127.0.0.1:")
    assert raised.value.message.endswith("did not answer within 0.5 s when asked for a token")
    assert iks_calls(fake) == []
    assert_no_secrets(fake, caplog, str(raised.value))


async def test_an_unreachable_iks_api_is_reported(fake: FakeIks, caplog: pytest.LogCaptureFixture) -> None:
    port = closed_port()
    async with IksClient(settings_for(fake, api_url=f"http://127.0.0.1:{port}/global", timeout=5)) as iks:
        with pytest.raises(IksError) as raised:
            await iks.refresh_master("c1")
    assert raised.value.status is None
    assert raised.value.message.startswith(
        f"the IKS API did not answer (refresh-master for cluster c1): could not reach http://127.0.0.1:{port}: "
    )
    assert raised.value.__cause__ is None
    assert fake.token_exchanges == 1  # IAM worked
    assert_no_secrets(fake, caplog, str(raised.value))


async def test_an_unreachable_iam_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    port = closed_port()
    settings = IksSettings(
        api_key=API_KEY,
        api_url=f"http://127.0.0.1:{port}/global",
        iam_url=f"http://127.0.0.1:{port}/identity/token",
    )
    async with IksClient(settings) as iks:
        with pytest.raises(IksError) as raised:
            await iks.list_workers("c1")
    assert raised.value.message.startswith(f"IBM Cloud IAM (http://127.0.0.1:{port}) could not be reached: ")
    assert API_KEY not in raised.value.message
    assert all(API_KEY not in r.getMessage() for r in caplog.records)


# =================================================================================================
# Guard rails and node -> worker
# =================================================================================================


def _workers(*states: str) -> list[Worker]:
    return [Worker(id=f"w{i}", state=state, health_message="msg") for i, state in enumerate(states, 1)]


@pytest.mark.parametrize(
    ("workers", "share", "limit", "refusal"),
    [
        (_workers("deployed", "deployed", "deployed"), 0.0, 0.3, None),
        (
            _workers("deployed", "deploy_failed", "deployed"),
            0.0,
            0.3,
            "worker w2 is in state deploy_failed (msg)",
        ),
        (
            _workers("deployed", "deployed", "provision_failed"),
            0.0,
            0.3,
            "worker w3 is in state provision_failed",
        ),
        (_workers("deployed", "deploying", "deployed"), 0.0, 0.3, "worker w2 is deploying"),
        (_workers("deployed", "provisioning"), 0.0, 0.3, "worker w2 is provisioning"),
        (_workers("deployed", "reloading"), 0.0, 0.3, "worker w2 is reloading"),
        (_workers("deploy_failed", "deployed"), 0.0, 0.3, None),  # the target's own state does not block
        (_workers("deployed", "deleted", "normal", "critical"), 0.0, 0.3, None),
        (
            _workers("deployed", "deployed"),
            0.4,
            0.3,
            "40% of the other workers are already NotReady (the limit is 30%)",
        ),
        (_workers("deployed", "deployed"), 0.3, 0.3, None),  # at the limit: allowed
        (_workers("deployed", "deployed"), 0.4, 0.5, None),
        ([], 1.0, 0.3, "100% of the other workers are already NotReady"),
    ],
)
def test_guard_worker_action(workers: list[Worker], share: float, limit: float, refusal: str | None) -> None:
    reason = guard_worker_action(workers, target_id="w1", not_ready_share=share, max_not_ready_share=limit)
    if refusal is None:
        assert reason is None
    else:
        assert reason is not None
        assert reason.startswith(refusal), reason


def test_guard_rejects_shares_outside_0_to_1() -> None:
    with pytest.raises(ValueError, match="not_ready_share"):
        guard_worker_action([], target_id="w1", not_ready_share=40)
    with pytest.raises(ValueError, match="max_not_ready_share"):
        guard_worker_action([], target_id="w1", not_ready_share=0.1, max_not_ready_share=-0.1)


def test_not_ready_share_leaves_the_target_out() -> None:
    nodes = [
        node("10.0.0.1"),
        node("10.0.0.2"),
        node("10.0.0.3"),
        unknown_node("10.0.0.4"),
        unknown_node("10.0.0.5"),
    ]
    assert not_ready_share(nodes, excluding="10.0.0.5") == pytest.approx(1 / 4)
    assert not_ready_share(nodes) == pytest.approx(2 / 5)
    assert not_ready_share([unknown_node("10.0.0.9")], excluding="10.0.0.9") == 0.0


def _node(labels: dict[str, str], provider_id: str = "") -> Node:
    return msgspec.convert(
        {"metadata": {"name": "10.0.0.1", "labels": labels}, "spec": {"providerID": provider_id}}, Node
    )


def test_worker_id_for_a_node() -> None:
    assert worker_id_for(node("10.0.0.7")) == "kube-c1-10007"  # the factory's label
    from_provider = _node({}, "ibm://acct123///clusterid/kube-clusterid-w1")
    assert worker_id_for(from_provider) == "kube-clusterid-w1"
    both = _node(
        {"ibm-cloud.kubernetes.io/worker-id": "kube-label-w9"}, "ibm://acct///clusterid/kube-other-w1"
    )
    assert worker_id_for(both) == "kube-label-w9"
    with pytest.raises(ValueError, match="neither the label"):
        worker_id_for(_node({}))


# =================================================================================================
# The fake's lifecycle (what scenario tests rely on)
# =================================================================================================


async def test_reboot_takes_the_node_down_for_a_while_and_back() -> None:
    clock = ManualClock()
    async with (
        FakeIks(default_workers(), api_key=API_KEY, reboot_seconds=60, clock=clock) as fake,
        IksClient(settings_for(fake), clock=clock) as iks,
    ):
        await iks.reboot("c1", C1[0])
        during = await iks.get_worker("c1", C1[0])
        assert (during.state, during.pending_operation) == ("reloading", "os_reboot")
        assert not fake.node_ready("c1", C1[0])
        assert fake.node_ready("c1", C1[1])
        reason = guard_worker_action(await iks.list_workers("c1"), target_id=C1[1], not_ready_share=0.0)
        assert reason is not None
        assert reason.startswith(f"worker {C1[0]} is reloading")
        clock.advance(61)
        after = await iks.get_worker("c1", C1[0])
        assert (after.state, after.health_state, after.pending_operation) == ("deployed", "normal", "")
        assert fake.node_ready("c1", C1[0])
        await iks.reboot("c1", C1[0])  # no 409 once the first one is done


async def test_a_worker_only_a_reload_fixes() -> None:
    clock = ManualClock()
    sick = FakeWorker(
        id="kube-c9-w1",
        node_ready=False,
        health_state="critical",
        health_message="Not Ready",
        fixed_by=frozenset({"reload"}),
    )
    async with (
        FakeIks({"c9": [sick]}, api_key=API_KEY, reboot_seconds=60, reload_seconds=300, clock=clock) as fake,
        IksClient(settings_for(fake), clock=clock) as iks,
    ):
        await iks.reboot("c9", "kube-c9-w1")
        clock.advance(61)
        assert (await iks.get_worker("c9", "kube-c9-w1")).health_state == "critical"
        assert not fake.node_ready("c9", "kube-c9-w1")
        await iks.reload("c9", "kube-c9-w1")
        clock.advance(200)
        assert (await iks.get_worker("c9", "kube-c9-w1")).state == "reloading"
        clock.advance(101)
        assert (await iks.get_worker("c9", "kube-c9-w1")).health_state == "normal"
        assert fake.node_ready("c9", "kube-c9-w1")


async def test_replace_deletes_the_old_worker_and_provisions_a_new_one() -> None:
    clock = ManualClock()
    async with (
        FakeIks(default_workers(), api_key=API_KEY, replace_seconds=600, clock=clock) as fake,
        IksClient(settings_for(fake), clock=clock) as iks,
    ):
        await iks.replace("v1", V1[0], vpc=True)
        new_id = fake.replacements[("v1", V1[0])]
        assert new_id not in V1
        states = {w.id: w.state for w in await iks.list_workers("v1")}
        assert states == {V1[0]: "deleting", V1[1]: "deployed", new_id: "provisioning"}
        with pytest.raises(IksError, match="an operation is already running"):
            await iks.replace("v1", V1[0], vpc=True)
        clock.advance(301)
        assert (await iks.get_worker("v1", new_id)).state == "deploying"
        clock.advance(300)
        workers = await iks.list_workers("v1")
        assert {w.id: w.state for w in workers} == {V1[1]: "deployed", new_id: "deployed"}
        new = next(w for w in workers if w.id == new_id)
        assert new.private_ip != "10.240.0.1"
        assert new.is_vpc
        assert fake.node_ready("v1", new_id)
        assert not fake.node_ready("v1", V1[0])
        with pytest.raises(IksError, match=f"IKS does not know worker {V1[0]} in cluster v1"):
            await iks.get_worker("v1", V1[0])
