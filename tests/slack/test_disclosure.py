"""Error cards and replies in a channel disclose nothing about the host (issue #11 item 7): server
addresses, URLs and local paths are hidden from channel text (`bot.slack.disclosure.public_text`), the full
text goes to the log, and the requester's private details go to the requester alone.
- `public_text` on the texts the bot's adapters really produce (urllib3, aiohttp, IKS, Redis, kubeconfig);
- an approved cordon whose API server stops answering TLS: the thread, the card and the history name
  no address, the log has it;
- Redis unreachable: the clicker is told Redis is down, without its address.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.cluster.sources import ClusterAccess
from bot.queue.jobs import InProcessQueue
from bot.remediation.approvals import ApprovalPolicy
from bot.remediation.flow import Remediation
from bot.sim.source import SIMULATED
from bot.slack.api import SlackPoster, make_client
from bot.slack.disclosure import HIDDEN, PATH_HIDDEN, channel_safe, public_text
from bot.store.redis_store import Store
from tests.slack.fake_slack import FakeSlack
from tests.slack.inproc import REDIS_URL, InProcessBot
from tests.slack.processes import approval_id_of, sim_process
from tests.slack.signing import block_actions_body

WORKER = "10.188.156.137"


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        (
            "read node: HTTPSConnectionPool(host='c100.us-south.containers.cloud.ibm.com', port=30426): "
            "Max retries exceeded",
            ["c100.us-south", "30426"],
            ["read node", "Max retries exceeded"],
        ),
        (
            "the IKS API did not answer (GET worker): could not reach https://containers.cloud.ibm.com:443: "
            "ClientConnectorError",
            ["containers.cloud.ibm.com", ":443"],
            ["the IKS API did not answer"],
        ),
        (
            "Redis at redis://redis.calico-bot.svc:6379/0 is unreachable",
            ["redis.calico-bot.svc", "6379"],
            ["Redis"],
        ),
        ("API server 10.0.0.5:6443: connection refused", ["10.0.0.5:6443"], ["connection refused"]),
        ("looked in /home/sre/.kube/config; known clusters: a", ["/home/sre"], ["known clusters"]),
        ("kubeconfig /tmp/calico-bot-sim-x1/kubeconfig: bad", ["/tmp/calico-bot-sim"], ["bad"]),
        ("[fd00::1]:6443 did not answer", ["fd00::1"], ["did not answer"]),
    ],
)
def test_public_text_hides_addresses_and_paths(text: str, gone: list[str], kept: list[str]) -> None:
    shown = public_text(text)
    for word in gone:
        assert word not in shown
    for word in kept:
        assert word in shown
    assert HIDDEN in shown or PATH_HIDDEN in shown


@pytest.mark.parametrize(
    "text",
    [
        f"cordon {WORKER}: HTTP 403 forbidden",
        "read /api/v1/nodes/10.1.2.3: HTTP 500",
        "secret kube-system/calico-bgp-password does not exist",
        "check the kubeconfig for this cluster (file, context, credentials)",
        "approved by <@U1> 2026-03-14 12:00 UTC in <#C1>",
        "sim:crashloop-one",
    ],
)
def test_public_text_keeps_what_the_channel_needs(text: str) -> None:
    assert public_text(text) == text


def test_a_diagnosis_for_the_channel_hides_the_bots_failed_reads_but_keeps_the_evidence() -> None:
    from datetime import UTC, datetime

    from checks.model import Diagnosis, Finding, Severity, SituationId, Unknown

    evidence = (
        'Liveness probe failed: Get "http://localhost:9099/liveness": dial tcp [::1]:9099: connection refused'
    )
    diagnosis = Diagnosis(
        cluster="c1",
        checked_at=datetime(2026, 3, 14, tzinfo=UTC),
        source="live",
        situations=(),
        findings=(
            Finding(
                check="calico_pods",
                situation=SituationId.CALICO_BAD_ON_FEW_WORKERS,
                severity=Severity.CRITICAL,
                title="calico-node not ready",
                evidence=(evidence,),
            ),
        ),
        actions=(),
        unknowns=(
            Unknown(
                check="collect",
                what="events",
                reason="/api/v1/events: HTTPSConnectionPool(host='c100.us-south.containers.cloud.ibm.com', "
                "port=30426): Max retries exceeded",
            ),
        ),
    )
    safe = channel_safe(diagnosis)
    assert "c100.us-south" not in safe.to_json().decode()
    assert "30426" not in safe.unknowns[0].reason
    assert safe.unknowns[0].reason.startswith("/api/v1/events: ")
    assert safe.findings == diagnosis.findings  # the cluster's own words stay literal
    assert channel_safe(safe) == safe


@pytest.fixture
def clusters(tmp_path: Path) -> Iterator[Path]:
    """A clusters directory whose `rem.yaml` leads to a simulated 4-worker cluster."""
    directory = tmp_path / "clusters"
    directory.mkdir()
    with sim_process(tmp_path, scenario="crashloop-one", nodes=4, cluster="rem") as kubeconfig:
        (directory / "rem.yaml").write_text(kubeconfig.read_text())
        yield directory


def test_a_failed_action_names_no_server_in_the_channel(clusters: Path) -> None:
    env = {"CALICO_BOT_APPROVER_USERS": "U01REQ,U02APR", "CALICO_BOT_CLUSTERS_DIR": str(clusters)}
    with InProcessBot(allowed="C1", redis_url=REDIS_URL, env=env) as bot:
        value = json.dumps({"kind": "cordon", "cluster": "rem", "target": WORKER})
        card_ts = "1700000005.000100"
        body = block_actions_body(
            "calico_action:0",
            value,
            user="U01REQ",
            message_ts=card_ts,
            response_url=bot.fake.response_url("r"),
        )
        assert bot.post_form(body)[0] == 200
        bot.run(bot.fake.wait_for_responses("r", timeout=30), timeout=40)
        assert "waiting for an approver" in bot.response_texts("r")[0]
        card = next(c for c in bot.fake.calls("chat.postMessage") if c.params.get("thread_ts") == card_ts)

        # the API server now answers plain HTTP where TLS is expected: urllib3 names host and port
        config = yaml.safe_load((clusters / "rem.yaml").read_text())
        config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{bot.fake.port}"
        (clusters / "rem.yaml").write_text(yaml.safe_dump(config))

        approve = block_actions_body(
            "calico_approve",
            approval_id_of(card),
            user="U02APR",
            message_ts=card_ts,
            response_url=bot.fake.response_url("a"),
        )
        assert bot.post_form(approve)[0] == 200
        bot.wait_until(
            lambda: any(
                "did not work" in str(c.params.get("text")) for c in bot.fake.calls("chat.postMessage")
            ),
            timeout=60,
            what="the outcome in the thread",
        )
        bot.settle()
        address = re.compile(rf"127\.0\.0\.1'?,? ?(?:port=)?:?{bot.fake.port}|port={bot.fake.port}")
        in_channel = [
            str(c.params)
            for c in bot.fake.calls()
            if c.method in ("chat.postMessage", "chat.update", "files.completeUploadExternal")
        ]
        outcome = next(t for t in in_channel if "did not work" in t)
        assert HIDDEN in outcome, outcome
        assert not [t for t in in_channel if address.search(t)]
        assert bot.store is not None
        history = bot.run(bot.store.history("rem"))
        assert not [r for r in history if address.search(r.detail + r.outcome)]
        assert [line for line in bot.logged("cordon") if address.search(line)]  # the log keeps it


async def test_redis_down_is_said_without_its_address() -> None:
    async with (
        FakeSlack() as fake,
        Store("redis://:pw@redis-7.internal.example:6380/0", connect_timeout=0.3) as down,
    ):

        async def no_groups(group: str) -> frozenset[str]:
            return frozenset()

        flow = Remediation(
            store=down,
            slack=SlackPoster(make_client(token="xoxb-test", api_url=fake.api_url)),
            policy=ApprovalPolicy(approver_users=frozenset({"U02APR"})),
            access=ClusterAccess(sources=(SIMULATED,)),
            queue=InProcessQueue(),
            group_members=no_groups,
        )
        answers = [
            await flow.decide(
                approval_id="0123abcd", user="U02APR", approve=True, channel="C1", card_ts="1.2"
            ),
            await flow.history("rem"),
        ]
    for answer in answers:
        assert "Redis does not answer" in answer
        assert "redis-7.internal" not in answer
        assert "6380" not in answer


def test_the_gather_comment_names_no_server() -> None:
    from bot.escalation.gather import Bundle
    from bot.slack.gather_job import bundle_comment

    bundle = Bundle(
        name="calico-gather-c1-10.1.2.3.tar.gz",
        data=b"",
        summary="",
        files=[("x/logs/calico-node.log", 10)],
        problems=[
            "log calico-node-abc: HTTPSConnectionPool(host='10.0.0.5', port=6443): Max retries exceeded"
        ],
    )
    comment = bundle_comment(bundle, "c1", "10.1.2.3")
    assert "6443" not in comment
    assert "10.0.0.5" not in comment
    assert "log calico-node-abc" in comment
