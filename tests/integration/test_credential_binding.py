"""A saved custom header and signing secret only ever go to the origin (scheme, host, port) they were saved for:
in a test send, after the URL changes, and at send time when WEBHOOK_URL takes over."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from signup_hooks.model import urls

from functions.admin import app as admin
from functions.notifier import app as notifier
from local.receiver import Receiver
from tests.helpers import load_event

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
HEADER = {"name": "Authorization", "value": "Bearer sk-live-BOUNDTOONEORIGIN"}
SIGNATURE_HEADERS = {"webhook-id", "webhook-signature", "webhook-timestamp"}


def call(name: str, context: Any, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    event = load_event(name)
    if body is not None:
        event["body"] = json.dumps(body)
    response = admin.lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def header_names(request: Any) -> set[str]:
    return {name.lower() for name in request.headers}


@pytest.fixture
def other() -> Iterator[Receiver]:
    """A second receiver: the same host, another port, so another origin."""
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def saved(lambda_context, receiver) -> None:
    status, _ = call(
        "admin_put_webhook", lambda_context, {"url": receiver.url, "signing_secret": SECRET, "custom_header": HEADER}
    )
    assert status == 200


def test_a_test_send_to_the_saved_origin_carries_the_credentials(aws, lambda_context, receiver, saved):
    _, body = call("admin_test_webhook", lambda_context, {"url": receiver.url + "/other-path"})
    assert (body["delivered"], body["credentials"]) == (True, "sent")
    [request] = receiver.wait_for(1)
    assert request.headers["Authorization"] == HEADER["value"]
    assert header_names(request) >= SIGNATURE_HEADERS


def test_a_test_send_to_another_origin_carries_neither_and_says_so(aws, lambda_context, receiver, other, saved):
    # When the admin tests another origin without supplying credentials
    status, body = call("admin_test_webhook", lambda_context, {"url": other.url})
    # Then it is sent without the saved header and unsigned, and the answer says why
    assert (status, body["delivered"], body["credentials"]) == (200, True, "withheld: saved for another origin")
    [request] = other.wait_for(1)
    assert "authorization" not in header_names(request)
    assert not SIGNATURE_HEADERS & header_names(request)


def test_a_test_send_to_another_origin_uses_credentials_from_the_same_request(
    aws, lambda_context, receiver, other, saved
):
    mine = {"name": "X-Test-Key", "value": "for-this-test-only"}
    _, body = call("admin_test_webhook", lambda_context, {"url": other.url, "custom_header": mine})
    assert body["credentials"] == "from this request"
    [request] = other.wait_for(1)
    assert request.headers["X-Test-Key"] == "for-this-test-only"
    assert "authorization" not in header_names(request)


def test_saving_a_url_with_another_origin_clears_the_header_and_rebinds_the_secret(
    aws, lambda_context, receiver, other, saved, configure
):
    # When the admin moves the webhook to another origin without a new header
    status, body = call("admin_put_webhook", lambda_context, {"url": other.url})
    # Then the answer says the header was cleared; the signing secret stays, bound to the new origin
    assert (status, body["custom_header_cleared"], body["custom_header"]) == (200, True, None)
    assert body["signing_secret"] == "set"
    assert body["credentials_origin"] == urls.origin_of(other.url)
    # And the next notification goes there signed, without the old header
    configure(webhook_url_env="")
    assert notifier.lambda_handler(load_event("notifier_new_user"), lambda_context) == {"batchItemFailures": []}
    [request] = other.wait_for(1)
    assert "authorization" not in header_names(request)
    assert header_names(request) >= SIGNATURE_HEADERS


def test_saving_a_url_with_another_origin_keeps_a_header_set_in_the_same_request(aws, lambda_context, other, saved):
    new_header = {"name": "X-Api-Key", "value": "k" * 20}
    _, body = call("admin_put_webhook", lambda_context, {"url": other.url, "custom_header": new_header})
    assert (body["custom_header_cleared"], body["custom_header"]) == (False, {"name": "X-Api-Key", "value": "set"})


def test_saving_a_url_on_the_same_origin_keeps_the_header(aws, lambda_context, receiver, saved):
    _, body = call("admin_put_webhook", lambda_context, {"url": receiver.url + "/v2"})
    assert (body["custom_header_cleared"], body["custom_header"]["value"]) == (False, "set")


def test_after_the_url_is_cleared_webhook_url_of_another_origin_gets_no_credentials(
    aws, lambda_context, receiver, other, saved, configure, logs
):
    # Given the saved URL cleared: WEBHOOK_URL (another origin) takes over
    configure(webhook_url_env=other.url)
    assert call("admin_delete_webhook", lambda_context)[0] == 200
    # When a new user is notified, then WEBHOOK_URL gets the notification without the saved credentials
    assert notifier.lambda_handler(load_event("notifier_new_user"), lambda_context) == {"batchItemFailures": []}
    [request] = other.wait_for(1)
    assert "authorization" not in header_names(request)
    assert not SIGNATURE_HEADERS & header_names(request)
    assert "saved for another origin" in logs.getvalue()
    assert receiver.wait_for(1, timeout=0.2) == []
