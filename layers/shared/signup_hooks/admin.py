"""What the admin routes do with the webhook setting. Answers show the URL redacted to scheme and host."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from signup_hooks import bodies, settings
from signup_hooks.config import Config

logger = Logger(child=True)

MAX_BODY_BYTES = 8 * 1024


def webhook_state(config: Config) -> dict[str, Any]:
    target = settings.resolve_webhook_url(config.webhook_url_parameter, config.webhook_url_env, max_age=0)
    return {
        "url": target.redacted,
        "source": target.source.value,
        "configured": target.url is not None,
        "parameter": config.webhook_url_parameter,
        "environment_fallback": config.webhook_url_env != "",
    }


def set_webhook(config: Config, body: str | None) -> dict[str, Any]:
    data = bodies.json_object(body, MAX_BODY_BYTES)
    url = settings.validate_webhook_url(data.get("url"))
    settings.store_webhook_url(config.webhook_url_parameter, url)
    logger.info("webhook URL set", extra={"target": settings.redact_url(url)})
    return webhook_state(config)


def clear_webhook(config: Config) -> dict[str, Any]:
    settings.clear_webhook_url(config.webhook_url_parameter)
    logger.info("webhook URL cleared; falling back to WEBHOOK_URL" if config.webhook_url_env else "webhook URL cleared")
    return webhook_state(config)
