"""The retry schedule in process: the notifier hands a failure the receiver may get over to the retry queue, the
retry function makes one attempt per due message with the current settings, and what the schedule cannot deliver
reaches the dead-letter queue with every attempt. The sandbox's schedule is RETRY_SCHEDULE=1s,2s,3s."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

from signup_hooks.model import delivery_log
from signup_hooks.pipeline import dispatch
from signup_hooks.storage.deliveries_table import DeliveriesTable
from signup_hooks.storage.health_table import HealthTable

from functions.notifier import app as notifier
from functions.retry import app as retry_function
from tests import sandbox
from tests.helpers import load_event
from tests.scripted_receiver import ScriptedReceiver, read_request

USER_ID = "6f1c2a3e-8b4d-4e2f-9a7b-1c2d3e4f5a6b"  # events/notifier_new_user.json


def notify(context: Any) -> dict[str, Any]:
    return notifier.lambda_handler(load_event("notifier_new_user"), context)


def next_retry(aws: Any, wait: float = 5.0) -> dict[str, Any]:
    """The next message on the retry queue, waiting out its delay (long polling), as the event Lambda passes."""
    answer = aws.sqs.receive_message(
        QueueUrl=sandbox.os.environ["RETRY_QUEUE_URL"],
        MaxNumberOfMessages=1,
        WaitTimeSeconds=int(wait),
        AttributeNames=["All"],
    )
    [message] = answer["Messages"]
    event = load_event("retry_due")
    record = event["Records"][0]
    record.update(messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"], body=message["Body"])
    return event


def retry(event: dict[str, Any], context: Any) -> list[str]:
    return [f["itemIdentifier"] for f in retry_function.lambda_handler(event, context)["batchItemFailures"]]


def log_record(aws: Any) -> delivery_log.Record:
    found = DeliveriesTable(sandbox.DELIVERIES_TABLE_NAME).get(
        delivery_log.record_id("default", "user.created", USER_ID)
    )
    assert found is not None
    return found


# ---- the schedule itself ---------------------------------------------------------------------------------------------


# ---- the notifier's first try ----------------------------------------------------------------------------------------


def test_a_failing_receiver_is_handed_to_the_schedule_and_does_not_hold_the_stream(
    aws, lambda_context, receiver, configure
):
    # Given a receiver answering 500
    receiver.respond_with(500)
    configure(webhook_url_env=receiver.url + "/T000/SECRETPATH")
    # When the stream delivers the new user
    started = time.monotonic()
    assert notify(lambda_context)["batchItemFailures"] == []
    # Then the batch ends within seconds, nothing is dead-lettered, and one retry waits in the queue
    assert time.monotonic() - started < notifier_first_try_bound()
    assert aws.dead_letters() == []
    [message] = [json.loads(next_retry(aws)["Records"][0]["body"])]
    assert message["kind"] == "signup-retry" and message["retries_done"] == 0
    assert message["user_id"] == USER_ID
    # And the queue message holds neither the URL nor the e-mail
    assert "SECRETPATH" not in json.dumps(message) and "tim@example.com" not in json.dumps(message)
    # And the delivery log says it is retrying, with each attempt and the next attempt's time
    record = log_record(aws)
    assert record.status is delivery_log.Status.RETRYING
    assert [a.status for a in record.attempts] == [500, 500, 500]
    assert record.next_attempt_at and record.last_reason == "server_error"


def notifier_first_try_bound() -> float:
    return 5.0  # three quick attempts with short backoffs (WEBHOOK_RETRY_BASE_DELAY in the sandbox)


def test_a_permanent_failure_goes_to_the_dead_letter_queue_at_once(aws, lambda_context, receiver, configure):
    receiver.respond_with(404)
    configure(webhook_url_env=receiver.url)
    notify(lambda_context)
    [letter] = aws.dead_letters()
    assert letter["reason"] == "not_found"
    assert [attempt["status"] for attempt in letter["attempt_history"]] == [404]
    assert aws.scheduled_retries() == []
    assert log_record(aws).status is delivery_log.Status.FAILED


def answering_503_with_retry_after(value: bytes) -> ScriptedReceiver:
    """Answers every request 503 with the header `Retry-After: <value>`, byte for byte, keeping the connection."""

    def script(connection: socket.socket, stopping: threading.Event) -> None:
        while not stopping.is_set() and read_request(connection):
            connection.sendall(
                b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: " + value + b"\r\nContent-Length: 4\r\n\r\nbusy"
            )

    return ScriptedReceiver(script)


def test_a_retry_after_of_a_superscript_digit_is_ignored_and_the_notification_scheduled(aws, lambda_context, configure):
    # Given a receiver answering 503 with `Retry-After: \xb9` ('¹' once decoded: str.isdigit() says yes, float() no)
    receiver = answering_503_with_retry_after(b"\xb9")
    try:
        configure(webhook_url_env=receiver.url())
        # When the stream delivers the new user
        response = notify(lambda_context)
    finally:
        receiver.close()
    # Then the batch succeeds, the header counts as absent, and the notification waits on the schedule
    assert response["batchItemFailures"] == []
    assert receiver.connections >= 1
    message = json.loads(next_retry(aws)["Records"][0]["body"])
    assert message["user_id"] == USER_ID and message["retries_done"] == 0
    assert aws.dead_letters() == []
    record = log_record(aws)
    assert record.status is delivery_log.Status.RETRYING and record.last_reason == "server_error"
    assert [a.status for a in record.attempts] == [503, 503, 503]


# ---- the retry function --------------------------------------------------------------------------------------------


def test_a_due_retry_delivers_with_the_same_webhook_id_and_logs_the_recovery(
    aws, lambda_context, receiver, configure_all
):
    receiver.respond_with(500, times=3)
    configure_all(webhook_url_env=receiver.url)
    notify(lambda_context)
    first_id = receiver.wait_for(3)[0].headers.get("webhook-id")
    # When the retry comes due
    assert retry(next_retry(aws), lambda_context) == []
    # Then it is delivered once, under the first try's webhook-id
    requests = receiver.wait_for(4)
    assert requests[-1].status == 200
    assert {r.headers.get("webhook-id") for r in requests} == {first_id}
    record = log_record(aws)
    assert record.status is delivery_log.Status.DELIVERED and record.next_attempt_at is None
    assert [a.trigger for a in record.attempts][-1] is delivery_log.Trigger.SCHEDULE
    assert record.attempt_count == 4


def test_a_retry_goes_to_the_url_configured_now(aws, lambda_context, receiver, configure_all):
    # Given a wrong URL at the first try
    configure_all(webhook_url_env="http://127.0.0.1:9/wrong")
    notify(lambda_context)
    due = next_retry(aws)
    # When the administrator fixes the URL before the retry
    configure_all(webhook_url_env=receiver.url)
    retry(due, lambda_context)
    # Then the retry reaches the new URL
    assert receiver.wait_for(1)[0].text == "New user signed up: Tim"


def test_an_early_message_is_hidden_until_due_and_reported_not_done(aws, lambda_context, configure_all, receiver):
    configure_all(webhook_url_env=receiver.url)
    event = load_event("retry_due")
    body = json.loads(event["Records"][0]["body"])
    body["due_at"] = time.time() + 3600
    aws.sqs.send_message(QueueUrl=sandbox.os.environ["RETRY_QUEUE_URL"], MessageBody=json.dumps(body))
    [message] = aws.sqs.receive_message(QueueUrl=sandbox.os.environ["RETRY_QUEUE_URL"])["Messages"]
    event["Records"][0].update(messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"])
    event["Records"][0]["body"] = message["Body"]
    assert retry(event, lambda_context) == [message["MessageId"]]
    assert receiver.wait_for(1, timeout=0.3) == []
    # It stays hidden (its visibility timeout now runs to the due time)
    assert aws.sqs.receive_message(QueueUrl=sandbox.os.environ["RETRY_QUEUE_URL"]).get("Messages", []) == []


def test_an_exhausted_schedule_dead_letters_with_every_attempt(aws, lambda_context, receiver, configure_all):
    receiver.respond_with(503)
    configure_all(webhook_url_env=receiver.url, retry_schedule=(1.0,))
    notify(lambda_context)
    assert retry(next_retry(aws), lambda_context) == []
    [letter] = aws.dead_letters()
    assert letter["reason"] == "server_error"
    assert [a["trigger"] for a in letter["attempt_history"]] == ["stream"] * 3 + ["schedule"]
    assert letter["attempts"] == 4
    assert aws.scheduled_retries() == []
    assert log_record(aws).status is delivery_log.Status.FAILED


def test_a_retry_of_a_notification_delivered_meanwhile_sends_nothing(aws, lambda_context, receiver, configure_all):
    receiver.respond_with(500, times=3)
    configure_all(webhook_url_env=receiver.url)
    notify(lambda_context)
    due = next_retry(aws)
    assert retry(due, lambda_context) == []
    assert retry(due, lambda_context) == []  # the same message again (a second receive)
    assert len([r for r in receiver.wait_for(4) if r.status == 200]) == 1
    assert receiver.wait_for(5, timeout=0.5)[4:] == []


def test_the_health_moves_from_failing_to_healthy(aws, lambda_context, receiver, configure_all):
    assert HealthTable(sandbox.DELIVERIES_TABLE_NAME).read("default").status == "unknown"
    receiver.respond_with(500, times=3)
    configure_all(webhook_url_env=receiver.url)
    notify(lambda_context)
    failing = HealthTable(sandbox.DELIVERIES_TABLE_NAME).read("default")
    assert failing.status == "failing" and failing.failing_since and failing.consecutive_failures == 1
    retry(next_retry(aws), lambda_context)
    healthy = HealthTable(sandbox.DELIVERIES_TABLE_NAME).read("default")
    assert healthy.status == "healthy" and healthy.consecutive_failures == 0 and healthy.last_failure_at


def test_a_notification_another_invocation_holds_is_handed_to_the_retry_queue_not_the_stream(
    aws, lambda_context, receiver, configure_all, monkeypatch
):
    # Given an invocation delivering to a slow receiver (its idempotency record is in progress)
    monkeypatch.setattr(dispatch, "IN_PROGRESS_WAIT_SECONDS", 1.0)  # the notifier's timeout, compressed
    receiver.respond_with(200, delay=1.5, times=1)
    configure_all(webhook_url_env=receiver.url)
    first = threading.Thread(target=notify, args=(lambda_context,))
    first.start()
    time.sleep(0.5)
    # When the stream hands the same record to a second invocation (a crash and retry look the same)
    second = notify(lambda_context)
    first.join()
    # Then the second one reports success to the stream, and the retry function takes the notification over later
    assert second["batchItemFailures"] == []
    event = next_retry(aws)
    assert json.loads(event["Records"][0]["body"])["user_id"] == USER_ID
    # And when that retry comes, the notification was delivered meanwhile: nothing is sent twice
    assert retry(event, lambda_context) == []
    assert len(receiver.wait_for(2, timeout=1)) == 1
