"""An offline Slack: Web API, file uploads, response_url and the Socket Mode WebSocket, on 127.0.0.1.

`FakeSlack` is one aiohttp application served on a random port in the caller's event loop::

    async with FakeSlack() as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
        await client.chat_postMessage(channel="C1", text="hi")
        [call] = await fake.wait_for("chat.postMessage")

It records every Web API call as a `Call`, answers the methods calico-bot uses with realistic bodies,
and can be scripted to fail (`fake.script("chat.update", status=429, headers={"Retry-After": "1"})`).

Run as a process (for end-to-end tests against a `calico-bot serve` subprocess)::

    python -m tests.slack.fake_slack --port 0 --state-file /tmp/fake-slack.url

The state file receives the base URL (`http://127.0.0.1:<port>`, no trailing slash, written atomically
once the server listens); the Web API base is that URL + `/api/`. The process is driven over HTTP under
`/_fake/`: `GET calls[?method=…]`, `GET uploads`, `GET responses`, `GET acks`, `POST script`,
`POST envelope`, `POST directory`, `POST reset`. `FakeSlackProcess` wraps all of that.

Wire details this mirrors (slack_sdk 3.48): `chat.postMessage`/`chat.update`/`chat.postEphemeral` are
POSTed as JSON; `auth.test`, `apps.connections.open` and `files.*External` are POSTs with the arguments
in the *query string* and no body; `users.info`, `usergroups.users.list` and `conversations.info` are
GETs; step 2 of `files_upload_v2` POSTs the raw bytes (no Authorization) to the issued `upload_url`.
Params from the query string and the body are merged (body wins).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import BodyPartReader, WSMsgType, web

T = TypeVar("T")

TEAM_ID = "T1"
TEAM_DOMAIN = "fake-workspace"
TEAM_NAME = "Fake Workspace"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
BOT_NAME = "calico-bot"
APP_ID = "A1"
FIRST_TS = 1700000000

# Form/query fields that carry JSON text; decoded into `Call.params` so tests see structures.
JSON_FIELDS = frozenset({"blocks", "attachments", "files", "view", "metadata", "outputs"})

DEFAULT_USERS: dict[str, dict[str, Any]] = {
    "U1": {"name": "alice", "real_name": "Alice Admin", "tz": "Europe/Berlin", "tz_offset": 3600},
    "U2": {"name": "bob", "real_name": "Bob Builder", "tz": "America/New_York", "tz_offset": -18000},
    "U3": {"name": "carol", "real_name": "Carol Oncall", "tz": "Asia/Kolkata", "tz_offset": 19800},
    BOT_USER_ID: {"name": BOT_NAME, "real_name": "Calico Bot", "tz": "UTC", "tz_offset": 0, "is_bot": True},
}
DEFAULT_USERGROUPS: dict[str, list[str]] = {"S1": ["U1", "U2"]}
DEFAULT_CHANNELS: dict[str, str] = {"C1": "calico-ops", "C2": "network-alerts"}

# Special script keys for the two non-API endpoints.
UPLOAD = "upload"
RESPONSE_URL = "response_url"


@dataclass
class Call:
    """One Web API request as the fake saw it.

    `params`: query string merged with the JSON or form body (JSON-text fields such as `blocks` and
    `files` decoded). `headers`: lower-cased names. `at`: `time.time()` on arrival. `status`: the HTTP
    status answered (set once the answer is decided).
    """

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    at: float
    http_method: str = "POST"
    content_type: str = ""
    status: int | None = None

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Call:
        return cls(**data)


@dataclass
class Upload:
    """A file from `files_upload_v2`: announced by getUploadURLExternal, bytes POSTed, then completed."""

    file_id: str
    filename: str | None = None
    length: int | None = None
    content: bytes | None = None
    content_type: str | None = None
    title: str | None = None
    channel_id: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["content"] = None if self.content is None else base64.b64encode(self.content).decode()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Upload:
        data = dict(data)
        if data.get("content") is not None:
            data["content"] = base64.b64decode(data["content"])
        return cls(**data)


@dataclass
class ResponsePost:
    """One POST to a fake `response_url` (what `respond()` / `AsyncWebhookClient.send` sent)."""

    id: str
    payload: dict[str, Any]
    headers: dict[str, str]
    at: float
    status: int = 200

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResponsePost:
        return cls(**data)


@dataclass
class Scripted:
    """A canned answer for the next `times` calls of one method (`times=None`: forever)."""

    status: int = 200
    body: dict[str, Any] | str | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    times: int | None = 1
    channel: str | None = None
    """Only calls whose `channel` parameter is this one (None: any call of the method)."""


def _default_error_body(status: int) -> dict[str, Any] | None:
    if status == 429:
        return {"ok": False, "error": "ratelimited"}
    if status >= 500:
        return {"ok": False, "error": "internal_error"}
    if status >= 400:
        return {"ok": False, "error": "invalid_request"}
    return None


def _decode_json_fields(params: dict[str, Any]) -> dict[str, Any]:
    for key in JSON_FIELDS & params.keys():
        value = params[key]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params


class FakeSlack:
    """The fake Slack server. Start it in the test's loop; read what the code under test sent.

    Directory data (`users`, `usergroups`, `channels`) can be passed in or mutated later
    (`fake.usergroups["S9"] = ["U3"]`). With `strict=True`, `chat.update` of a ts the fake never
    issued answers `message_not_found` like Slack does; by default it is echoed.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        users: dict[str, dict[str, Any]] | None = None,
        usergroups: dict[str, list[str]] | None = None,
        channels: dict[str, str] | None = None,
        strict: bool = False,
        response_url_max_uses: int | None = 5,
    ) -> None:
        self.host = host
        self.port = port
        users = DEFAULT_USERS if users is None else users
        usergroups = DEFAULT_USERGROUPS if usergroups is None else usergroups
        self.users: dict[str, dict[str, Any]] = {k: dict(v) for k, v in users.items()}
        self.usergroups: dict[str, list[str]] = {k: list(v) for k, v in usergroups.items()}
        self.channels: dict[str, str] = dict(DEFAULT_CHANNELS if channels is None else channels)
        self.strict = strict
        self.response_url_max_uses = response_url_max_uses

        self._calls: list[Call] = []
        self.uploads: dict[str, Upload] = {}
        self.responses: list[ResponsePost] = []
        self.socket_acks: list[dict[str, Any]] = []
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.socket_connections = 0
        self._scripts: dict[str, deque[Scripted]] = {}
        self._ts = itertools.count(FIRST_TS)
        self._file_ids = itertools.count(1)
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._sockets: set[web.WebSocketResponse] = set()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    # ------------------------------------------------------------------ lifecycle

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response_url/{id}", self._response_url)
        app.router.add_get("/link", self._link)
        app.router.add_get("/_fake/health", self._fake_health)
        app.router.add_get("/_fake/calls", self._fake_calls)
        app.router.add_get("/_fake/uploads", self._fake_uploads)
        app.router.add_get("/_fake/responses", self._fake_responses)
        app.router.add_get("/_fake/acks", self._fake_acks)
        app.router.add_post("/_fake/script", self._fake_script)
        app.router.add_post("/_fake/envelope", self._fake_envelope)
        app.router.add_post("/_fake/directory", self._fake_directory)
        app.router.add_post("/_fake/reset", self._fake_reset)
        return app

    async def start(self) -> str:
        """Listen on `host:port` (0 = a free port); returns the base URL `http://127.0.0.1:<port>`."""
        if self._runner is not None:
            raise RuntimeError("FakeSlack already started")
        runner = web.AppRunner(self.build_app(), shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        sockname = runner.addresses[0]
        self.port = int(sockname[1])
        self._url = f"http://{self.host}:{self.port}"
        return self._url

    async def stop(self) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(message=b"fake slack stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("FakeSlack not started")
        return self._url

    @property
    def api_url(self) -> str:
        """`AsyncWebClient(base_url=...)` / `SLACK_API_URL` value (trailing slash included)."""
        return f"{self.url}/api/"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/link"

    def response_url(self, id: str) -> str:
        """A `response_url` for a fake command/action payload; POSTs to it land in `fake.responses`."""
        return f"{self.url}/response_url/{id}"

    # ------------------------------------------------------------------ test-facing helpers

    def calls(self, method: str | None = None) -> list[Call]:
        return [c for c in self._calls if method is None or c.method == method]

    def by(self, method: str) -> list[dict[str, Any]]:
        """The params of every `method` call, in order."""
        return [c.params for c in self.calls(method)]

    def responses_for(self, id: str) -> list[ResponsePost]:
        return [r for r in self.responses if r.id == id]

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        """The current state of a posted message (after any `chat.update`)."""
        return self.messages[(channel, ts)]

    def script(
        self,
        method: str,
        *,
        status: int = 200,
        body: dict[str, Any] | str | bytes | None = None,
        headers: dict[str, str] | None = None,
        delay_s: float = 0.0,
        times: int | None = 1,
        channel: str | None = None,
    ) -> None:
        """Queue a canned answer for the next `times` calls of `method` (None: every call from now on).

        With `channel`, only calls whose `channel` parameter is that id take the answer (Slack's
        `not_in_channel` for one channel while the others work).

        Scripts for one method are consumed in the order queued. `body=None` with a 2xx status and a
        `delay_s` delays the normal answer; `body=None` with 429/4xx/5xx answers a Slack-style
        `{"ok": false, "error": "ratelimited" | "invalid_request" | "internal_error"}`. A str/bytes
        body is sent as text/plain. `method` may also be `"upload"` or `"response_url"`.
        """
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        self._scripts.setdefault(method, deque()).append(
            Scripted(
                status=status,
                body=body,
                headers=dict(headers or {}),
                delay_s=delay_s,
                times=times,
                channel=channel,
            )
        )

    async def push_envelope(self, envelope: dict[str, Any]) -> None:
        """Queue a Socket Mode envelope; the next (or current) `/link` connection sends it."""
        await self._outbox.put(envelope)

    async def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Tell every connected Socket Mode client to reconnect (`{"type": "disconnect"}`)."""
        message = json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-slack"}})
        for ws in list(self._sockets):
            with contextlib.suppress(ConnectionError):
                await ws.send_str(message)

    def reset(self) -> None:
        """Forget calls, uploads, responses, acks, messages, scripts and queued envelopes; restart ids."""
        self._calls.clear()
        self.uploads.clear()
        self.responses.clear()
        self.socket_acks.clear()
        self.messages.clear()
        self._scripts.clear()
        self._ts = itertools.count(FIRST_TS)
        self._file_ids = itertools.count(1)
        while not self._outbox.empty():
            self._outbox.get_nowait()

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until at least `count` `method` calls were recorded; returns them all."""
        await self._wait(lambda: len(self.calls(method)) >= count, timeout, f"{count} {method} call(s)")
        return self.calls(method)

    async def wait_for_responses(
        self, id: str | None = None, count: int = 1, timeout: float = 5.0
    ) -> list[ResponsePost]:
        """Wait until `count` POSTs reached `response_url(id)` (any id if None)."""

        def got() -> list[ResponsePost]:
            return self.responses if id is None else self.responses_for(id)

        await self._wait(
            lambda: len(got()) >= count, timeout, f"{count} response_url post(s) to {id or 'any'}"
        )
        return got()

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """Wait for the Socket Mode ack of one envelope; returns the ack message."""

        def find() -> dict[str, Any] | None:
            return next((a for a in self.socket_acks if a.get("envelope_id") == envelope_id), None)

        await self._wait(lambda: find() is not None, timeout, f"ack of envelope {envelope_id}")
        ack = find()
        assert ack is not None
        return ack

    async def wait_for_upload(self, count: int = 1, timeout: float = 5.0) -> list[Upload]:
        """Wait until `count` uploads are completed (bytes POSTed and completeUploadExternal called)."""

        def done() -> list[Upload]:
            return [u for u in self.uploads.values() if u.completed]

        await self._wait(lambda: len(done()) >= count, timeout, f"{count} completed upload(s)")
        return done()

    async def wait_for_socket(self, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until `count` Socket Mode connections have been opened (in total)."""
        await self._wait(lambda: self.socket_connections >= count, timeout, f"{count} socket connection(s)")

    async def _wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(ready)
        except TimeoutError:
            seen = [f"{c.method}={c.status}" for c in self._calls]
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}; calls so far: {seen}"
            ) from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ------------------------------------------------------------------ request parsing

    @staticmethod
    async def _read_params(request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.can_read_body:
            return _decode_json_fields(params)
        ctype = request.content_type
        if ctype == "application/json":
            raw = await request.read()
            if raw.strip():
                data = json.loads(raw)
                if isinstance(data, dict):
                    params.update(data)
                else:
                    params["_json"] = data
        elif ctype == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                payload = await part.read()
                if part.filename:
                    params[part.name] = {"filename": part.filename, "size": len(payload)}
                else:
                    params[part.name] = payload.decode()
        else:
            form = await request.post()
            for key in form:
                value = form.getone(key)
                params[key] = value if isinstance(value, str) else str(value)
        return _decode_json_fields(params)

    def _next_ts(self) -> str:
        return f"{next(self._ts)}.000100"

    def _take_script(self, key: str, channel: object = None) -> Scripted | None:
        queue = self._scripts.get(key)
        if not queue:
            return None
        index = next((i for i, e in enumerate(queue) if e.channel is None or e.channel == channel), None)
        if index is None:
            return None
        entry = queue[index]
        if entry.times is not None:
            entry.times -= 1
            if entry.times <= 0:
                del queue[index]
        return entry

    @staticmethod
    def _scripted_response(entry: Scripted) -> web.Response | None:
        body = entry.body if entry.body is not None else _default_error_body(entry.status)
        if body is None:
            return None
        if isinstance(body, dict):
            return web.json_response(body, status=entry.status, headers=entry.headers)
        data = body.encode() if isinstance(body, str) else body
        return web.Response(body=data, status=entry.status, headers=entry.headers, content_type="text/plain")

    # ------------------------------------------------------------------ /api

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await self._read_params(request)
        call = Call(
            method=method,
            params=params,
            headers={k.lower(): v for k, v in request.headers.items()},
            at=time.time(),
            http_method=request.method,
            content_type=request.content_type,
        )
        self._calls.append(call)
        try:
            response = await self._answer(call)
        except Exception:
            call.status = 500
            raise
        finally:
            await self._notify()
        call.status = response.status
        await self._notify()
        return response

    async def _answer(self, call: Call) -> web.Response:
        token = call.token or ""
        if not (token.startswith("xox") or token.startswith("xapp-")):
            return web.json_response({"ok": False, "error": "not_authed"})
        is_app_token = token.startswith("xapp-")
        if is_app_token and call.method not in ("apps.connections.open", "auth.test"):
            return web.json_response({"ok": False, "error": "not_allowed_token_type"})
        if call.method == "apps.connections.open" and not is_app_token:
            return web.json_response({"ok": False, "error": "not_allowed_token_type"})

        entry = self._take_script(call.method, call.params.get("channel"))
        if entry is not None:
            if entry.delay_s:
                await asyncio.sleep(entry.delay_s)
            scripted = self._scripted_response(entry)
            if scripted is not None:
                return scripted
        body = self._handle(call.method, call.params)
        return web.json_response(body, headers=entry.headers if entry else None)

    def _handle(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        handler = _HANDLERS.get(method)
        if handler is None:
            return {"ok": True}
        return handler(self, p)

    def _auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _bot_message(self, p: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "text": p.get("text", ""),
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "ts": ts,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if p.get(key) is not None:
                message[key] = p[key]
        return message

    @staticmethod
    def _missing_content(p: dict[str, Any]) -> bool:
        return not (p.get("text") or p.get("blocks") or p.get("attachments"))

    def _chat_post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = p.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if self._missing_content(p):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        message = self._bot_message(p, ts)
        self.messages[(str(channel), ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel, ts = p.get("channel"), p.get("ts")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not ts:
            return {"ok": False, "error": "message_not_found"}
        key = (str(channel), str(ts))
        if key not in self.messages:
            if self.strict:
                return {"ok": False, "error": "message_not_found"}
            self.messages[key] = self._bot_message({}, str(ts))
        message = self.messages[key]
        for field_name in ("text", "blocks", "attachments", "metadata"):
            if field_name in p:
                message[field_name] = p[field_name]
        message["edited"] = {"user": BOT_USER_ID, "ts": f"{int(time.time())}.000000"}
        return {"ok": True, "channel": channel, "ts": ts, "text": message.get("text", ""), "message": message}

    def _chat_post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not p.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        if self._missing_content(p):
            return {"ok": False, "error": "no_text"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user_id = p.get("user")
        info = self.users.get(str(user_id))
        if info is None:
            return {"ok": False, "error": "user_not_found"}
        tz = info.get("tz", "UTC")
        return {
            "ok": True,
            "user": {
                "id": user_id,
                "team_id": TEAM_ID,
                "name": info.get("name", str(user_id).lower()),
                "real_name": info.get("real_name", ""),
                "deleted": False,
                "tz": tz,
                "tz_label": tz,
                "tz_offset": info.get("tz_offset", 0),
                "is_bot": info.get("is_bot", False),
                "is_admin": info.get("is_admin", False),
                "profile": {
                    "real_name": info.get("real_name", ""),
                    "display_name": info.get("name", ""),
                    "team": TEAM_ID,
                },
            },
        }

    def _usergroups_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        group = p.get("usergroup")
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[str(group)])}

    def _conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = str(p.get("channel") or "")
        name = self.channels.get(channel)
        if name is None and channel[:1] not in ("C", "G", "D"):
            return {"ok": False, "error": "channel_not_found"}
        return {
            "ok": True,
            "channel": {
                "id": channel,
                "name": name or f"channel-{channel.lower()}",
                "is_channel": channel.startswith("C"),
                "is_group": channel.startswith("G"),
                "is_im": channel.startswith("D"),
                "is_private": channel.startswith("G"),
                "is_archived": False,
                "is_member": True,
                "context_team_id": TEAM_ID,
            },
        }

    def _get_upload_url(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("filename") or p.get("length") in (None, ""):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._file_ids)}"
        self.uploads[file_id] = Upload(file_id=file_id, filename=str(p["filename"]), length=int(p["length"]))
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, p: dict[str, Any]) -> dict[str, Any]:
        files = p.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        answered = []
        for item in files:
            upload = self.uploads.get(str(item.get("id")))
            if upload is None or upload.content is None:
                return {"ok": False, "error": "file_not_found"}
            upload.title = item.get("title") or upload.filename
            upload.channel_id = p.get("channel_id")
            upload.thread_ts = p.get("thread_ts")
            upload.initial_comment = p.get("initial_comment")
            upload.completed = True
            answered.append(
                {
                    "id": upload.file_id,
                    "title": upload.title,
                    "name": upload.filename,
                    "size": len(upload.content),
                    "user": BOT_USER_ID,
                    "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{BOT_USER_ID}/{upload.file_id}",
                }
            )
        return {"ok": True, "files": answered}

    def _apps_connections_open(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.ws_url}

    # ------------------------------------------------------------------ /upload, /response_url

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"]
        upload = self.uploads.setdefault(file_id, Upload(file_id=file_id))
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if isinstance(part, BodyPartReader) and part.filename is not None:
                    upload.content = await part.read()
                    upload.filename = upload.filename or part.filename
                    upload.content_type = part.headers.get("Content-Type")
                    break
        else:
            upload.content = await request.read()
            upload.content_type = request.content_type
        entry = self._take_script(UPLOAD)
        await self._notify()
        if entry is not None:
            if entry.delay_s:
                await asyncio.sleep(entry.delay_s)
            scripted = self._scripted_response(entry)
            if scripted is not None:
                return scripted
        size = len(upload.content or b"")
        return web.Response(text=f"OK - {size}", content_type="text/plain")

    async def _response_url(self, request: web.Request) -> web.StreamResponse:
        rid = request.match_info["id"]
        raw = await request.read()
        try:
            payload = json.loads(raw) if raw.strip() else {}
        except ValueError:
            payload = {"_raw": raw.decode(errors="replace")}
        used = len(self.responses_for(rid))
        post = ResponsePost(
            id=rid,
            payload=payload,
            headers={k.lower(): v for k, v in request.headers.items()},
            at=time.time(),
        )
        self.responses.append(post)
        await self._notify()
        if self.response_url_max_uses is not None and used >= self.response_url_max_uses:
            post.status = 404
            return web.Response(status=404, text="used_url", content_type="text/plain")
        entry = self._take_script(RESPONSE_URL)
        if entry is not None:
            if entry.delay_s:
                await asyncio.sleep(entry.delay_s)
            scripted = self._scripted_response(entry)
            if scripted is not None:
                post.status = scripted.status
                return scripted
        return web.Response(text="ok", content_type="text/plain")

    # ------------------------------------------------------------------ /link (Socket Mode)

    async def _link(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        self.socket_connections += 1
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": len(self._sockets),
                    "debug_info": {
                        "host": "fake-slack",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": APP_ID},
                }
            )
        )
        await self._notify()
        pump = asyncio.create_task(self._pump(ws))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    try:
                        data = json.loads(msg.data)
                    except ValueError:
                        data = {"_raw": msg.data}
                    self.socket_acks.append(data)
                    await self._notify()
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            self._sockets.discard(ws)
        return ws

    async def _pump(self, ws: web.WebSocketResponse) -> None:
        while not ws.closed:
            envelope = await self._outbox.get()
            try:
                await ws.send_str(json.dumps(envelope))
            except Exception:
                # The connection went away between get() and send: keep the envelope for the next one.
                self._outbox.put_nowait(envelope)
                return

    # ------------------------------------------------------------------ /_fake control plane

    async def _fake_health(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": True})

    async def _fake_calls(self, request: web.Request) -> web.StreamResponse:
        method = request.query.get("method")
        return web.json_response([c.to_json() for c in self.calls(method)])

    async def _fake_uploads(self, request: web.Request) -> web.StreamResponse:
        return web.json_response([u.to_json() for u in self.uploads.values()])

    async def _fake_responses(self, request: web.Request) -> web.StreamResponse:
        return web.json_response([r.to_json() for r in self.responses])

    async def _fake_acks(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.socket_acks)

    async def _fake_script(self, request: web.Request) -> web.StreamResponse:
        spec = await request.json()
        try:
            method = spec.pop("method")
            self.script(method, **spec)
        except (KeyError, TypeError, ValueError) as exc:
            return web.json_response({"ok": False, "error": f"bad script: {exc!r}"}, status=400)
        return web.json_response({"ok": True})

    async def _fake_envelope(self, request: web.Request) -> web.StreamResponse:
        await self.push_envelope(await request.json())
        return web.json_response({"ok": True})

    async def _fake_directory(self, request: web.Request) -> web.StreamResponse:
        spec = await request.json()
        self.users.update(spec.get("users", {}))
        self.usergroups.update(spec.get("usergroups", {}))
        self.channels.update(spec.get("channels", {}))
        return web.json_response({"ok": True})

    async def _fake_reset(self, request: web.Request) -> web.StreamResponse:
        self.reset()
        return web.json_response({"ok": True})


_HANDLERS: dict[str, Callable[[FakeSlack, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": FakeSlack._auth_test,
    "chat.postMessage": FakeSlack._chat_post_message,
    "chat.update": FakeSlack._chat_update,
    "chat.postEphemeral": FakeSlack._chat_post_ephemeral,
    "users.info": FakeSlack._users_info,
    "usergroups.users.list": FakeSlack._usergroups_users_list,
    "conversations.info": FakeSlack._conversations_info,
    "files.getUploadURLExternal": FakeSlack._get_upload_url,
    "files.completeUploadExternal": FakeSlack._complete_upload,
    "apps.connections.open": FakeSlack._apps_connections_open,
}


# ---------------------------------------------------------------------- separate-process mode


class FakeSlackProcess:
    """`python -m tests.slack.fake_slack` as a child process, driven synchronously over `/_fake/`.

    Blocking calls on purpose: usable from sync tests and, briefly, from async tests whose code under
    test runs in *another* process (e.g. `calico-bot serve`). The child's stderr goes to
    `<state_file>.log` (a file, not a pipe nobody drains).
    """

    def __init__(self, state_file: Path, *, cwd: Path | None = None, python: str = sys.executable) -> None:
        self.state_file = Path(state_file)
        self.log_file = self.state_file.with_name(self.state_file.name + ".log")
        self.cwd = cwd or Path(__file__).resolve().parents[2]
        self.python = python
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 15.0) -> str:
        """Start the child, wait (with a deadline) for its state file; returns the base URL."""
        self.state_file.unlink(missing_ok=True)
        argv = [
            self.python,
            "-m",
            "tests.slack.fake_slack",
            "--port",
            "0",
            "--state-file",
            str(self.state_file),
        ]
        with self.log_file.open("wb") as log:
            self.proc = subprocess.Popen(argv, cwd=self.cwd, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fake slack exited with {self.proc.returncode}: {self.log()}")
            if self.state_file.exists():
                self.url = self.state_file.read_text().strip()
                return self.url
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"fake slack did not write {self.state_file} within {timeout}s: {self.log()}")

    def stop(self) -> None:
        """SIGTERM the child (SIGKILL after 5 s) and reap it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def __enter__(self) -> FakeSlackProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/link"

    def response_url(self, id: str) -> str:
        return f"{self.url}/response_url/{id}"

    def _request(self, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}/_fake/{path}",
            data=data,
            method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
        with opener.open(req, timeout=10) as resp:
            return json.loads(resp.read())

    def calls(self, method: str | None = None) -> list[Call]:
        path = "calls" if method is None else f"calls?method={urllib.parse.quote(method)}"
        return [Call.from_json(c) for c in self._request(path)]

    def uploads(self) -> list[Upload]:
        return [Upload.from_json(u) for u in self._request("uploads")]

    def responses(self) -> list[ResponsePost]:
        return [ResponsePost.from_json(r) for r in self._request("responses")]

    def socket_acks(self) -> list[dict[str, Any]]:
        return list(self._request("acks"))

    def script(self, method: str, **spec: Any) -> None:
        """Same arguments as `FakeSlack.script` (`body` must be JSON: a dict or a str)."""
        self._request("script", {"method": method, **spec})

    def push_envelope(self, envelope: dict[str, Any]) -> None:
        self._request("envelope", envelope)

    def set_directory(
        self,
        *,
        users: dict[str, dict[str, Any]] | None = None,
        usergroups: dict[str, list[str]] | None = None,
        channels: dict[str, str] | None = None,
    ) -> None:
        """Merge users / usergroups / channels into the child's directory."""
        spec = {"users": users or {}, "usergroups": usergroups or {}, "channels": channels or {}}
        self._request("directory", spec)

    def reset(self) -> None:
        self._request("reset", {})

    def _poll(
        self, fetch: Callable[[], list[T]], ready: Callable[[list[T]], bool], timeout: float, what: str
    ) -> list[T]:
        deadline = time.monotonic() + timeout
        while True:
            items = fetch()
            if ready(items):
                return items
            if time.monotonic() >= deadline:
                seen = [f"{c.method}={c.status}" for c in self.calls()]
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; calls so far: {seen}")
            time.sleep(0.05)

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        return self._poll(lambda: self.calls(method), lambda c: len(c) >= count, timeout, f"{count} {method}")

    def wait_for_responses(
        self, id: str | None = None, count: int = 1, timeout: float = 10.0
    ) -> list[ResponsePost]:
        def fetch() -> list[ResponsePost]:
            return [r for r in self.responses() if id is None or r.id == id]

        return self._poll(fetch, lambda r: len(r) >= count, timeout, f"{count} response_url post(s)")

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        def fetch() -> list[dict[str, Any]]:
            return [a for a in self.socket_acks() if a.get("envelope_id") == envelope_id]

        return self._poll(fetch, bool, timeout, f"ack of envelope {envelope_id}")[0]


async def _serve(host: str, port: int, state_file: Path | None) -> None:
    fake = FakeSlack(host=host, port=port)
    url = await fake.start()
    if state_file is not None:
        tmp = state_file.with_name(state_file.name + ".tmp")
        tmp.write_text(url + "\n")
        os.replace(tmp, state_file)
    print(f"fake slack listening on {url}", file=sys.stderr, flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await stopping.wait()
    finally:
        await fake.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.slack.fake_slack", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state-file", type=Path, help="file that receives the base URL once listening")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.host, args.port, args.state_file))


if __name__ == "__main__":
    main()
