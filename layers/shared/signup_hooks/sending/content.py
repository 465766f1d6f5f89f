"""What a notification says, before any receiver's format: the values cleaned, the sentence of an operational event,
and the facts a card shows beside the message (formats.py renders them for each receiver).

A user value loses control and bidirectional-override characters and is cut to MAX_VALUE_CHARS before the template is
rendered, so that a hostile name cannot break a line or read backwards in any format.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from signup_hooks.model import events
from signup_hooks.model.events import OperationalEvent
from signup_hooks.model.user import LINE_BREAKING_CATEGORIES, User

MAX_VALUE_CHARS = 256  # one placeholder value (a name, an email) in a message
MAX_MESSAGE_CHARS = 4000  # the rendered message, for every format but Discord
ELLIPSIS = "…"
TEST_TITLE = "Test notification from Signup webhooks"

# Bidirectional controls (embeddings, overrides, isolates, marks): they can make a name read backwards.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


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


def utc_minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def signup_time(user: User) -> str:
    return utc_minute(datetime.fromtimestamp(user.created_at, tz=UTC))


def signup_card(user: User) -> Card:
    """What the Teams cards show beside a signup's message."""
    facts = (
        ("Name", clean_value(user.name)),
        ("Role", clean_value(user.role) or "-"),
        ("Signed up", signup_time(user)),
    )
    return Card("New user signed up", clean_value(user.name), signup_time(user), facts)


def marked_as_test(message: str) -> str:
    """A test send's text says so in words, so that nobody reading the channel takes it for a signup."""
    return f"{TEST_TITLE}: {message}"


def card_for_a_test(user: User) -> Card:
    """A signup's card for the test user, titled as a test."""
    return replace(signup_card(user), title=TEST_TITLE)


_TITLES = {
    events.ENDPOINT_FAILING: "Webhook endpoint failing",
    events.ENDPOINT_RECOVERED: "Webhook endpoint recovered",
    events.DELIVERY_FAILED: "Webhook delivery failed",
    events.ENDPOINT_DISABLED: "Webhook endpoint disabled",
}


def event_message(event: OperationalEvent) -> str:
    """One plain sentence; every value cleaned as a signup's are before the sentence is put together."""
    endpoint = f'"{clean_value(event.endpoint_name)}" ({clean_value(event.target_host)})'
    reason = clean_value((event.reason or "unknown").replace("_", " "))
    since = event.failing_since_time()
    if event.type == events.ENDPOINT_FAILING:
        return f"Webhook endpoint {endpoint} is failing: {reason}. Notifications to it are retried on the schedule."
    if event.type == events.ENDPOINT_RECOVERED:
        if since is None:
            return f"Webhook endpoint {endpoint} has recovered."
        return f"Webhook endpoint {endpoint} has recovered; it had been failing since {utc_minute(since)}."
    if event.type == events.ENDPOINT_DISABLED:
        return (
            f"Webhook endpoint {endpoint} was disabled: its receiver answered 410 Gone. Nothing is sent to it until "
            "an administrator enables it again."
        )
    attempts = "1 attempt" if event.attempts == 1 else f"{event.attempts} attempts"
    return (
        f"The signup notification of {_user(event)} to webhook endpoint {endpoint} failed for good after "
        f"{attempts} ({reason}); it is in the dead-letter queue."
    )


def event_card(event: OperationalEvent) -> Card:
    """What the Teams cards show beside the sentence."""
    name = clean_value(event.endpoint_name)
    facts = [("Endpoint", name), ("Target", clean_value(event.target_host))]
    if event.reason:
        facts.append(("Reason", clean_value(event.reason)))
    since = event.failing_since_time()
    if since is not None:
        facts.append(("Failing since", utc_minute(since)))
    if event.type == events.DELIVERY_FAILED:
        facts.append(("User", _user(event)))
    occurred = utc_minute(datetime.fromtimestamp(event.occurred_at, tz=UTC))
    return Card(_TITLES[event.type], name, occurred, tuple(facts))


def _user(event: OperationalEvent) -> str:
    return clean_value(event.user_name or event.user_id)
