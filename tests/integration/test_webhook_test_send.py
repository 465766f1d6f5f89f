"""POST /api/v1/admin/webhook/test: a test notification to the saved URL or to one in the body, answered with
what happened and a reason from the fixed vocabulary."""

from __future__ import annotations

import dataclasses
import json
import socket
import time
from typing import Any

import pytest
from signup_hooks import metrics
from signup_hooks.sending import targets

from functions.admin import app as admin
from tests import sandbox
from tests.helpers import closed_port_url, load_event

# What a signup's notification counts; the admin function's own ColdStart may be printed too.
DELIVERY_METRICS = {metrics.SIGNUPS, metrics.DELIVERIES, metrics.DELIVERY_FAILURES, metrics.DELIVERY_LATENCY}
ANSWER_KEYS = {"delivered", "status", "latency_ms", "reason", "target", "format", "detail", "credentials"}


def send_test(context: Any, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    event = load_event("admin_test_webhook")
    if body is not None:
        event["body"] = json.dumps(body)
    response = admin.lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def test_the_sample_event_reports_an_unconfigured_webhook(aws, lambda_context):
    status, body = send_test(lambda_context)
    assert status == 200
    assert set(body) == ANSWER_KEYS
    assert body["delivered"] is False
    assert body["reason"] == "not_configured"
    assert body["target"] is None


def test_the_saved_url_receives_a_test_notification(aws, lambda_context, receiver):
    # Given a saved URL
    aws.ssm.put_parameter(Name=admin.config.webhook_url_parameter, Value=receiver.url, Type="SecureString")
    # When the admin sends a test
    status, body = send_test(lambda_context)
    # Then it is delivered and the answer says so
    assert status == 200
    assert body["delivered"] is True
    assert body["status"] == 200
    assert body["reason"] is None
    assert isinstance(body["latency_ms"], int)
    assert body["target"].startswith("http://127.0.0.1:")
    assert "/hook" not in body["target"]
    [request] = receiver.wait_for(1)
    assert request.text == "Test notification from Signup webhooks: New user signed up: Webhook test"


def test_a_url_in_the_body_is_tested_before_saving(aws, lambda_context, receiver):
    status, body = send_test(lambda_context, {"url": receiver.url, "format": "slack"})
    assert (status, body["delivered"], body["format"]) == (200, True, "slack")
    assert json.loads(receiver.wait_for(1)[0].body) == {
        "text": "Test notification from Signup webhooks: New user signed up: Webhook test"
    }
    assert aws.ssm.describe_parameters()["Parameters"] == []  # nothing saved


def test_a_test_send_is_a_webhook_test_event_recorded_nowhere(aws, lambda_context, receiver, capsys):
    # Given an endpoint that takes the JSON envelope
    capsys.readouterr()
    # When the admin sends a test to it
    _, body = send_test(lambda_context, {"url": receiver.url, "format": "json"})
    assert (body["delivered"], body["format"]) == (True, "json")
    # Then the receiver is told it is a test, not a signup
    envelope = json.loads(receiver.wait_for(1)[0].body)
    assert (envelope["event"], envelope["resource"], envelope["operation"]) == ("webhook.test", "webhook", "test")
    assert envelope["message"].startswith("Test notification from Signup webhooks: ")
    # And nothing records it: no delivery log entry, no idempotency record, no user, no metric
    for table in (sandbox.DELIVERIES_TABLE_NAME, sandbox.IDEMPOTENCY_TABLE_NAME, sandbox.TABLE_NAME):
        assert aws.dynamodb.scan(TableName=table)["Items"] == [], table
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    counted = {name for doc in printed if "_aws" in doc for name in doc} & DELIVERY_METRICS
    assert counted == set()
    assert (aws.scheduled_retries(), aws.announcements()) == ([], [])


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (404, "not_found"),
        (410, "gone"),
        (401, "auth_rejected"),
        (403, "auth_rejected"),
        (429, "rate_limited"),
        (500, "server_error"),
    ],
)
def test_receiver_answers_are_named(aws, lambda_context, receiver, status, reason):
    receiver.respond_with(status)
    _, body = send_test(lambda_context, {"url": receiver.url})
    assert (body["delivered"], body["status"], body["reason"]) == (False, status, reason)


def test_a_closed_port_is_connection_refused(aws, lambda_context):
    _, body = send_test(lambda_context, {"url": closed_port_url()})
    assert (body["delivered"], body["status"], body["reason"]) == (False, None, "connection_refused")


@pytest.mark.parametrize("url", ["not a url", "ftp://example.com/x", 42, "https://user:pw@example.com/"])
def test_an_invalid_url_is_invalid_url(aws, lambda_context, url):
    status, body = send_test(lambda_context, {"url": url})
    assert (status, body["delivered"], body["reason"]) == (200, False, "invalid_url")


def test_a_blocked_target_is_refused_without_sending(aws, lambda_context, monkeypatch, receiver):
    monkeypatch.setattr(
        admin, "config", dataclasses.replace(admin.config, allow_http_targets=False, allow_private_targets=False)
    )
    _, body = send_test(lambda_context, {"url": receiver.url})
    assert body["reason"] == "blocked_target"
    assert receiver.received == []
    _, body = send_test(lambda_context, {"url": "https://[::ffff:169.254.169.254]/latest"})
    assert body["reason"] == "blocked_target"


def test_an_unresolvable_name_is_a_dns_failure(aws, lambda_context, monkeypatch):
    def no_dns(*_args: Any, **_kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(targets, "resolve", no_dns)  # not socket's: boto3 needs it to reach moto
    _, body = send_test(lambda_context, {"url": "https://hooks.example.invalid/x"})
    assert body["reason"] == "dns_failure"


def test_a_bad_template_in_the_body_is_a_422(aws, lambda_context, receiver):
    status, body = send_test(lambda_context, {"url": receiver.url, "message_template": "{nope}"})
    assert (status, body["field"]) == (422, "message_template")


def test_a_test_send_ends_well_inside_the_admin_functions_remaining_time(aws, lambda_context, receiver, configure):
    # Given a receiver that hangs, long configured timeouts, and 4 s left in the admin invocation
    configure(read_timeout=20.0, connect_timeout=3.0)
    receiver.respond_with(200, delay=15)
    lambda_context.remaining_ms = 4000
    # When the admin sends a test, then the answer comes before the invocation's end, naming the timeout
    started = time.monotonic()
    status, body = send_test(lambda_context, {"url": receiver.url})
    assert time.monotonic() - started < 3.0
    assert (status, body["delivered"], body["reason"]) == (200, False, "read_timeout")


def test_a_test_send_with_no_time_left_sends_nothing(aws, lambda_context, receiver):
    lambda_context.remaining_ms = 1000
    _, body = send_test(lambda_context, {"url": receiver.url})
    assert (body["delivered"], body["reason"]) == (False, "read_timeout")
    assert receiver.wait_for(1, timeout=0.2) == []
