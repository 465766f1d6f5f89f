"""The webhook settings in SSM Parameter Store.

The URL: an SSM SecureString parameter an administrator sets, else the WEBHOOK_URL variable. The format, the
message template, the signing secret and the custom header: one parameter each, under the same prefix.
The template does not create these parameters (a redeploy must never overwrite an administrator's choice);
the admin function creates, overwrites and deletes them.
"""

from __future__ import annotations

import enum
import json
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import BotoCoreError, ClientError

from signup_hooks import aws, signing
from signup_hooks.errors import ConfigError, InvalidInput, StorageUnavailable
from signup_hooks.formats import Format
from signup_hooks.messages import validate_template

logger = Logger(child=True)

MAX_URL_LENGTH = 2048
MAX_HEADER_NAME_LENGTH = 64
MAX_HEADER_VALUE_LENGTH = 1024
# Headers the request itself needs: a custom header may not replace them.
RESERVED_HEADERS = frozenset(
    {"host", "content-type", "content-length", "transfer-encoding", "connection", "user-agent", "expect", "te"}
)
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# When SSM is unavailable or throttles, a value read successfully this recently is used instead (then: the fallback).
STALE_VALUE_MAX_SECONDS = 300.0
_last_good: dict[str, tuple[str | None, float]] = {}
_last_good_lock = threading.Lock()


class UrlSource(enum.StrEnum):
    PARAMETER = "parameter"
    ENVIRONMENT = "environment"
    UNSET = "unset"


@dataclass(frozen=True)
class WebhookTarget:
    url: str | None
    source: UrlSource

    @property
    def redacted(self) -> str | None:
        return redact_url(self.url) if self.url else None


def redact_url(url: str) -> str:
    """Scheme and host only: Slack, Discord and Teams URLs carry their credentials in the path."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    if not parts.scheme or not host:
        return "<invalid URL>"
    return f"{parts.scheme}://{host}{port}/…"


def validate_webhook_url(url: object) -> str:
    """An absolute http(s) URL with a host, at most MAX_URL_LENGTH characters, no whitespace or control characters."""
    if url is None or url == "":
        raise InvalidInput("url", "url is required", code="missing_field")
    if not isinstance(url, str):
        raise InvalidInput("url", "url must be a string")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput("url", f"url must be at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in url):
        raise InvalidInput("url", "url must not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput("url", "url is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("url", "url must start with https:// or http://")
    if not parts.hostname:
        raise InvalidInput("url", "url must name a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("url", "url must not carry a user name or password")
    if port == 0:
        raise InvalidInput("url", "url has an invalid port")
    return url


def resolve_webhook_url(parameter_name: str, environment_url: str, max_age: int) -> WebhookTarget:
    """The parameter if set and non-empty, else the environment's URL, else unset. Reads are cached for max_age.

    SSM unavailable or throttled: the last value read within STALE_VALUE_MAX_SECONDS, else the environment's URL.
    """
    if parameter_name:
        try:
            value = _get(parameter_name, max_age)
        except StorageUnavailable:
            logger.warning(
                "SSM unavailable and no recent webhook URL: falling back to WEBHOOK_URL",
                extra={"parameter": parameter_name, "fallback": "environment" if environment_url else "unset"},
            )
            value = None
        if isinstance(value, str) and value.strip():
            return WebhookTarget(value.strip(), UrlSource.PARAMETER)
    if environment_url:
        return WebhookTarget(environment_url, UrlSource.ENVIRONMENT)
    return WebhookTarget(None, UrlSource.UNSET)


def _get(parameter_name: str, max_age: int) -> str | None:
    """A parameter's value (None when it does not exist), or its last good value when SSM fails, for a bounded time."""
    try:
        value = parameters.get_parameter(parameter_name, max_age=max_age, decrypt=True)
    except GetParameterError as exc:
        if not _is_not_found(exc):
            with _last_good_lock:
                remembered = _last_good.get(parameter_name)
            age = time.monotonic() - remembered[1] if remembered else None
            if remembered is not None and age is not None and age <= STALE_VALUE_MAX_SECONDS:
                logger.warning(
                    "SSM unavailable: using the last good value",
                    extra={"parameter": parameter_name, "age_seconds": round(age, 1), "error": _cause(exc)},
                )
                return remembered[0]
            raise StorageUnavailable("SSM could not be read") from exc
        value = None
    text = value if isinstance(value, str) else None
    with _last_good_lock:
        _last_good[parameter_name] = (text, time.monotonic())
    return text


def forget_last_good() -> None:
    """Drop the remembered values (tests; a new execution environment starts without them)."""
    with _last_good_lock:
        _last_good.clear()


def _cause(exc: GetParameterError) -> str:
    cause = exc.__cause__ or exc.__context__
    return _code(cause) if isinstance(cause, Exception) else type(exc).__name__


def store_webhook_url(parameter_name: str, url: str) -> None:
    try:
        aws.client("ssm").put_parameter(
            Name=parameter_name,
            Value=url,
            Type="SecureString",
            Overwrite=True,
            Description="Signup webhook URL, set through the admin API",
        )
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailable(f"SSM refused the write: {_code(exc)}") from exc
    parameters.clear_caches()


def clear_webhook_url(parameter_name: str) -> None:
    try:
        aws.client("ssm").delete_parameter(Name=parameter_name)
    except ClientError as exc:
        if _code(exc) != "ParameterNotFound":
            raise StorageUnavailable(f"SSM refused the delete: {_code(exc)}") from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(f"SSM could not be reached: {type(exc).__name__}") from exc
    parameters.clear_caches()


def _is_not_found(exc: GetParameterError) -> bool:
    cause = exc.__cause__ or exc.__context__  # Powertools re-raises without `from`
    return isinstance(cause, ClientError) and _code(cause) == "ParameterNotFound"


def _code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


# ---------------------------------------------------------------------------------------------------------------------
# The other admin settings: format, message template, signing secret, custom header. Each is its own SSM parameter
# under the stack's prefix (secrets as SecureString), created and deleted by the admin function only.
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomHeader:
    name: str
    value: str

    def __repr__(self) -> str:  # never print the value, even by accident
        return f"CustomHeader(name={self.name!r}, value=<redacted>)"


@dataclass(frozen=True)
class DeliverySettings:
    format: Format = Format.AUTO
    message_template: str | None = None  # None: the MESSAGE_TEMPLATE default of the deployment
    signing_secret: str | None = field(default=None, repr=False)
    custom_header: CustomHeader | None = None

    def public(self) -> dict[str, Any]:
        """What the admin API shows: whether a secret is set, never the secret."""
        return {
            "format": self.format.value,
            "message_template": self.message_template,
            "signing_secret": "set" if self.signing_secret else "unset",
            "custom_header": {"name": self.custom_header.name, "value": "set"} if self.custom_header else None,
        }


@dataclass(frozen=True)
class ParameterNames:
    format: str = ""
    message_template: str = ""
    signing_secret: str = ""
    custom_header: str = ""


def load_delivery_settings(names: ParameterNames, max_age: int) -> DeliverySettings:
    """Every setting an administrator made, read with a cache of max_age seconds. An unset one keeps its default.

    A value that no longer validates (changed in the console by hand) is ignored with a warning rather than
    failing every delivery; the admin API refuses such values at save time.
    """
    raw_format = _read_or_default(names.format, max_age)
    try:
        chosen = Format(raw_format) if raw_format else Format.AUTO
    except ValueError:
        logger.warning("ignoring an unknown webhook format in SSM", extra={"parameter": names.format})
        chosen = Format.AUTO
    template = _read_or_default(names.message_template, max_age)
    if template is not None:
        try:
            validate_template(template)
        except ConfigError:
            logger.warning("ignoring an invalid message template in SSM", extra={"parameter": names.message_template})
            template = None
    secret = _read(names.signing_secret, max_age)
    if secret is not None:
        try:
            signing.secret_key(secret)
        except signing.InvalidSecret:
            # A secret we cannot use must not silently send unsigned requests: deliveries fail instead.
            raise StorageUnavailable("the signing secret in SSM is not a valid whsec_ secret") from None
    header = None
    raw_header = _read(names.custom_header, max_age)
    if raw_header is not None:
        try:
            data = json.loads(raw_header)
            header = validate_custom_header(data)
        except (ValueError, InvalidInput):
            raise StorageUnavailable("the custom header in SSM is not valid") from None
    return DeliverySettings(chosen, template, secret, header)


def validate_format(value: object) -> Format:
    if isinstance(value, str) and value in {item.value for item in Format}:
        return Format(value)
    raise InvalidInput("format", "format must be one of " + ", ".join(item.value for item in Format))


def validate_message_template(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput("message_template", "message_template must be a string")
    try:
        validate_template(value)
    except ConfigError as exc:
        raise InvalidInput("message_template", str(exc).replace("the message template", "message_template")) from None
    return value


def validate_signing_secret(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput("signing_secret", "signing_secret must be a string (or null to clear it)")
    try:
        signing.secret_key(value)
    except signing.InvalidSecret as exc:
        raise InvalidInput("signing_secret", str(exc)) from None
    return value


def validate_custom_header(value: object) -> CustomHeader:
    if not isinstance(value, dict) or set(value) != {"name", "value"}:
        raise InvalidInput("custom_header", 'custom_header must be {"name": ..., "value": ...} (or null to clear it)')
    name, header_value = value["name"], value["value"]
    if not isinstance(name, str) or not _HEADER_NAME.match(name) or len(name) > MAX_HEADER_NAME_LENGTH:
        raise InvalidInput("custom_header", "custom_header name must be an HTTP header name")
    if name.lower() in RESERVED_HEADERS or name.lower().startswith("webhook-"):
        raise InvalidInput("custom_header", f"custom_header cannot replace the {name} header")
    if (
        not isinstance(header_value, str)
        or not header_value
        or len(header_value) > MAX_HEADER_VALUE_LENGTH
        or any(unicodedata.category(ch) in ("Cc", "Cf") or ord(ch) > 0x7E for ch in header_value)
    ):
        raise InvalidInput(
            "custom_header", f"custom_header value must be 1 to {MAX_HEADER_VALUE_LENGTH} printable ASCII characters"
        )
    return CustomHeader(name, header_value)


def json_value(header: CustomHeader) -> str:
    """How a custom header is stored: one SecureString holding both parts."""
    return json.dumps({"name": header.name, "value": header.value})


def store(parameter_name: str, value: str, *, secret: bool, description: str) -> None:
    try:
        aws.client("ssm").put_parameter(
            Name=parameter_name,
            Value=value,
            Type="SecureString" if secret else "String",
            Overwrite=True,
            Description=description,
        )
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailable(f"SSM refused the write: {_code(exc)}") from exc
    parameters.clear_caches()


def clear(parameter_name: str) -> None:
    clear_webhook_url(parameter_name)


def _read(parameter_name: str, max_age: int) -> str | None:
    if not parameter_name:
        return None
    value = _get(parameter_name, max_age)
    return value if isinstance(value, str) and value != "" else None


def _read_or_default(parameter_name: str, max_age: int) -> str | None:
    """A setting with a safe default (format, template): SSM unavailable with no recent value gives the default."""
    try:
        return _read(parameter_name, max_age)
    except StorageUnavailable:
        logger.warning("SSM unavailable: using the default", extra={"parameter": parameter_name})
        return None
