"""End to end, as in production but on 127.0.0.1: `calico-bot serve` and `calico-bot sim` run as
subprocesses, the fake Slack Web API runs in the test, requests are signed like Slack's.
- `/calico check <cluster>`: 200 within 3 s, then "checking…" posted, then `chat.update` with the
  card's verdict, the details in the thread and the JSON uploaded;
- the same through an `@calico-bot` mention;
- a bad signature, a stale timestamp, a tampered body: 401, and no Slack call, no job;
- a retried event and a replayed command produce exactly one check;
- an unknown cluster ends in an error card; a channel outside the allow-list gets a refusal;
- usage errors are ephemeral and start nothing.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.slack.fake_slack import FakeSlack
from tests.slack.processes import FORM, ROOT, SECRET, Bot, serve_process, sim_process
from tests.slack.signing import app_mention_body, retry_headers, sign, slash_command_body

CANARY = "calico-canary-7f3a9c1d2e5b"


@pytest.fixture(scope="module")
def sim_kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 50-worker crash-looping simulated cluster in its own process, context `sim-50`."""
    with sim_process(
        tmp_path_factory.mktemp("sim"), scenario="crashloop-one", nodes=50, cluster="sim-50"
    ) as kubeconfig:
        yield kubeconfig


@pytest.fixture
async def bot(sim_kubeconfig: Path) -> AsyncIterator[Bot]:
    async with FakeSlack() as fake, serve_process(fake, sim_kubeconfig) as running:
        yield running


def _card_texts(fake: FakeSlack) -> list[str]:
    return [str(call.params.get("text", "")) for call in fake.calls("chat.update")]


async def test_slash_command_check_end_to_end(bot: Bot) -> None:
    status, _body, seconds = await bot.command("check sim-50")
    assert status == 200
    assert seconds < 3.0
    posted = await bot.fake.wait_for("chat.postMessage", timeout=10)
    assert posted[0].params["channel"] == "C1"
    assert "sim-50" in posted[0].params["text"]
    assert "<@U1>" in str(posted[0].params["text"]) + str(posted[0].params.get("blocks"))
    await _wait_for_card(bot.fake, timeout=60)
    final = bot.fake.calls("chat.update")[-1]
    checking_ts = next(
        ts for (channel, ts), message in bot.fake.messages.items() if "thread_ts" not in message
    )
    assert (final.params["channel"], final.params["ts"]) == (
        "C1",
        checking_ts,
    )  # the "checking…" post, edited
    assert "calico-bad-on-few-workers" in str(final.params["text"])
    assert "CrashLoopBackOff" in str(final.params["text"])
    await bot.fake.wait_for_upload(timeout=20)
    threaded = [c for c in bot.fake.calls("chat.postMessage") if c.params.get("thread_ts")]
    assert threaded, "details go into the thread"
    # the scenario's logs carry a canary credential: it must appear in no Slack call nor upload
    assert "already using the IPv4 address" in str([c.params for c in bot.fake.calls()])
    assert CANARY not in str([c.params for c in bot.fake.calls()])
    assert bot.fake.uploads
    assert all(CANARY.encode() not in (upload.content or b"") for upload in bot.fake.uploads.values())


async def _wait_for_card(fake: FakeSlack, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any("checking" not in t.lower() for t in _card_texts(fake)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no card within {timeout}s: {_card_texts(fake)}")


async def test_mention_check_end_to_end(bot: Bot) -> None:
    body = app_mention_body("<@UBOT> check sim-50", channel="C2")
    status, _text, seconds = await bot.post(body, sign(body, SECRET, content_type="application/json"))
    assert status == 200
    assert seconds < 3.0
    posted = await bot.fake.wait_for("chat.postMessage", timeout=10)
    assert posted[0].params["channel"] == "C2"
    await _wait_for_card(bot.fake, timeout=60)


@pytest.mark.parametrize("attack", ["bad-signature", "stale", "tampered"])
async def test_unsigned_requests_are_rejected_and_do_nothing(bot: Bot, attack: str) -> None:
    body = slash_command_body("check sim-50")
    if attack == "bad-signature":
        headers = sign(body, "not-the-secret", content_type=FORM)
    elif attack == "stale":
        headers = sign(body, SECRET, int(time.time()) - 301, content_type=FORM)
    else:
        headers = sign(body, SECRET, content_type=FORM)
        body = body.replace(b"sim-50", b"prod-1")
    status, _text, _seconds = await bot.post(body, headers)
    assert status == 401
    await bot.wait_idle()
    assert [c.method for c in bot.fake.calls() if c.method != "auth.test"] == []


async def test_retried_event_and_replayed_command_check_once(bot: Bot) -> None:
    body = app_mention_body("<@UBOT> check sim-50", channel="C1", event_id="EvRetry0001")
    headers = sign(body, SECRET, content_type="application/json")
    for retry in range(3):
        extra = retry_headers(retry) if retry else {}
        status, _text, _s = await bot.post(body, {**headers, **extra})
        assert status == 200
    command = slash_command_body("check sim-50", trigger_id="trig-replayed")
    command_headers = sign(command, SECRET, content_type=FORM)
    for _ in range(2):
        status, _text, _s = await bot.post(command, command_headers)
        assert status == 200
    await bot.fake.wait_for("chat.postMessage", count=2, timeout=10)
    await bot.wait_idle(timeout=120)  # both checks finished: nothing more can be posted
    checking = [c for c in bot.fake.calls("chat.postMessage") if not c.params.get("thread_ts")]
    assert len(checking) == 2  # one for the event, one for the command


async def test_unknown_cluster_ends_in_an_error_card(bot: Bot, sim_kubeconfig: Path) -> None:
    """The card says what failed; the clusters the bot knows and its kubeconfig path go to the
    requester alone, through the command's response_url (issue #11 item 7)."""
    status, _body, _s = await bot.command("check no-such-cluster")
    assert status == 200
    updates = await bot.fake.wait_for("chat.update", timeout=20)
    card = str(updates[-1].params)
    assert "no-such-cluster" in card
    assert "sim-50" not in card
    assert str(sim_kubeconfig) not in card
    assert sim_kubeconfig.name not in card
    [private] = await bot.fake.wait_for_responses("cmd", timeout=10)
    assert private.payload["response_type"] == "ephemeral"
    assert "sim-50" in private.payload["text"]  # the known clusters are named, to the requester only
    assert "Only you see this" in private.payload["text"]
    everything_posted = str([c.params for c in bot.fake.calls() if c.method != "chat.postEphemeral"])
    assert str(sim_kubeconfig) not in everything_posted


async def test_channel_outside_the_allow_list_is_refused(bot: Bot) -> None:
    status, text, _s = await bot.command("check sim-50", channel_id="C999")
    assert status == 200
    assert "only answers in" in text
    assert "<#C1>" in text
    await bot.wait_idle()
    assert bot.fake.calls("chat.postMessage") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [("chek sim-50", "I don't know the command"), ("check", "needs a cluster name"), ("help", "Usage")],
)
async def test_usage_is_ephemeral_and_starts_nothing(bot: Bot, text: str, expected: str) -> None:
    status, body, _s = await bot.command(text)
    assert status == 200
    assert expected in body
    await bot.wait_idle()
    assert bot.fake.calls("chat.postMessage") == []


async def test_a_429_from_slack_is_retried_after_retry_after(bot: Bot) -> None:
    bot.fake.script("chat.postMessage", status=429, headers={"Retry-After": "1"}, times=1)
    status, _body, _s = await bot.command("check sim-50")
    assert status == 200
    posted = await bot.fake.wait_for("chat.postMessage", count=2, timeout=15)
    assert [c.status for c in posted[:2]] == [429, 200]
    await _wait_for_card(bot.fake, timeout=60)


async def test_the_bot_ignores_its_own_messages(bot: Bot) -> None:
    body = app_mention_body("<@UBOT> check sim-50", user="UBOT", channel="C1")
    status, _text, _s = await bot.post(body, sign(body, SECRET, content_type="application/json"))
    assert status == 200
    await bot.wait_idle()
    assert bot.fake.calls("chat.postMessage") == []


async def test_buttons_answer_honestly_and_change_nothing(bot: Bot) -> None:
    from tests.slack.signing import block_actions_body

    value = '{"kind": "cordon", "cluster": "sim-50", "target": "10.188.156.137"}'
    body = block_actions_body("calico_action:0", value, response_url=bot.fake.response_url("btn"))
    status, _text, _s = await bot.post(body, sign(body, SECRET, content_type=FORM))
    assert status == 200
    answers = await bot.fake.wait_for_responses("btn", timeout=10)
    text = str(answers[0].payload)
    assert "need Redis (REDIS_URL)" in text
    assert "nothing was changed on the cluster" in text
    assert "cordon 10.188.156.137" in text
    assert answers[0].payload.get("response_type") == "ephemeral"


async def test_socket_mode_end_to_end(sim_kubeconfig: Path) -> None:
    from tests.slack.signing import slash_command_payload, socket_envelope

    async with FakeSlack() as fake:
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.update(
            SLACK_BOT_TOKEN="xoxb-e2e-test",
            SLACK_APP_TOKEN="xapp-1-e2e-test",
            SLACK_API_URL=fake.api_url,
            KUBECONFIG=str(sim_kubeconfig),
            PORT="0",
            HOST="127.0.0.1",
        )
        env.pop("SLACK_SIGNING_SECRET", None)
        env.pop("REDIS_URL", None)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            await fake.wait_for_socket(timeout=30)
            envelope = socket_envelope(slash_command_payload("check sim-50"), type="slash_commands")
            await fake.push_envelope(envelope)
            ack = await fake.wait_for_ack(envelope["envelope_id"], timeout=10)
            assert ack["envelope_id"] == envelope["envelope_id"]
            await fake.wait_for("chat.postMessage", timeout=15)
            await _wait_for_card(fake, timeout=60)
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 30)


async def test_gather_uploads_the_bundle_into_slack(bot: Bot) -> None:
    import io
    import tarfile

    status, _body, _s = await bot.command("gather sim-50 10.188.156.137")
    assert status == 200
    uploads = await bot.fake.wait_for_upload(timeout=30)
    upload = uploads[0]
    assert upload.filename is not None
    assert upload.filename.endswith(".tar.gz")
    assert upload.content is not None
    with tarfile.open(fileobj=io.BytesIO(upload.content), mode="r:gz") as archive:
        names = [m.name.split("/", 1)[1] for m in archive.getmembers()]
        files = [archive.extractfile(m) for m in archive.getmembers()]
        content = b"".join(f.read() for f in files if f is not None)
    assert "summary.txt" in names
    assert "describe-node-10.188.156.137.txt" in names
    assert any(n.endswith("-calico-node-previous.log") for n in names)
    assert CANARY.encode() not in content
    assert "describe" in str(upload.initial_comment)


async def test_escalate_posts_the_handoff(bot: Bot) -> None:
    status, _body, _s = await bot.command("escalate sim-50")
    assert status == 200
    posted = await bot.fake.wait_for("chat.postMessage", timeout=30)
    text = str(posted[-1].params)
    assert "Escalation" in text
    assert "issues/new?title=" in text
    assert "Paging: not done" in text
    assert CANARY not in text


async def test_gather_button_uploads_into_the_cards_thread(bot: Bot) -> None:
    from tests.slack.signing import block_actions_body

    value = '{"kind": "gather", "cluster": "sim-50", "target": "10.188.156.137"}'
    body = block_actions_body(
        "calico_gather:1", value, message_ts="1700000001.000100", response_url=bot.fake.response_url("g")
    )
    status, _text, _s = await bot.post(body, sign(body, SECRET, content_type=FORM))
    assert status == 200
    uploads = await bot.fake.wait_for_upload(timeout=30)
    assert uploads[0].thread_ts == "1700000001.000100"


async def test_gather_button_without_a_worker_says_what_to_do(bot: Bot) -> None:
    from tests.slack.signing import block_actions_body

    value = '{"kind": "gather", "cluster": "sim-50", "target": "sim-50/cluster"}'
    body = block_actions_body("calico_gather:1", value, response_url=bot.fake.response_url("g2"))
    status, _text, _s = await bot.post(body, sign(body, SECRET, content_type=FORM))
    assert status == 200
    answers = await bot.fake.wait_for_responses("g2", timeout=10)
    assert "/calico gather <cluster> <worker>" in str(answers[0].payload)
    assert bot.fake.uploads == {}
