"""What a job says when it cannot finish: the error card for the channel (what failed and what to
try, nothing about the host) and, for the requester alone, the private part of a `CheckFailed`
(kubeconfig paths, the other clusters the bot knows, a server address)."""

from __future__ import annotations

from bot.cluster.checking import CheckFailed
from bot.slack import cards
from bot.slack.api import SlackPoster
from bot.slack.blockkit import Message, escape
from bot.slack.disclosure import public_text
from bot.slack.requester import Requester, tell


def failure_card(cluster: str, exc: Exception, *, user: str, doing: str, terminal: str) -> Message:
    """The error card for a job that could not finish: what failed and what to try, and nothing
    about the host (the private part of a CheckFailed goes to `tell_private`)."""
    if isinstance(exc, CheckFailed):
        return cards.error_card(
            cluster,
            what_failed=public_text(exc.what_failed),
            try_next=public_text(exc.try_next),
            requested_by=user,
        )
    return cards.error_card(
        cluster,
        what_failed=f"{doing} stopped with an internal error ({type(exc).__name__})",
        try_next=f"try again; if it happens again, run `{terminal}` from a terminal and escalate",
        requested_by=user,
    )


def private_text(cluster: str, failed: CheckFailed) -> str:
    """The requester's own details of a failure: what the card leaves out."""
    return (
        f"Only you see this. Details of why `{escape(cluster)}` could not be checked: "
        f"{escape(failed.private)}"
    )


async def tell_private(slack: SlackPoster, who: Requester, cluster: str, exc: Exception) -> None:
    """Send the private part of a CheckFailed to the requester alone (nothing to send: nothing sent)."""
    if isinstance(exc, CheckFailed) and exc.private:
        await tell(slack, who, private_text(cluster, exc))
