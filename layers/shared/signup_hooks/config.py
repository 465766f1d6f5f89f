"""The one place that reads the environment: every setting of every function, typed and checked once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from signup_hooks.errors import ConfigError
from signup_hooks.messages import DEFAULT_TEMPLATE, validate_template

ROLES = ("pending", "user", "admin")

# Upper bounds on what an operator may configure (invariant 4: every limit is bounded).
MAX_TIMEOUT_SECONDS = 30.0
MAX_SETTINGS_AGE_SECONDS = 10


@dataclass(frozen=True)
class Config:
    users_table: str = ""
    webhook_url_parameter: str = ""
    webhook_url_env: str = ""
    message_template: str = DEFAULT_TEMPLATE
    default_user_role: str = "pending"
    dead_letter_queue_url: str = ""
    admin_token_secret: str = ""
    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    settings_max_age: int = MAX_SETTINGS_AGE_SECONDS

    def require(self, *names: str) -> Config:
        """Fail at cold start, naming the variable, when a function lacks a setting it needs."""
        missing = [name for name in names if not getattr(self, name)]
        if missing:
            raise ConfigError("missing setting(s): " + ", ".join(_ENV_NAMES[name] for name in missing))
        return self


_ENV_NAMES = {
    "users_table": "USERS_TABLE",
    "webhook_url_parameter": "WEBHOOK_URL_PARAMETER",
    "webhook_url_env": "WEBHOOK_URL",
    "message_template": "MESSAGE_TEMPLATE",
    "default_user_role": "DEFAULT_USER_ROLE",
    "dead_letter_queue_url": "DEAD_LETTER_QUEUE_URL",
    "admin_token_secret": "ADMIN_TOKEN_SECRET",
    "connect_timeout": "WEBHOOK_CONNECT_TIMEOUT",
    "read_timeout": "WEBHOOK_READ_TIMEOUT",
    "settings_max_age": "SETTINGS_CACHE_SECONDS",
}


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    raw = {field: env.get(name, "").strip() for field, name in _ENV_NAMES.items()}
    defaults = Config()

    role = raw["default_user_role"] or defaults.default_user_role
    if role not in ROLES:
        raise ConfigError(f"DEFAULT_USER_ROLE must be one of {', '.join(ROLES)}")
    template = env.get("MESSAGE_TEMPLATE") or defaults.message_template
    validate_template(template)

    return Config(
        users_table=raw["users_table"],
        webhook_url_parameter=raw["webhook_url_parameter"],
        webhook_url_env=raw["webhook_url_env"],
        message_template=template,
        default_user_role=role,
        dead_letter_queue_url=raw["dead_letter_queue_url"],
        admin_token_secret=raw["admin_token_secret"],
        connect_timeout=_bounded_number(
            "WEBHOOK_CONNECT_TIMEOUT", raw["connect_timeout"], defaults.connect_timeout, MAX_TIMEOUT_SECONDS
        ),
        read_timeout=_bounded_number(
            "WEBHOOK_READ_TIMEOUT", raw["read_timeout"], defaults.read_timeout, MAX_TIMEOUT_SECONDS
        ),
        settings_max_age=int(
            _bounded_number(
                "SETTINGS_CACHE_SECONDS",
                raw["settings_max_age"],
                defaults.settings_max_age,
                MAX_SETTINGS_AGE_SECONDS,
                minimum=0,
            )
        ),
    )


def _bounded_number(name: str, value: str, default: float, maximum: float, minimum: float = 0.1) -> float:
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds") from None
    if not minimum <= number <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum} seconds")
    return number
