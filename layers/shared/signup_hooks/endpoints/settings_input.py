"""What an administrator may set, checked before anything is stored: the URL, the format, the message template, the
signing secret and the custom header; and of each endpoint, its name, whether it is enabled and the events it receives.
Each check raises InvalidInput naming the field; none talks to AWS."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from signup_hooks.endpoints.custom_header import CustomHeader, validate_custom_header
from signup_hooks.errors import ConfigError, InvalidInput
from signup_hooks.model import events
from signup_hooks.model.names import Format
from signup_hooks.sending import signing
from signup_hooks.sending.messages import validate_template

MAX_URL_LENGTH = 2048
FIELDS = ("url", "format", "message_template", "signing_secret", "custom_header")
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class SettingsChange:
    """The fields one admin request sets, each checked. A field in `fields` whose value is None is cleared."""

    fields: frozenset[str]
    url: str | None = None
    format: Format | None = None
    message_template: str | None = None
    signing_secret: str | None = field(default=None, repr=False)
    custom_header: CustomHeader | None = None

    def sets(self, name: str) -> bool:
        """True when the request gives the field a value (not when it clears it)."""
        return name in self.fields and getattr(self, name) is not None


def parse_change(data: dict[str, Any], check_url: Callable[[str], None]) -> SettingsChange:
    """Every field of the request checked, so that a bad one stops the request before anything is written.
    `null` clears a field, except the URL (DELETE clears it)."""
    present = frozenset(name for name in FIELDS if name in data)
    if not present:
        raise InvalidInput("url", "url is required", code="missing_field")
    url = None
    if "url" in present:
        url = validate_webhook_url(data["url"])
        check_url(url)

    def optional(name: str, check: Callable[[object], Any]) -> Any:
        return check(data[name]) if name in present and data[name] is not None else None

    return SettingsChange(
        fields=present,
        url=url,
        format=optional("format", validate_format),
        message_template=optional("message_template", validate_message_template),
        signing_secret=optional("signing_secret", validate_signing_secret),
        custom_header=optional("custom_header", validate_custom_header),
    )


def validate_webhook_url(url: object) -> str:
    """An absolute http(s) URL with a host, at most MAX_URL_LENGTH characters, no whitespace or control characters."""
    if url is None or url == "":
        raise InvalidInput("url", "url is required", code="missing_field")
    if not isinstance(url, str):
        raise InvalidInput("url", "url must be a string")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput("url", f"url must be at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in url):
        raise InvalidInput("url", "url must not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput("url", "url is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("url", "url must start with https:// or http://")
    if not parts.hostname:
        raise InvalidInput("url", "url must name a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("url", "url must not carry a user name or password")
    if port == 0:
        raise InvalidInput("url", "url has an invalid port")
    return url


def validate_format(value: object) -> Format:
    if isinstance(value, str) and value in {item.value for item in Format}:
        return Format(value)
    raise InvalidInput("format", "format must be one of " + ", ".join(item.value for item in Format))


def validate_message_template(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput("message_template", "message_template must be a string")
    try:
        validate_template(value)
    except ConfigError as exc:
        raise InvalidInput("message_template", str(exc).replace("the message template", "message_template")) from None
    return value


def validate_signing_secret(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput("signing_secret", "signing_secret must be a string (or null to clear it)")
    try:
        signing.secret_key(value)
    except signing.InvalidSecret as exc:
        raise InvalidInput("signing_secret", str(exc)) from None
    return value


def validate_name(value: object) -> str:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_NAME_LENGTH
        or not value.isprintable()
        or not value.strip()
    ):
        raise InvalidInput("name", f"name must be 1 to {MAX_NAME_LENGTH} printable characters")
    return value


def validate_enabled(value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput("enabled", "enabled must be true or false")
    return value


def validate_events(value: object) -> tuple[str, ...]:
    """A non-empty list of known event names without repeats, or ["*"] for every event."""
    known = ", ".join(events.ALL)
    if not isinstance(value, list) or not value or not all(isinstance(name, str) for name in value):
        raise InvalidInput("events", f'events must be a non-empty list of event names ({known}) or ["*"]')
    if len(set(value)) != len(value):
        raise InvalidInput("events", "events must not name an event twice")
    if value == [events.EVERY_EVENT]:
        return (events.EVERY_EVENT,)
    unknown = [name for name in value if name not in events.ALL]
    if unknown:
        raise InvalidInput("events", f'unknown event {unknown[0][:40]!r}: use {known}, or ["*"] alone')
    return tuple(value)
