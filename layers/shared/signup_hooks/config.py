"""The one place that reads the environment: `Config`, every setting of every function, typed and checked once at
cold start. Not to be confused with the stored settings of an endpoint (settings.py: the SSM document an
administrator changes at run time, endpoints/settings.py) or with what one delivery uses (send_options.SendOptions)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from signup_hooks.digits import is_ascii_decimal
from signup_hooks.errors import ConfigError
from signup_hooks.model import schedule
from signup_hooks.sending.messages import DEFAULT_TEMPLATE, validate_template
from signup_hooks.signup import HashProfile

if TYPE_CHECKING:  # delivery code: imported where a policy is used, by the functions that deliver
    from signup_hooks.sending.backoff import RetryPolicy
    from signup_hooks.sending.targets import Policy

ROLES = ("pending", "user", "admin")

# Upper bounds on what an operator may configure: every limit the environment sets is bounded (docs/architecture.md).
MAX_TIMEOUT_SECONDS = 30.0
MAX_SETTINGS_AGE_SECONDS = 10
MAX_DELIVERY_ATTEMPTS = 10
MAX_RETRY_BASE_DELAY_SECONDS = 5.0
MAX_SIGNING_SECRET_OVERLAP_HOURS = 168  # a week: long enough for any receiver to switch to a rotated secret


@dataclass(frozen=True)
class Config:
    users_table: str = ""
    # The default endpoint's settings document (settings.py); the *_parameter names below are older deployments'
    # parameters, read until the first admin save replaces them with the document.
    webhook_settings_parameter: str = ""
    webhook_url_parameter: str = ""
    webhook_url_env: str = ""
    message_template: str = DEFAULT_TEMPLATE
    default_user_role: str = "pending"
    password_hash_profile: HashProfile = HashProfile.RFC9106_LOW_MEMORY
    dead_letter_queue_url: str = ""
    admin_token_secret: str = ""
    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    settings_max_age: int = MAX_SETTINGS_AGE_SECONDS
    format_parameter: str = ""
    message_template_parameter: str = ""
    signing_secret_parameter: str = ""
    custom_header_parameter: str = ""
    # Safety switches: plain http and private (loopback, RFC 1918, ...) targets. Off unless the deployment allows them.
    allow_http_targets: bool = False
    allow_private_targets: bool = False
    idempotency_table: str = ""
    users_stream_arn: str = ""  # the admin redrive reads Lambda's OnFailure records back from this stream
    # Retries inside one invocation (sending/backoff.py): attempts per notification and the first backoff.
    max_attempts: int = 3  # the quick first try; then the retry schedule
    retry_base_delay: float = 0.5
    # The retry schedule after the quick first try (schedule.py), its queue, and the delivery log.
    retry_schedule: tuple[float, ...] = schedule.parse(schedule.DEFAULT_SCHEDULE)
    retry_queue_url: str = ""
    # Where operational events go (a queue whose mapping has a concurrency of its own); empty: the retry queue.
    announcement_queue_url: str = ""
    deliveries_table: str = ""
    # How long a rotated-out signing secret still signs requests beside the new one.
    signing_secret_overlap_hours: int = 24

    @property
    def retry_policy(self) -> RetryPolicy:
        from signup_hooks.sending.backoff import RetryPolicy

        return RetryPolicy(max_attempts=self.max_attempts, base_delay=self.retry_base_delay)

    @property
    def target_policy(self) -> Policy:
        from signup_hooks.sending.targets import Policy

        return Policy(allow_http=self.allow_http_targets, allow_private=self.allow_private_targets)

    def require(self, *names: str) -> Config:
        """Fail at cold start, naming the variable, when a function lacks a setting it needs."""
        missing = [name for name in names if not getattr(self, name)]
        if missing:
            raise ConfigError("missing setting(s): " + ", ".join(_ENV_NAMES[name] for name in missing))
        return self


_ENV_NAMES = {
    "users_table": "USERS_TABLE",
    "webhook_settings_parameter": "WEBHOOK_SETTINGS_PARAMETER",
    "webhook_url_parameter": "WEBHOOK_URL_PARAMETER",
    "webhook_url_env": "WEBHOOK_URL",
    "message_template": "MESSAGE_TEMPLATE",
    "default_user_role": "DEFAULT_USER_ROLE",
    "password_hash_profile": "PASSWORD_HASH_PROFILE",
    "dead_letter_queue_url": "DEAD_LETTER_QUEUE_URL",
    "admin_token_secret": "ADMIN_TOKEN_SECRET",
    "connect_timeout": "WEBHOOK_CONNECT_TIMEOUT",
    "read_timeout": "WEBHOOK_READ_TIMEOUT",
    "settings_max_age": "SETTINGS_CACHE_SECONDS",
    "format_parameter": "WEBHOOK_FORMAT_PARAMETER",
    "message_template_parameter": "MESSAGE_TEMPLATE_PARAMETER",
    "signing_secret_parameter": "SIGNING_SECRET_PARAMETER",
    "custom_header_parameter": "CUSTOM_HEADER_PARAMETER",
    "allow_http_targets": "ALLOW_HTTP_TARGETS",
    "allow_private_targets": "ALLOW_PRIVATE_TARGETS",
    "idempotency_table": "IDEMPOTENCY_TABLE",
    "users_stream_arn": "USERS_STREAM_ARN",
    "max_attempts": "WEBHOOK_MAX_ATTEMPTS",
    "retry_base_delay": "WEBHOOK_RETRY_BASE_DELAY",
    "retry_schedule": "RETRY_SCHEDULE",
    "retry_queue_url": "RETRY_QUEUE_URL",
    "announcement_queue_url": "ANNOUNCEMENT_QUEUE_URL",
    "deliveries_table": "DELIVERIES_TABLE",
    "signing_secret_overlap_hours": "SIGNING_SECRET_OVERLAP_HOURS",
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
        webhook_settings_parameter=raw["webhook_settings_parameter"],
        webhook_url_parameter=raw["webhook_url_parameter"],
        webhook_url_env=raw["webhook_url_env"],
        message_template=template,
        default_user_role=role,
        password_hash_profile=_hash_profile(raw["password_hash_profile"]),
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
        format_parameter=raw["format_parameter"],
        message_template_parameter=raw["message_template_parameter"],
        signing_secret_parameter=raw["signing_secret_parameter"],
        custom_header_parameter=raw["custom_header_parameter"],
        allow_http_targets=_flag("ALLOW_HTTP_TARGETS", raw["allow_http_targets"]),
        allow_private_targets=_flag("ALLOW_PRIVATE_TARGETS", raw["allow_private_targets"]),
        idempotency_table=raw["idempotency_table"],
        users_stream_arn=raw["users_stream_arn"],
        max_attempts=int(
            _bounded_number(
                "WEBHOOK_MAX_ATTEMPTS", raw["max_attempts"], defaults.max_attempts, MAX_DELIVERY_ATTEMPTS, minimum=1
            )
        ),
        retry_base_delay=_bounded_number(
            "WEBHOOK_RETRY_BASE_DELAY",
            raw["retry_base_delay"],
            defaults.retry_base_delay,
            MAX_RETRY_BASE_DELAY_SECONDS,
            minimum=0.01,
        ),
        retry_schedule=schedule.parse(raw["retry_schedule"]),
        retry_queue_url=raw["retry_queue_url"],
        announcement_queue_url=raw["announcement_queue_url"],
        deliveries_table=raw["deliveries_table"],
        signing_secret_overlap_hours=int(
            _bounded_number(
                "SIGNING_SECRET_OVERLAP_HOURS",
                raw["signing_secret_overlap_hours"],
                defaults.signing_secret_overlap_hours,
                MAX_SIGNING_SECRET_OVERLAP_HOURS,
                minimum=0,
                unit="hours",
            )
        ),
    )


def _flag(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("", "false", "0", "no"):
        return False
    if lowered in ("true", "1", "yes"):
        return True
    raise ConfigError(f"{name} must be true or false")


def _hash_profile(value: str) -> HashProfile:
    try:
        return HashProfile(value or HashProfile.RFC9106_LOW_MEMORY)
    except ValueError:
        raise ConfigError(f"PASSWORD_HASH_PROFILE must be one of {', '.join(HashProfile)}") from None


def _bounded_number(
    name: str, value: str, default: float, maximum: float, minimum: float = 0.1, unit: str = "seconds"
) -> float:
    if not value:
        return default
    if not is_ascii_decimal(value.strip()):  # float() would also take '٣', '1_0', '1e1', 'inf'
        raise ConfigError(f"{name} must be a number of {unit}")
    number = float(value)
    if not minimum <= number <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum} {unit}")
    return number
