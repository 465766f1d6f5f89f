"""Secrets Manager: the admin token generated at deploy time, read through Powertools' secrets provider (cached for
TOKEN_CACHE_SECONDS)."""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from aws_lambda_powertools.utilities.parameters.secrets import SecretsProvider

from signup_hooks.storage import aws

TOKEN_CACHE_SECONDS = 300  # a rotated token takes effect within five minutes


def admin_token(secret_id: str) -> str | None:
    """The token, or None when the secret holds no usable string."""
    secrets_provider()
    value = parameters.get_secret(secret_id, max_age=TOKEN_CACHE_SECONDS)
    return value if isinstance(value, str) and value else None


def secrets_provider() -> SecretsProvider:
    """Powertools' default secrets provider, made with our client (aws.py: short timeouts) instead of its own, whose
    botocore defaults wait up to 60 seconds to connect and to read. `parameters.clear_caches()` drops it; the next
    call makes it again."""
    provider = DEFAULT_PROVIDERS.get("secrets")
    if not isinstance(provider, SecretsProvider) or provider.client is not aws.client("secretsmanager"):
        provider = SecretsProvider(boto3_client=aws.client("secretsmanager"))
        DEFAULT_PROVIDERS["secrets"] = provider
    return provider
