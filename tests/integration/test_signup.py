"""POST /api/v1/auths/signup, driven by the events in events/, against moto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.signup import app as signup
from tests.helpers import load_event


def call(event: dict[str, Any], context: Any) -> tuple[int, dict[str, Any]]:
    response = signup.lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def signup_event(**fields: Any) -> dict[str, Any]:
    event = load_event("signup_valid")
    body = json.loads(event["body"])
    body.update(fields)
    event["body"] = json.dumps({k: v for k, v in body.items() if v is not ...})
    return event


def test_valid_signup_returns_the_user_without_password_material(aws, lambda_context):
    # Given the sample signup event
    event = load_event("signup_valid")
    # When it is handled
    status, body = call(event, lambda_context)
    # Then the user comes back with Open WebUI's fields and the default role, and nothing about the password
    assert status == 200
    assert set(body) == {"id", "name", "email", "role", "created_at", "profile_image_url"}
    assert body["name"] == "Tim"
    assert body["email"] == "tim@example.com"
    assert body["role"] == "pending"
    assert body["profile_image_url"] == "/user.png"
    assert "password" not in json.dumps(body)


def test_signup_stores_profile_and_argon2id_credential_apart(aws, lambda_context):
    status, body = call(load_event("signup_valid"), lambda_context)
    assert status == 200
    items = {item["pk"]["S"]: item for item in aws.items()}
    profile = items[f"USER#{body['id']}"]
    credential = items["AUTH#tim@example.com"]
    # The profile (what the stream carries to the notifier) has no credential in it
    assert "password_hash" not in profile
    assert profile["entity"]["S"] == "user"
    # The credential is a salted Argon2id hash, never the password itself
    stored = credential["password_hash"]["S"]
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in json.dumps(items)


def test_signup_response_has_no_store_and_nosniff_headers(aws, lambda_context):
    response = signup.lambda_handler(load_event("signup_valid"), lambda_context)
    assert response["headers"]["Cache-Control"] == "no-store"
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"


def test_email_is_unique_case_insensitively(aws, lambda_context):
    assert call(signup_event(email="Tim@Example.com"), lambda_context)[0] == 200
    status, body = call(signup_event(email="tim@EXAMPLE.com", name="Other Tim"), lambda_context)
    assert status == 409
    assert body["code"] == "email_taken"
    assert body["field"] == "email"
    # The second attempt wrote nothing: one profile and one credential in the table
    assert len(aws.items()) == 2


def test_invalid_email_event_is_rejected_naming_the_field(aws, lambda_context):
    status, body = call(load_event("signup_invalid_email"), lambda_context)
    assert status == 422
    assert body["field"] == "email"
    assert aws.items() == []


def test_invalid_json_event_is_rejected(aws, lambda_context):
    status, body = call(load_event("signup_invalid_json"), lambda_context)
    assert status == 400
    assert body["code"] == "invalid_json"
    assert aws.items() == []


@pytest.mark.parametrize("raw", ["[]", '"text"', "null", "42", ""])
def test_a_body_that_is_not_an_object_is_rejected(aws, lambda_context, raw):
    event = load_event("signup_valid")
    event["body"] = raw
    status, body = call(event, lambda_context)
    assert status == 400
    assert body["code"] == "invalid_json"


def test_oversized_body_is_rejected_before_parsing(aws, lambda_context):
    event = signup_event(name="x" * 20_000)
    status, body = call(event, lambda_context)
    assert status == 413
    assert body["code"] == "body_too_large"
    assert aws.items() == []


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"name": ...}, "name", "missing_field"),
        ({"email": ...}, "email", "missing_field"),
        ({"password": ...}, "password", "missing_field"),
        ({"name": ""}, "name", "invalid_field"),
        ({"name": "   "}, "name", "invalid_field"),
        ({"name": "n" * 101}, "name", "invalid_field"),
        ({"name": "Tim\nAdmin"}, "name", "invalid_field"),
        ({"name": "Tim\u2028Admin"}, "name", "invalid_field"),
        ({"name": "Tim\u2029Admin"}, "name", "invalid_field"),
        ({"name": "Tim\x85Admin"}, "name", "invalid_field"),
        ({"name": "Tim\x0bAdmin"}, "name", "invalid_field"),
        ({"name": "Tim\x1eAdmin"}, "name", "invalid_field"),
        ({"name": 42}, "name", "invalid_field"),
        ({"email": "tim@"}, "email", "invalid_field"),
        ({"email": "tim example@example.com"}, "email", "invalid_field"),
        ({"email": "a" * 250 + "@example.com"}, "email", "invalid_field"),
        ({"password": "short"}, "password", "invalid_field"),
        ({"password": "p" * 257}, "password", "invalid_field"),
        ({"password": ["list"]}, "password", "invalid_field"),
        ({"profile_image_url": "javascript:alert(1)"}, "profile_image_url", "invalid_field"),
        ({"profile_image_url": "https://x/" + "a" * 2048}, "profile_image_url", "invalid_field"),
        ({"profile_image_url": 5}, "profile_image_url", "invalid_field"),
    ],
)
def test_each_bad_field_gets_a_422_naming_it_and_writes_nothing(aws, lambda_context, fields, field, code):
    status, body = call(signup_event(**fields), lambda_context)
    assert status == 422
    assert body["field"] == field
    assert body["code"] == code
    assert body["detail"]
    assert aws.items() == []


def test_base64_encoded_body_is_decoded(aws, lambda_context):
    import base64

    event = load_event("signup_valid")
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True
    assert call(event, lambda_context)[0] == 200


def test_profile_image_url_is_kept(aws, lambda_context):
    status, body = call(signup_event(profile_image_url="https://cdn.example.com/tim.png"), lambda_context)
    assert status == 200
    assert body["profile_image_url"] == "https://cdn.example.com/tim.png"


def test_storage_failure_is_a_503_without_details(aws, lambda_context):
    # Given a table that does not exist (a broken deployment)
    aws.dynamodb.delete_table(TableName=signup.config.users_table)
    # When someone signs up
    status, body = call(load_event("signup_valid"), lambda_context)
    # Then they get a generic 503, not a traceback or AWS error text
    assert status == 503
    assert body == {"detail": "the service is unavailable; try again", "code": "unavailable"}


def test_unknown_route_is_a_json_404(aws, lambda_context):
    event = load_event("signup_valid")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/api/v1/auths/nope"
    status, body = call(event, lambda_context)
    assert status == 404
    assert body["code"] == "not_found"


@pytest.mark.parametrize(
    ("profile", "parameters"),
    [("rfc9106-low-memory", "m=65536,t=3,p=4"), ("owasp-minimum", "m=19456,t=2,p=1")],
)
def test_the_hash_profile_sets_the_argon2id_cost(aws, lambda_context, monkeypatch, profile, parameters):
    import dataclasses

    from signup_hooks.signup import HashProfile

    monkeypatch.setattr(
        signup, "config", dataclasses.replace(signup.config, password_hash_profile=HashProfile(profile))
    )
    assert call(load_event("signup_valid"), lambda_context)[0] == 200
    [credential] = [item for item in aws.items() if item["entity"]["S"] == "auth"]
    assert credential["password_hash"]["S"].startswith(f"$argon2id$v=19${parameters}$")
