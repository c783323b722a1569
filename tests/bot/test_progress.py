"""One progress mechanism (`bot.cluster.progress`) for the terminal and for Slack:

- a listener hears the collection at most once per its interval (counted from when it listens),
  and always once more when the collection is done;
- the Slack check job is such a listener: while a slow collection runs, the "checking…" message is
  edited with the calls done of the total, and never after the card has replaced it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cluster.progress import Progress
from bot.cluster.sources import ClusterAccess
from bot.sim import SimCluster
from bot.slack import check_job
from bot.slack.api import SlackPoster, make_client
from bot.slack.check_job import CheckRequest, run_check_job
from tests.slack.fake_slack import FakeSlack


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_listener_hears_at_most_once_per_interval_and_always_at_the_end() -> None:
    clock = Clock()
    progress = Progress(total=10)
    heard: list[tuple[int, str]] = []
    progress.listen(lambda p: heard.append((p.done, p.phase)), every=1.0, clock=clock)
    every_tick: list[int] = []
    progress.listen(lambda p: every_tick.append(p.done))
    for step in range(1, 8):
        clock.now += 0.4
        progress.done = step
        progress.tick()
    progress.phase = "done"
    progress.tick()
    # 0.4 s a tick: heard at 1.2 s (step 3) and 2.4 s (step 6), then the end whatever the interval
    assert heard == [(3, "reading"), (6, "reading"), (7, "done")]
    assert every_tick == [1, 2, 3, 4, 5, 6, 7, 7]


def test_the_interval_counts_from_when_the_listener_joins() -> None:
    clock = Clock()
    progress = Progress(total=3)
    heard: list[int] = []
    progress.listen(lambda p: heard.append(p.done), every=5.0, clock=clock)
    progress.done = 1
    progress.tick()
    assert heard == []  # a check that ends within the interval edits nothing on the way


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


async def test_slack_edits_the_checking_message_while_a_slow_check_runs(
    fake_slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(check_job, "PROGRESS_INTERVAL", 0.2)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    async with SimCluster("healthy", nodes=6) as sim:
        sim.write_kubeconfig(tmp_path / "kubeconfig", context="slow")
        sim.set_faults([{"route": "GET /api/v1/namespaces/{ns}/pods/{name}/log", "delay_ms": 400}])
        slack = SlackPoster(make_client(token="xoxb-test", api_url=fake_slack.api_url))
        request = CheckRequest(cluster="slow", node="", channel="C1", user="U1", request_id="r1")
        await run_check_job(request, slack=slack, access=ClusterAccess(timeout=5))
    posted = fake_slack.by("chat.postMessage")
    updates = [json.dumps(u, ensure_ascii=False) for u in fake_slack.by("chat.update")]
    assert "Checking" in json.dumps(posted[0], ensure_ascii=False)
    progress = [u for u in updates if "▰" in u or "▱" in u]
    assert progress, updates  # the calls done of the total, while it ran
    assert "Calico check · slow" in updates[-1]  # the card came last: no edit after it
    assert all("▱" not in u and "▰" not in u for u in updates[updates.index(progress[-1]) + 1 :])
