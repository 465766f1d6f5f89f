"""Webhook endpoints: several receivers, each with its own URL, events, format, template and credentials.

Each endpoint is one settings document, `/<stack>/webhooks/<id>` (settings.py says what a document holds). The
endpoint `default` is the single-URL API's (/api/v1/admin/webhook): while it has no document it is made of the
older parameters or of WEBHOOK_URL, and it receives `user.created` unless an administrator subscribes it to more.

Reading: every document in one read (`load_all` takes the reader: storage/settings_store.read_documents, one
GetParametersByPath through a per-process cache, so a batch's delivery threads share one read). A document that
cannot be parsed makes only its own endpoint unavailable.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Protocol

from aws_lambda_powertools import Logger

from signup_hooks.config import Config
from signup_hooks.endpoints import send_options, settings
from signup_hooks.errors import StorageUnavailable
from signup_hooks.model.events import EVERY_EVENT
from signup_hooks.model.names import DEFAULT_ENDPOINT

logger = Logger(child=True)

MAX_ENDPOINTS = 10  # the default endpoint included


@dataclass(frozen=True)
class Endpoint:
    """One receiver as stored now. `problem` names why its document could not be read; it then receives nothing
    until fixed, and what it should have received waits (the caller raises `unavailable()`)."""

    id: str
    snapshot: settings.Snapshot
    environment_url: str = ""  # WEBHOOK_URL, the default endpoint's fallback
    problem: str | None = None

    @property
    def stored(self) -> settings.StoredSettings:
        return self.snapshot.stored

    @property
    def name(self) -> str:
        return self.stored.name or ("Default" if self.id == DEFAULT_ENDPOINT else self.id)

    @property
    def exists(self) -> bool:
        """Whether there is anything to show: a document, older parameters, or (for `default`) WEBHOOK_URL."""
        return (
            self.problem is not None
            or self.snapshot.source is not settings.SettingsSource.NONE
            or bool(self.environment_url)
        )

    def effective(self) -> send_options.Effective:
        return send_options.effective(self.snapshot, self.environment_url)

    def receives(self, event: str) -> bool:
        """Enabled and subscribed to `event` (or to every event)."""
        return self.stored.enabled and self.subscribed(event)

    def subscribed(self, event: str) -> bool:
        events = self.stored.events
        return EVERY_EVENT in events or event in events

    def gone(self, event: str) -> bool:
        """Disabled by its receiver (a 410), not by an administrator, and subscribed to `event`: what it misses is
        logged as skipped, for the administrator who enables it again to see and replay."""
        return not self.stored.enabled and self.stored.disabled_reason is not None and self.subscribed(event)

    def unavailable(self) -> StorageUnavailable:
        return StorageUnavailable(f"the settings of endpoint {self.id} cannot be read: {self.problem}")


class ReadDocuments(Protocol):
    """Reads every settings document under a path (and the default endpoint's older parameters), by name:
    storage/settings_store.read_documents."""

    def __call__(
        self, path: str, default_document: str, legacy: tuple[str, ...], max_age: float, stale_ok: bool = True
    ) -> dict[str, str]: ...


def load_all(config: Config, read: ReadDocuments, max_age: float, *, stale_ok: bool = True) -> list[Endpoint]:
    """Every endpoint, `default` first, then in the order they were created. Raises StorageUnavailable."""
    path = webhooks_path(config)
    default_names = settings_names(config)
    values = read(path, default_names.document, default_names.legacy.names(), max_age, stale_ok)
    found = [_endpoint(DEFAULT_ENDPOINT, values, config, config.webhook_url_env)]
    prefix = path + "/"
    others = []
    for name in values:
        endpoint_id = name[len(prefix) :] if name.startswith(prefix) else ""
        if endpoint_id and endpoint_id != DEFAULT_ENDPOINT and is_endpoint_id(endpoint_id):
            others.append(_endpoint(endpoint_id, values, config, ""))
    others.sort(key=lambda endpoint: (endpoint.stored.created_at or "", endpoint.id))
    return found + others


def find(endpoints: list[Endpoint], endpoint_id: str) -> Endpoint | None:
    """The endpoint with this id, if it exists (the default endpoint always does, configured or not)."""
    for endpoint in endpoints:
        if endpoint.id == endpoint_id and (endpoint.exists or endpoint.id == DEFAULT_ENDPOINT):
            return endpoint
    return None


def receiving(endpoints: list[Endpoint], event: str, *, excluding: str | None = None) -> list[Endpoint]:
    """The endpoints an event goes to: enabled, subscribed, with a URL, and not the one the event is about. One whose
    document is unreadable is included: the caller cannot tell what it wants, so it must not skip it."""
    chosen = []
    for endpoint in endpoints:
        if endpoint.id == excluding:
            continue
        wanted = endpoint.receives(event) and endpoint.effective().target.url is not None
        if wanted or endpoint.problem is not None:
            chosen.append(endpoint)
    return chosen


def notification_key(event: str, subject: str, endpoint_id: str) -> str:
    """The identity of one notification: what it is about (the event and its subject, for a signup the user's id)
    and the endpoint it goes to. It keys the idempotency record and the webhook-id, so that the first try, every
    retry, resend, redrive and replay of the same notification share them, whichever path found it."""
    return delivery_key(f"{event}:{subject}", endpoint_id)


def delivery_key(base: str, endpoint_id: str) -> str:
    """`base` for the default endpoint, `base#<endpoint>` for the others. Keys made before `notification_key` (a
    stream event id) are still carried by the messages, dead letters and log records that hold them."""
    return base if endpoint_id == DEFAULT_ENDPOINT else f"{base}#{endpoint_id}"


def webhooks_path(config: Config) -> str:
    """The SSM path that holds one settings document per endpoint."""
    return config.webhook_settings_parameter.rsplit("/", 1)[0]


def settings_names(config: Config, endpoint_id: str = DEFAULT_ENDPOINT) -> settings.SettingsNames:
    """Where an endpoint's settings live: `<prefix>/<id>`, next to the default endpoint's document."""
    if endpoint_id == DEFAULT_ENDPOINT:
        legacy = settings.LegacyNames(
            url=config.webhook_url_parameter,
            format=config.format_parameter,
            message_template=config.message_template_parameter,
            signing_secret=config.signing_secret_parameter,
            custom_header=config.custom_header_parameter,
        )
        return settings.SettingsNames(config.webhook_settings_parameter, legacy, endpoint_id)
    if not is_endpoint_id(endpoint_id):
        raise ValueError("an endpoint id is 1 to 64 letters, digits, '.', '_' or '-'")
    return settings.SettingsNames(f"{webhooks_path(config)}/{endpoint_id}", endpoint_id=endpoint_id)


_ENDPOINT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def is_endpoint_id(value: str) -> bool:
    """1 to 64 letters, digits, '.', '_' or '-': safe as the last part of a parameter name."""
    return bool(_ENDPOINT_ID.fullmatch(value))


def new_id() -> str:
    return "ep_" + secrets.token_hex(6)


def _endpoint(endpoint_id: str, values: dict[str, str], config: Config, environment_url: str) -> Endpoint:
    names = settings_names(config, endpoint_id)
    try:
        return Endpoint(endpoint_id, settings.parse(values, names, environment_url), environment_url)
    except StorageUnavailable as exc:
        logger.warning("an endpoint's settings cannot be read", extra={"endpoint": endpoint_id, "detail": str(exc)})
        empty = settings.Snapshot(settings.StoredSettings(), settings.SettingsSource.NONE)
        return Endpoint(endpoint_id, empty, environment_url, problem=str(exc))
