"""The admin token authorizer: constant-time bearer check against the generated secret."""

from __future__ import annotations

import pytest

from functions.authorizer import app as authorizer
from tests.helpers import load_event


def authorize(header: str | None, context) -> bool:
    event = load_event("authorizer_valid_token")
    if header is None:
        event["headers"].pop("authorization")
        event["identitySource"] = []
    else:
        event["headers"]["authorization"] = header
    return authorizer.lambda_handler(event, context)["isAuthorized"]


def test_the_generated_token_is_authorized(aws, lambda_context):
    assert authorize(f"Bearer {aws.admin_token}", lambda_context) is True


def test_the_sample_wrong_token_event_is_refused(aws, lambda_context):
    assert authorizer.lambda_handler(load_event("authorizer_wrong_token"), lambda_context) == {"isAuthorized": False}


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "token-without-scheme"],
)
def test_missing_or_malformed_headers_are_refused(aws, lambda_context, header):
    assert authorize(header, lambda_context) is False


def test_a_token_that_only_shares_a_prefix_is_refused(aws, lambda_context):
    assert authorize(f"Bearer {aws.admin_token[:-1]}", lambda_context) is False
    assert authorize(f"Bearer {aws.admin_token}x", lambda_context) is False


def test_the_scheme_is_case_insensitive(aws, lambda_context):
    assert authorize(f"bearer {aws.admin_token}", lambda_context) is True


def test_the_token_is_never_logged(aws, lambda_context, logs):
    authorize(f"Bearer {aws.admin_token}", lambda_context)
    authorize("Bearer wrong-token-value", lambda_context)
    output = logs.getvalue()
    assert aws.admin_token not in output
    assert "wrong-token-value" not in output
    assert "admin request refused" in output
