"""The Block Kit toolkit: Slack's limits, escaping, safe clipping, mentions and dates, and the block
builders. Every block calico-bot sends is built here; the cards, the hand-off, the approval card
and the jobs compose them.

No I/O and no Slack SDK (`bot.slack.api` posts a `Message` as is). Each builder enforces its own
limit whatever the caller passes: 3,000 characters of section text, 150 of header, 75 of button
text, 2,000 of button value, 10 context elements, 25 action elements, 50 blocks a message. Lengths
are counted in UTF-16 code units (an emoji counts twice), which is never less than what Slack counts.

Text from a cluster is escaped (`&`, `<`, `>`); clipping never cuts inside an escape, a mention or
a link, and never leaves a code fence or an inline code span open. `slack_sdk.models.blocks` is not
used: it would put a second importer of the SDK outside its adapter, it counts characters rather
than UTF-16 units, and its objects serialise to the same dicts these builders make.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Block = dict[str, Any]

# --- Block Kit limits (shared/reference/slack-redis-k8s-engineering.md section 4) --------------

MAX_BLOCKS = 50
SECTION_TEXT_MAX = 3000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
ACTION_ID_MAX = 255
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
CONFIRM_TITLE_MAX = 100
CONFIRM_TEXT_MAX = 300
CONFIRM_BUTTON_MAX = 30
FALLBACK_TEXT_MAX = 3000
CONTEXT_TEXT_MAX = 2000
"""Per context element; Slack documents no limit of its own, so keep well below a section's."""
SECTION_ROOM = SECTION_TEXT_MAX - 100
"""What a composed section plans for, leaving room for a trailer line."""

_USER_ID = re.compile(r"[UW][A-Z0-9]{1,30}")


@dataclass(frozen=True)
class Message:
    text: str
    """Plain-text fallback for notifications and screen readers; never empty, at most 3,000."""
    blocks: list[Block]
    attachments: list[Block] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The keyword arguments of `chat.postMessage` / `chat.update` (besides channel and ts)."""
        payload: dict[str, Any] = {"text": self.text, "blocks": self.blocks}
        if self.attachments:
            payload["attachments"] = self.attachments
        return payload


# =================================================================================================
# Text: length, escaping, safe truncation
# =================================================================================================


def slack_len(text: str) -> int:
    """Length in UTF-16 code units (an astral emoji counts 2): an upper bound of Slack's count."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Slack mrkdwn escaping: only `&`, `<` and `>` (they start entities, links and mentions)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _prefix_units(text: str, units: int) -> str:
    """The longest prefix of `text` of at most `units` UTF-16 code units (never half an emoji)."""
    if units <= 0:
        return ""
    if len(text) <= units and slack_len(text) <= units:
        return text
    return text.encode("utf-16-le")[: 2 * units].decode("utf-16-le", errors="ignore")


def safe_cut(text: str, units: int, *, words: bool = False) -> str:
    """A prefix of escaped mrkdwn within `units`, not ending inside an entity, link or mention
    (and, with `words`, not inside a word when a space is near)."""
    cut = _prefix_units(text, units)
    if words and len(cut) < len(text) and not text[len(cut)].isspace():
        space = cut.rfind(" ")
        if space > 0 and len(cut) - space <= 30:
            cut = cut[:space]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:] and len(cut) - amp < 8:
        cut = cut[:amp]
    lt = cut.rfind("<")
    if lt != -1 and ">" not in cut[lt:]:
        cut = cut[:lt]
    return cut


def _balance(text: str) -> str:
    """Close a code fence, then an inline code span, that `text` leaves open.

    An odd backtick after the last fence is closed with one more; one before a fence (which
    Slack would pair with something unexpected) is turned into a harmless `ˋ`.
    """
    if text.count("```") % 2:  # inside a code block
        text += ("" if text.endswith("\n") else "\n") + "```"
    parts = text.split("```")
    odd = [i for i in range(0, len(parts), 2) if parts[i].count("`") % 2]
    if len(odd) % 2 == 0:
        return text
    last = odd[-1]
    if last == len(parts) - 1:
        return text + "`"
    head, _, tail = parts[last].rpartition("`")
    parts[last] = head + "ˋ" + tail
    return "```".join(parts)


def clip(text: str, limit: int, *, tail: str = "…") -> str:
    """`text` (escaped mrkdwn) shortened to at most `limit` units, with `tail` when cut, balanced."""
    if slack_len(text) <= limit:
        return text
    room = max(limit - slack_len(tail) - 5, 0)  # 5: a closing "\n```" or "`"
    return _balance(safe_cut(text, room, words=True).rstrip() + tail)


def clip_plain(text: str, limit: int) -> str:
    """Plain text (header, button label) shortened to at most `limit` units."""
    if slack_len(text) <= limit:
        return text
    return _prefix_units(text, limit - 1) + "…"


def split_text(text: str, size: int) -> list[str]:
    """Escaped text in pieces of at most `size` units, on line ends where possible, never in an entity."""
    pieces: list[str] = []
    rest = text
    while slack_len(rest) > size:
        cut = safe_cut(rest, size)
        newline = cut.rfind("\n")
        if newline > len(cut) // 2:
            cut = cut[: newline + 1]
        if not cut:  # cannot happen with size >= 8; guard against an endless loop
            cut = rest[:1]
        pieces.append(cut)
        rest = rest[len(cut) :]
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def one_line(text: str) -> str:
    return " ".join(text.split())


def code_safe(text: str) -> str:
    """Escaped text for inside a ``` block: a literal ``` in it must not close the block."""
    return escape(text.rstrip()).replace("```", "``ˋ")


def inline_code(text: str, limit: int = 120) -> str:
    """One line of literal text as an inline code span (a backtick in it cannot end the span)."""
    return "`" + clip(escape(one_line(text)).replace("`", "ˋ"), limit) + "`"


def prose(text: str) -> str:
    """Escaped text from a check (title, detail): its inline `code` kept when balanced."""
    safe = escape(text).replace("```", "``ˋ")
    return safe if safe.count("`") % 2 == 0 else safe.replace("`", "ˋ")


def prose_line(text: str, limit: int) -> str:
    """Escaped one-line text from the cluster within `limit`; a stray backtick cannot open a span."""
    safe = escape(one_line(text))
    if "``" in safe or safe.count("`") % 2:  # only plain `code` spans are kept as such
        safe = safe.replace("`", "ˋ")
    return clip(safe, limit)


def code_block(lines: Sequence[str], *, line_max: int) -> str:
    """Literal lines in one ``` block, each clipped to `line_max`."""
    body = "\n".join(clip(code_safe(line), line_max).replace("```", "``ˋ") for line in lines)
    return f"```\n{body}\n```"


def mention(user: str | None) -> str:
    """`<@U123>` for a Slack user id; anything else is shown escaped, never as a mention."""
    if not user:
        return ""
    if _USER_ID.fullmatch(user):
        return f"<@{user}>"
    return escape(user)


def is_user_id(text: str) -> bool:
    return bool(_USER_ID.fullmatch(text))


def plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (plural or word + 's')}"


def slack_date(when: datetime) -> str:
    """A date Slack shows in the reader's time zone, with a UTC fallback."""
    moment = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


class TextBudget:
    """Lines of mrkdwn added while they fit a budget (so a section never has to be cut blindly)."""

    def __init__(self, limit: int = SECTION_ROOM) -> None:
        self.limit = limit
        self.lines: list[str] = []
        self.used = 0

    def fits(self, piece: str) -> bool:
        return self.used + slack_len(piece) + (1 if self.lines else 0) <= self.limit

    def add(self, piece: str) -> bool:
        if not self.fits(piece):
            return False
        self.used += slack_len(piece) + (1 if self.lines else 0)
        self.lines.append(piece)
        return True

    def force(self, piece: str) -> None:
        """Add even past the budget (a trailer; the section builder still enforces 3,000)."""
        self.used += slack_len(piece) + (1 if self.lines else 0)
        self.lines.append(piece)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


# =================================================================================================
# Builders (each enforces its own limit, whatever the caller passes)
# =================================================================================================


def mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip_plain(text or " ", limit), "emoji": True}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(clip(text or " ", SECTION_TEXT_MAX))}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_TEXT_MAX)}


def context(*texts: str) -> Block:
    elements = [mrkdwn(clip(t, CONTEXT_TEXT_MAX)) for t in texts if t][:CONTEXT_ELEMENTS_MAX]
    return {"type": "context", "elements": elements or [mrkdwn(" ")]}


def divider() -> Block:
    return {"type": "divider"}


def button(
    label: str,
    action_id: str,
    *,
    value: str | None = None,
    url: str | None = None,
    style: str | None = None,
    confirm: Block | None = None,
) -> Block:
    """A button; a `value` longer than Slack takes is the caller's to avoid (a clipped id names the
    wrong thing), so it is refused here."""
    if value is not None and slack_len(value) > BUTTON_VALUE_MAX:
        raise ValueError(f"a button value of {slack_len(value)} units is over Slack's {BUTTON_VALUE_MAX}")
    element: Block = {
        "type": "button",
        "text": plain(label, BUTTON_TEXT_MAX),
        "action_id": action_id[:ACTION_ID_MAX],
    }
    if value is not None:
        element["value"] = value
    if url is not None:
        element["url"] = url
    if style is not None:
        element["style"] = style
    if confirm is not None:
        element["confirm"] = confirm
    return element


def actions(elements: Sequence[Block]) -> Block:
    return {"type": "actions", "elements": list(elements[:ACTIONS_ELEMENTS_MAX])}


def confirm_dialog(title: str, text: str, *, confirm: str, deny: str, style: str = "danger") -> Block:
    """The confirmation a button asks for before it is sent (`text` is escaped mrkdwn)."""
    return {
        "title": plain(title, CONFIRM_TITLE_MAX),
        "text": mrkdwn(clip(text, CONFIRM_TEXT_MAX)),
        "confirm": plain(confirm, CONFIRM_BUTTON_MAX),
        "deny": plain(deny, CONFIRM_BUTTON_MAX),
        "style": style,
    }


def cap_blocks(blocks: list[Block], note: str) -> list[Block]:
    """Never more than 50 blocks: the last one becomes `note` (a context) when there are more."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return [*blocks[: MAX_BLOCKS - 1], context(note)]


def text_message(text: str) -> Message:
    """One section of escaped mrkdwn, with the same text (clipped) as its fallback."""
    return Message(text=clip(text, FALLBACK_TEXT_MAX), blocks=[section(text)])
