"""Telling the person who asked, privately, when the channel cannot be used or must not be told.

`tell` answers through the request's `response_url` (a slash command's or a click's: it works even
where calico-bot is not a member of the channel), else `chat.postEphemeral`, else it leaves a log
line — never silence. `cannot_post` says what Slack refused and what to do about it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.slack.api import SlackError, SlackPoster

log = logging.getLogger(__name__)

INVITE = "/invite @calico-bot"
_NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found"})


@dataclass(frozen=True)
class Requester:
    """Who asked, where, and how to reach them privately."""

    channel: str
    user: str
    response_url: str | None = None


def cannot_post(error: str, *, what: str) -> str:
    """For the requester: `what` could not be posted in the channel, what Slack said, what to do."""
    if error in _NOT_A_MEMBER:
        return (
            f"I could not post {what} in this channel (Slack said: `{error}`): calico-bot is not a member "
            f"of it. Invite it with `{INVITE}` (private channels always need this), then ask again."
        )
    if error == "is_archived":
        return (
            f"I could not post {what}: this channel is archived (Slack said: `{error}`). Ask in another one."
        )
    return (
        f"I could not post {what} in this channel (Slack said: `{error}`, after retrying): nothing more was "
        "done. Try again in a minute; if it keeps failing, check https://status.slack.com and the bot's log."
    )


async def tell(slack: SlackPoster, who: Requester, text: str) -> bool:
    """Say `text` to the requester only. True when it reached them."""
    if who.response_url:
        try:
            await slack.respond(who.response_url, text, replace_original=False)
            return True
        except SlackError as exc:
            log.warning("could not answer %s through the response_url: %s", who.user, exc.error)
    if who.channel and who.user:
        try:
            await slack.ephemeral(who.channel, who.user, text)
            return True
        except SlackError as exc:
            log.warning("could not answer %s ephemerally in %s: %s", who.user, who.channel, exc.error)
    log.warning("%s was not told: %s", who.user or "the requester", text[:300])
    return False


async def post_failed(slack: SlackPoster, who: Requester, exc: SlackError, *, what: str) -> None:
    """A post into the channel failed: log it and tell the requester what failed and what to do."""
    log.warning("could not post %s in %s for %s: %s %s", what, who.channel, who.user, exc.method, exc.error)
    await tell(slack, who, cannot_post(exc.error, what=what))
