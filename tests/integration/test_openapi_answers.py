"""Real answers of the signup and admin handlers (the events in events/, against moto) match the OpenAPI document's
response schemas for their route and status, errors included: the document says what the API does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator
from signup_hooks.admin import openapi

from functions.admin import app as admin
from functions.signup import app as signup
from tests.helpers import load_event

DOCUMENT = openapi.document()


def answer(handler: Any, event: dict[str, Any], context: Any) -> tuple[int, Any]:
    """The handler's status and JSON body, checked against the document's schema for the event's route and status."""
    response = handler.lambda_handler(event, context)
    status, body = response["statusCode"], json.loads(response["body"])
    method, path = event["routeKey"].split(" ", 1)
    responses = DOCUMENT["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{event['routeKey']} answered {status}, which the document does not list"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    # The whole document as the root, so that the schema's $refs to #/components resolve.
    errors = list(OAS31Validator({**schema, "components": DOCUMENT["components"]}).iter_errors(body))
    assert errors == [], f"{event['routeKey']} {status}: {[error.message for error in errors]}"
    return status, body


def admin_event(name: str, body: Any = None, **path: str) -> dict[str, Any]:
    event = load_event(name)
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    for name, value in path.items():  # the handler routes by the raw path
        event["rawPath"] = event["rawPath"].replace(event["pathParameters"][name], value)
        event["requestContext"]["http"]["path"] = event["rawPath"]
        event["pathParameters"][name] = value
    return event


def test_signup_answers_match_the_document(lambda_context: Any) -> None:
    # A user created, then the same e-mail again, a bad e-mail and a body that is not JSON
    assert answer(signup, load_event("signup_valid"), lambda_context)[0] == 200
    assert answer(signup, load_event("signup_valid"), lambda_context)[0] == 409
    assert answer(signup, load_event("signup_invalid_email"), lambda_context)[0] == 422
    assert answer(signup, load_event("signup_invalid_json"), lambda_context)[0] == 400


def test_default_endpoint_answers_match_the_document(lambda_context: Any) -> None:
    assert answer(admin, load_event("admin_get_webhook"), lambda_context)[0] == 200
    assert answer(admin, admin_event("admin_put_webhook", {"url": "ftp://example.com/"}), lambda_context)[0] == 422
    assert answer(admin, admin_event("admin_put_webhook", "{not json"), lambda_context)[0] == 400
    assert answer(admin, admin_event("admin_put_webhook", "x" * 9000), lambda_context)[0] == 413
    assert answer(admin, load_event("admin_put_webhook"), lambda_context)[0] == 200
    assert answer(admin, load_event("admin_get_webhook"), lambda_context)[0] == 200
    assert answer(admin, load_event("admin_delete_webhook"), lambda_context)[0] == 200
    # With no URL: a test send says so in a 200; a replay and a redrive refuse with a 422
    assert answer(admin, admin_event("admin_test_webhook", ""), lambda_context)[1]["reason"] == "not_configured"
    assert answer(admin, load_event("admin_replay_webhook"), lambda_context)[0] == 422
    assert answer(admin, load_event("admin_redrive_webhook"), lambda_context)[0] == 422


def test_endpoint_answers_match_the_document(lambda_context: Any) -> None:
    status, created = answer(
        admin, admin_event("admin_create_endpoint", {"url": "https://example.com/h", "name": "Ops"}), lambda_context
    )
    assert status == 201
    endpoint = created["id"]
    assert answer(admin, load_event("admin_list_endpoints"), lambda_context)[0] == 200
    assert answer(admin, admin_event("admin_get_endpoint", id=endpoint), lambda_context)[0] == 200
    assert answer(admin, admin_event("admin_get_endpoint", id="ep_missing"), lambda_context)[0] == 404
    change = admin_event("admin_update_endpoint", {"enabled": False, "events": ["*"]}, id=endpoint)
    assert answer(admin, change, lambda_context)[0] == 200
    refused = admin_event("admin_update_endpoint", {"events": []}, id=endpoint)
    assert answer(admin, refused, lambda_context)[1]["field"] == "events"
    assert answer(admin, admin_event("admin_rotate_endpoint_secret", id=endpoint), lambda_context)[0] == 200
    assert answer(admin, admin_event("admin_delete_endpoint", id=endpoint), lambda_context)[0] == 200


@pytest.mark.parametrize("query", [{}, {"limit": "5", "status": "failed"}])
def test_delivery_log_pages_match_the_document(lambda_context: Any, query: dict[str, str]) -> None:
    event = load_event("admin_list_deliveries")
    event["queryStringParameters"] = query
    assert answer(admin, event, lambda_context)[0] == 200


def test_delivery_log_errors_match_the_document(lambda_context: Any) -> None:
    event = load_event("admin_list_deliveries")
    event["queryStringParameters"] = {"limit": "101"}
    assert answer(admin, event, lambda_context)[1]["field"] == "limit"
    assert answer(admin, load_event("admin_get_delivery"), lambda_context)[0] == 404
    assert answer(admin, load_event("admin_resend_delivery"), lambda_context)[0] == 404


def test_the_served_document_is_the_document(lambda_context: Any) -> None:
    status, body = answer(admin, load_event("admin_openapi"), lambda_context)
    assert status == 200
    assert body == json.loads(json.dumps(DOCUMENT))
