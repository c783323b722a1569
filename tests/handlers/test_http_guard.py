"""`handlers.http_guard` and `handlers.payloads`, pure: what a request to /slack/events is answered
before Bolt parses it (the HTTP side is tests/slack/test_bad_requests.py)."""

from __future__ import annotations

import json

import pytest

from handlers.http_guard import Refusal, refusal_of, signature_matches, timestamp_problem
from handlers.payloads import handled, problem_of
from tests.slack.signing import FORM, JSON, block_actions_payload, sign, slash_command_body

SECRET = "s3cret-for-tests"
NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (str(int(NOW)), True),
        (str(int(NOW) - 300), True),
        (str(int(NOW) - 301), False),
        (str(int(NOW) + 301), False),
        ("", False),
        (None, False),
        ("1.8e9", False),
        ("٣٣", False),  # digits Python's int() accepts, Slack never sends
        ("1" * 13, False),
    ],
)
def test_timestamp(value: str | None, ok: bool) -> None:
    assert (timestamp_problem(value, NOW) is None) is ok


def test_signature() -> None:
    body = b"token=x&text=check+c1"
    headers = sign(body, SECRET, int(NOW))
    ts, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert signature_matches(SECRET, ts, body, signature)
    assert not signature_matches(SECRET, ts, body + b"x", signature)
    assert not signature_matches("other", ts, body, signature)
    assert not signature_matches(SECRET, ts, body, None)
    assert not signature_matches(SECRET, ts, body, "v0=" + "zz" * 32)


def _refusal(body: bytes, content_type: str, secret: str = SECRET) -> Refusal | None:
    headers = sign(body, secret, int(NOW), content_type=content_type)
    return refusal_of(headers=headers, body=body, query="", secret=SECRET, now=NOW)


def test_slacks_own_requests_pass() -> None:
    assert _refusal(slash_command_body("check c1"), FORM) is None
    payload = json.dumps(block_actions_payload("calico_gather:1", "{}"))
    assert _refusal(b"payload=" + payload.encode(), FORM) is None


def test_order_timestamp_then_signature_then_shape() -> None:
    garbage = b"payload=%7Bnot-json"
    assert _refusal(garbage, FORM, secret="wrong") == Refusal(401, "the request signature does not match")
    assert _refusal(garbage, FORM) == Refusal(400, "`payload` is not JSON")
    assert _refusal(slash_command_body("check c1"), JSON) is not None


def test_kinds_without_a_listener_are_answered_200_and_dropped() -> None:
    body = json.dumps({"type": "view_submission", "view": {}}).encode()
    refusal = _refusal(body, JSON)
    assert refusal is not None
    assert refusal.status == 200


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ([], "list"),
        ({"type": 5}, "`type`"),
        ({"type": "event_callback"}, "`event`"),
        ({"type": "event_callback", "event": {"type": "app_mention", "user": 7}}, "`event.user`"),
        ({"type": "block_actions", "actions": []}, "`actions`"),
        ({**block_actions_payload("x", "y"), "response_url": "file:///etc/passwd"}, "`response_url`"),
        ({**block_actions_payload("x", "y"), "authorizations": [1]}, "`authorizations`"),
        ({"command": "/calico", "text": "x", "channel_id": "C1"}, "`user_id`"),
    ],
)
def test_problem_of_names_the_field(body: object, words: str) -> None:
    problem = problem_of(body)
    assert problem is not None
    assert words in problem


def test_handled() -> None:
    assert handled({"command": "/calico"})
    assert handled({"ssl_check": "1"})
    assert handled({"type": "url_verification"})
    assert not handled({"type": "shortcut"})
