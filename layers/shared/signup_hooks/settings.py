"""The webhook settings: where they live, how an invocation reads them, and which of them a delivery may use.

Stored: one SecureString parameter per endpoint, `/<stack>/webhooks/<id>` (the single-URL API's endpoint is
`default`), holding a flat JSON document (settings_store.py). An admin change is one write: all of it or none of it.
The template does not create the parameter, so a redeploy never overwrites an administrator's choice.
Older deployments kept five parameters (webhook-url, webhook-format, message-template, signing-secret,
custom-header). They are read while the document does not exist; the first admin save writes the document and then
deletes them.

Reading: one GetParameters call for the document and the older names, cached per process for `max_age` and made
by one thread at a time, so a batch's delivery threads share one call instead of each making its own. Only a
parameter that does not exist is "not set". Any error reading one (throttling, 5xx, KMS, access denied, timeout)
falls back to the settings read successfully within STALE_VALUE_MAX_SECONDS, else raises StorageUnavailable: the
caller retries later and never mistakes an unreadable URL for "not configured".

Credentials (the custom header, the signing secret) are bound to the origin (scheme, host, port) they were saved
for, and a delivery gets them only when its URL has that origin.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger

from signup_hooks import settings_store, signing
from signup_hooks.errors import ConfigError, InvalidInput, StorageUnavailable
from signup_hooks.formats import Format
from signup_hooks.messages import validate_template
from signup_hooks.settings_cache import SettingsReader
from signup_hooks.settings_input import CustomHeader, validate_custom_header, validate_webhook_url

__all__ = ["CustomHeader", "validate_webhook_url"]  # re-exported: the notifier checks URLs set some other way

logger = Logger(child=True)

DEFAULT_ENDPOINT = "default"
DEFAULT_EVENTS = ("user.created",)  # what an endpoint receives unless it says otherwise; the single-URL API's
_DEFAULT_PORTS = {"http": 80, "https": 443}


class UrlSource(enum.StrEnum):
    PARAMETER = "parameter"
    ENVIRONMENT = "environment"
    UNSET = "unset"


class SettingsSource(enum.StrEnum):
    DOCUMENT = "document"
    LEGACY = "legacy"  # the five parameters of older deployments
    NONE = "none"


class Credentials(enum.StrEnum):
    """Whether a delivery carries the saved custom header and signing secret."""

    NONE = "none"  # none are saved
    SENT = "sent"
    WITHHELD = "withheld: saved for another origin"
    FROM_REQUEST = "from this request"  # a test send that supplied its own


@dataclass(frozen=True)
class WebhookTarget:
    url: str | None
    source: UrlSource

    @property
    def redacted(self) -> str | None:
        return redact_url(self.url) if self.url else None


def redact_url(url: str) -> str:
    """Scheme and host only: Slack, Discord and Teams URLs carry their credentials in the path."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    if not parts.scheme or not host:
        return "<invalid URL>"
    return f"{parts.scheme}://{host}{port}/…"


def origin_of(url: str | None) -> str | None:
    """`scheme://host:port` with the default port spelled out, or None for a URL without one."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname or port is None:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme.lower()}://{host.lower()}:{port}"


@dataclass(frozen=True)
class LegacyNames:
    """The parameters of older deployments, one per setting."""

    url: str = ""
    format: str = ""
    message_template: str = ""
    signing_secret: str = ""
    custom_header: str = ""

    def names(self) -> tuple[str, ...]:
        found = (self.url, self.format, self.message_template, self.signing_secret, self.custom_header)
        return tuple(name for name in found if name)


@dataclass(frozen=True)
class SettingsNames:
    """Where one endpoint's settings live: its document and, for the default endpoint, the older parameters."""

    document: str
    legacy: LegacyNames = field(default_factory=LegacyNames)
    endpoint_id: str = DEFAULT_ENDPOINT

    def all(self) -> tuple[str, ...]:
        return (self.document, *self.legacy.names())


@dataclass(frozen=True)
class DeliverySettings:
    """What one delivery uses. Credentials are present only when they were saved for the delivery's origin."""

    format: Format = Format.AUTO
    message_template: str | None = None  # None: the MESSAGE_TEMPLATE default of the deployment
    signing_secret: str | None = field(default=None, repr=False)
    custom_header: CustomHeader | None = None
    # The secret a rotation replaced, while its overlap lasts: requests are signed with both.
    previous_signing_secret: str | None = field(default=None, repr=False)

    @property
    def signing_secrets(self) -> tuple[str, ...]:
        """Newest first: what the webhook-signature header is made of."""
        return tuple(secret for secret in (self.signing_secret, self.previous_signing_secret) if secret)


@dataclass(frozen=True)
class StoredSettings:
    url: str | None = None
    format: Format = Format.AUTO
    message_template: str | None = None
    signing_secret: str | None = field(default=None, repr=False)
    custom_header: CustomHeader | None = None
    credentials_origin: str | None = None  # the origin the custom header and signing secret were saved for
    updated_at: str | None = None
    # Several endpoints: a name, an on/off switch and the events it receives ("*" for all).
    name: str | None = None
    enabled: bool = True
    events: tuple[str, ...] = DEFAULT_EVENTS
    created_at: str | None = None
    # A rotated-out signing secret, still used beside the new one until this time (ISO 8601).
    previous_signing_secret: str | None = field(default=None, repr=False)
    previous_secret_until: str | None = None

    def to_fields(self) -> dict[str, str | None]:
        return {
            "url": self.url,
            "format": self.format.value,
            "message_template": self.message_template,
            "signing_secret": self.signing_secret,
            "custom_header_name": self.custom_header.name if self.custom_header else None,
            "custom_header_value": self.custom_header.value if self.custom_header else None,
            "credentials_origin": self.credentials_origin,
            "updated_at": self.updated_at,
            "name": self.name,
            "enabled": "true" if self.enabled else "false",
            "events": ",".join(self.events),
            "created_at": self.created_at,
            "signing_secret_previous": self.previous_signing_secret,
            "signing_secret_previous_until": self.previous_secret_until,
        }

    def public(self) -> dict[str, Any]:
        """What the admin API shows: whether a secret is set, never the secret."""
        return {
            "format": self.format.value,
            "message_template": self.message_template,
            "signing_secret": "set" if self.signing_secret else "unset",
            "custom_header": {"name": self.custom_header.name, "value": "set"} if self.custom_header else None,
            "credentials_origin": self.credentials_origin,
        }

    def previous_secret_active(self, now: float | None = None) -> bool:
        """Whether the rotated-out secret still signs requests (its overlap has not ended)."""
        if not self.previous_signing_secret or not self.previous_secret_until:
            return False
        try:
            until = datetime.fromisoformat(self.previous_secret_until).timestamp()
        except ValueError:
            return False
        return (time.time() if now is None else now) < until


@dataclass(frozen=True)
class Snapshot:
    """The stored settings one read found, and where they came from."""

    stored: StoredSettings
    source: SettingsSource


@dataclass(frozen=True)
class Effective:
    """The URL a notification goes to now, and the settings it is sent with."""

    target: WebhookTarget
    delivery: DeliverySettings
    credentials: Credentials


# ---- reading ---------------------------------------------------------------------------------------------------------


_reader = SettingsReader()


def load(names: SettingsNames, environment_url: str, max_age: float, *, stale_ok: bool = True) -> Snapshot:
    """The stored settings, from the document or else the older parameters. Raises StorageUnavailable."""
    return parse(_reader.read(names.all(), max_age, stale_ok), names, environment_url)


def resolve(names: SettingsNames, environment_url: str, max_age: float) -> Effective:
    """What a notification uses now (the notifier's read: cached, and stale for a bounded time when SSM fails)."""
    return effective(load(names, environment_url, max_age), environment_url)


def read_cached(
    key: tuple[str, ...], fetch: Callable[[], dict[str, str]], max_age: float, stale_ok: bool = True
) -> dict[str, str]:
    """Parameter values read with `fetch`, through the same per-process cache as `load` (endpoints.py's read)."""
    return _reader.read(key, max_age, stale_ok, fetch)


def forget_last_good() -> None:
    """Drop the cached and remembered settings (tests; a new execution environment starts without them)."""
    _reader.forget()


def parse(values: dict[str, str], names: SettingsNames, environment_url: str) -> Snapshot:
    document = values.get(names.document)
    if document is not None:
        try:
            fields = settings_store.decode_document(document)
        except ValueError:
            raise StorageUnavailable("the settings document in SSM is not a JSON object") from None
        header = None
        if fields.get("custom_header_name") or fields.get("custom_header_value"):
            header = {"name": fields.get("custom_header_name"), "value": fields.get("custom_header_value")}
        stored = _stored(fields, header, fields.get("credentials_origin"), names.document)
        return Snapshot(stored, SettingsSource.DOCUMENT)
    legacy = names.legacy
    found = {key: values.get(name) for key, name in dataclasses.asdict(legacy).items() if name and name in values}
    if not found:
        return Snapshot(StoredSettings(), SettingsSource.NONE)
    header = None
    if found.get("custom_header"):
        try:
            header = json.loads(found["custom_header"] or "")
        except ValueError:
            raise StorageUnavailable("the custom header in SSM is not valid") from None
    # Saved before credentials were bound to an origin: they belong to the URL they were used with then.
    origin = origin_of((found.get("url") or "").strip()) or origin_of(environment_url)
    return Snapshot(_stored(found, header, origin, legacy.url), SettingsSource.LEGACY)


def _stored(fields: dict[str, str | None], header: object, origin: str | None, where: str) -> StoredSettings:
    """Stored values, checked. One changed by hand into something invalid: a format or template falls back to its
    default; a secret or header fails the read (sending unsigned, or without the header, would be worse)."""
    raw_format = fields.get("format")
    try:
        chosen = Format(raw_format) if raw_format else Format.AUTO
    except ValueError:
        logger.warning("ignoring an unknown webhook format in SSM", extra={"parameter": where})
        chosen = Format.AUTO
    template = fields.get("message_template") or None
    if template is not None:
        try:
            validate_template(template)
        except ConfigError:
            logger.warning("ignoring an invalid message template in SSM", extra={"parameter": where})
            template = None
    secret = fields.get("signing_secret") or None
    if secret is not None:
        try:
            signing.secret_key(secret)
        except signing.InvalidSecret:
            raise StorageUnavailable("the signing secret in SSM is not a valid whsec_ secret") from None
    custom_header = None
    if header is not None:
        try:
            custom_header = validate_custom_header(header)
        except InvalidInput:
            raise StorageUnavailable("the custom header in SSM is not valid") from None
    previous = fields.get("signing_secret_previous") or None
    if previous is not None:
        try:
            signing.secret_key(previous)
        except signing.InvalidSecret:
            logger.warning("ignoring an invalid previous signing secret in SSM", extra={"parameter": where})
            previous = None
    url = (fields.get("url") or "").strip() or None
    return StoredSettings(
        url,
        chosen,
        template,
        secret,
        custom_header,
        origin,
        fields.get("updated_at"),
        name=fields.get("name") or None,
        enabled=fields.get("enabled") != "false",
        events=_events(fields.get("events")),
        created_at=fields.get("created_at"),
        previous_signing_secret=previous,
        previous_secret_until=fields.get("signing_secret_previous_until") if previous else None,
    )


def _events(stored: str | None) -> tuple[str, ...]:
    """The stored comma-separated list; a document written before endpoints had events receives signups."""
    if stored is None:
        return DEFAULT_EVENTS
    return tuple(name for name in stored.split(",") if name)


def effective(snapshot: Snapshot, environment_url: str) -> Effective:
    """The document's (or older parameter's) URL if set, else WEBHOOK_URL, with the credentials its origin may get."""
    stored = snapshot.stored
    if stored.url:
        target = WebhookTarget(stored.url, UrlSource.PARAMETER)
    elif environment_url:
        target = WebhookTarget(environment_url, UrlSource.ENVIRONMENT)
    else:
        target = WebhookTarget(None, UrlSource.UNSET)
    delivery, credentials = delivery_for(stored, target.url)
    return Effective(target, delivery, credentials)


def delivery_for(stored: StoredSettings, url: str | None) -> tuple[DeliverySettings, Credentials]:
    """The settings a delivery to `url` uses: the credentials only when `url` has the origin they were saved for."""
    plain = DeliverySettings(stored.format, stored.message_template)
    if stored.signing_secret is None and stored.custom_header is None:
        return plain, Credentials.NONE
    origin = origin_of(url)
    if origin is None or origin != stored.credentials_origin:
        return plain, Credentials.WITHHELD
    previous = stored.previous_signing_secret if stored.previous_secret_active() else None
    with_credentials = dataclasses.replace(
        plain,
        signing_secret=stored.signing_secret,
        custom_header=stored.custom_header,
        previous_signing_secret=previous if stored.signing_secret else None,
    )
    return with_credentials, Credentials.SENT


# ---- writing ---------------------------------------------------------------------------------------------------------


def save(names: SettingsNames, stored: StoredSettings, *, new: bool = False) -> None:
    """One write of the whole document. Raises StorageUnavailable, and then nothing has changed; with `new`,
    FileExistsError when the document exists already."""
    description = f"Signup webhook settings of endpoint {names.endpoint_id}, set through the admin API"
    settings_store.write_document(names.document, stored.to_fields(), description, new=new)
    _reader.forget()  # every cached read that holds this document: its own and the read of all endpoints


def delete(names: SettingsNames) -> None:
    """Delete an endpoint's document (and, for the default endpoint, the older parameters)."""
    settings_store.delete(names.document)
    _reader.forget()
    remove_legacy(names)


def remove_legacy(names: SettingsNames) -> None:
    """Delete the older parameters once the document holds their values. Best effort: the document wins anyway."""
    for name in names.legacy.names():
        try:
            settings_store.delete(name)
        except StorageUnavailable as exc:
            logger.warning(
                "an older settings parameter could not be deleted", extra={"parameter": name, "error": str(exc)}
            )
    _reader.forget(names.all())
