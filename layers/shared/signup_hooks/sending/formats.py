"""Payloads per receiver: the format is picked from the URL's host (matched exactly) unless an admin forces one.

Every payload is built so that a hostile user name pings nobody and stays within the receiver's limits:
user values lose control and bidirectional-override characters and are cut to MAX_VALUE_CHARS before the
template is rendered; each format then escapes what its receiver would interpret (Slack `& < >`, Discord
markdown and mentions, Google Chat `<...>` mentions and links, Teams markup) and cuts the text to its limit.
docs/formats.md shows an example of each. Operational events (events.py) take the same shapes through build_event().
"""

from __future__ import annotations

import enum
import json
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from signup_hooks.model.delivery_log import USER_CREATED
from signup_hooks.signup import LINE_BREAKING_CATEGORIES, User

if TYPE_CHECKING:  # events.py builds on this module
    from signup_hooks.model.events import OperationalEvent

MAX_VALUE_CHARS = 256  # one placeholder value (a name, an email) in a message
MAX_MESSAGE_CHARS = 4000  # the rendered message, for every format but Discord
DISCORD_MAX_CONTENT = 2000  # Discord refuses longer content
ELLIPSIS = "…"

TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"

EVENT_TYPE = USER_CREATED
ENVELOPE_SCHEMA = "signup-webhooks/event/v1"
SOURCE = "signup-webhooks"

# Bidirectional controls (embeddings, overrides, isolates, marks): they can make a name read backwards.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_DISCORD_SPECIAL = frozenset("\\*_~`|>[]()#:-")
_TEAMS_SPECIAL = frozenset("\\*_~`[]()#>-")
_ZERO_WIDTH_SPACE = "\u200b"


class Format(enum.StrEnum):
    """What an administrator can choose. `auto` picks from the URL; `teams` picks the card from the URL too."""

    AUTO = "auto"
    TEXT = "text"
    JSON = "json"
    SLACK = "slack"
    DISCORD = "discord"
    TEAMS = "teams"
    GOOGLECHAT = "googlechat"


class Shape(enum.StrEnum):
    """The concrete payload sent."""

    TEXT = "text"
    JSON = "json"
    SLACK = "slack"
    DISCORD = "discord"
    TEAMS_ADAPTIVE_CARD = "teams_adaptive_card"
    TEAMS_MESSAGE_CARD = "teams_message_card"
    GOOGLECHAT = "googlechat"


@dataclass(frozen=True)
class Payload:
    shape: Shape
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Card:
    """What the Teams cards show beside the message. Values are cleaned; each card escapes them its own way."""

    title: str  # the MessageCard's title
    heading: str  # the MessageCard section's title and subtitle
    subheading: str
    facts: tuple[tuple[str, str], ...]


def clean_value(value: str, limit: int = MAX_VALUE_CHARS) -> str:
    """One line of visible text: control characters and line or paragraph separators become spaces, bidi controls
    go, at most `limit` characters."""
    out = []
    for ch in value:
        if ch in _BIDI_CONTROLS:
            continue
        out.append(" " if unicodedata.category(ch) in LINE_BREAKING_CATEGORIES else ch)
    return truncate("".join(out).strip(), limit)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def shape_for(chosen: Format, url: str) -> Shape:
    """The payload for a URL: the chosen format, or for `auto` the one its host calls for."""
    host, path = _host_and_path(url)
    if chosen is Format.AUTO:
        return _detect(host, path)
    if chosen is Format.TEAMS:
        return Shape.TEAMS_MESSAGE_CARD if _is_teams_connector(host, path) else Shape.TEAMS_ADAPTIVE_CARD
    return Shape(chosen.value)


def build(shape: Shape, message: str, user: User, message_id: str) -> Payload:
    """The request body of one notification. `message` is the rendered template; `user` values are cleaned here."""
    card = Card("New user signed up", clean_value(user.name), signup_time(user), _facts(user))
    return _payload(shape, message, card, envelope(message, user, message_id))


def build_event(shape: Shape, event: OperationalEvent, message_id: str) -> Payload:
    """The request body of an operational event (events.py), in the same shapes as a signup's."""
    message = event.message()
    return _payload(shape, message, event.card(), event.envelope(message, message_id))


def _payload(shape: Shape, message: str, card: Card, document: dict[str, Any]) -> Payload:
    """`message` as `shape` wants it; `card` is for the Teams shapes, `document` the body of the json one."""
    if shape is Shape.TEXT:
        return Payload(shape, truncate(message, MAX_MESSAGE_CHARS).encode("utf-8"), TEXT_CONTENT_TYPE)
    body: dict[str, Any]
    if shape is Shape.SLACK:
        body = {"text": slack_escape(truncate(message, MAX_MESSAGE_CHARS))}
    elif shape is Shape.DISCORD:
        body = {"content": discord_content(message), "allowed_mentions": {"parse": []}}
    elif shape is Shape.GOOGLECHAT:
        body = {"text": googlechat_escape(truncate(message, MAX_MESSAGE_CHARS))}
    elif shape is Shape.TEAMS_ADAPTIVE_CARD:
        body = _adaptive_card(message, card)
    elif shape is Shape.TEAMS_MESSAGE_CARD:
        body = _message_card(message, card)
    else:
        body = document
    return Payload(shape, json.dumps(body, ensure_ascii=False).encode("utf-8"), JSON_CONTENT_TYPE)


def envelope_head(event: str, message_id: str, created_at: int) -> dict[str, Any]:
    """The fields every `json` envelope starts with; `event` is `<resource>.<operation>`."""
    resource, operation = event.split(".")
    return {
        "schema": ENVELOPE_SCHEMA,
        "id": message_id,
        "event": event,
        "resource": resource,
        "operation": operation,
        "created_at": created_at,
        "version": 1,
        "source": SOURCE,
    }


def envelope(message: str, user: User, message_id: str) -> dict[str, Any]:
    """The `json` format: Open WebUI 0.12's field names where they apply. The user record only, never a credential."""
    person = {
        "id": user.id,
        "name": clean_value(user.name),
        "email": clean_value(user.email),
        "role": clean_value(user.role),
        "created_at": user.created_at,
    }
    return {
        **envelope_head(EVENT_TYPE, message_id, user.created_at),
        "actor": {**person, "type": "user"},
        "subject": {"type": "user", "id": user.id},
        "data": {"user": person},
        "message": truncate(message, MAX_MESSAGE_CHARS),
    }


def slack_escape(text: str) -> str:
    """Slack's three control characters, so that `<!channel>` or `<https://x|y>` is shown, not interpreted."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def discord_content(message: str) -> str:
    """Markdown escaped, `@` defused with a zero-width space, at most 2000 characters (escapes included)."""
    out: list[str] = []
    size = 0
    for ch in message:
        piece = "\\" + ch if ch in _DISCORD_SPECIAL else ("@" + _ZERO_WIDTH_SPACE if ch == "@" else ch)
        if size + len(piece) > DISCORD_MAX_CONTENT - 1:
            out.append(ELLIPSIS)
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def googlechat_escape(text: str) -> str:
    """Google Chat reads `<users/all>` as a mention and `<url|text>` as a link and has no escape: swap the brackets."""
    return text.replace("<", "\u2039").replace(">", "\u203a")


def teams_escape(text: str) -> str:
    """Adaptive Card text is markdown: escape it; angle brackets (HTML, `<at>` mentions) are swapped."""
    escaped = "".join("\\" + ch if ch in _TEAMS_SPECIAL else ch for ch in text)
    return googlechat_escape(escaped)


def utc_minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def signup_time(user: User) -> str:
    return utc_minute(datetime.fromtimestamp(user.created_at, tz=UTC))


def _facts(user: User) -> tuple[tuple[str, str], ...]:
    return ("Name", clean_value(user.name)), ("Role", clean_value(user.role) or "-"), ("Signed up", signup_time(user))


def _adaptive_card(message: str, card: Card) -> dict[str, Any]:
    content = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": teams_escape(truncate(message, MAX_MESSAGE_CHARS)),
                "wrap": True,
                "weight": "Bolder",
            },
            {
                "type": "FactSet",
                "facts": [{"title": title, "value": teams_escape(value)} for title, value in card.facts],
            },
        ],
    }
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": content}
    return {"type": "message", "attachments": [attachment]}


def _message_card(message: str, card: Card) -> dict[str, Any]:
    text = googlechat_escape(truncate(message, MAX_MESSAGE_CHARS))
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": truncate(text, 200),
        "themeColor": "0076D7",
        "title": card.title,
        "sections": [
            {
                "activityTitle": googlechat_escape(card.heading),
                "activitySubtitle": googlechat_escape(card.subheading),
                "text": text,
                "facts": [{"name": title, "value": googlechat_escape(value)} for title, value in card.facts],
                "markdown": False,
            }
        ],
    }


def _host_and_path(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return "", ""
    return host, parts.path


def _detect(host: str, path: str) -> Shape:
    if host == "hooks.slack.com":
        return Shape.SLACK
    if host in ("discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com") and path.startswith(
        "/api/webhooks/"
    ):
        return Shape.DISCORD
    if host == "chat.googleapis.com":
        return Shape.GOOGLECHAT
    if _is_teams_connector(host, path):
        return Shape.TEAMS_MESSAGE_CARD
    if host.endswith((".logic.azure.com", ".api.powerplatform.com")):
        return Shape.TEAMS_ADAPTIVE_CARD
    return Shape.TEXT


def _is_teams_connector(host: str, path: str) -> bool:
    if host.endswith(".webhook.office.com"):
        return True
    return host in ("outlook.office.com", "outlook.office365.com") and path.startswith("/webhook")
