"""What the admin routes do with the webhook settings. Answers show the URL redacted to scheme and host,
and secrets only as "set" or "unset"."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from signup_hooks import bodies, formats, notifications, settings, targets
from signup_hooks.config import Config
from signup_hooks.delivery import DeliveryResult, Reason
from signup_hooks.errors import InvalidInput
from signup_hooks.users import User

logger = Logger(child=True)

MAX_BODY_BYTES = 8 * 1024
SETTING_FIELDS = ("url", "format", "message_template", "signing_secret", "custom_header")
TEST_USER_NAME = "Webhook test"
TEST_USER_EMAIL = "webhook-test@example.invalid"


def webhook_state(config: Config) -> dict[str, Any]:
    target = settings.resolve_webhook_url(config.webhook_url_parameter, config.webhook_url_env, max_age=0)
    delivery_settings = settings.load_delivery_settings(config.parameter_names, max_age=0)
    return {
        "url": target.redacted,
        "source": target.source.value,
        "configured": target.url is not None,
        "parameter": config.webhook_url_parameter,
        "environment_fallback": config.webhook_url_env != "",
        **delivery_settings.public(),
        "message_template_default": config.message_template,  # what a null message_template means
    }


def set_webhook(config: Config, body: str | None) -> dict[str, Any]:
    """Set any of the settings in the body; `null` clears a setting (except the URL: DELETE clears it).

    Every field is validated before anything is written, so a bad field changes nothing.
    """
    data = bodies.json_object(body, MAX_BODY_BYTES)
    if not any(name in data for name in SETTING_FIELDS):
        raise InvalidInput("url", "url is required", code="missing_field")
    names = config.parameter_names
    writes: list[Callable[[], None]] = []

    if "url" in data:
        url = settings.validate_webhook_url(data["url"])
        check_at_save(url, config)
        writes.append(lambda: settings.store_webhook_url(config.webhook_url_parameter, url))
    if "format" in data:
        writes.append(_setting(names.format, data["format"], settings.validate_format, secret=False, what="format"))
    if "message_template" in data:
        writes.append(
            _setting(
                names.message_template,
                data["message_template"],
                settings.validate_message_template,
                secret=False,
                what="message template",
            )
        )
    if "signing_secret" in data:
        writes.append(
            _setting(
                names.signing_secret, data["signing_secret"], settings.validate_signing_secret, True, "signing secret"
            )
        )
    if "custom_header" in data:
        writes.append(
            _setting(
                names.custom_header,
                data["custom_header"],
                lambda value: settings.json_value(settings.validate_custom_header(value)),
                True,
                "custom header",
            )
        )
    for write in writes:
        write()
    changed = [name for name in SETTING_FIELDS if name in data]  # names only: values may be secrets
    if "url" in data:
        logger.info("webhook URL set", extra={"fields": changed, "target": settings.redact_url(str(data["url"]))})
    else:
        logger.info("webhook settings changed", extra={"fields": changed})
    return webhook_state(config)


def clear_webhook(config: Config) -> dict[str, Any]:
    settings.clear_webhook_url(config.webhook_url_parameter)
    logger.info("webhook URL cleared; falling back to WEBHOOK_URL" if config.webhook_url_env else "webhook URL cleared")
    return webhook_state(config)


def check_at_save(url: str, config: Config) -> None:
    """The SSRF check at save time. A name that does not resolve yet is accepted: every send checks again."""
    try:
        targets.check_saved(url, config.target_policy)
    except targets.TargetError as exc:
        raise InvalidInput("url", exc.message, code=exc.reason) from None


def send_test(config: Config, body: str | None) -> dict[str, Any]:
    """Send a test notification to the saved URL, or to `url` in the body before saving it, and say what happened."""
    data = bodies.json_object(body, MAX_BODY_BYTES) if body and body.strip() else {}
    if "url" in data:
        url: str | None = data["url"] if isinstance(data["url"], str) else None
    else:
        url = settings.resolve_webhook_url(config.webhook_url_parameter, config.webhook_url_env, max_age=0).url
    delivery_settings = settings.load_delivery_settings(config.parameter_names, max_age=0)
    if "format" in data:
        delivery_settings = _with(delivery_settings, format=settings.validate_format(data["format"]))
    if "message_template" in data:
        template = settings.validate_message_template(data["message_template"])
        delivery_settings = _with(delivery_settings, message_template=template)

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
        _message, result = notifications.deliver(
            url, user, user.id, config, delivery_settings, config.connect_timeout, config.read_timeout
        )
    answer = {
        "delivered": result.delivered,
        "status": result.status,
        "latency_ms": result.latency_ms,
        "reason": result.reason.value if result.reason else None,
        "target": settings.redact_url(url) if url else None,
        "format": shape,
        "detail": result.detail or result.excerpt or None,
    }
    logger.info(
        "webhook test sent",
        extra={k: answer[k] for k in ("delivered", "status", "latency_ms", "reason", "target", "format")},
    )
    return answer


def _setting(
    parameter_name: str, value: object, validate: Callable[[Any], Any], secret: bool, what: str
) -> Callable[[], None]:
    """Validate now; return the write (or the delete, for null) to run once every field is valid."""
    if value is None:
        return lambda: settings.clear(parameter_name)
    stored = str(validate(value))
    return lambda: settings.store(parameter_name, stored, secret=secret, description=f"Signup webhook {what}")


def _with(delivery_settings: settings.DeliverySettings, **changes: Any) -> settings.DeliverySettings:
    return dataclasses.replace(delivery_settings, **changes)
