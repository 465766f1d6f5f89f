"""The schemas of the OpenAPI document (openapi.py): every answer, error and request body of the HTTP API, built from
the constants the handlers check against, so that a bound changed in the code changes here too."""

from __future__ import annotations

from typing import Any

from signup_hooks import signup
from signup_hooks.admin import delivery_routes, webhook_routes
from signup_hooks.endpoints import custom_header, registry, settings_input
from signup_hooks.endpoints.send_options import Credentials, UrlSource
from signup_hooks.model import cursors, delivery_log, events, results
from signup_hooks.model.delivery_log import Status, Trigger
from signup_hooks.model.names import Format, Shape
from signup_hooks.sending import messages, signing

JSON = "application/json"
Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def object_of(properties: dict[str, Schema], required: tuple[str, ...] | None = None, **extra: Any) -> Schema:
    """An object of these properties (no others unless `extra` says so); all required unless `required` says."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties if required is None else required),
        "additionalProperties": False,
        **extra,
    }


def text_of(max_length: int, min_length: int = 0, **extra: Any) -> Schema:
    return {"type": "string", "minLength": min_length, "maxLength": max_length, **extra}


def enum_of(values: Any) -> Schema:
    return {"type": "string", "enum": [str(value) for value in values]}


COUNT: Schema = {"type": "integer", "minimum": 0}
TIME: Schema = {"type": "string", "description": "ISO 8601, UTC"}
ENDPOINT_ID: Schema = {"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,64}$"}
CURSOR: Schema = text_of(cursors.MAX_CURSOR_CHARS, 1, description="opaque: the `cursor` of the previous page's answer")
SECRET: Schema = {
    "type": "string",
    "pattern": f"^{signing.SECRET_PREFIX}[A-Za-z0-9+/]+={{0,2}}$",
    "description": f"{signing.SECRET_PREFIX} and base64 of {signing.MIN_SECRET_BYTES} to "
    f"{signing.MAX_SECRET_BYTES} random bytes",
}
HEADER_IN: Schema = object_of(
    {
        "name": text_of(custom_header.MAX_HEADER_NAME_LENGTH, 1, pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"),
        "value": text_of(custom_header.MAX_HEADER_VALUE_LENGTH, 1, pattern=r"^[ -~]+$"),
    },
    description="sent to the receiver as its own header; never one the request needs (Host, Content-Type, "
    "webhook-*, ...)",
)
EVENTS_IN: Schema = {
    "anyOf": [
        {"type": "array", "items": enum_of(events.ALL), "minItems": 1, "uniqueItems": True},
        {"type": "array", "items": {"const": events.EVERY_EVENT}, "minItems": 1, "maxItems": 1},
    ],
    "description": 'the events this endpoint receives, or ["*"] for every event',
}
SETTINGS_IN: dict[str, Schema] = {
    "url": text_of(settings_input.MAX_URL_LENGTH, 1, format="uri", description="an absolute http(s) URL with a host"),
    "format": nullable({**enum_of(Format), "description": "null: auto"}),
    "message_template": nullable(
        text_of(messages.MAX_TEMPLATE_LENGTH, 1, description="named placeholders only, e.g. {name}; null: the default")
    ),
    "signing_secret": nullable(SECRET),
    "custom_header": nullable(HEADER_IN),
}
ENDPOINT_IN: dict[str, Schema] = {
    **SETTINGS_IN,
    "name": nullable(text_of(settings_input.MAX_NAME_LENGTH, 1)),
    "enabled": {"type": "boolean"},
    "events": EVENTS_IN,
}

DISABLED: dict[str, Schema] = {
    "disabled_reason": nullable(
        {
            "const": str(results.Reason.GONE),
            "description": "why the endpoint disabled itself: its receiver answered 410",
        }
    ),
    "disabled_at": nullable(TIME),
}

HEALTH: dict[str, Schema] = {
    "status": enum_of(("healthy", "failing", "unknown")),
    "last_success_at": nullable(TIME),
    "last_failure_at": nullable(TIME),
    "failing_since": nullable(TIME),
    "consecutive_failures": COUNT,
}

SCHEMAS: dict[str, Schema] = {
    "Error": object_of(
        {
            "detail": {"type": "string", "description": "what is wrong, for a person"},
            "code": {"type": "string", "description": "what is wrong, for a program (e.g. missing_field)"},
            "field": {"type": "string", "description": "the request field at fault, when one is"},
        },
        required=("detail", "code"),
    ),
    "GatewayMessage": object_of(
        {"message": {"type": "string"}},
        description="API Gateway's own answer: the authorizer's 401 Unauthorized and 403 Forbidden, a body past its "
        "10 MB limit",
    ),
    "Health": object_of(HEALTH),
    "CustomHeaderShown": nullable(
        object_of({"name": {"type": "string"}, "value": {"const": "set"}}, description="the value is never shown")
    ),
    "WebhookState": object_of(
        {
            "url": nullable({"type": "string", "description": "scheme and host only"}),
            "source": enum_of(UrlSource),
            "configured": {"type": "boolean"},
            "parameter": {"type": "string"},
            "environment_fallback": {"type": "boolean"},
            "format": enum_of(Format),
            "message_template": nullable({"type": "string"}),
            "signing_secret": enum_of(("set", "unset")),
            "custom_header": ref("CustomHeaderShown"),
            "credentials_origin": nullable({"type": "string"}),
            "message_template_default": {"type": "string"},
            "enabled": {"type": "boolean"},
            **DISABLED,
            "health": ref("WebhookHealth"),
            "custom_header_cleared": {"type": "boolean"},
        },
        required=(
            *("url", "source", "configured", "parameter", "environment_fallback", "format", "message_template"),
            *("signing_secret", "custom_header", "credentials_origin", "message_template_default"),
            *("enabled", "disabled_reason", "disabled_at"),
        ),
        description="GET adds `health`; PUT adds `custom_header_cleared`",
    ),
    "WebhookHealth": object_of({**HEALTH, "retrying": COUNT, "dead_letters": COUNT}),
    "Endpoint": object_of(
        {
            "id": ENDPOINT_ID,
            "name": {"type": "string"},
            "url": nullable({"type": "string", "description": "scheme and host only"}),
            "source": enum_of(UrlSource),
            "enabled": {"type": "boolean"},
            **DISABLED,
            "events": {"type": "array", "items": {"type": "string"}},
            "format": enum_of(Format),
            "message_template": nullable({"type": "string"}),
            "signing_secret": enum_of(("set", "unset")),
            "custom_header": ref("CustomHeaderShown"),
            "credentials_origin": nullable({"type": "string"}),
            "created_at": nullable(TIME),
            "updated_at": nullable(TIME),
            "signing_secret_rotation": nullable(object_of({"previous_until": TIME})),
            "problem": nullable({"type": "string", "description": "why its settings cannot be read"}),
            "health": ref("Health"),
            "custom_header_cleared": {"type": "boolean"},
        },
        required=(
            *("id", "name", "url", "source", "enabled", "events", "format", "message_template", "signing_secret"),
            *("custom_header", "credentials_origin", "created_at", "updated_at", "signing_secret_rotation"),
            *("problem", "health", "disabled_reason", "disabled_at"),
        ),
        description="PATCH adds `custom_header_cleared`",
    ),
    "EndpointList": object_of(
        {"items": {"type": "array", "items": ref("Endpoint")}, "max": {"const": registry.MAX_ENDPOINTS}}
    ),
    "Deleted": object_of({"deleted": ENDPOINT_ID}),
    "SecretRotation": object_of(
        {
            "signing_secret": SECRET,
            "previous_until": nullable({**TIME, "description": "until when the replaced secret signs too"}),
            "custom_header_cleared": {"type": "boolean"},
        }
    ),
    "TestSendAnswer": object_of(
        {
            "delivered": {"type": "boolean"},
            "status": nullable({"type": "integer", "description": "the receiver's HTTP status"}),
            "latency_ms": COUNT,
            "reason": nullable(enum_of(results.Reason)),
            "target": nullable({"type": "string", "description": "scheme and host only"}),
            "format": nullable(enum_of(Shape)),
            "detail": nullable({"type": "string"}),
            "credentials": enum_of(Credentials),
        }
    ),
    "Attempt": object_of(
        {
            "at": TIME,
            "status": nullable({"type": "integer"}),
            "reason": nullable({"type": "string"}),
            "latency_ms": COUNT,
            "trigger": enum_of(Trigger),
        }
    ),
    "Delivery": object_of(
        {
            "id": {"type": "string", "pattern": "^dlv_[0-9a-f]{32}$"},
            "webhook_id": {"type": "string"},
            "endpoint": {"type": "string"},
            "event": {"type": "string"},
            "user": object_of({"id": {"type": "string"}, "name": {"type": "string"}}),
            "status": enum_of(Status),
            "target_host": nullable({"type": "string"}),
            "format": nullable({"type": "string"}),
            "attempt_count": COUNT,
            "attempts": {"type": "array", "items": ref("Attempt"), "maxItems": delivery_log.MAX_ATTEMPTS},
            "last_reason": nullable({"type": "string"}),
            "next_attempt_at": nullable(TIME),
            "created_at": TIME,
            "updated_at": TIME,
        }
    ),
    "DeliveryPage": object_of(
        {"items": {"type": "array", "items": ref("Delivery")}, "cursor": nullable({"type": "string"})}
    ),
    "RedriveReport": object_of(
        {
            "delivered": COUNT,
            "already_delivered": COUNT,
            "still_failing": COUNT,
            "messages": COUNT,
            "unreadable": COUNT,
            "reasons": {"type": "object", "additionalProperties": COUNT},
            "more": {"type": "boolean", "description": "stopped at its bounds: call again"},
        }
    ),
    "ReplayAnswer": object_of(
        {
            "users": COUNT,
            "queued": COUNT,
            "already_delivered": COUNT,
            "skipped": COUNT,
            "endpoints": COUNT,
            "cursor": nullable({"type": "string", "description": "more users in the window: call again with it"}),
        }
    ),
    "User": object_of(
        {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "email": {"type": "string"},
            "role": {"type": "string"},
            "created_at": {"type": "integer", "description": "epoch seconds"},
            "profile_image_url": {"type": "string"},
        }
    ),
}

# Request bodies. A field left out keeps its value; null clears an optional one.
BODIES: dict[str, Schema] = {
    "WebhookSettings": object_of(
        SETTINGS_IN,
        required=(),
        minProperties=1,
        additionalProperties=True,
        description=f"at most {webhook_routes.MAX_BODY_BYTES} bytes; at least one of these fields (others are "
        "ignored); the URL is cleared by DELETE",
    ),
    "EndpointCreate": object_of(ENDPOINT_IN, required=("url",), description="at most 8 KB"),
    "EndpointChange": object_of(ENDPOINT_IN, required=(), minProperties=1, description="at most 8 KB"),
    # send_a_test.py's and redrive.py's bounds, written out: importing them (they reach the delivery code) would make
    # the chain of imports too deep. tests/unit/test_openapi.py holds them to their constants.
    "TestSend": object_of(
        {
            **SETTINGS_IN,
            "url": {**SETTINGS_IN["url"], "description": "try a URL before saving it"},
            "format": enum_of(Format),
            "message_template": SETTINGS_IN["message_template"]["anyOf"][0],
        },
        (),
        additionalProperties=True,
        description="optional, at most 8192 bytes: what replaces the saved settings for "
        "this send only; other fields are ignored",
    ),
    "Redrive": object_of(
        {"max_messages": {"type": "integer", "minimum": 1, "maximum": 100}},
        (),
        description="optional, at most 1024 bytes",
    ),
    "ReplayWindow": object_of(
        {
            "since": text_of(40, 1, description="ISO 8601 time, inclusive; without a zone: UTC"),
            "until": nullable(text_of(40, 1, description="ISO 8601 time; default now")),
            "cursor": nullable(text_of(cursors.MAX_CURSOR_CHARS, description="the `cursor` of the previous answer")),
            "endpoint": nullable({**ENDPOINT_ID, "description": "one endpoint only; default every one"}),
        },
        ("since",),
        description=f"at most {delivery_routes.MAX_BODY_BYTES} bytes",
    ),
    "SignupForm": object_of(
        {
            "name": text_of(signup.MAX_NAME_LENGTH, 1, description="no line breaks or control characters"),
            "email": text_of(signup.MAX_EMAIL_LENGTH, 3, format="email", description="unique, case-insensitive"),
            "password": text_of(signup.MAX_PASSWORD_LENGTH, signup.MIN_PASSWORD_LENGTH),
            "profile_image_url": nullable(
                text_of(signup.MAX_PROFILE_IMAGE_URL_LENGTH, description="an http(s) URL or a path; default /user.png")
            ),
        },
        ("name", "email", "password"),
        description=f"Open WebUI's SignupForm, at most {signup.MAX_BODY_BYTES} bytes",
    ),
}
