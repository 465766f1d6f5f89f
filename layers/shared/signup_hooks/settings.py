"""The webhook URL setting: an SSM SecureString parameter an administrator sets, else the WEBHOOK_URL variable.

The template does not create the parameter (a redeploy must never overwrite an administrator's choice);
the admin function creates, overwrites and deletes it.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import BotoCoreError, ClientError

from signup_hooks import aws
from signup_hooks.errors import InvalidInput, StorageUnavailable

logger = Logger(child=True)

MAX_URL_LENGTH = 2048


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
    """The parameter if set and non-empty, else the environment's URL, else unset. Reads are cached for max_age."""
    if parameter_name:
        try:
            value = parameters.get_parameter(parameter_name, max_age=max_age, decrypt=True)
        except GetParameterError as exc:
            if not _is_not_found(exc):
                raise StorageUnavailable("SSM could not be read") from exc
            value = None
        if isinstance(value, str) and value.strip():
            return WebhookTarget(value.strip(), UrlSource.PARAMETER)
    if environment_url:
        return WebhookTarget(environment_url, UrlSource.ENVIRONMENT)
    return WebhookTarget(None, UrlSource.UNSET)


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
