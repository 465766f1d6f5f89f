"""One notification per new user: resolve the URL, render the message, post it, dead-letter what fails."""

from __future__ import annotations

from urllib.parse import urlsplit

from aws_lambda_powertools import Logger

from signup_hooks import deadletter, delivery, messages, settings
from signup_hooks.config import Config
from signup_hooks.deadletter import DeadLetter
from signup_hooks.delivery import DeliveryResult, Reason
from signup_hooks.errors import InvalidInput, SignupHooksError
from signup_hooks.users import User

logger = Logger(child=True)

TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
# Time kept back at the end of an invocation for the dead-letter send and the batch response.
DEADLINE_MARGIN_SECONDS = 2.0


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

    message = messages.render(config.message_template, _placeholders(user))
    if _is_valid_url(target.url):
        result = delivery.post(target.url, message.encode("utf-8"), TEXT_CONTENT_TYPE, connect_timeout, read_timeout)
    else:
        result = DeliveryResult(False, None, Reason.INVALID_URL, 0)

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

    logger.warning("webhook delivery failed", extra={**log_fields, "reason": str(result.reason)})
    deadletter.send(config.dead_letter_queue_url, DeadLetter(event_id, user, message, target.url, result))
    logger.info("notification dead-lettered", extra={"event_id": event_id, "user_id": user.id})
    return result


def _placeholders(user: User) -> dict[str, str]:
    return {"name": user.name, "email": user.email, "role": user.role, "id": user.id}


def _is_valid_url(url: str) -> bool:
    """The same rules as the admin API's, for a URL set some other way (the console, WEBHOOK_URL)."""
    try:
        settings.validate_webhook_url(url)
    except InvalidInput:
        return False
    return True
