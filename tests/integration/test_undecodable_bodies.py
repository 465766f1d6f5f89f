"""A base64 request body that is not UTF-8 text (or not base64 at all) is a 400 invalid_json on every route that
reads a body, never a 500, and writes nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from functions.admin import app as admin
from functions.signup import app as signup
from tests.helpers import load_event

NOT_UTF8 = base64.b64encode(b'{"name": "\xff\xfe"}').decode("ascii")
BROKEN = {
    "not_utf8": NOT_UTF8,
    "latin1": base64.b64encode('{"name": "Jos\u00e9"}'.encode("latin-1")).decode(),
    "not_base64": "%%%",
}

ROUTES = [
    (signup, "signup_valid"),
    (admin, "admin_put_webhook"),
    (admin, "admin_test_webhook"),
    (admin, "admin_redrive_webhook"),
]


def encoded(name: str, body: str) -> dict[str, Any]:
    event = load_event(name)
    event["body"] = body
    event["isBase64Encoded"] = True
    return event


@pytest.mark.parametrize("body", list(BROKEN.values()), ids=list(BROKEN))
@pytest.mark.parametrize(("function", "event_name"), ROUTES, ids=[name for _, name in ROUTES])
def test_an_undecodable_base64_body_is_a_400_invalid_json(aws, lambda_context, function, event_name, body):
    response = function.lambda_handler(encoded(event_name, body), lambda_context)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["code"] == "invalid_json"
    assert aws.items() == []
    assert aws.ssm.describe_parameters()["Parameters"] == []


def test_a_base64_utf8_body_is_still_read(aws, lambda_context):
    body = load_event("signup_valid")["body"]
    response = signup.lambda_handler(encoded("signup_valid", base64.b64encode(body.encode()).decode()), lambda_context)
    assert response["statusCode"] == 200
