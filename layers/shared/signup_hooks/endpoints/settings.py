"""The stored settings of one endpoint: the SSM document an administrator writes (settings_input.py checks what they
may set; storage/settings_store.py reads and writes it). Not to be confused with config.py's `Config` (the function's
environment) or send_options.py's `SendOptions` (what one delivery uses, derived from these).

Stored: one SecureString parameter per endpoint, `/<stack>/webhooks/<id>` (the single-URL API's endpoint is
`default`), holding a flat JSON document. An admin change is one write: all of it or none of it. The template does
not create the parameter, so a redeploy never overwrites an administrator's choice. Older deployments kept five
parameters (webhook-url, webhook-format, message-template, signing-secret, custom-header). They are read while the
document does not exist; the first admin save writes the document and then deletes them.

Reading: only a parameter that does not exist is "not set". A stored value that cannot be trusted (a signing secret
or custom header changed by hand into something invalid) makes the read fail with StorageUnavailable: the caller
retries later and never mistakes an unreadable setting for "not configured".
"""

from __future__ import annotations

import dataclasses
import enum
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from signup_hooks.endpoints.custom_header import CustomHeader, validate_custom_header
from signup_hooks.errors import ConfigError, InvalidInput, StorageUnavailable
from signup_hooks.model.names import DEFAULT_ENDPOINT, USER_CREATED, Format
from signup_hooks.model.urls import origin_of
from signup_hooks.sending import signing
from signup_hooks.sending.messages import validate_template

logger = Logger(child=True)

DEFAULT_EVENTS = (USER_CREATED,)  # what an endpoint receives unless it says otherwise; the single-URL API's


class SettingsSource(enum.StrEnum):
    DOCUMENT = "document"
    LEGACY = "legacy"  # the five parameters of older deployments
    NONE = "none"


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
    # Set when the endpoint disabled itself (its receiver answered 410 Gone: results.Reason.GONE), and when (ISO 8601,
    # to the second); cleared when an administrator enables it again.
    disabled_reason: str | None = None
    disabled_at: str | None = None

    def disabled(self, reason: str, at: str) -> StoredSettings:
        """These settings with the endpoint switched off, saying why and when."""
        return dataclasses.replace(self, enabled=False, disabled_reason=reason, disabled_at=at)

    def enabled_again(self) -> StoredSettings:
        """These settings switched on by an administrator: why it was off no longer applies."""
        return dataclasses.replace(self, enabled=True, disabled_reason=None, disabled_at=None)

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
            "disabled_reason": self.disabled_reason,
            "disabled_at": self.disabled_at,
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


def parse(values: dict[str, str], names: SettingsNames, environment_url: str) -> Snapshot:
    document = values.get(names.document)
    if document is not None:
        try:
            fields = decode_document(document)
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
        disabled_reason=fields.get("disabled_reason") or None,
        disabled_at=fields.get("disabled_at") or None,
    )


def _events(stored: str | None) -> tuple[str, ...]:
    """The stored comma-separated list; a document written before endpoints had events receives signups."""
    if stored is None:
        return DEFAULT_EVENTS
    return tuple(name for name in stored.split(",") if name)


def decode_document(text: str) -> dict[str, str | None]:
    """The fields of a document; ValueError when it is not a flat JSON object of strings."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("a settings document is a JSON object")
    return {str(key): value if isinstance(value, str) else None for key, value in data.items()}
