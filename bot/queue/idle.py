"""Whether this process has work in flight: every asyncio task that is neither the caller, nor a
connection waiting for its next request, nor one of the process's resident loops.

Work descends from a task that exists by the time its HTTP answer is sent (Bolt runs a listener as
a task of its own before it acks; a listener hands jobs to the queue, which runs each as a task),
so "nothing busy" after a request was answered means the request has no consequences left to
come. `GET /_idle` reports it, for end-to-end tests and drills that must wait until the bot has
finished instead of sleeping and hoping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

RESIDENT_NAMES = frozenset({"approval-sweeper"})
"""Tasks named so by this project that live as long as the process."""

RESIDENT_COROUTINES = frozenset(
    {
        # `calico-bot serve` itself: the main task, waiting for a signal to stop
        "bot.serve.serve",
        # aiohttp's per-connection loop: between requests it waits; each request runs as a task of its own
        "aiohttp.web_protocol.RequestHandler.start",
        # slack_sdk's Socket Mode client: the session monitor and the message receive/process loops
        "slack_sdk.socket_mode.aiohttp.SocketModeClient.monitor_current_session",
        "slack_sdk.socket_mode.aiohttp.SocketModeClient.receive_messages",
        "slack_sdk.socket_mode.async_client.AsyncBaseSocketModeClient.process_messages",
    }
)
"""Coroutines (`module.qualified_name`) that wait for work rather than being work."""


def busy_tasks(
    resident_names: Collection[str] = RESIDENT_NAMES,
    resident_coroutines: Collection[str] = RESIDENT_COROUTINES,
) -> list[str]:
    """The running loop's tasks that are work in flight, as `name (coroutine)`, sorted."""
    current = asyncio.current_task()
    busy = []
    for task in asyncio.all_tasks():
        if task is current or task.done() or task.get_name() in resident_names:
            continue
        coroutine = coroutine_name(task)
        if coroutine not in resident_coroutines:
            busy.append(f"{task.get_name()} ({coroutine})")
    return sorted(busy)


def coroutine_name(task: asyncio.Task[object]) -> str:
    """`module.qualified_name` of the coroutine a task runs (`?` for one that is not a coroutine)."""
    coro = task.get_coro()
    qualname = str(getattr(coro, "__qualname__", "?"))
    frame = getattr(coro, "cr_frame", None)
    module = frame.f_globals.get("__name__") if frame is not None else None
    return f"{module}.{qualname}" if module else qualname
