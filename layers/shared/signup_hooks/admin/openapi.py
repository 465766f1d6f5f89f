"""The OpenAPI 3.1 description of the HTTP API (every route of template.yaml's HTTP API), served at
GET /api/v1/admin/openapi.json. Its schemas are openapi_schemas.py's.

tests/unit/test_openapi.py holds its operations to the template's routes, and tests/stack/test_openapi_fuzz.py drives
the running stack with it.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from signup_hooks.admin import delivery_routes
from signup_hooks.admin.openapi_schemas import BODIES, CURSOR, ENDPOINT_ID, JSON, SCHEMAS, Schema, enum_of, ref
from signup_hooks.endpoints import registry
from signup_hooks.model import delivery_log
from signup_hooks.model.delivery_log import Status


def _answer(description: str, schema: str, media: str = JSON) -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": ref(schema)}}}


def _error(description: str) -> dict[str, Any]:
    return _answer(description, "Error")


ERRORS = {
    "400": _error("`invalid_json`: the body is not a JSON object"),
    "413": {
        "description": "`body_too_large` (ours), or API Gateway's past 10 MB",
        "content": {JSON: {"schema": {"anyOf": [ref("Error"), ref("GatewayMessage")]}}},
    },
    "422": _error("a field or query parameter is wrong: `field` names it"),
    "404": _error("`not_found`"),
    "409": _error("`conflict` (another change meanwhile), `too_many_endpoints`, `email_taken`"),
    "503": _error("`unavailable`: storage did not answer; try again"),
    "401": _answer("API Gateway: no Authorization header", "GatewayMessage"),
    "403": _answer("API Gateway: the authorizer refused the token", "GatewayMessage"),
}


def _operation(
    summary: str,
    ok: tuple[str, dict[str, Any]],
    errors: str = "",
    *,
    body: str | None = None,
    body_required: bool = True,
    parameters: list[dict[str, Any]] | None = None,
    public: bool = False,
) -> dict[str, Any]:
    """One operation: its answer on success, the errors it may answer (codes separated by spaces), and, unless
    `public`, the admin token and the authorizer's answers."""
    codes = errors.split() + ([] if public else ["401", "403"])
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {ok[0]: ok[1], **{code: ERRORS[code] for code in codes}},
        "security": [] if public else [{"adminToken": []}],
    }
    if body is not None:
        operation["requestBody"] = {"required": body_required, "content": {JSON: {"schema": ref(body)}}}
    if parameters:
        operation["parameters"] = parameters
    return operation


def _path_id(description: str, schema: Schema | None = None) -> list[dict[str, Any]]:
    return [
        {
            "name": "id",
            "in": "path",
            "required": True,
            "description": description,
            "schema": schema or {"type": "string"},
        }
    ]


def _query(name: str, schema: Schema, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _static(summary: str, media: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "security": [],
        "responses": {"200": {"description": "the file", "content": {media: {"schema": {"type": "string"}}}}},
    }


ENDPOINT = _path_id("an endpoint id (`default` is the single-URL API's)", ENDPOINT_ID)
DELIVERY = _path_id("a delivery log record id (dlv_...)", {"type": "string", "maxLength": 64})
WRITE = "400 413 422 409 503"


def _paths() -> dict[str, Any]:
    admin = "/api/v1/admin"
    return {
        "/api/v1/auths/signup": {
            "post": _operation(
                "Create a user; its notification follows",
                ("200", _answer("the user created", "User")),
                "400 413 422 409 503",
                body="SignupForm",
                public=True,
            )
        },
        f"{admin}/openapi.json": {
            "get": {
                "summary": "This document (public: it holds no data)",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {JSON: {"schema": {"type": "object"}}}}},
            }
        },
        f"{admin}/webhook": {
            "get": _operation(
                "The default endpoint's settings and health", ("200", _answer("the settings", "WebhookState")), "503"
            ),
            "put": _operation(
                "Set the default endpoint's settings",
                ("200", _answer("the settings", "WebhookState")),
                WRITE,
                body="WebhookSettings",
            ),
            "delete": _operation(
                "Clear the URL (WEBHOOK_URL applies, if set)",
                ("200", _answer("the settings", "WebhookState")),
                "409 503",
            ),
        },
        f"{admin}/webhook/test": {
            "post": _operation(
                "Send a test to the default endpoint",
                ("200", _answer("what happened (delivered or not)", "TestSendAnswer")),
                "400 413 422 503",
                body="TestSend",
                body_required=False,
            )
        },
        f"{admin}/webhook/redrive": {
            "post": _operation(
                "Replay the dead-letter queue",
                ("200", _answer("what was replayed", "RedriveReport")),
                "400 413 422 503",
                body="Redrive",
                body_required=False,
            )
        },
        f"{admin}/webhook/deliveries": {
            "get": _operation(
                "A page of the delivery log, newest first",
                ("200", _answer("the page", "DeliveryPage")),
                "422 503",
                parameters=[
                    _query("status", enum_of(Status), "only records of this status"),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": delivery_log.MAX_PAGE},
                        f"ASCII digits, 1 to {delivery_log.MAX_PAGE}; default {delivery_routes.DEFAULT_PAGE}",
                    ),
                    _query("cursor", CURSOR, "where the previous page ended (for the same status)"),
                    _query("endpoint", ENDPOINT_ID, "only this endpoint's records"),
                ],
            )
        },
        f"{admin}/webhook/deliveries/{{id}}": {
            "get": _operation(
                "One delivery log record", ("200", _answer("the record", "Delivery")), "404 503", parameters=DELIVERY
            )
        },
        f"{admin}/webhook/deliveries/{{id}}/resend": {
            "post": _operation(
                "Send a record's notification again, same webhook-id",
                ("200", _answer("the record after the attempt", "Delivery")),
                "404 422 409 503",
                parameters=DELIVERY,
            )
        },
        f"{admin}/webhook/replay": {
            "post": _operation(
                "Queue the notifications of a window of signups that were not delivered",
                ("200", _answer("what was queued", "ReplayAnswer")),
                "400 413 422 503",
                body="ReplayWindow",
            )
        },
        f"{admin}/webhooks": {
            "get": _operation("Every endpoint", ("200", _answer("the endpoints", "EndpointList")), "503"),
            "post": _operation(
                f"Create an endpoint (at most {registry.MAX_ENDPOINTS}, the default one included)",
                ("201", _answer("the endpoint", "Endpoint")),
                WRITE,
                body="EndpointCreate",
            ),
        },
        f"{admin}/webhooks/{{id}}": {
            "get": _operation(
                "One endpoint", ("200", _answer("the endpoint", "Endpoint")), "404 503", parameters=ENDPOINT
            ),
            "patch": _operation(
                "Change an endpoint",
                ("200", _answer("the endpoint", "Endpoint")),
                "404 " + WRITE,
                body="EndpointChange",
                parameters=ENDPOINT,
            ),
            "delete": _operation(
                "Delete an endpoint", ("200", _answer("its id", "Deleted")), "404 409 503", parameters=ENDPOINT
            ),
        },
        f"{admin}/webhooks/{{id}}/test": {
            "post": _operation(
                "Send a test to an endpoint",
                ("200", _answer("what happened (delivered or not)", "TestSendAnswer")),
                "404 400 413 422 503",
                body="TestSend",
                body_required=False,
                parameters=ENDPOINT,
            )
        },
        f"{admin}/webhooks/{{id}}/rotate-secret": {
            "post": _operation(
                "A new signing secret; the old one signs beside it for the overlap",
                ("200", _answer("the new secret, shown once", "SecretRotation")),
                "404 409 503",
                parameters=ENDPOINT,
            )
        },
        "/admin": {"get": _static("The settings page", "text/html")},
        "/admin/app.js": {"get": _static("The page's script", "text/javascript")},
        "/admin/app.css": {"get": _static("The page's style", "text/css")},
        "/admin/js/{name}": {
            "get": {
                **_static("One of the script's modules", "text/javascript"),
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": {
                        "description": "the module",
                        "content": {"text/javascript": {"schema": {"type": "string"}}},
                    },
                    "404": {"description": "no such module", "content": {"text/plain": {"schema": {"type": "string"}}}},
                },
            }
        },
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Signup webhooks",
            "version": "1",
            "description": "Open WebUI's signup, and the admin API of the webhooks that announce each signup. Errors "
            'are {"detail", "code", "field"?}; API Gateway\'s own answers (the authorizer\'s) are {"message"}.',
        },
        "paths": _paths(),
        "components": {
            "schemas": {**SCHEMAS, **BODIES},
            "securitySchemes": {
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the admin token (a Secrets Manager secret made at deploy time)",
                }
            },
        },
    }


@functools.cache
def document_json() -> str:
    """The document as served, made once per execution environment."""
    return json.dumps(document(), ensure_ascii=False)
