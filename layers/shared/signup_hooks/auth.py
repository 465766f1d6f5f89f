"""The admin token check: a bearer token compared in constant time with the one generated at deploy time."""

from __future__ import annotations

import hmac

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from aws_lambda_powertools.utilities.parameters.secrets import SecretsProvider

from signup_hooks import aws

TOKEN_CACHE_SECONDS = 300  # a rotated token takes effect within five minutes


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def is_admin(authorization: str | None, secret_id: str) -> bool:
    token = bearer_token(authorization)
    if token is None:
        return False
    secrets_provider()
    expected = parameters.get_secret(secret_id, max_age=TOKEN_CACHE_SECONDS)
    if not isinstance(expected, str) or not expected:
        return False
    return hmac.compare_digest(token.encode("utf-8"), expected.encode("utf-8"))


def secrets_provider() -> SecretsProvider:
    """Powertools' default secrets provider, made with our client (aws.py: short timeouts) instead of its own, whose
    botocore defaults wait up to 60 seconds to connect and to read. `parameters.clear_caches()` drops it; the next
    call makes it again."""
    provider = DEFAULT_PROVIDERS.get("secrets")
    if not isinstance(provider, SecretsProvider) or provider.client is not aws.client("secretsmanager"):
        provider = SecretsProvider(boto3_client=aws.client("secretsmanager"))
        DEFAULT_PROVIDERS["secrets"] = provider
    return provider
