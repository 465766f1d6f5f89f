"""HTTP answers for the API functions: the one place where domain errors become status codes.

Every error body has `detail` (as Open WebUI's API does), a machine-readable `code`, and `field` when one
field is at fault. An unexpected error never shows its text or traceback to the client.
"""

from __future__ import annotations

import base64
import binascii
import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from signup_hooks.errors import (
    BodyTooLarge,
    Conflict,
    EmailTaken,
    InvalidInput,
    InvalidJson,
    NotFound,
    StorageUnavailable,
    TooManyEndpoints,
)

logger = Logger(child=True)

# Answers carry user data or settings: never cache them, never let a browser guess their type.
SECURITY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def json_response(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, ensure_ascii=False),
        headers=dict(SECURITY_HEADERS),
    )


def error_response(status: int, code: str, detail: str, field: str | None = None) -> Response[str]:
    body: dict[str, Any] = {"detail": detail, "code": code}
    if field:
        body["field"] = field
    return json_response(status, body)


def request_body(app: APIGatewayHttpResolver) -> str:
    """The raw body, decoded when API Gateway base64-encoded it. A body that is not UTF-8 text cannot be JSON:
    InvalidJson (a 400), never a decoding error (a 500)."""
    event = app.current_event
    if not event.is_base64_encoded:
        return event.body or ""
    try:
        return base64.b64decode(event.body or "", validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        raise InvalidJson("the request body is not valid UTF-8 JSON") from None


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(InvalidJson)
    def _invalid_json(exc: InvalidJson) -> Response[str]:
        return error_response(HTTPStatus.BAD_REQUEST, "invalid_json", str(exc))

    @app.exception_handler(BodyTooLarge)
    def _too_large(exc: BodyTooLarge) -> Response[str]:
        return error_response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body_too_large", str(exc))

    @app.exception_handler(InvalidInput)
    def _invalid_input(exc: InvalidInput) -> Response[str]:
        return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, exc.code, exc.message, exc.field)

    @app.exception_handler(EmailTaken)
    def _email_taken(exc: EmailTaken) -> Response[str]:
        return error_response(HTTPStatus.CONFLICT, "email_taken", str(exc), "email")

    @app.exception_handler(NotFound)
    def _missing(exc: NotFound) -> Response[str]:
        return error_response(HTTPStatus.NOT_FOUND, "not_found", str(exc))

    @app.exception_handler(Conflict)
    def _conflict(exc: Conflict) -> Response[str]:
        return error_response(HTTPStatus.CONFLICT, "conflict", str(exc))

    @app.exception_handler(TooManyEndpoints)
    def _too_many_endpoints(exc: TooManyEndpoints) -> Response[str]:
        return error_response(HTTPStatus.CONFLICT, "too_many_endpoints", str(exc))

    @app.exception_handler(StorageUnavailable)
    def _unavailable(exc: StorageUnavailable) -> Response[str]:
        logger.exception("storage unavailable")
        return error_response(HTTPStatus.SERVICE_UNAVAILABLE, "unavailable", "the service is unavailable; try again")

    @app.exception_handler(Exception)
    def _unexpected(_exc: Exception) -> Response[str]:
        logger.exception("unexpected error")
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "something went wrong on our side")

    @app.not_found
    def _not_found(_exc: Exception) -> Response[str]:
        return error_response(HTTPStatus.NOT_FOUND, "not_found", "no such route")
