"""manifest.yml (HTTP mode) and its Socket Mode variant match the code:
- the slash commands and bot events are exactly the ones the handlers register;
- the bot scopes are exactly the ones the Web API methods the code calls need (no more);
- no `chat:write.public`: the bot posts only in channels it was invited to (decision of issue #11
  item 5: one rule for public and private channels; a missing invite is told to the requester);
- both variants agree, and only the HTTP one carries request URLs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from handlers.slack import COMMAND, EVENTS

ROOT = Path(__file__).resolve().parents[2]
HTTP = yaml.safe_load((ROOT / "manifest.yml").read_text())
SOCKET = yaml.safe_load((ROOT / "docs" / "manifest.socket-mode.yml").read_text())

# Web API method (as slack_sdk names it) -> the bot scope it needs
METHOD_SCOPES = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_postEphemeral": "chat:write",
    "files_upload_v2": "files:write",
    "usergroups_users_list": "usergroups:read",
    "users_info": "users:read",
}
EVENT_SCOPES = {"app_mention": "app_mentions:read"}


def _called_methods() -> set[str]:
    """Web API methods the code calls through its client (`client.<method>(`)."""
    found: set[str] = set()
    for package in ("bot", "handlers"):
        for path in (ROOT / package).rglob("*.py"):
            found |= set(re.findall(r"\bclient\.([a-z]+_[A-Za-z0-9_]+)\b", path.read_text()))
    return found


def _needed_scopes() -> set[str]:
    called = _called_methods()
    unknown = called - set(METHOD_SCOPES)
    assert not unknown, f"add the scope of {unknown} to METHOD_SCOPES"
    return {METHOD_SCOPES[m] for m in called} | {EVENT_SCOPES[e] for e in EVENTS} | {"commands"}


def _commands(manifest: dict[str, Any]) -> set[str]:
    return {c["command"] for c in manifest["features"]["slash_commands"]}


def test_commands_match_the_handlers() -> None:
    assert _commands(HTTP) == {COMMAND}
    assert _commands(SOCKET) == {COMMAND}


def test_events_match_the_handlers() -> None:
    assert set(HTTP["settings"]["event_subscriptions"]["bot_events"]) == set(EVENTS)
    assert set(SOCKET["settings"]["event_subscriptions"]["bot_events"]) == set(EVENTS)


def test_scopes_are_exactly_what_the_code_needs() -> None:
    assert "chat_postMessage" in _called_methods()  # the scan sees the adapter
    assert set(HTTP["oauth_config"]["scopes"]["bot"]) == _needed_scopes()
    assert set(SOCKET["oauth_config"]["scopes"]["bot"]) == _needed_scopes()


def test_interactivity_and_modes() -> None:
    assert HTTP["settings"]["interactivity"]["is_enabled"] is True
    assert SOCKET["settings"]["interactivity"]["is_enabled"] is True
    assert HTTP["settings"]["socket_mode_enabled"] is False
    assert SOCKET["settings"]["socket_mode_enabled"] is True
    urls = {
        HTTP["settings"]["interactivity"]["request_url"],
        HTTP["settings"]["event_subscriptions"]["request_url"],
    }
    urls |= {c["url"] for c in HTTP["features"]["slash_commands"]}
    assert len(urls) == 1
    assert urls.pop().endswith("/slack/events")
    assert "request_url" not in SOCKET["settings"]["interactivity"]
    assert all("url" not in c for c in SOCKET["features"]["slash_commands"])


def test_manifest_field_limits() -> None:
    for manifest in (HTTP, SOCKET):
        info = manifest["display_information"]
        assert 1 <= len(info["name"]) <= 35
        assert len(info["description"]) <= 140
        for command in manifest["features"]["slash_commands"]:
            assert re.match(r"^/[a-z0-9_-]{1,31}$", command["command"])
            assert len(command["usage_hint"]) <= 1000


def test_the_bot_posts_only_where_it_was_invited() -> None:
    for manifest in (HTTP, SOCKET):
        assert "chat:write.public" not in manifest["oauth_config"]["scopes"]["bot"]
    for path in (ROOT / "manifest.yml", ROOT / "docs" / "manifest.socket-mode.yml"):
        assert "No chat:write.public, on purpose" in path.read_text()
