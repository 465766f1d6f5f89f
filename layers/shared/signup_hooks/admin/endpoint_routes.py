"""What the admin routes of /api/v1/admin/webhooks do: list, create, read, change and delete webhook endpoints, send
one a test, rotate its signing secret.

Each endpoint is one settings document (registry.py); `default` is the single-URL API's and may be managed here too.
The rules of a change (checks, credentials bound to an origin, one write) are webhook_routes.py's, shared, not copied.
Answers show URLs redacted to scheme and host and secrets as "set" or "unset"; only rotate-secret shows the new secret.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from signup_hooks.admin import webhook_routes
from signup_hooks.api import bodies
from signup_hooks.config import Config
from signup_hooks.endpoints import registry, settings, settings_input
from signup_hooks.endpoints.registry import MAX_ENDPOINTS, Endpoint, is_endpoint_id
from signup_hooks.errors import Conflict, InvalidInput, NotFound, StorageUnavailable, TooManyEndpoints
from signup_hooks.model import clock
from signup_hooks.model.names import DEFAULT_ENDPOINT
from signup_hooks.model.urls import redact_url
from signup_hooks.sending import signing
from signup_hooks.storage import settings_lease, settings_store
from signup_hooks.storage.health_table import HealthTable

logger = Logger(child=True)

ENDPOINT_FIELDS = (*settings_input.FIELDS, "name", "enabled", "events")
_EMPTY = settings.Snapshot(settings.StoredSettings(), settings.SettingsSource.NONE)  # before a new endpoint's write


# ---------------------------------------------------------------------------------------------------------------------
# Input, parsed at the edge
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointRequest:
    """A POST or PATCH body, every field checked. A field left out keeps its value (PATCH) or its default (POST);
    `null` clears an optional one (name, format, message_template, signing_secret, custom_header)."""

    change: settings_input.SettingsChange  # the settings the single-URL API sets too
    fields: frozenset[str]
    name: str | None = None
    enabled: bool | None = None
    events: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, body: str | None, config: Config, *, creating: bool) -> EndpointRequest:
        data = bodies.json_object(body, webhook_routes.MAX_BODY_BYTES)
        unknown = sorted(set(data) - set(ENDPOINT_FIELDS))
        if unknown:
            raise InvalidInput(unknown[0][:64], "unknown field; use " + ", ".join(ENDPOINT_FIELDS))
        if creating and "url" not in data:
            raise InvalidInput("url", "url is required", code="missing_field")
        if not data:
            raise InvalidInput("", "nothing to change: give at least one field", code="missing_field")
        given = {name: data[name] for name in settings_input.FIELDS if name in data}
        if given:
            change = settings_input.parse_change(given, lambda url: webhook_routes.check_at_save(url, config))
        else:
            change = settings_input.SettingsChange(fields=frozenset())
        return cls(
            change,
            frozenset(data),
            name=settings_input.validate_name(data["name"]) if data.get("name") is not None else None,
            enabled=settings_input.validate_enabled(data["enabled"]) if "enabled" in data else None,
            events=settings_input.validate_events(data["events"]) if "events" in data else None,
        )

    def applied_to(
        self, stored: settings.StoredSettings, environment_url: str, now: str
    ) -> tuple[settings.StoredSettings, bool]:
        """The settings after this change, and whether the custom header was cleared (webhook_routes.with_change)."""
        updated, header_cleared = webhook_routes.with_change(stored, self.change, environment_url, now)
        own: dict[str, Any] = {"name": self.name, "enabled": self.enabled, "events": self.events}
        updated = dataclasses.replace(updated, **{k: v for k, v in own.items() if k in self.fields})
        if self.enabled:
            updated = updated.enabled_again()
        return updated, header_cleared


# ---------------------------------------------------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------------------------------------------------


def list_endpoints(config: Config) -> dict[str, Any]:
    found = [endpoint for endpoint in _fresh(config) if endpoint.exists]
    return {"items": [_public(config, endpoint) for endpoint in found], "max": MAX_ENDPOINTS}


def create(config: Config, request: EndpointRequest) -> dict[str, Any]:
    """Store a new endpoint under a new id, unless there are MAX_ENDPOINTS already (the default one counted)."""
    if sum(endpoint.exists for endpoint in _fresh(config)) >= MAX_ENDPOINTS:
        raise TooManyEndpoints(f"there can be at most {MAX_ENDPOINTS} endpoints, the default one included")
    now = datetime.now(UTC)
    # Milliseconds: endpoints are listed in the order of created_at, and several may be created within a second.
    created = settings.StoredSettings(created_at=clock.to_the_millisecond(now))
    stored, _ = request.applied_to(created, "", clock.to_the_second(now))
    endpoint_id = registry.new_id()
    try:
        settings_store.save(registry.settings_names(config, endpoint_id), stored, new=True)
    except FileExistsError:  # 48 random bits against at most 10 ids in use: about once in 2**44 creations
        raise Conflict("an endpoint with the same id was created meanwhile; try again") from None
    if _limit_passed_meanwhile(config):
        settings_store.delete_settings(registry.settings_names(config, endpoint_id))
        raise Conflict(f"another endpoint was created meanwhile and there can be at most {MAX_ENDPOINTS}; try again")
    logger.info("endpoint created", extra={"endpoint": endpoint_id, **_described(request, stored)})
    return _public(config, _as_stored(Endpoint(endpoint_id, _EMPTY), stored))


def get(config: Config, endpoint_id: str) -> dict[str, Any]:
    return _public(config, _existing(config, endpoint_id))


def update(config: Config, endpoint_id: str, request: EndpointRequest) -> dict[str, Any]:
    """Change any of an endpoint's fields in one write."""
    with _changing(config, endpoint_id) as (endpoint, version):
        updated, header_cleared = request.applied_to(endpoint.stored, endpoint.environment_url, clock.to_the_second())
        webhook_routes.save(registry.settings_names(config, endpoint.id), endpoint.snapshot, version, updated)
    logger.info(
        "endpoint changed",
        extra={"endpoint": endpoint.id, "custom_header_cleared": header_cleared, **_described(request, updated)},
    )
    return {**_public(config, _as_stored(endpoint, updated)), "custom_header_cleared": header_cleared}


def delete(config: Config, endpoint_id: str) -> dict[str, Any]:
    """Delete an endpoint's document. For `default` that clears all its settings: WEBHOOK_URL, if set, still applies."""
    if not is_endpoint_id(endpoint_id):
        raise NotFound("no endpoint with this id")
    with settings_lease.held(config.deliveries_table, endpoint_id):
        endpoint = _existing(config, endpoint_id)  # an unreadable document can be deleted too
        settings_store.delete_settings(registry.settings_names(config, endpoint.id))
    logger.info("endpoint deleted", extra={"endpoint": endpoint.id})
    return {"deleted": endpoint.id}


def rotate_secret(config: Config, endpoint_id: str) -> dict[str, Any]:
    """A new signing secret. The one it replaces keeps signing beside it for the configured overlap, so that the
    receiver can switch without missing a request; a rotation during an overlap drops the oldest of the three."""
    secret = signing.new_secret()
    change = settings_input.SettingsChange(fields=frozenset({"signing_secret"}), signing_secret=secret)
    with _changing(config, endpoint_id) as (endpoint, version):
        stored = endpoint.stored
        now = datetime.now(UTC)
        updated, header_cleared = webhook_routes.with_change(
            stored, change, endpoint.environment_url, clock.to_the_second(now)
        )
        previous_until = None
        # The old secret signs on only where it was used: never at an origin the rotation moved the credentials to.
        if stored.signing_secret and updated.credentials_origin == stored.credentials_origin:
            previous_until = clock.to_the_second(now + timedelta(hours=config.signing_secret_overlap_hours))
            updated = dataclasses.replace(
                updated, previous_signing_secret=stored.signing_secret, previous_secret_until=previous_until
            )
        webhook_routes.save(registry.settings_names(config, endpoint.id), endpoint.snapshot, version, updated)
    logger.info(
        "signing secret rotated",
        extra={"endpoint": endpoint.id, "previous_until": previous_until, "custom_header_cleared": header_cleared},
    )
    return {"signing_secret": secret, "previous_until": previous_until, "custom_header_cleared": header_cleared}


# ---------------------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------------------


def _fresh(config: Config) -> list[Endpoint]:
    """Every endpoint as stored now (never a cached or stale copy: a save builds on it)."""
    return registry.load_all(config, settings_store.read_documents, max_age=0, stale_ok=False)


def _existing(config: Config, endpoint_id: str) -> Endpoint:
    found = registry.find(_fresh(config), endpoint_id) if is_endpoint_id(endpoint_id) else None
    if found is None:
        raise NotFound("no endpoint with this id")
    return found


def readable(config: Config, endpoint_id: str) -> Endpoint:
    """An endpoint whose document can be read: a change builds on it. An unreadable one can only be deleted."""
    endpoint = _existing(config, endpoint_id)
    if endpoint.problem is not None:
        raise endpoint.unavailable()
    return endpoint


def _limit_passed_meanwhile(config: Config) -> bool:
    """Whether the endpoints, counted again after a create's write, are past the limit. SSM has no conditional write
    across parameters, so a create that ran beside this one may have passed the same first count; every create that
    finds the limit passed takes its own back. A recount that cannot be read keeps the endpoint: it was created."""
    try:
        return sum(endpoint.exists for endpoint in _fresh(config)) > MAX_ENDPOINTS
    except StorageUnavailable as exc:
        logger.warning("the endpoints could not be counted again after a create", extra={"error": str(exc)})
        return False


@contextmanager
def _changing(config: Config, endpoint_id: str) -> Iterator[tuple[Endpoint, int | None]]:
    """An endpoint read afresh under its lease, for one change, with the version of its document (None: none yet).
    Raises NotFound, Conflict (another change holds the lease), StorageUnavailable (unreadable: it can only be
    deleted)."""
    if not is_endpoint_id(endpoint_id):
        raise NotFound("no endpoint with this id")
    environment_url = config.webhook_url_env if endpoint_id == DEFAULT_ENDPOINT else ""
    with settings_lease.held(config.deliveries_table, endpoint_id):
        names = registry.settings_names(config, endpoint_id)
        try:
            snapshot, version = settings_store.read_for_change(names, environment_url)
        except StorageUnavailable as exc:
            raise StorageUnavailable(f"the settings of endpoint {endpoint_id} cannot be read: {exc}") from None
        endpoint = Endpoint(endpoint_id, snapshot, environment_url)
        if not endpoint.exists and endpoint_id != DEFAULT_ENDPOINT:
            raise NotFound("no endpoint with this id")
        yield endpoint, version


def _as_stored(endpoint: Endpoint, stored: settings.StoredSettings) -> Endpoint:
    """The endpoint as it is after a write of `stored`."""
    return dataclasses.replace(endpoint, snapshot=settings.Snapshot(stored, settings.SettingsSource.DOCUMENT))


def _described(request: EndpointRequest, stored: settings.StoredSettings) -> dict[str, Any]:
    """What a log line may say of a change: field names and the redacted URL, never a value that may be secret."""
    return {
        "fields": sorted(request.fields),
        "target": redact_url(stored.url) if stored.url else None,
        "events": list(stored.events),
        "enabled": stored.enabled,
    }


def _public(config: Config, endpoint: Endpoint) -> dict[str, Any]:
    stored = endpoint.stored
    target = endpoint.effective().target
    rotation = {"previous_until": stored.previous_secret_until} if stored.previous_secret_active() else None
    return {
        "id": endpoint.id,
        "name": endpoint.name,
        "url": target.redacted,
        "source": target.source.value,
        "enabled": stored.enabled,
        "disabled_reason": stored.disabled_reason,
        "disabled_at": stored.disabled_at,
        "events": list(stored.events),
        **stored.public(),
        "created_at": stored.created_at,
        "updated_at": stored.updated_at,
        "signing_secret_rotation": rotation,
        "problem": endpoint.problem,
        "health": HealthTable(config.deliveries_table).read(endpoint.id).to_dict(),
    }
