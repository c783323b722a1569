"""The Slack harness, proved with the real slack_sdk / slack_bolt clients against FakeSlack."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.slack.fake_slack import FakeSlack, FakeSlackProcess
from tests.slack.signing import (
    FORM,
    JSON,
    Signer,
    app_mention_body,
    app_mention_event,
    block_actions_body,
    sign,
    slash_command_body,
    socket_envelope,
    url_verification_body,
)


def web(fake: FakeSlack, retry_handlers: list[AsyncRetryHandler] | None = None) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=fake.api_url, retry_handlers=retry_handlers)


# ---------------------------------------------------------------------- Web API


async def test_auth_test_answers_bot_identity(fake_slack: FakeSlack) -> None:
    resp = await web(fake_slack).auth_test()

    assert resp["team_id"] == "T1"
    assert resp["user_id"] == "UBOT"
    assert resp["bot_id"] == "BBOT"
    [call] = fake_slack.calls("auth.test")
    assert call.token == "xoxb-test"
    assert call.status == 200
    assert call.headers["authorization"] == "Bearer xoxb-test"


async def test_missing_or_wrong_token_is_not_authed(fake_slack: FakeSlack) -> None:
    async with aiohttp.ClientSession() as session, session.post(fake_slack.api_url + "auth.test") as resp:
        assert await resp.json() == {"ok": False, "error": "not_authed"}
    with pytest.raises(SlackApiError) as err:
        await AsyncWebClient(token="bogus", base_url=fake_slack.api_url).chat_postMessage(
            channel="C1", text="x"
        )
    assert err.value.response["error"] == "not_authed"
    assert [c.method for c in fake_slack.calls()] == ["auth.test", "chat.postMessage"]


async def test_post_update_ephemeral_round_trip(fake_slack: FakeSlack) -> None:
    client = web(fake_slack)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Running diagnostics…*"}}]

    posted = await client.chat_postMessage(channel="C1", text="Running", blocks=blocks, thread_ts="1699.1")
    second = await client.chat_postMessage(channel="C1", text="another")
    updated = await client.chat_update(channel="C1", ts=posted["ts"], text="Done", blocks=[])
    ephemeral = await client.chat_postEphemeral(channel="C1", user="U1", text="only you")

    assert posted["ts"] == "1700000000.000100"
    assert second["ts"] == "1700000001.000100"
    assert posted["channel"] == "C1"
    assert posted["message"]["blocks"] == blocks
    assert posted["message"]["thread_ts"] == "1699.1"
    assert (updated["channel"], updated["ts"]) == ("C1", posted["ts"])
    assert ephemeral["message_ts"]
    [post_call, _] = fake_slack.calls("chat.postMessage")
    assert post_call.content_type == "application/json"
    assert post_call.params["blocks"] == blocks  # JSON body: structures survive
    assert fake_slack.message("C1", posted["ts"])["text"] == "Done"
    assert fake_slack.by("chat.postEphemeral") == [{"channel": "C1", "user": "U1", "text": "only you"}]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
async def test_post_message_validates_like_slack(fake_slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        await web(fake_slack).chat_postMessage(channel="C1")
    assert err.value.response["error"] == "no_text"


async def test_strict_update_of_unknown_ts_is_message_not_found() -> None:
    async with FakeSlack(strict=True) as fake:
        with pytest.raises(SlackApiError) as err:
            await web(fake).chat_update(channel="C1", ts="1.2", text="x")
    assert err.value.response["error"] == "message_not_found"


async def test_users_info_and_usergroups(fake_slack: FakeSlack) -> None:
    client = web(fake_slack)
    fake_slack.usergroups["S-netops"] = ["U3"]

    alice = await client.users_info(user="U1")
    members = await client.usergroups_users_list(usergroup="S-netops")
    channel = await client.conversations_info(channel="C1")

    assert alice["user"]["name"] == "alice"
    assert alice["user"]["real_name"] == "Alice Admin"
    assert alice["user"]["tz"] == "Europe/Berlin"
    assert members["users"] == ["U3"]
    assert channel["channel"]["name"] == "calico-ops"
    # slack_sdk sends these three as GET with a query string.
    assert {c.http_method for c in fake_slack.calls() if c.method != "auth.test"} == {"GET"}
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user="U404")
    assert err.value.response["error"] == "user_not_found"
    with pytest.raises(SlackApiError) as err:
        await client.usergroups_users_list(usergroup="S404")
    assert err.value.response["error"] == "no_such_subteam"


async def test_files_upload_v2_lands_bytes(fake_slack: FakeSlack) -> None:
    content = "calico-node-abc  0/1  CrashLoopBackOff\n" * 50

    resp = await web(fake_slack).files_upload_v2(
        content=content, filename="diag.txt", title="Diagnostics", channel="C1", thread_ts="1700000000.000100"
    )

    assert resp["file"]["id"] == "F1"
    upload = fake_slack.uploads["F1"]
    assert upload.content == content.encode()
    assert upload.filename == "diag.txt"
    assert upload.title == "Diagnostics"
    assert (upload.channel_id, upload.thread_ts) == ("C1", "1700000000.000100")
    assert upload.completed
    assert [c.method for c in fake_slack.calls()] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    complete = fake_slack.calls("files.completeUploadExternal")[0]
    assert complete.params["files"] == [{"id": "F1", "title": "Diagnostics"}]  # JSON text decoded
    assert await fake_slack.wait_for_upload() == [upload]


async def test_form_bodies_and_multipart_uploads_are_parsed(fake_slack: FakeSlack) -> None:
    form = {"channel": "C2", "text": "t", "blocks": json.dumps([{"type": "divider"}])}
    headers = {"Authorization": "Bearer xoxb-test"}
    multipart = aiohttp.FormData()
    multipart.add_field("file", b"\x00binary\xff", filename="dump.tar.gz", content_type="application/gzip")
    async with aiohttp.ClientSession() as session:
        async with session.post(fake_slack.api_url + "chat.postMessage", data=form, headers=headers) as resp:
            assert (await resp.json())["ok"]
        async with session.post(f"{fake_slack.url}/upload/F9", data=multipart) as resp:
            assert (resp.status, await resp.text()) == (200, "OK - 8")

    [call] = fake_slack.calls("chat.postMessage")
    assert call.content_type == "application/x-www-form-urlencoded"
    assert call.params == {"channel": "C2", "text": "t", "blocks": [{"type": "divider"}]}
    assert fake_slack.uploads["F9"].content == b"\x00binary\xff"
    assert fake_slack.uploads["F9"].filename == "dump.tar.gz"

    fake_slack.reset()
    assert (fake_slack.calls(), fake_slack.uploads) == ([], {})
    assert (await web(fake_slack).chat_postMessage(channel="C1", text="x"))["ts"] == "1700000000.000100"


async def test_rate_limit_is_retried_after_retry_after(fake_slack: FakeSlack) -> None:
    client = web(fake_slack, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    fake_slack.script("chat.postMessage", status=429, headers={"Retry-After": "1"}, times=1)

    started = time.monotonic()
    resp = await client.chat_postMessage(channel="C1", text="hi")

    assert resp["ok"]
    calls = fake_slack.calls("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 1.0
    assert time.monotonic() - started >= 1.0


async def test_rate_limit_without_handler_surfaces_ratelimited(fake_slack: FakeSlack) -> None:
    fake_slack.script("chat.update", status=429, headers={"Retry-After": "7"})
    with pytest.raises(SlackApiError) as err:
        await web(fake_slack, retry_handlers=[]).chat_update(channel="C1", ts="1.1", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] == "7"


async def test_scripts_are_consumed_in_order(fake_slack: FakeSlack) -> None:
    client = web(fake_slack)
    fake_slack.script("chat.update", body={"ok": False, "error": "message_not_found"})
    fake_slack.script("chat.update", body={"ok": False, "error": "cant_update_message"})

    errors = []
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await client.chat_update(channel="C1", ts="1.1", text="x")
        errors.append(err.value.response["error"])
    third = await client.chat_update(channel="C1", ts="1.1", text="x")

    assert errors == ["message_not_found", "cant_update_message"]
    assert third["ok"]


async def test_server_error_and_delay(fake_slack: FakeSlack) -> None:
    fake_slack.script("auth.test", status=500)
    with pytest.raises(SlackApiError) as err:
        await web(fake_slack, retry_handlers=[]).auth_test()
    assert err.value.response.status_code == 500

    fake_slack.script("auth.test", status=503)
    retried = await web(
        fake_slack, retry_handlers=[AsyncServerErrorRetryHandler(max_retry_count=1)]
    ).auth_test()
    assert retried["ok"]

    fake_slack.script("auth.test", delay_s=0.3)
    started = time.monotonic()
    assert (await web(fake_slack).auth_test())["user_id"] == "UBOT"
    assert time.monotonic() - started >= 0.3
    assert [c.status for c in fake_slack.calls("auth.test")] == [500, 503, 200, 200]


async def test_wait_for_polls_until_background_call(fake_slack: FakeSlack) -> None:
    client = web(fake_slack)

    async def later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel="C1", text="from the background")

    task = asyncio.create_task(later())
    [call] = await fake_slack.wait_for("chat.postMessage", timeout=5)
    await task
    assert call.params["text"] == "from the background"
    with pytest.raises(AssertionError, match=r"chat\.delete"):
        await fake_slack.wait_for("chat.delete", timeout=0.1)


async def test_webhook_to_response_url_is_recorded(fake_slack: FakeSlack) -> None:
    url = fake_slack.response_url("x")

    resp = await AsyncWebhookClient(url).send(text="working on it", response_type="ephemeral")

    assert (resp.status_code, resp.body) == (200, "ok")
    [post] = await fake_slack.wait_for_responses("x")
    assert post.payload == {"text": "working on it", "response_type": "ephemeral"}


async def test_response_url_allows_five_uses(fake_slack: FakeSlack) -> None:
    client = AsyncWebhookClient(fake_slack.response_url("cmd-1"))
    statuses = [(await client.send(text=f"n{i}")).status_code for i in range(6)]
    assert statuses == [200] * 5 + [404]


# ---------------------------------------------------------------------- Socket Mode


async def test_socket_mode_client_receives_envelope_and_acks(fake_slack: FakeSlack) -> None:
    received: list[SocketModeRequest] = []

    async def on_request(client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        received.append(req)
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    client = SocketModeClient(app_token="xapp-1-test", web_client=web(fake_slack))
    client.socket_mode_request_listeners.append(on_request)
    try:
        await asyncio.wait_for(client.connect(), timeout=5)
        envelope = socket_envelope(app_mention_event("diag cluster-1"), envelope_id="e1")
        await fake_slack.push_envelope(envelope)

        ack = await fake_slack.wait_for_ack("e1")

        assert ack == {"envelope_id": "e1"}
        assert received[0].type == "events_api"
        assert received[0].payload["event"]["text"] == "<@UBOT> diag cluster-1"
        assert received[0].retry_attempt == 0
        [open_call] = fake_slack.calls("apps.connections.open")
        assert open_call.token == "xapp-1-test"

        # A `disconnect` message makes the client fetch a new URL and reconnect.
        await fake_slack.send_disconnect()
        await fake_slack.wait_for_socket(2)
        await fake_slack.wait_for("apps.connections.open", count=2)
        await fake_slack.push_envelope(socket_envelope(app_mention_event("again"), envelope_id="e2"))
        assert await fake_slack.wait_for_ack("e2") == {"envelope_id": "e2"}
    finally:
        await client.close()


async def test_apps_connections_open_needs_an_app_token(fake_slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        await web(fake_slack).apps_connections_open(app_token="xoxb-test")
    assert err.value.response["error"] == "not_allowed_token_type"


# ---------------------------------------------------------------------- signing and request bodies


@pytest.mark.parametrize(
    "body",
    [
        slash_command_body("diag c1", response_url="http://127.0.0.1:1/response_url/1"),
        app_mention_body("diag c1"),
        block_actions_body("approve", "appr-1", message_ts="1700000000.000100"),
        url_verification_body("chal"),
        "text body with unicode ✅",
    ],
)
def test_sign_agrees_with_signature_verifier(body: bytes | str, signer: Signer) -> None:
    verifier = SignatureVerifier(signer.secret)
    headers = signer.sign(body)
    ts = headers["X-Slack-Request-Timestamp"]

    assert verifier.is_valid(body, ts, headers["X-Slack-Signature"])
    assert headers["X-Slack-Signature"] == verifier.generate_signature(timestamp=ts, body=body)
    assert not SignatureVerifier("other-secret").is_valid(body, ts, headers["X-Slack-Signature"])
    stale = sign(body, signer.secret, int(time.time()) - 301)
    assert not verifier.is_valid(body, stale["X-Slack-Request-Timestamp"], stale["X-Slack-Signature"])


def test_body_builders_are_slack_shaped(fake_slack: FakeSlack) -> None:
    command = dict(
        urllib.parse.parse_qsl(slash_command_body("diag c1", user_id="U2", channel_id="C1").decode())
    )
    assert command["command"] == "/calico"
    assert command["text"] == "diag c1"
    assert (command["user_id"], command["user_name"], command["channel_name"]) == ("U2", "bob", "calico-ops")
    assert {"team_id", "team_domain", "api_app_id", "trigger_id", "response_url"} <= command.keys()

    action_form = dict(urllib.parse.parse_qsl(block_actions_body("approve", "appr-1", user="U1").decode()))
    action = json.loads(action_form["payload"])
    assert action["type"] == "block_actions"
    assert action["actions"][0]["value"] == "appr-1"
    assert action["container"]["message_ts"] == action["message"]["ts"]

    event = json.loads(app_mention_body("hi", event_id="Ev1", ts="1700000000.000200"))
    assert (event["type"], event["event_id"], event["event_time"]) == ("event_callback", "Ev1", 1700000000)
    assert event["authorizations"][0]["user_id"] == "UBOT"
    assert event["event"]["text"] == "<@UBOT> hi"


async def test_bolt_accepts_signed_bodies(fake_slack: FakeSlack, signer: Signer) -> None:
    """bolt's own request verification and parsing accept what the builders produce."""
    app = AsyncApp(client=web(fake_slack), signing_secret=signer.secret)
    seen: list[str] = []
    mentioned = asyncio.Event()

    @app.command("/calico")
    async def on_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        seen.append(f"command:{command['text']}")
        await ack("on it")

    @app.action("approve")
    async def on_approve(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond) -> None:
        seen.append(f"action:{action['value']}")
        await ack()
        await respond(text="approved", replace_original=True)

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any]) -> None:
        seen.append(f"mention:{event['text']}")
        mentioned.set()

    async def dispatch(body: bytes, ctype: str, timestamp: int | None = None) -> int:
        headers: dict[str, str | Sequence[str]] = {**signer.sign(body, timestamp, content_type=ctype)}
        resp = await app.async_dispatch(AsyncBoltRequest(body=body.decode(), headers=headers))
        return resp.status

    assert await dispatch(slash_command_body("diag c1"), FORM) == 200
    action_body = block_actions_body("approve", "appr-1", response_url=fake_slack.response_url("a1"))
    assert await dispatch(action_body, FORM) == 200
    assert await dispatch(app_mention_body("hello"), JSON) == 200
    assert await dispatch(slash_command_body("late"), FORM, int(time.time()) - 301) == 401

    [post] = await fake_slack.wait_for_responses("a1")
    assert post.payload["replace_original"] is True
    await asyncio.wait_for(mentioned.wait(), timeout=5)  # events are acked before the listener runs
    assert sorted(seen) == ["action:appr-1", "command:diag c1", "mention:<@UBOT> hello"]
    assert len(fake_slack.calls("auth.test")) == 1  # single-team authorization caches it


# ---------------------------------------------------------------------- separate process


async def test_subprocess_mode_records_and_serves_calls(tmp_path: Path) -> None:
    state = tmp_path / "fake-slack.url"
    with FakeSlackProcess(state) as proc:
        assert state.read_text().strip() == proc.url
        assert proc.url.startswith("http://127.0.0.1:")

        proc.script("chat.update", body={"ok": False, "error": "message_not_found"})
        proc.set_directory(usergroups={"S-oncall": ["U3"]})
        client = AsyncWebClient(token="xoxb-test", base_url=proc.api_url)
        await client.chat_postMessage(channel="C1", text="from the bot")
        with pytest.raises(SlackApiError):
            await client.chat_update(channel="C1", ts="1.1", text="x")
        assert (await client.usergroups_users_list(usergroup="S-oncall"))["users"] == ["U3"]

        async with aiohttp.ClientSession() as session, session.get(f"{proc.url}/_fake/calls") as resp:
            raw = await resp.json()
        assert [c["method"] for c in raw] == ["chat.postMessage", "chat.update", "usergroups.users.list"]
        assert raw[0]["params"] == {"channel": "C1", "text": "from the bot"}

        [call] = proc.wait_for("chat.postMessage")
        assert call.status == 200
        proc.reset()
        assert proc.calls() == []

        # Socket Mode against the child: envelopes pushed over HTTP, acks read back over HTTP.
        sm = SocketModeClient(app_token="xapp-1-test", web_client=client)

        async def ack(c: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
            await c.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

        sm.socket_mode_request_listeners.append(ack)
        try:
            await asyncio.wait_for(sm.connect(), timeout=5)
            proc.push_envelope(socket_envelope(app_mention_event("hi"), envelope_id="p1"))
            # The client acks from this loop: poll the child from a thread, not by blocking the loop.
            assert await asyncio.to_thread(proc.wait_for_ack, "p1", 5.0) == {"envelope_id": "p1"}
        finally:
            await sm.close()
    assert proc.proc is None
