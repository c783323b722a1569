"""The one Kubernetes reader: every call calico-bot makes to a cluster's API goes through it.

Collection, gather, the Kubernetes actions and the worker verification all use `KubeReader`, so a
call behaves the same everywhere:

- the timeout is the one the caller was configured with (`ClusterAccess.timeout`, `--timeout`,
  `CALICO_BOT_API_TIMEOUT`), on every call;
- an answer that is not a success raises its `bot.cluster.errors.ApiError` subclass (one mapping,
  `errors.api_error`), no answer raises `TransportError` / `Timeout`;
- bodies are decoded with msgspec straight into the type asked for (`checks.objects` views, a
  `Page` of them, or `dict[str, Any]` where the whole object is wanted), off the event loop.

It speaks to a `Transport` (`bot.cluster.kube.KubeTransport` in production; anything with the same
`request` method in tests, e.g. a recorder in front of the real one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from bot.cluster.errors import NotFound, TransportError, UnreadableResponse, api_error
from bot.cluster.kube import RawResponse
from bot.observability import measure
from checks.objects import ListMeta

T = TypeVar("T")

DEFAULT_TIMEOUT = 20.0
"""Seconds per call when nothing was configured."""
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
OFF_LOOP_BYTES = 64 * 1024
"""Bodies at least this big are decoded in a worker thread (the event loop keeps serving)."""


class Transport(Protocol):
    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        accept: str = JSON,
        body: Any = None,
        content_type: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> RawResponse: ...


class Page(msgspec.Struct, Generic[T], kw_only=True):
    """One page of a list response: the items and the `continue` token."""

    metadata: ListMeta = ListMeta()
    items: list[T] = []


_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def decoder(kind: Any) -> msgspec.json.Decoder[Any]:
    """A cached msgspec decoder for `kind` (a type, or a generic alias such as `Page[Pod]`)."""
    dec = _decoders.get(kind)
    if dec is None:
        dec = _decoders[kind] = msgspec.json.Decoder(kind)
    return dec


def decode(body: bytes, kind: type[T]) -> T:
    """`body` as `kind`; UnreadableResponse when it is not."""
    try:
        value: T = decoder(kind).decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise UnreadableResponse(f"unreadable response ({exc})") from None
    return value


def decode_page(body: bytes, item_type: type[T]) -> Page[T]:
    """One list response as typed items."""
    return decode(body, Page[item_type])  # type: ignore[valid-type]


class KubeReader:
    """Calls to one cluster's API with one timeout, errors as types, objects out."""

    def __init__(self, transport: Transport, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.transport = transport
        self.timeout = timeout

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        accept: str = JSON,
        body: Any = None,
        content_type: str | None = None,
    ) -> RawResponse:
        """One request; a success comes back as it was sent, anything else raises (and is counted in
        `calico_bot_api_errors_total{api="kubernetes"}` by its error type: a 404 too)."""
        try:
            response = await self.transport.request(
                method,
                path,
                params=params,
                accept=accept,
                body=body,
                content_type=content_type,
                timeout=self.timeout,
            )
        except TransportError as exc:
            measure.api_error("kubernetes", type(exc).__name__)
            raise
        if not 200 <= response.status < 300:
            error = api_error(response.status, response.body, response.reason)
            measure.api_error("kubernetes", type(error).__name__)
            raise error
        return response

    async def get(
        self, path: str, kind: type[T], *, params: Sequence[tuple[str, str]] = (), accept: str = JSON
    ) -> T:
        """GET `path` decoded as `kind`."""
        response = await self.call("GET", path, params=params, accept=accept)
        return await self.decode(response.body, kind)

    async def find(self, path: str, kind: type[T], *, accept: str = JSON) -> T | None:
        """GET one named object; None when it does not exist (404 is an answer)."""
        try:
            return await self.get(path, kind, accept=accept)
        except NotFound:
            return None

    async def items(
        self, path: str, item_type: type[T], *, params: Sequence[tuple[str, str]] = ()
    ) -> list[T]:
        """The items of one (unpaged) list."""
        response = await self.call("GET", path, params=params)
        return (await self.page(response.body, item_type)).items

    async def text(self, path: str, params: Sequence[tuple[str, str]]) -> bytes:
        """A plain-text answer (a container log) as the API sent it."""
        return (await self.call("GET", path, params=params, accept="text/plain")).body

    async def send(
        self, method: str, path: str, body: Any = None, *, content_type: str | None = None
    ) -> dict[str, Any]:
        """A write (POST, PATCH, DELETE); the answer's object, as a dict."""
        response = await self.call(method, path, body=body, content_type=content_type)
        return await self.decode(response.body, dict[str, Any]) if response.body else {}

    @staticmethod
    async def page(body: bytes, item_type: type[T]) -> Page[T]:
        """A list response as typed items, in a worker thread when the body is big."""
        if len(body) >= OFF_LOOP_BYTES:
            return await asyncio.to_thread(decode_page, body, item_type)
        return decode_page(body, item_type)

    @staticmethod
    async def decode(body: bytes, kind: type[T]) -> T:
        """Decoded as `kind`, in a worker thread when the body is big."""
        if len(body) >= OFF_LOOP_BYTES:
            return await asyncio.to_thread(decode, body, kind)
        return decode(body, kind)
