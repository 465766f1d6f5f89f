"""The whole flow in one process: signup writes, the stream carries the new profile through the template's filter,
the notifier posts to a real receiver on loopback, and what fails lands in the dead-letter queue."""

from __future__ import annotations

import dataclasses
import json
import socket

import pytest

from functions.notifier import app as notifier
from tests import sandbox
from tests.helpers import filtered, sign_up_in_process, stream_batch

# The quick first try and the dead-letter queue, without the retry schedule (test_retry_schedule.py has it).
pytestmark = pytest.mark.usefixtures("without_retry_schedule")


@pytest.fixture
def webhook_url(monkeypatch):
    def use(url: str) -> None:
        monkeypatch.setattr(notifier, "config", dataclasses.replace(notifier.config, webhook_url_env=url))

    return use


def test_signup_notifies_the_receiver_with_the_default_text(aws, lambda_context, receiver, webhook_url):
    # Given a receiver configured as WEBHOOK_URL
    webhook_url(receiver.url)
    # When Tim signs up and the stream's records pass the template's filter into the notifier
    sign_up_in_process(lambda_context)
    batch = filtered(stream_batch())
    response = notifier.lambda_handler(batch, lambda_context)
    # Then exactly one notification arrives, with the default message template's text
    assert response == {"batchItemFailures": []}
    [request] = receiver.wait_for(1)
    assert request.text == "New user signed up: Tim"


def test_the_filter_lets_only_the_profile_through_and_no_credential_reaches_the_notifier(aws, lambda_context):
    sign_up_in_process(lambda_context)
    everything = stream_batch()
    batch = filtered(everything)
    # Two items were written (profile and credential); only the profile passes
    assert len(everything["Records"]) == 2
    [record] = batch["Records"]
    assert record["dynamodb"]["NewImage"]["entity"] == {"S": "user"}
    assert "password_hash" not in json.dumps(batch)


def test_an_admin_set_url_is_used_by_the_next_notification(aws, lambda_context, receiver):
    aws.ssm.put_parameter(Name=sandbox.PARAMETER_NAME, Value=receiver.url, Type="SecureString", Overwrite=True)
    sign_up_in_process(lambda_context)
    notifier.lambda_handler(filtered(stream_batch()), lambda_context)
    assert receiver.wait_for(1)[0].text == "New user signed up: Tim"


def test_a_failing_receiver_leaves_a_replayable_dead_letter_and_the_signup_succeeded(
    aws, lambda_context, receiver, webhook_url
):
    # Given a receiver answering 500
    receiver.respond_with(500)
    webhook_url(receiver.url)
    # When Tim signs up (which succeeds) and the notifier runs
    user = sign_up_in_process(lambda_context)
    response = notifier.lambda_handler(filtered(stream_batch()), lambda_context)
    # Then the notification is in the dead-letter queue with what a replay needs
    assert response == {"batchItemFailures": []}
    [letter] = aws.dead_letters()
    assert letter["user"] == {"id": user["id"], "name": "Tim", "role": "pending", "created_at": user["created_at"]}
    assert letter["message"] == "New user signed up: Tim"
    assert letter["reason"] == "server_error"
    assert letter["http_status"] == 500


def test_a_closed_receiver_leaves_a_dead_letter_too(aws, lambda_context, webhook_url):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    webhook_url(closed)
    user = sign_up_in_process(lambda_context)
    assert notifier.lambda_handler(filtered(stream_batch()), lambda_context) == {"batchItemFailures": []}
    [letter] = aws.dead_letters()
    assert letter["user"]["id"] == user["id"]
    assert letter["reason"] == "connection_refused"


def test_each_signup_is_notified_once(aws, lambda_context, receiver, webhook_url):
    webhook_url(receiver.url)
    for index in range(5):
        sign_up_in_process(lambda_context, name=f"User {index}", email=f"user{index}@example.com")
    notifier.lambda_handler(filtered(stream_batch()), lambda_context)
    bodies = sorted(request.text for request in receiver.wait_for(5))
    assert bodies == [f"New user signed up: User {index}" for index in range(5)]
