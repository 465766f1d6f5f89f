"""Payloads per receiver: the format is picked from the URL's host (matched exactly) unless an admin forces one.

Every payload is built so that a hostile user name pings nobody and stays within the receiver's limits:
user values lose control and bidirectional-override characters and are cut to MAX_VALUE_CHARS before the
template is rendered; each format then escapes what its receiver would interpret (Slack `& < >`, Discord
markdown and mentions, Google Chat `<...>` mentions and links, Teams markup) and cuts the text to its limit.
docs/formats.md shows an example of each. Operational events (events.py) take the same shapes through build_event().
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from signup_hooks.model import events
from signup_hooks.model.names import USER_CREATED, Format, Shape
from signup_hooks.model.user import User
from signup_hooks.sending.content import (
    ELLIPSIS,
    MAX_MESSAGE_CHARS,
    Card,
    card_for_a_test,
    clean_value,
    event_card,
    event_message,
    signup_card,
    truncate,
)

if TYPE_CHECKING:
    from signup_hooks.model.events import OperationalEvent

DISCORD_MAX_CONTENT = 2000  # Discord refuses longer content

TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"

ENVELOPE_SCHEMA = "signup-webhooks/event/v1"
SOURCE = "signup-webhooks"

_DISCORD_SPECIAL = frozenset("\\*_~`|>[]()#:-")
# `<` and `>` are not here: teams_escape swaps them for look-alikes first (an escaped one would show its backslash).
_TEAMS_SPECIAL = frozenset("\\*_~`[]()#-+&")
_TEAMS_ORDERED_LIST = re.compile(r"^(\s*\d{1,9})\.", re.MULTILINE)  # `1. x` starts a numbered list
_ZERO_WIDTH_SPACE = "\u200b"

_SLACK_HOSTS = frozenset({"hooks.slack.com", "hooks.slack-gov.com"})  # GovSlack has a host of its own
_DISCORD_HOSTS = frozenset({"discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com"})
# Discord hands out unversioned URLs; its API also takes the versioned path, which copies of them often carry.
_DISCORD_WEBHOOK_PATH = re.compile(r"/api/(?:v\d+/)?webhooks/")


@dataclass(frozen=True)
class Payload:
    shape: Shape
    body: bytes
    content_type: str


def shape_for(chosen: Format, url: str) -> Shape:
    """The payload for a URL: the chosen format, or for `auto` the one its host calls for."""
    host, path = _host_and_path(url)
    if chosen is Format.AUTO:
        return _detect(host, path)
    if chosen is Format.TEAMS:
        return Shape.TEAMS_MESSAGE_CARD if _is_teams_connector(host, path) else Shape.TEAMS_ADAPTIVE_CARD
    return Shape(chosen.value)


def build(shape: Shape, message: str, user: User, message_id: str, *, test: bool = False) -> Payload:
    """The request body of one notification. `message` is the rendered template; `user` values are cleaned here.

    A `test` send's Teams card is titled as one and its envelope's event is `webhook.test` (its message says so
    already: content.marked_as_test)."""
    if test:
        return _payload(shape, message, card_for_a_test(user), envelope(message, user, message_id, events.WEBHOOK_TEST))
    return _payload(shape, message, signup_card(user), envelope(message, user, message_id))


def build_event(shape: Shape, event: OperationalEvent, message_id: str) -> Payload:
    """The request body of an operational event (events.py), in the same shapes as a signup's."""
    message = event_message(event)
    return _payload(shape, message, event_card(event), event_envelope(event, message, message_id))


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


def envelope(message: str, user: User, message_id: str, event: str = USER_CREATED) -> dict[str, Any]:
    """The `json` format: Open WebUI 0.12's field names where they apply. The user record only, never a credential.
    `event` is `user.created`, or `webhook.test` for an admin's test send (shaped the same, so a receiver can try
    its parsing on it)."""
    person = {
        "id": user.id,
        "name": clean_value(user.name),
        "email": clean_value(user.email),
        "role": clean_value(user.role),
        "created_at": user.created_at,
    }
    return {
        **envelope_head(event, message_id, user.created_at),
        "actor": {**person, "type": "user"},
        "subject": {"type": "user", "id": user.id},
        "data": {"user": person},
        "message": truncate(message, MAX_MESSAGE_CHARS),
    }


def event_envelope(event: OperationalEvent, message: str, message_id: str) -> dict[str, Any]:
    """The `json` format, shaped as a signup's envelope but without an actor."""
    subject = {"type": "endpoint", "id": event.endpoint_id}
    data: dict[str, Any] = {
        "endpoint": {
            "id": event.endpoint_id,
            "name": clean_value(event.endpoint_name),
            "target_host": clean_value(event.target_host),
        },
        "reason": None if event.reason is None else clean_value(event.reason),
        "failing_since": event.failing_since,
        "attempts": event.attempts,
    }
    if event.type == events.DELIVERY_FAILED:
        subject = {"type": "delivery", "id": event.webhook_id}
        data["user"] = {"id": event.user_id, "name": clean_value(event.user_name)}
    return {
        **envelope_head(event.type, message_id, event.occurred_at),
        "subject": subject,
        "data": data,
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
    """Adaptive Card text is markdown: angle brackets (HTML, `<at>` mentions, `>` quotes) are swapped for
    look-alikes, then whatever else markdown reads (emphasis, links, lists, entities) is escaped with a backslash."""
    swapped = googlechat_escape(text)
    escaped = "".join("\\" + ch if ch in _TEAMS_SPECIAL else ch for ch in swapped)
    return _TEAMS_ORDERED_LIST.sub(r"\1\\.", escaped)


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
    if host in _SLACK_HOSTS:
        return Shape.SLACK
    if host in _DISCORD_HOSTS and _DISCORD_WEBHOOK_PATH.match(path):
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
