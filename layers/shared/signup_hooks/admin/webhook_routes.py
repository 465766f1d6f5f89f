"""What the admin routes of /api/v1/admin/webhook do with the default endpoint's stored settings (settings.py): read
them, change them, clear the URL. The rules of a change (`with_change`: credentials bound to an origin) are shared
with endpoint_routes.py. Answers show the URL redacted to scheme and host, and secrets only as "set" or "unset"."""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_lambda_powertools import Logger

from signup_hooks.api import bodies
from signup_hooks.config import Config
from signup_hooks.endpoints import registry, send_options, settings, settings_input
from signup_hooks.errors import Conflict, InvalidInput, NotFound
from signup_hooks.model import clock
from signup_hooks.model.names import DEFAULT_ENDPOINT, Format
from signup_hooks.model.urls import origin_of, redact_url
from signup_hooks.sending import targets
from signup_hooks.storage import settings_lease, settings_store

logger = Logger(child=True)

MAX_BODY_BYTES = 8 * 1024


def webhook_state(config: Config) -> dict[str, Any]:
    """What is stored, read afresh (never a cached or stale copy: a save builds on it)."""
    return _state(config, current_snapshot(config).stored)


def settings_change(body: str | None, config: Config) -> settings_input.SettingsChange:
    """A PUT body, every field checked (the URL against the SSRF guard too) before anything is written."""
    data = bodies.json_object(body, MAX_BODY_BYTES)
    return settings_input.parse_change(data, lambda url: check_at_save(url, config))


def set_webhook(config: Config, change: settings_input.SettingsChange) -> dict[str, Any]:
    """Set the settings a change gives; `null` clears a setting (except the URL: DELETE clears it).

    The whole change is one write, so either all of it is stored or none of it.
    """
    names = registry.settings_names(config)
    with settings_lease.held(config.deliveries_table, names.endpoint_id):
        current, version = settings_store.read_for_change(names, config.webhook_url_env)
        updated, header_cleared = with_change(current.stored, change, config.webhook_url_env, clock.to_the_second())
        if updated.disabled_reason is not None:  # disabled by its receiver's 410: setting the webhook is the fix
            updated = updated.enabled_again()
        save(names, current, version, updated)
    changed = sorted(change.fields)  # names only: values may be secrets
    extra: dict[str, Any] = {"fields": changed, "custom_header_cleared": header_cleared}
    if change.url is not None:
        logger.info("webhook URL set", extra={**extra, "target": redact_url(change.url)})
    else:
        logger.info("webhook settings changed", extra=extra)
    return {**_state(config, updated), "custom_header_cleared": header_cleared}


def clear_webhook(config: Config) -> dict[str, Any]:
    """Clear the URL (the notifier falls back to WEBHOOK_URL). The credentials stay bound to their origin."""
    names = registry.settings_names(config)
    with settings_lease.held(config.deliveries_table, names.endpoint_id):
        current, version = settings_store.read_for_change(names, config.webhook_url_env)
        if current.stored.url is None:
            return _state(config, current.stored)
        updated = dataclasses.replace(current.stored, url=None, updated_at=clock.to_the_second())
        save(names, current, version, updated)
    logger.info("webhook URL cleared; falling back to WEBHOOK_URL" if config.webhook_url_env else "webhook URL cleared")
    return _state(config, updated)


def current_snapshot(config: Config) -> settings.Snapshot:
    """The default endpoint's stored settings, read afresh."""
    return settings_store.load(registry.settings_names(config), config.webhook_url_env, max_age=0, stale_ok=False)


def save(
    names: settings.SettingsNames,
    current: settings.Snapshot,
    read_version: int | None,
    updated: settings.StoredSettings,
) -> None:
    """One write of an endpoint's document, replacing `current`, read at `read_version` (None: no document) under
    the endpoint's lease (storage/settings_lease.py).

    The write must be the very next version. Any other means that something changed the document between this
    change's read and its write, which the lease alone cannot rule out (a change made by hand, a read SSM answered
    from before the last write): this write is taken back and the change refused, so that it never undoes another.
    A document SSM had to create anew (version 1) was deleted meanwhile: the change must not bring it back.
    """
    version = settings_store.save(names, updated)
    if version != (read_version or 0) + 1:
        if version == 1:
            settings_store.delete_settings(names)
            if names.endpoint_id != DEFAULT_ENDPOINT:
                raise NotFound("the endpoint was deleted meanwhile")
            raise Conflict("the settings were cleared meanwhile; read them again")
        settings_store.restore(names, version - 1)
        logger.warning("a settings change was taken back: the document changed meanwhile", extra={"version": version})
        raise Conflict("the endpoint's settings changed meanwhile; read them again")
    if current.source is settings.SettingsSource.LEGACY:
        settings_store.remove_legacy(names)  # the document holds their values now, and wins over them


def _state(config: Config, stored: settings.StoredSettings) -> dict[str, Any]:
    target = send_options.effective(
        settings.Snapshot(stored, settings.SettingsSource.DOCUMENT), config.webhook_url_env
    ).target
    return {
        "url": target.redacted,
        "source": target.source.value,
        "configured": target.url is not None,
        "parameter": config.webhook_settings_parameter,
        "environment_fallback": config.webhook_url_env != "",
        **stored.public(),
        "message_template_default": config.message_template,  # what a null message_template means
        "enabled": stored.enabled,
        "disabled_reason": stored.disabled_reason,
        "disabled_at": stored.disabled_at,
    }


def with_change(
    stored: settings.StoredSettings, change: settings_input.SettingsChange, environment_url: str, now: str
) -> tuple[settings.StoredSettings, bool]:
    """The settings after an admin change, and whether the custom header was cleared.

    A change of URL, or a credential set, binds the credentials to the origin of the URL they will go to (the new
    URL, else the current one, else WEBHOOK_URL). When that origin is another one, the custom header is cleared
    unless the same change sets one, and the signing secret goes with the new origin.
    """
    fields = change.fields
    url = change.url if "url" in fields else stored.url
    header = change.custom_header if "custom_header" in fields else stored.custom_header
    origin = stored.credentials_origin
    cleared = False
    if "url" in fields or change.sets("custom_header") or change.sets("signing_secret"):
        new_origin = origin_of(url or environment_url)
        if new_origin != origin:
            if header is not None and not change.sets("custom_header"):
                header, cleared = None, True
            origin = new_origin
    updated = dataclasses.replace(
        stored,
        url=url,
        format=(change.format or Format.AUTO) if "format" in fields else stored.format,
        message_template=change.message_template if "message_template" in fields else stored.message_template,
        signing_secret=change.signing_secret if "signing_secret" in fields else stored.signing_secret,
        custom_header=header,
        credentials_origin=origin,
        updated_at=now,
    )
    if "signing_secret" in fields or origin != stored.credentials_origin:
        # A secret set by hand replaces the old one at once; a rotation's old secret never follows a new origin.
        updated = dataclasses.replace(updated, previous_signing_secret=None, previous_secret_until=None)
    return updated, cleared


def check_at_save(url: str, config: Config) -> None:
    """The SSRF check at save time. A name that does not resolve yet is accepted: every send checks again."""
    try:
        targets.check_saved(url, config.target_policy)
    except targets.TargetError as exc:
        raise InvalidInput("url", exc.message, code=exc.reason) from None
