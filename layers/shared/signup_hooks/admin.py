"""What the admin routes do with the webhook settings. Answers show the URL redacted to scheme and host,
and secrets only as "set" or "unset"."""

from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from signup_hooks import bodies, formats, settings, settings_input, targets
from signup_hooks.config import Config
from signup_hooks.delivery import DeliveryResult, Reason
from signup_hooks.errors import InvalidInput
from signup_hooks.formats import Format
from signup_hooks.users import User

logger = Logger(child=True)

MAX_BODY_BYTES = 8 * 1024
# Kept back from the admin invocation's remaining time after a test send, for the answer.
TEST_SEND_MARGIN_SECONDS = 2.0
TEST_USER_NAME = "Webhook test"
TEST_USER_EMAIL = "webhook-test@example.invalid"


def webhook_state(config: Config) -> dict[str, Any]:
    """What is stored, read afresh (never a cached or stale copy: a save builds on it)."""
    return _state(config, _current(config).stored)


def set_webhook(config: Config, body: str | None) -> dict[str, Any]:
    """Set any of the settings in the body; `null` clears a setting (except the URL: DELETE clears it).

    Every field is checked first and the whole change is one write, so either all of it is stored or none of it.
    """
    data = bodies.json_object(body, MAX_BODY_BYTES)
    change = settings_input.parse_change(data, lambda url: check_at_save(url, config))
    current = _current(config)
    updated, header_cleared = with_change(current.stored, change, config.webhook_url_env, now_iso())
    save(config.settings_names(), current, updated)
    changed = sorted(change.fields)  # names only: values may be secrets
    extra: dict[str, Any] = {"fields": changed, "custom_header_cleared": header_cleared}
    if change.url is not None:
        logger.info("webhook URL set", extra={**extra, "target": settings.redact_url(change.url)})
    else:
        logger.info("webhook settings changed", extra=extra)
    return {**_state(config, updated), "custom_header_cleared": header_cleared}


def clear_webhook(config: Config) -> dict[str, Any]:
    """Clear the URL (the notifier falls back to WEBHOOK_URL). The credentials stay bound to their origin."""
    current = _current(config)
    if current.stored.url is None:
        return _state(config, current.stored)
    updated = dataclasses.replace(current.stored, url=None, updated_at=now_iso())
    save(config.settings_names(), current, updated)
    logger.info("webhook URL cleared; falling back to WEBHOOK_URL" if config.webhook_url_env else "webhook URL cleared")
    return _state(config, updated)


def _current(config: Config) -> settings.Snapshot:
    return settings.load(config.settings_names(), config.webhook_url_env, max_age=0, stale_ok=False)


def save(names: settings.SettingsNames, current: settings.Snapshot, updated: settings.StoredSettings) -> None:
    """One write of an endpoint's document, replacing what `current` was read from."""
    settings.save(names, updated)
    if current.source is settings.SettingsSource.LEGACY:
        settings.remove_legacy(names)  # the document holds their values now, and wins over them


def _state(config: Config, stored: settings.StoredSettings) -> dict[str, Any]:
    target = settings.effective(
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
    }


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


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
        new_origin = settings.origin_of(url or environment_url)
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


def send_test(config: Config, body: str | None, context: LambdaContext) -> dict[str, Any]:
    """A test send with the default endpoint's settings (send_test_with says what it does)."""
    return send_test_with(config, _current(config), config.webhook_url_env, body, context)


def send_test_with(
    config: Config, snapshot: settings.Snapshot, environment_url: str, body: str | None, context: LambdaContext
) -> dict[str, Any]:
    """Send a test notification to an endpoint's saved URL (`snapshot`, else `environment_url`), or to `url` in the
    body before saving it, and say what happened.

    The saved custom header and signing secret go only to the origin they were saved for; the body may supply its
    own. The attempt's timeouts are cut to what is left of this invocation.
    """
    data = bodies.json_object(body, MAX_BODY_BYTES) if body and body.strip() else {}
    current = settings.effective(snapshot, environment_url)
    if "url" in data:
        url: str | None = data["url"] if isinstance(data["url"], str) else None
        delivery_settings, credentials = settings.delivery_for(snapshot.stored, url)
    else:
        url, delivery_settings, credentials = current.target.url, current.delivery, current.credentials
    delivery_settings, credentials = _with_request_fields(delivery_settings, credentials, data)

    if url is None and "url" not in data:
        result = DeliveryResult(False, None, Reason.NOT_CONFIGURED, 0, detail="no webhook URL is set")
        shape = None
    elif url is None:
        result = DeliveryResult(False, None, Reason.INVALID_URL, 0, detail="url must be a string")
        shape = None
    else:
        user = User(
            id=f"test-{uuid.uuid4()}",
            name=TEST_USER_NAME,
            email=TEST_USER_EMAIL,
            role=config.default_user_role,
            created_at=int(time.time()),
            profile_image_url="/user.png",
        )
        shape = formats.shape_for(delivery_settings.format, url).value
        result = _send_within(context, config, url, user, delivery_settings)
    answer = {
        "delivered": result.delivered,
        "status": result.status,
        "latency_ms": result.latency_ms,
        "reason": result.reason.value if result.reason else None,
        "target": settings.redact_url(url) if url else None,
        "format": shape,
        "detail": result.detail or result.excerpt or None,
        "credentials": credentials.value,
    }
    logger.info(
        "webhook test sent",
        extra={
            k: answer[k] for k in ("delivered", "status", "latency_ms", "reason", "target", "format", "credentials")
        },
    )
    return answer


def _send_within(
    context: LambdaContext, config: Config, url: str, user: User, delivery_settings: settings.DeliverySettings
) -> DeliveryResult:
    """One attempt whose connect and read timeouts together end TEST_SEND_MARGIN_SECONDS before the invocation."""
    # Delivery code, only for a test send: reading and saving the settings do without it.
    from signup_hooks import notifications, retry

    budget = context.get_remaining_time_in_millis() / 1000 - TEST_SEND_MARGIN_SECONDS
    if budget < retry.MIN_ATTEMPT_SECONDS:
        return DeliveryResult(False, None, Reason.READ_TIMEOUT, 0, detail="too little time left to send")
    connect_timeout = min(config.connect_timeout, budget / 2)
    read_timeout = min(config.read_timeout, budget - connect_timeout)
    _message, result = notifications.deliver(
        url, user, user.id, config, delivery_settings, connect_timeout, read_timeout
    )
    return result


def _with_request_fields(
    delivery_settings: settings.DeliverySettings, credentials: settings.Credentials, data: dict[str, Any]
) -> tuple[settings.DeliverySettings, settings.Credentials]:
    """The body's own format, template and credentials (checked like a save) replace the saved ones."""
    changes: dict[str, Any] = {}
    if "format" in data:
        changes["format"] = settings_input.validate_format(data["format"])
    if "message_template" in data:
        changes["message_template"] = settings_input.validate_message_template(data["message_template"])
    if data.get("signing_secret") is not None:
        changes["signing_secret"] = settings_input.validate_signing_secret(data["signing_secret"])
        credentials = settings.Credentials.FROM_REQUEST
    if data.get("custom_header") is not None:
        changes["custom_header"] = settings_input.validate_custom_header(data["custom_header"])
        credentials = settings.Credentials.FROM_REQUEST
    return dataclasses.replace(delivery_settings, **changes), credentials
