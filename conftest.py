"""The test sandbox: a moto server on loopback stands in for AWS, with fake credentials and each function's settings.

Set before any handler is imported, because handlers read their configuration once, at import, as on Lambda.
"""

import os
import tempfile

from moto.server import ThreadedMotoServer

from local import aws_calls, moto_fixes

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"

moto_fixes.refuse_nested_parameters()  # the in-process moto refuses what Parameter Store refuses
_moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
_moto.start()
MOTO_ENDPOINT = f"http://127.0.0.1:{_moto.get_host_and_port()[1]}"

TABLE_NAME = "signup-webhooks-test-users"
IDEMPOTENCY_TABLE_NAME = "signup-webhooks-test-idempotency"
QUEUE_NAME = "signup-webhooks-test-dead-letters"
RETRY_QUEUE_NAME = "signup-webhooks-test-retries"
DELIVERIES_TABLE_NAME = "signup-webhooks-test-deliveries"
SETTINGS_PARAMETER = "/signup-webhooks-test/webhooks/default"
PARAMETER_NAME = "/signup-webhooks-test/webhook-url"  # the older parameters, read until the first admin save
FORMAT_PARAMETER = "/signup-webhooks-test/webhook-format"
TEMPLATE_PARAMETER = "/signup-webhooks-test/message-template"
SIGNING_SECRET_PARAMETER = "/signup-webhooks-test/signing-secret"  # noqa: S105 - a parameter name
CUSTOM_HEADER_PARAMETER = "/signup-webhooks-test/custom-header"
SECRET_NAME = "signup-webhooks-test/admin-token"  # noqa: S105 - a secret name

os.environ.update(
    {
        "AWS_ENDPOINT_URL": MOTO_ENDPOINT,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # moto's dummy credentials
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_SERVICE_NAME": "signup-webhooks",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_METRICS_NAMESPACE": "SignupWebhooks",
        "USERS_TABLE": TABLE_NAME,
        "DEFAULT_USER_ROLE": "pending",
        "WEBHOOK_URL": "",
        "WEBHOOK_SETTINGS_PARAMETER": SETTINGS_PARAMETER,
        "WEBHOOK_URL_PARAMETER": PARAMETER_NAME,
        "MESSAGE_TEMPLATE": "New user signed up: {name}",
        "DEAD_LETTER_QUEUE_URL": f"{MOTO_ENDPOINT}/{ACCOUNT_ID}/{QUEUE_NAME}",
        "WEBHOOK_CONNECT_TIMEOUT": "2",
        "WEBHOOK_READ_TIMEOUT": "2",
        "SETTINGS_CACHE_SECONDS": "10",
        "ADMIN_TOKEN_SECRET": SECRET_NAME,
        "WEBHOOK_FORMAT_PARAMETER": FORMAT_PARAMETER,
        "MESSAGE_TEMPLATE_PARAMETER": TEMPLATE_PARAMETER,
        "SIGNING_SECRET_PARAMETER": SIGNING_SECRET_PARAMETER,
        "CUSTOM_HEADER_PARAMETER": CUSTOM_HEADER_PARAMETER,
        # The tests' receivers listen on loopback over plain http; SSRF tests turn these off explicitly.
        "ALLOW_HTTP_TARGETS": "true",
        "ALLOW_PRIVATE_TARGETS": "true",
        "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE_NAME,
        "RETRY_QUEUE_URL": f"{MOTO_ENDPOINT}/{ACCOUNT_ID}/{RETRY_QUEUE_NAME}",
        "DELIVERIES_TABLE": DELIVERIES_TABLE_NAME,
        # The retry schedule compressed to seconds; tests that follow it drive the retry function themselves.
        "RETRY_SCHEDULE": "1s,2s,3s",
        # Retries as in production, with short backoffs so that a test with failures stays fast.
        "WEBHOOK_RETRY_BASE_DELAY": "0.02",
    }
)


# Every AWS call a function makes during the session, in one file: in-process handlers and the local stack's workers
# (which inherit the variable) append to it; tests/test_permissions_proven.py reads it at the end.
_calls = tempfile.NamedTemporaryFile(prefix="aws-calls-", suffix=".jsonl", delete=False)  # noqa: SIM115
_calls.close()
os.environ[aws_calls.LOG_VARIABLE] = _calls.name
aws_calls.install()


def pytest_unconfigure(config: object) -> None:
    os.unlink(_calls.name)
    _moto.stop()
