"""Watches: `GET …?watch=1` as a chunked stream of `{"type": …, "object": …}` lines.

What `kubectl get -w` and a client-go reflector need from the apiserver:

- `resourceVersion` unset or `0`: synthetic `ADDED` events for every object that matches now,
  then the changes; a resourceVersion: the changes after it (`ERROR` with a 410 `Expired` Status
  when they are no longer all known, as after a compaction);
- `sendInitialEvents=true` (watch-list): the initial `ADDED` events end with a `BOOKMARK` annotated
  `k8s.io/initial-events-end`;
- `labelSelector`, `fieldSelector` and the namespace of the path filter the events (an object is
  judged as it is after the change; a DELETED object as it was);
- the object is encoded as the client asked: the object, PartialObjectMetadata, or a one-row Table
  (column definitions only in the first event, as kube-apiserver does);
- the stream ends after `timeoutSeconds` (default 30 minutes) or when the client goes away.

Every write to the store is a change (`Store.history`): API writes, the DaemonSet controller's
recreations, cordons, IKS reboots, and the heartbeats of a moving clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.sim.store import (
    ApiError,
    Json,
    ResourceType,
    Store,
    StoredObject,
    bad_request,
    encode,
    parse_field_selector,
    parse_label_selector,
)

DEFAULT_TIMEOUT_S = 1800.0
TableRenderer = Callable[[list[Json], bool], Json]
"""(objects, with column definitions) -> a Table."""


def _start_rv(query: Any) -> int | None:
    """The resourceVersion a watch starts after; None for "now, with the current state first"."""
    raw = str(query.get("resourceVersion", "") or "")
    if raw in ("", "0"):
        return None
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"resourceVersion: Invalid value: {raw!r}: must be a number") from None


def _timeout(query: Any) -> float:
    raw = query.get("timeoutSeconds")
    if raw in (None, ""):
        return DEFAULT_TIMEOUT_S
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise bad_request(f"timeoutSeconds: invalid value {raw!r}") from None


class WatchFilter:
    """Which objects a watch reports: its type, namespace and selectors."""

    def __init__(self, rtype: ResourceType, namespace: str | None, query: Any) -> None:
        self.rtype = rtype
        self.namespace = namespace if rtype.namespaced else None
        self.labels = parse_label_selector(str(query.get("labelSelector", "") or ""))
        self.fields = parse_field_selector(str(query.get("fieldSelector", "") or ""), rtype)

    def matches(self, obj: StoredObject) -> bool:
        if obj.rtype is not self.rtype:
            return False
        if self.namespace is not None and obj.namespace != self.namespace:
            return False
        if self.labels:
            have = obj.labels()
            if not all(req.matches(have) for req in self.labels):
                return False
        return all((obj.field(term.field) == term.value) != term.negate for term in self.fields)


def watch_event(kind: str, obj: StoredObject, mode: str, render: TableRenderer, headers: bool) -> bytes:
    """One line of the stream."""
    if mode.startswith("table"):
        body = encode(render([obj.doc()], headers))
    elif mode == "meta":
        body = encode(
            {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.doc().get("metadata") or {},
            }
        )
    else:
        body = obj.full_bytes()
    return b'{"type":"%s","object":%s}\n' % (kind.encode(), body)


def _bookmark(rtype: ResourceType, rv: int) -> bytes:
    obj: Json = {
        "kind": rtype.kind,
        "apiVersion": rtype.api_version,
        "metadata": {"resourceVersion": str(rv), "annotations": {"k8s.io/initial-events-end": "true"}},
    }
    return b'{"type":"BOOKMARK","object":%s}\n' % encode(obj)


def _expired(rv: int, store: Store) -> bytes:
    status = ApiError(
        410, "Expired", f"too old resource version: {rv} ({store.resource_version})"
    ).status_body()
    return b'{"type":"ERROR","object":%s}\n' % encode(status)


async def serve_watch(
    store: Store,
    rtype: ResourceType,
    namespace: str | None,
    request: web.Request,
    *,
    mode: str,
    render: TableRenderer,
) -> web.StreamResponse:
    """Stream the changes of `rtype` (see the module docstring) until timeout or disconnect."""
    query = request.query
    chosen = WatchFilter(rtype, namespace, query)
    start = _start_rv(query)
    timeout = _timeout(query)
    initial = start is None or str(query.get("sendInitialEvents", "")).lower() == "true"
    response = web.StreamResponse(
        status=200, headers={"Content-Type": "application/json", "Cache-Control": "no-cache, private"}
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    wake = asyncio.Event()
    store.wakers.append(wake.set)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    headers = True
    try:
        last = store.resource_version
        if initial:
            namespace_scope = chosen.namespace
            for obj in store.objects(rtype, namespace_scope):
                if chosen.matches(obj):
                    await response.write(watch_event("ADDED", obj, mode, render, headers))
                    headers = False
            if str(query.get("sendInitialEvents", "")).lower() == "true":
                await response.write(_bookmark(rtype, last))
        if start is not None and not initial:
            last = start
        while True:
            wake.clear()
            changes = store.changes_since(last)
            if changes is None:
                await response.write(_expired(last, store))
                break
            for change in changes:
                last = change.rv
                if chosen.matches(change.obj):
                    await response.write(watch_event(change.type, change.obj, mode, render, headers))
                    headers = False
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            if not changes:
                try:
                    await asyncio.wait_for(wake.wait(), remaining)
                except TimeoutError:
                    break
    except (ConnectionResetError, ConnectionError):
        pass  # the client went away: the watch ends
    finally:
        with contextlib.suppress(ValueError):
            store.wakers.remove(wake.set)
    with contextlib.suppress(ConnectionResetError, ConnectionError):
        await response.write_eof()
    return response
