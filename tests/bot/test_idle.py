"""`bot.queue.idle.busy_tasks`: what end-to-end tests wait on instead of sleeping.

Work in flight is any task but the caller, a named resident and a connection between requests; a
request being handled, a job and a listener still running after its ack all count."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from bot.queue.idle import busy_tasks


async def test_a_quiet_loop_is_idle() -> None:
    assert busy_tasks() == []


async def test_a_running_job_is_busy_until_it_ends() -> None:
    release = asyncio.Event()

    async def job() -> None:
        await release.wait()

    task = asyncio.create_task(job(), name="job:check:r1")
    await asyncio.sleep(0)  # the job starts
    assert busy_tasks() == [
        f"job:check:r1 ({__name__}.test_a_running_job_is_busy_until_it_ends.<locals>.job)"
    ]
    release.set()
    await task
    assert busy_tasks() == []


async def test_a_resident_loop_is_not_work() -> None:
    forever = asyncio.create_task(asyncio.Event().wait(), name="approval-sweeper")
    other = asyncio.create_task(asyncio.Event().wait(), name="listener")
    await asyncio.sleep(0)
    try:
        assert busy_tasks() == ["listener (asyncio.locks.Event.wait)"]
        assert busy_tasks(resident_names={"approval-sweeper", "listener"}) == []
    finally:
        forever.cancel()
        other.cancel()
        await asyncio.gather(forever, other, return_exceptions=True)


async def test_an_open_connection_between_requests_is_idle_and_a_request_in_flight_is_not() -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(_request: web.Request) -> web.Response:
        entered.set()
        await release.wait()
        return web.Response(text="done")

    async def fast(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/slow", slow)
    app.router.add_get("/fast", fast)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/fast") as response:  # the connection stays open (keep-alive)
                assert await response.text() == "ok"
            assert busy_tasks() == []

            async def get_slow() -> str:
                async with session.get(url + "/slow") as response:
                    return await response.text()

            pending = asyncio.create_task(get_slow(), name="client")
            await entered.wait()
            busy = busy_tasks()
            assert len(busy) == 2, busy
            assert f"client ({__name__}.{get_slow.__qualname__})" in busy
            assert any(b.endswith(" (aiohttp.web_protocol.RequestHandler._handle_request)") for b in busy), (
                busy
            )
            release.set()
            assert await pending == "done"
        assert busy_tasks() == []
    finally:
        release.set()
        await runner.cleanup()


class _PeerTransport(asyncio.Transport):
    """A transport that only knows who is on the other end: what aiohttp reads `request.remote` from."""

    def __init__(self, host: str) -> None:
        super().__init__()
        self._host = host

    def get_extra_info(self, name: str, default: object = None) -> object:
        return (self._host, 40000) if name == "peername" else default


async def test_idle_answers_this_machine_only() -> None:
    from aiohttp.test_utils import make_mocked_request

    from bot.serve import idle_endpoint

    for local in ("127.0.0.1", "::1"):
        response = await idle_endpoint(make_mocked_request("GET", "/_idle", transport=_PeerTransport(local)))
        assert response.status == 200, local
        assert isinstance(response, web.Response)
        assert response.text is not None
        assert '"idle": true' in response.text, response.text
    for remote in ("10.1.2.3", "192.0.2.7", "fd00::9"):
        try:
            await idle_endpoint(make_mocked_request("GET", "/_idle", transport=_PeerTransport(remote)))
        except web.HTTPNotFound:
            continue
        raise AssertionError(f"/_idle answered {remote}")
