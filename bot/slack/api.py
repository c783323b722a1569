"""The Slack Web API adapter: the only module in bot/ that imports slack_sdk.

One `AsyncWebClient` per process, pointed at `SLACK_API_URL`, with the connection-error and the
rate-limit (429 + Retry-After) retry handlers; no retry on server errors for `chat.postMessage`
(a retry after a lost 5xx would post twice). `SlackPoster` is what the jobs use: post, update,
ephemeral, files into a thread, and answers through a request's `response_url` — messages given as
`bot.slack.blockkit.Message`. Every failure comes out as one `SlackError` with a short code: Slack's own
(`not_in_channel`, `missing_scope`, `ratelimited`…), `HTTP 503` for an answer that was not Slack's
JSON, or `unreachable (…)` when no answer came.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.observability import measure
from bot.slack.blockkit import Message

log = logging.getLogger(__name__)


class SlackError(Exception):
    """A Web API call Slack refused (`ok: false`), with Slack's error code."""

    def __init__(self, method: str, error: str) -> None:
        super().__init__(f"{method}: {error}")
        self.method = method
        self.error = error


def make_client(*, token: str, api_url: str) -> AsyncWebClient:
    return AsyncWebClient(
        token=token,
        base_url=api_url,
        timeout=15,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )


class SlackPoster:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post(self, channel: str, message: Message, *, thread_ts: str | None = None) -> str:
        kwargs: dict[str, Any] = {"channel": channel, "text": message.text, "blocks": message.blocks}
        if message.attachments:
            kwargs["attachments"] = message.attachments
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        response = await self._call("chat.postMessage", self.client.chat_postMessage, **kwargs)
        return str(response["ts"])

    async def update(self, channel: str, ts: str, message: Message) -> None:
        kwargs: dict[str, Any] = {
            "channel": channel,
            "ts": ts,
            "text": message.text,
            "blocks": message.blocks,
        }
        if message.attachments:
            kwargs["attachments"] = message.attachments
        await self._call("chat.update", self.client.chat_update, **kwargs)

    async def ephemeral(self, channel: str, user: str, text: str) -> None:
        await self._call(
            "chat.postEphemeral", self.client.chat_postEphemeral, channel=channel, user=user, text=text
        )

    async def upload(
        self, channel: str, thread_ts: str, *, filename: str, content: str | bytes, title: str, comment: str
    ) -> None:
        await self._call(
            "files.upload",
            self.client.files_upload_v2,
            channel=channel,
            thread_ts=thread_ts,
            filename=filename,
            content=content,
            title=title,
            initial_comment=comment,
        )

    async def respond(self, response_url: str, text: str, *, replace_original: bool | None = None) -> None:
        """An ephemeral answer through a command's or a click's `response_url` (works where the bot
        is not a member of the channel; a response_url takes five answers within 30 minutes)."""
        payload: dict[str, Any] = {"response_type": "ephemeral", "text": text}
        if replace_original is not None:
            payload["replace_original"] = replace_original
        try:
            response = await AsyncWebhookClient(url=response_url, timeout=10).send_dict(payload)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise failed("response_url", f"unreachable ({type(exc).__name__})") from None
        if response.status_code >= 300:
            raise failed("response_url", f"HTTP {response.status_code}")

    async def usergroup_members(self, group: str) -> frozenset[str]:
        response = await self._call(
            "usergroups.users.list", self.client.usergroups_users_list, usergroup=group
        )
        return frozenset(str(user) for user in response.get("users") or [])

    async def _call(self, method: str, fn: Any, **kwargs: Any) -> Any:
        try:
            return await fn(**kwargs)
        except SlackApiError as exc:
            raise failed(method, error_code(exc.response)) from None
        except (aiohttp.ClientError, TimeoutError) as exc:  # after the connection-error retries
            raise failed(method, f"unreachable ({type(exc).__name__})") from None


def failed(method: str, error: str) -> SlackError:
    """The error of a failed call, counted in `calico_bot_api_errors_total{api="slack"}` by its code
    (`not_in_channel`, `ratelimited`, `http_503`, `unreachable`)."""
    measure.api_error("slack", error.split(" (")[0])
    return SlackError(method, error)


def error_code(response: Any) -> str:
    """Slack's `error` from a failed call; `HTTP <status>` when the answer was not Slack's JSON
    (a proxy's 502 page, a 503 during an outage)."""
    data = getattr(response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])[:100]
    status = getattr(response, "status_code", None)
    return f"HTTP {status}" if status else "unknown_error"
