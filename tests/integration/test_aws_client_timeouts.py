"""Every AWS client the functions use gives up quickly (storage/aws.py): Powertools' providers and the idempotency
layer are handed those clients instead of making their own with botocore's 60-second defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from signup_hooks.api import auth
from signup_hooks.storage import aws as aws_clients
from signup_hooks.storage import idempotency, secrets

from tests import sandbox

PACKAGE = Path(__file__).resolve().parent.parent / "layers" / "shared" / "signup_hooks"
MAX_CONNECT_SECONDS = 2
MAX_READ_SECONDS = 5


def assert_short(client: object) -> None:
    config = client.meta.config  # type: ignore[attr-defined]
    assert config.connect_timeout <= MAX_CONNECT_SECONDS
    assert config.read_timeout <= MAX_READ_SECONDS


@pytest.mark.parametrize("service", ["ssm", "sqs", "dynamodb", "dynamodbstreams", "secretsmanager"])
def test_each_client_of_the_shared_package_has_short_timeouts(service):
    assert_short(aws_clients.client(service))


def test_the_admin_token_is_read_through_a_client_with_short_timeouts(aws):
    # When the authorizer checks a token, Powertools' secrets provider is the one reading it
    auth.is_admin("Bearer not-the-token", lambda: secrets.admin_token(sandbox.SECRET_NAME))
    # Then that provider uses the shared client, not one of its own with botocore's defaults
    provider = DEFAULT_PROVIDERS["secrets"]
    assert provider.client is aws_clients.client("secretsmanager")
    assert_short(provider.client)


def test_the_idempotency_layer_uses_a_client_with_short_timeouts():
    store = idempotency._store(sandbox.IDEMPOTENCY_TABLE_NAME)
    assert store.client is aws_clients.client("dynamodb")
    assert_short(store.client)


def test_no_module_but_aws_py_makes_its_own_client():
    # A client made anywhere else would get botocore's 60-second timeouts
    offenders = [
        path.name
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).as_posix() != "storage/aws.py"
        and any(
            marker in path.read_text(encoding="utf-8")
            for marker in ("boto3.client(", "boto3.resource(", "Session()", "parameters.get_parameter")
        )
    ]
    assert offenders == []
