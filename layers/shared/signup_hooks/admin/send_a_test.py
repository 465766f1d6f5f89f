"""The admin's test send: one attempt to an endpoint's saved URL, or to a URL given before saving it, with its saved
format and template unless the request gives its own, and the answer says what happened. The payload says it is a
test (content.marked_as_test, the `webhook.test` event), so that a receiver never records the test user as a
signup. Nothing is logged to the delivery log, queued, retried or counted. `TestSendRequest.parse` reads the request
body (in the handler); `send_test` sends.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from signup_hooks.api import bodies
from signup_hooks.config import Config
from signup_hooks.endpoints import custom_header, send_options, settings, settings_input
from signup_hooks.endpoints.custom_header import CustomHeader
from signup_hooks.endpoints.send_options import Credentials, SendOptions
from signup_hooks.model.names import Format
from signup_hooks.model.results import DeliveryResult, Reason
from signup_hooks.model.urls import redact_url
from signup_hooks.model.user import User
from signup_hooks.sending import formats

logger = Logger(child=True)

MAX_BODY_BYTES = 8 * 1024
# Kept back from the admin invocation's remaining time after a test send, for the answer.
TEST_SEND_MARGIN_SECONDS = 2.0
TEST_USER_NAME = "Webhook test"
TEST_USER_EMAIL = "webhook-test@example.invalid"


@dataclass(frozen=True)
class TestSendRequest:
    """A test send's body, every field checked: a URL to try before saving it (`url_given`; `url` None when it is
    not a string), and a format, template and credentials that replace the saved ones for this send only."""

    url_given: bool = False
    url: str | None = None
    format: Format | None = None
    message_template: str | None = None
    template_given: bool = False
    signing_secret: str | None = field(default=None, repr=False)
    custom_header: CustomHeader | None = None

    @classmethod
    def parse(cls, body: str | None) -> TestSendRequest:
        data = bodies.json_object(body, MAX_BODY_BYTES) if body and body.strip() else {}
        return cls(
            url_given="url" in data,
            url=data["url"] if isinstance(data.get("url"), str) else None,
            format=settings_input.validate_format(data["format"]) if "format" in data else None,
            message_template=(
                settings_input.validate_message_template(data["message_template"])
                if "message_template" in data
                else None
            ),
            template_given="message_template" in data,
            signing_secret=(
                settings_input.validate_signing_secret(data["signing_secret"])
                if data.get("signing_secret") is not None
                else None
            ),
            custom_header=(
                custom_header.validate_custom_header(data["custom_header"])
                if data.get("custom_header") is not None
                else None
            ),
        )


def send_test(
    config: Config,
    snapshot: settings.Snapshot,
    environment_url: str,
    request: TestSendRequest,
    context: LambdaContext,
) -> dict[str, Any]:
    """Send a test notification to an endpoint's saved URL (`snapshot`, else `environment_url`), or to the request's
    URL, and say what happened.

    The saved custom header and signing secret go only to the origin they were saved for; the request may supply its
    own. The attempt's timeouts are cut to what is left of this invocation.
    """
    current = send_options.effective(snapshot, environment_url)
    if request.url_given:
        url = request.url
        options, credentials = send_options.options_for(snapshot.stored, url)
    else:
        url, options, credentials = current.target.url, current.options, current.credentials
    options, credentials = _with_request_fields(options, credentials, request)

    if url is None and not request.url_given:
        result = DeliveryResult(False, None, Reason.NOT_CONFIGURED, 0, detail="no webhook URL is set")
        shape = None
    elif url is None:
        result = DeliveryResult(False, None, Reason.INVALID_URL, 0, detail="url must be a string")
        shape = None
    else:
        user = User(
            id=f"test-{uuid.uuid4()}",
            name=TEST_USER_NAME,
            email=TEST_USER_EMAIL,
            role=config.default_user_role,
            created_at=int(time.time()),
            profile_image_url="/user.png",
        )
        shape = formats.shape_for(options.format, url).value
        result = _send_within(context, config, url, user, options)
    answer = {
        "delivered": result.delivered,
        "status": result.status,
        "latency_ms": result.latency_ms,
        "reason": result.reason.value if result.reason else None,
        "target": redact_url(url) if url else None,
        "format": shape,
        "detail": result.detail or result.excerpt or None,
        "credentials": credentials.value,
    }
    logger.info(
        "webhook test sent",
        extra={
            k: answer[k] for k in ("delivered", "status", "latency_ms", "reason", "target", "format", "credentials")
        },
    )
    return answer


def _send_within(context: LambdaContext, config: Config, url: str, user: User, options: SendOptions) -> DeliveryResult:
    """One attempt whose connect and read timeouts together end TEST_SEND_MARGIN_SECONDS before the invocation."""
    # Delivery code, only for a test send: reading and saving the settings do without it.
    from signup_hooks.pipeline import dispatch
    from signup_hooks.sending import backoff

    budget = context.get_remaining_time_in_millis() / 1000 - TEST_SEND_MARGIN_SECONDS
    if budget < backoff.MIN_ATTEMPT_SECONDS:
        return DeliveryResult(False, None, Reason.READ_TIMEOUT, 0, detail="too little time left to send")
    connect_timeout = min(config.connect_timeout, budget / 2)
    read_timeout = min(config.read_timeout, budget - connect_timeout)
    return dispatch.send_test(url, user, options, config, (connect_timeout, read_timeout))


def _with_request_fields(
    options: SendOptions, credentials: Credentials, request: TestSendRequest
) -> tuple[SendOptions, Credentials]:
    """The request's own format, template and credentials (checked like a save) replace the saved ones."""
    changes: dict[str, Any] = {}
    if request.format is not None:
        changes["format"] = request.format
    if request.template_given:
        changes["message_template"] = request.message_template
    if request.signing_secret is not None:
        changes["signing_secret"] = request.signing_secret
        credentials = Credentials.FROM_REQUEST
    if request.custom_header is not None:
        changes["custom_header"] = request.custom_header
        credentials = Credentials.FROM_REQUEST
    return dataclasses.replace(options, **changes), credentials
