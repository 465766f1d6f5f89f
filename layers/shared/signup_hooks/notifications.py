"""One notification per new user: resolve the settings, render, check the target, sign, post, dead-letter what fails."""

from __future__ import annotations

from urllib.parse import urlsplit

from aws_lambda_powertools import Logger

from signup_hooks import deadletter, delivery, formats, messages, settings, signing, targets
from signup_hooks.config import Config
from signup_hooks.deadletter import DeadLetter
from signup_hooks.delivery import DeliveryResult, Reason
from signup_hooks.errors import InvalidInput, SignupHooksError
from signup_hooks.settings import DeliverySettings
from signup_hooks.users import User

logger = Logger(child=True)

# Time kept back at the end of an invocation for the dead-letter send and the batch response.
DEADLINE_MARGIN_SECONDS = 2.0


class NotAttempted(SignupHooksError):
    """A record left for the stream's retry, in order, because one before it failed."""


class OutOfTime(SignupHooksError):
    """Too little of the invocation is left to attempt a delivery; the stream will retry the record."""


def notify_new_user(user: User, event_id: str, config: Config, seconds_left: float) -> DeliveryResult | None:
    """Deliver one notification. Returns None when no webhook is configured.

    A failed delivery goes to the dead-letter queue; if that send fails too, the error propagates so
    that the batch reports this record as failed and the stream retries it. Nothing is dropped.
    """
    target = settings.resolve_webhook_url(config.webhook_url_parameter, config.webhook_url_env, config.settings_max_age)
    if target.url is None:
        logger.info("webhook not configured: set it with the admin API or WEBHOOK_URL", extra={"user_id": user.id})
        return None

    budget = seconds_left - DEADLINE_MARGIN_SECONDS
    if budget < 0.5:
        raise OutOfTime(f"{seconds_left:.1f}s left in the invocation")
    connect_timeout = min(config.connect_timeout, budget)
    read_timeout = min(config.read_timeout, max(budget - connect_timeout, 0.1))

    delivery_settings = settings.load_delivery_settings(config.parameter_names, config.settings_max_age)
    message, result = deliver(target.url, user, event_id, config, delivery_settings, connect_timeout, read_timeout)

    log_fields = {
        "event_id": event_id,
        "user_id": user.id,
        "target_host": urlsplit(target.url).hostname or "",
        "url_source": target.source.value,
        "status": result.status,
        "latency_ms": result.latency_ms,
    }
    if result.delivered:
        logger.info("webhook delivered", extra=log_fields)
        return result

    logger.warning(
        "webhook delivery failed", extra={**log_fields, "reason": str(result.reason), "detail": result.detail}
    )
    deadletter.send(config.dead_letter_queue_url, DeadLetter(event_id, user, message, target.url, result))
    logger.info("notification dead-lettered", extra={"event_id": event_id, "user_id": user.id})
    return result


def deliver(
    url: str,
    user: User,
    event_id: str,
    config: Config,
    delivery_settings: DeliverySettings,
    connect_timeout: float,
    read_timeout: float,
) -> tuple[str, DeliveryResult]:
    """Render, check the target, build the payload for its receiver, sign it and post it to the checked address.

    Returns the rendered message (what a dead letter keeps for a replay) and what happened.
    """
    template = delivery_settings.message_template or config.message_template
    message = messages.render(template, _placeholders(user))
    if not _is_valid_url(url):
        return message, DeliveryResult(False, None, Reason.INVALID_URL, 0, detail="url is not a valid webhook URL")
    try:
        checked = targets.check(url, config.target_policy)
    except targets.TargetError as exc:
        return message, DeliveryResult(False, None, Reason(exc.reason), 0, detail=exc.message)

    message_id = signing.webhook_id(event_id)
    payload = formats.build(formats.shape_for(delivery_settings.format, url), message, user, message_id)
    headers = {"Content-Type": payload.content_type}
    if delivery_settings.custom_header:
        headers[delivery_settings.custom_header.name] = delivery_settings.custom_header.value
    if delivery_settings.signing_secret:
        headers.update(signing.headers(delivery_settings.signing_secret, event_id, payload.body))
    return message, delivery.send(checked, payload.body, headers, connect_timeout, read_timeout)


def _placeholders(user: User) -> dict[str, str]:
    """Each value cleaned (no control or bidi characters, bounded) before it meets the template."""
    values = {"name": user.name, "email": user.email, "role": user.role, "id": user.id}
    return {key: formats.clean_value(value) for key, value in values.items()}


def _is_valid_url(url: str) -> bool:
    """The same rules as the admin API's, for a URL set some other way (the console, WEBHOOK_URL)."""
    try:
        settings.validate_webhook_url(url)
    except InvalidInput:
        return False
    return True
