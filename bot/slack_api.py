"""The Slack Web API adapter: the only module in bot/ that imports slack_sdk.

One `AsyncWebClient` per process, pointed at `SLACK_API_URL`, with the connection-error and the
rate-limit (429 + Retry-After) retry handlers; no retry on server errors for `chat.postMessage`
(a retry after a lost 5xx would post twice). `SlackPoster` is what the jobs use: post, update,
ephemeral, and files into a thread — messages given as `bot.cards.Message`.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.cards import Message

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

    async def usergroup_members(self, group: str) -> frozenset[str]:
        response = await self._call(
            "usergroups.users.list", self.client.usergroups_users_list, usergroup=group
        )
        return frozenset(str(user) for user in response.get("users") or [])

    async def _call(self, method: str, fn: Any, **kwargs: Any) -> Any:
        try:
            return await fn(**kwargs)
        except SlackApiError as exc:
            error = (
                str(exc.response.get("error", "unknown_error"))
                if exc.response is not None
                else "unknown_error"
            )
            raise SlackError(method, error) from None
