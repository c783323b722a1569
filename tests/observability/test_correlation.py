"""The correlation chain: Slack's id for each kind of request, the links a job and an approval add,
and that asyncio carries it into the tasks a request starts (and into no other request)."""

from __future__ import annotations

import asyncio
import json
import urllib.parse

from bot.observability import correlation
from bot.observability.correlation import Correlation, request_ids, slack_ids
from tests.slack.signing import (
    app_mention_body,
    app_mention_event,
    block_actions_body,
    block_actions_payload,
    slash_command_body,
    slash_command_payload,
    url_verification_body,
)

FORM = "application/x-www-form-urlencoded"


def test_a_command_is_known_by_its_trigger_id() -> None:
    assert slack_ids(slash_command_payload("check c1", trigger_id="111.222.abc")) == (
        "command",
        "111.222.abc",
    )
    assert request_ids(slash_command_body("check c1", trigger_id="111.222.abc"), FORM) == (
        "command",
        "111.222.abc",
    )


def test_an_event_is_known_by_its_event_id() -> None:
    assert slack_ids(app_mention_event("check c1", event_id="Ev0042")) == ("event", "Ev0042")
    body = app_mention_body("check c1", event_id="Ev0042")
    assert request_ids(body, "application/json") == ("event", "Ev0042")
    assert request_ids(body, "application/json; charset=utf-8") == ("event", "Ev0042")


def test_a_button_is_known_by_its_trigger_id_else_its_action_ts() -> None:
    body = block_actions_body("calico_approve", "a1", trigger_id="333.444.def")
    assert request_ids(body, FORM) == ("action", "333.444.def")
    payload = block_actions_payload("calico_approve", "a1")
    del payload["trigger_id"]
    assert slack_ids(payload) == ("action", payload["actions"][0]["action_ts"])
    assert slack_ids({"type": "view_submission", "trigger_id": "9.9.x"}) == ("view", "9.9.x")


def test_anything_else_is_other_without_an_id() -> None:
    assert request_ids(url_verification_body("c"), "application/json") == ("other", "")
    assert request_ids(b"\xff\xfe", FORM) == ("other", "")
    assert request_ids(b"{not json", "application/json") == ("other", "")
    assert request_ids(b"[1, 2]", "application/json") == ("other", "")
    assert request_ids(urllib.parse.urlencode({"payload": "nope"}).encode(), FORM) == ("other", "")
    assert slack_ids({"command": "/calico", "trigger_id": 7}) == ("command", "")


def test_an_id_is_cut_to_a_bounded_length() -> None:
    body = json.dumps({"type": "event_callback", "event_id": "E" * 5000}).encode()
    assert len(request_ids(body, "application/json")[1]) == 120


def test_the_correlation_id_is_the_first_link_known() -> None:
    assert Correlation().log_fields() == {"correlation_id": None}
    assert Correlation(approval_id="a1").correlation_id == "a1"
    assert Correlation(job_id="check:t1", approval_id="a1").correlation_id == "check:t1"
    chain = Correlation(slack_id="t1", job_id="check:t1", approval_id="a1")
    assert chain.log_fields() == {"correlation_id": "t1", "job_id": "check:t1", "approval_id": "a1"}


def test_links_are_added_inside_a_block_and_gone_after_it() -> None:
    with correlation.fresh(slack_id="t1"):
        with correlation.correlated(job_id="check:t1") as inner:
            assert inner == Correlation(slack_id="t1", job_id="check:t1")
            with correlation.correlated(approval_id="a1", slack_id=""):
                assert correlation.current() == Correlation("t1", "check:t1", "a1")
        assert correlation.current() == Correlation(slack_id="t1")
        with correlation.fresh(job_id="recover:a9"):
            assert correlation.current() == Correlation(job_id="recover:a9")
    assert correlation.current() == correlation.NONE


async def test_tasks_started_by_a_request_carry_its_chain_and_no_other_request_sees_it() -> None:
    seen: dict[str, str] = {}

    async def job(name: str) -> None:
        await asyncio.sleep(0)
        correlation.bind(job_id=f"job:{name}")
        await asyncio.sleep(0)
        seen[name] = str(correlation.current().log_fields())

    async def request(slack_id: str) -> None:
        with correlation.fresh(slack_id=slack_id):
            task = asyncio.create_task(job(slack_id))  # copies the context, as Bolt and the queue do
        await task

    await asyncio.gather(request("t1"), request("t2"))
    assert seen == {
        "t1": str({"correlation_id": "t1", "job_id": "job:t1"}),
        "t2": str({"correlation_id": "t2", "job_id": "job:t2"}),
    }
    assert correlation.current() == correlation.NONE
