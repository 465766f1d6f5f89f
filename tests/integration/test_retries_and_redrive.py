"""Delivery under faults, in one process: retries, the deadline, exactly once, dead letters, redrive, pacing,
SSM outages. Real receivers on loopback, moto for AWS."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from moto.sqs.models import sqs_backends
from signup_hooks.pipeline import stream_batch as batches
from signup_hooks.storage import aws as aws_clients

from functions.admin import app as admin_app
from functions.notifier import app as notifier
from local.esm import EventSourceMapping, Invocation, MappingSettings
from local.receiver import Receiver
from tests import sandbox
from tests.helpers import (
    batch_of,
    closed_port_url,
    filtered,
    load_event,
    notifier_failures,
    on_failure_body,
    sign_up_in_process,
    stream_batch,
)

# The quick first try and the dead-letter queue, without the retry schedule (test_retry_schedule.py has it).
pytestmark = pytest.mark.usefixtures("without_retry_schedule")


def redrive(context: Any, body: dict[str, Any] | None = None) -> dict[str, Any]:
    event = load_event("admin_redrive_webhook")
    event["body"] = json.dumps(body or {})
    response = admin_app.lambda_handler(event, context)
    assert response["statusCode"] == 200, response["body"]
    return dict(json.loads(response["body"]))


def queue_size(aws: Any) -> int:
    attributes = aws.sqs.get_queue_attributes(
        QueueUrl=sandbox.os.environ["DEAD_LETTER_QUEUE_URL"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


# ---- retries -------------------------------------------------------------------------------------------------------


def test_two_500s_then_200_is_delivered_once(aws, lambda_context, receiver, configure):
    # Given a receiver that answers 500 twice, then 200
    configure(webhook_url_env=receiver.url)
    receiver.respond_with(500, times=2)
    # When one new user arrives
    assert notifier_failures(load_event("notifier_new_user"), lambda_context) == []
    # Then it took three attempts, one of them delivered, and nothing was dead-lettered
    requests = receiver.wait_for(3)
    assert len(requests) == 3
    assert aws.dead_letters() == []
    # And every attempt carried the same webhook-id
    assert len({r.headers.get("webhook-id") for r in requests}) == 1


def test_429_with_retry_after_one_second_waits_then_delivers_once(aws, lambda_context, receiver, configure):
    configure(webhook_url_env=receiver.url)
    receiver.respond_with(429, times=1, headers={"Retry-After": "1"})
    started = time.monotonic()
    assert notifier_failures(load_event("notifier_new_user"), lambda_context) == []
    requests = receiver.wait_for(2)
    assert len(requests) == 2
    assert time.monotonic() - started >= 1.0
    assert aws.dead_letters() == []


@pytest.mark.parametrize(("status", "reason"), [(404, "not_found"), (401, "auth_rejected"), (400, "client_error")])
def test_a_permanent_4xx_is_not_retried_and_is_dead_lettered(aws, lambda_context, receiver, configure, status, reason):
    configure(webhook_url_env=receiver.url)
    receiver.respond_with(status)
    assert notifier_failures(load_event("notifier_new_user"), lambda_context) == []
    assert len(receiver.wait_for(2, timeout=0.5)) == 1
    [letter] = aws.dead_letters()
    assert letter["reason"] == reason
    assert letter["attempts"] == 1


def test_a_dead_letter_says_what_was_tried(aws, lambda_context, receiver, configure):
    configure(webhook_url_env=receiver.url, max_attempts=3)
    receiver.respond_with(503)
    notifier_failures(load_event("notifier_new_user"), lambda_context)
    [letter] = aws.dead_letters()
    assert letter["event_id"] and letter["user"]["id"] and letter["user"]["name"] == "Tim"
    assert letter["message"] == "New user signed up: Tim"
    assert letter["format"] == "text"
    assert letter["target"] == {"scheme": "http", "host": "127.0.0.1"}
    assert (letter["reason"], letter["http_status"], letter["attempts"]) == ("server_error", 503, 3)
    assert letter["first_attempt_at"] <= letter["last_attempt_at"]


def test_a_hanging_receiver_ends_inside_the_deadline_with_a_read_timeout_dead_letter(
    aws, lambda_context, receiver, configure
):
    # Given a receiver that hangs for longer than the invocation has left
    configure(webhook_url_env=receiver.url, read_timeout=2.0)
    receiver.respond_with(200, delay=15)
    lambda_context.remaining_ms = 6000
    # When a new user arrives
    started = time.monotonic()
    assert notifier_failures(load_event("notifier_new_user"), lambda_context) == []
    # Then the invocation ended before its timeout, with a dead letter saying read_timeout
    assert time.monotonic() - started < 6.0
    [letter] = aws.dead_letters()
    assert letter["reason"] == "read_timeout"
    assert letter["attempts"] >= 1


def test_a_retry_after_longer_than_the_deadline_is_not_waited_for(aws, lambda_context, receiver, configure):
    configure(webhook_url_env=receiver.url)
    receiver.respond_with(429, headers={"Retry-After": "20"})
    lambda_context.remaining_ms = 8000
    started = time.monotonic()
    notifier_failures(load_event("notifier_new_user"), lambda_context)
    assert time.monotonic() - started < 6.0
    assert aws.dead_letters()[0]["reason"] == "rate_limited"


# ---- concurrency ---------------------------------------------------------------------------------------------------


def test_one_slow_receiver_does_not_serialise_a_batch(aws, lambda_context, receiver, configure):
    # Given a receiver that takes a second per request and a batch of 8 users
    configure(webhook_url_env=receiver.url)
    receiver.respond_with(200, delay=1.0)
    started = time.monotonic()
    assert notifier_failures(batch_of(8), lambda_context) == []
    # Then they were delivered side by side, not one after another
    assert time.monotonic() - started < 4.0
    assert len({r.text for r in receiver.wait_for(8)}) == 8


# ---- exactly once --------------------------------------------------------------------------------------------------


def test_a_stream_retry_of_a_delivered_batch_sends_nothing_twice(aws, lambda_context, receiver, configure):
    configure(webhook_url_env=receiver.url)
    event = batch_of(3)
    assert notifier_failures(event, lambda_context) == []
    # The same batch again: a retry, a bisected half, a re-invocation.
    assert notifier_failures(event, lambda_context) == []
    assert len(receiver.wait_for(6, timeout=0.5)) == 3


def test_a_crash_mid_batch_is_retried_by_the_stream_without_duplicates(
    aws, lambda_context, receiver, configure, monkeypatch
):
    # Given the notifier behind the event source mapping, and a crash injected into its first invocation after it
    # has delivered half of the batch
    configure(webhook_url_env=receiver.url)
    original = batches.deliver_stream_batch
    crashes = {"left": 1}

    def crashing(records, config, stores, context):
        if crashes["left"]:
            crashes["left"] -= 1
            original(records[: len(records) // 2], config, stores, context)
            raise RuntimeError("injected crash after some deliveries")
        return original(records, config, stores, context)

    monkeypatch.setattr(batches, "deliver_stream_batch", crashing)

    def invoke(event: dict[str, Any]) -> Invocation:
        try:
            return Invocation(payload=notifier.lambda_handler(event, lambda_context))
        except RuntimeError:
            return Invocation(error="Unhandled")

    settings_ = MappingSettings(
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:notifier",
        stream_arn="arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/x",
        batch_size=10,
        report_batch_item_failures=True,
        bisect_on_error=True,
        maximum_retry_attempts=5,
    )
    sent_on_failure: list[dict[str, Any]] = []
    mapping = EventSourceMapping(settings_, invoke, sent_on_failure.append)
    # When the stream delivers a batch of 6 new users
    mapping.process(batch_of(6)["Records"])
    # Then the crash was retried (bisected) and every user reached the receiver exactly once
    texts = [r.text for r in receiver.wait_for(7, timeout=0.5)]
    assert sorted(texts) == sorted(f"New user signed up: User {i}" for i in range(6))
    assert crashes["left"] == 0
    assert sent_on_failure == []


def test_when_the_dead_letter_send_fails_the_record_is_delivered_on_the_retry(aws, lambda_context, configure):
    # Given a receiver that is down and a dead-letter queue that refuses messages
    configure(webhook_url_env=closed_port_url(), dead_letter_queue_url=notifier.config.dead_letter_queue_url + "-gone")
    event = load_event("notifier_new_user")
    # When the batch is handled, the record is reported for the stream's retry
    assert notifier_failures(event, lambda_context) == [event["Records"][0]["dynamodb"]["SequenceNumber"]]
    # And when the receiver is back for the retry, it is delivered, once
    receiver = Receiver().start()
    try:
        configure(webhook_url_env=receiver.url)
        assert notifier_failures(event, lambda_context) == []
        assert notifier_failures(event, lambda_context) == []
        assert len(receiver.wait_for(2, timeout=0.5)) == 1
    finally:
        receiver.stop()


# ---- redrive -------------------------------------------------------------------------------------------------------


def test_receiver_down_then_back_redrive_delivers_once_and_empties_the_queue(aws, lambda_context, configure):
    # Given a notification dead-lettered while the receiver was down
    configure(webhook_url_env=closed_port_url(), max_attempts=2)
    event = load_event("notifier_new_user")
    assert notifier_failures(event, lambda_context) == []
    assert queue_size(aws) == 1
    # When the receiver is back and the admin redrives the queue
    receiver = Receiver().start()
    try:
        configure(webhook_url_env=receiver.url)
        report = redrive(lambda_context)
        # Then it was delivered once and the queue is empty
        assert (report["delivered"], report["already_delivered"], report["still_failing"]) == (1, 0, 0)
        assert len(receiver.wait_for(1)) == 1
        assert queue_size(aws) == 0
        # And a second redrive, or a late stream retry of the same record, sends nothing twice
        assert redrive(lambda_context)["delivered"] == 0
        assert notifier_failures(event, lambda_context) == []
        assert len(receiver.wait_for(2, timeout=0.5)) == 1
    finally:
        receiver.stop()


def test_redrive_skips_what_was_delivered_meanwhile_and_keeps_what_still_fails(
    aws, lambda_context, receiver, configure
):
    # Given two dead letters: one for a user the stream's retry delivered since, one that still cannot be delivered
    configure(webhook_url_env=closed_port_url(), max_attempts=1)
    notifier_failures(batch_of(2), lambda_context)
    assert queue_size(aws) == 2
    configure(webhook_url_env=receiver.url)
    notifier_failures({"Records": batch_of(2)["Records"][:1]}, lambda_context)  # event-0 delivered by a stream retry
    receiver.respond_with(404)  # the other one fails for good
    # When the admin redrives
    report = redrive(lambda_context)
    # Then one is skipped as already delivered (and removed), one is still failing and stays queued
    assert (report["delivered"], report["already_delivered"], report["still_failing"]) == (0, 1, 1)
    assert report["reasons"] == {"not_found": 1}
    assert queue_size(aws) == 1
    assert [r.text for r in receiver.received].count("New user signed up: User 0") == 1


def test_redrive_is_bounded_by_messages_per_call(aws, lambda_context, receiver, configure):
    configure(webhook_url_env=closed_port_url(), max_attempts=1)
    notifier_failures(batch_of(3), lambda_context)
    configure(webhook_url_env=receiver.url)
    first = redrive(lambda_context, {"max_messages": 2})
    assert (first["messages"], first["delivered"], first["more"]) == (2, 2, True)
    second = redrive(lambda_context)
    assert (second["delivered"], second["more"]) == (1, False)
    assert len({r.text for r in receiver.wait_for(3)}) == 3


def test_redrive_refuses_a_bad_bound(aws, lambda_context):
    event = load_event("admin_redrive_webhook")
    event["body"] = json.dumps({"max_messages": 0})
    response = admin_app.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 422
    assert json.loads(response["body"])["field"] == "max_messages"


def on_failure_record(aws: Any, configure: Any, start: str, end: str, size: int = 10) -> None:
    """Queue the OnFailure record Lambda sends for a stream batch it gave up on, from `start` to `end`."""
    arn = aws.dynamodb.describe_table(TableName=sandbox.TABLE_NAME)["Table"]["LatestStreamArn"]
    configure(users_stream_arn=arn)
    body = on_failure_body(arn, start, end, size)
    aws.sqs.send_message(QueueUrl=sandbox.os.environ["DEAD_LETTER_QUEUE_URL"], MessageBody=body)


def test_redrive_replays_lambdas_on_failure_record_from_the_stream(aws, lambda_context, receiver, configure):
    # Given two signups whose stream batch Lambda gave up on: only its batch info reached the queue
    configure(webhook_url_env=receiver.url)
    sign_up_in_process(lambda_context, name="Ada", email="ada@example.com")
    sign_up_in_process(lambda_context, name="Linus", email="linus@example.com")
    everything = stream_batch()
    records = everything["Records"]
    first, last = records[0]["dynamodb"]["SequenceNumber"], records[-1]["dynamodb"]["SequenceNumber"]
    on_failure_record(aws, configure, first, last, size=len(records))
    # When the admin redrives
    report = redrive(lambda_context)
    # Then both users are read back from the stream and notified once; the credentials items are not
    assert report["delivered"] == 2
    assert sorted(r.text for r in receiver.wait_for(2)) == ["New user signed up: Ada", "New user signed up: Linus"]
    assert queue_size(aws) == 0
    # And the notifier meeting the same records later sends nothing twice
    assert notifier.lambda_handler(filtered(everything), lambda_context) == {"batchItemFailures": []}
    assert len(receiver.wait_for(3, timeout=0.5)) == 2


# ---- pacing --------------------------------------------------------------------------------------------------------


def test_deliveries_to_one_slack_webhook_are_paced_to_one_a_second(aws, lambda_context, receiver, configure):
    # Given a receiver treated as a Slack webhook
    aws.ssm.put_parameter(Name=sandbox.FORMAT_PARAMETER, Value="slack", Type="String", Overwrite=True)
    configure(webhook_url_env=receiver.url)
    # When a burst of three signups is delivered
    assert notifier_failures(batch_of(3), lambda_context) == []
    # Then they arrived about one second apart, none dropped
    arrivals = receiver.wait_for(3)
    assert len(arrivals) == 3
    times = sorted(request.received_at for request in arrivals)
    assert times[1] - times[0] >= 0.9
    assert times[2] - times[1] >= 0.9


def test_a_429_holds_every_delivery_to_that_webhook(aws, lambda_context, receiver, configure):
    aws.ssm.put_parameter(Name=sandbox.FORMAT_PARAMETER, Value="discord", Type="String", Overwrite=True)
    configure(webhook_url_env=receiver.url)
    receiver.respond_with(429, times=1, headers={"Retry-After": "1"})
    started = time.monotonic()
    assert notifier_failures(batch_of(3), lambda_context) == []
    arrivals = receiver.wait_for(4)
    assert len(arrivals) == 4
    assert time.monotonic() - started >= 1.0
    assert aws.dead_letters() == []


# ---- redrive of Lambda's OnFailure records and of the queue ----------------------------------------------------------


def test_redrive_keeps_an_on_failure_record_it_could_not_read_to_its_end(aws, lambda_context, receiver, configure):
    # Given an OnFailure record whose batch ends beyond what the stream returns (a short read)
    configure(webhook_url_env=receiver.url)
    sign_up_in_process(lambda_context, name="Ada", email="ada@example.com")
    records = stream_batch()["Records"]
    last = int(records[-1]["dynamodb"]["SequenceNumber"])
    on_failure_record(aws, configure, records[0]["dynamodb"]["SequenceNumber"], str(last + 10**6))
    # When the admin redrives
    report = redrive(lambda_context)
    # Then the message stays in the queue, reported as still failing: the unread records are not given up
    assert (report["still_failing"], report["reasons"]) == (1, {"stream_incomplete": 1})
    assert queue_size(aws) == 1


def test_redrive_skips_updates_and_deletes_in_an_on_failure_range(aws, lambda_context, receiver, configure):
    # Given a signup, then an update of that profile and a delete of its credential, all in one failed batch
    configure(webhook_url_env=receiver.url)
    user = sign_up_in_process(lambda_context, name="Ada", email="ada@example.com")
    aws.dynamodb.update_item(
        TableName=sandbox.TABLE_NAME,
        Key={"pk": {"S": f"USER#{user['id']}"}},
        UpdateExpression="SET #n = :n",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":n": {"S": "Ada L."}},
    )
    aws.dynamodb.delete_item(TableName=sandbox.TABLE_NAME, Key={"pk": {"S": "AUTH#ada@example.com"}})
    records = stream_batch()["Records"]
    assert {r["eventName"] for r in records} == {"INSERT", "MODIFY", "REMOVE"}
    on_failure_record(
        aws, configure, records[0]["dynamodb"]["SequenceNumber"], records[-1]["dynamodb"]["SequenceNumber"]
    )
    # When the admin redrives, then the signup is notified once and the update and delete are skipped, not a 500
    report = redrive(lambda_context)
    assert (report["delivered"], report["still_failing"]) == (1, 0)
    assert [r.text for r in receiver.wait_for(2, timeout=0.5)] == ["New user signed up: Ada"]
    assert queue_size(aws) == 0


def test_redrive_skips_a_profile_without_an_id_and_delivers_the_rest_of_its_batch(
    aws, lambda_context, receiver, configure
):
    # Given a failed batch holding a profile written by hand without an id (an import, a console edit) and a signup
    configure(webhook_url_env=receiver.url)
    aws.dynamodb.put_item(
        TableName=sandbox.TABLE_NAME,
        Item={"pk": {"S": "USER#imported"}, "entity": {"S": "user"}, "name": {"S": "Imported"}},
    )
    sign_up_in_process(lambda_context, name="Ada", email="ada@example.com")
    records = stream_batch()["Records"]
    on_failure_record(
        aws, configure, records[0]["dynamodb"]["SequenceNumber"], records[-1]["dynamodb"]["SequenceNumber"]
    )
    # When the admin redrives, then it answers 200, the signup is notified and the message leaves the queue
    report = redrive(lambda_context)
    assert (report["delivered"], report["still_failing"]) == (1, 0)
    assert [r.text for r in receiver.wait_for(2, timeout=0.5)] == ["New user signed up: Ada"]
    assert queue_size(aws) == 0


def test_redrive_long_polls_so_a_message_arriving_during_the_wait_is_replayed(aws, lambda_context, receiver, configure):
    # Given a dead letter taken out of the queue, to arrive again while the redrive waits for messages
    configure(webhook_url_env=closed_port_url(), max_attempts=1)
    notifier_failures(load_event("notifier_new_user"), lambda_context)
    queue_url = sandbox.os.environ["DEAD_LETTER_QUEUE_URL"]
    [message] = aws.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1)["Messages"]
    aws.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    configure(webhook_url_env=receiver.url)
    waits: list[int] = []
    # Straight into moto: a boto3 call made while the admin handler runs would count as the function's own call.
    queue = sqs_backends[sandbox.ACCOUNT_ID][sandbox.REGION]
    late = threading.Timer(0.3, lambda: queue.send_message(sandbox.QUEUE_NAME, message["Body"]))

    def arrive_during_the_wait(params: dict[str, Any], **_kwargs: Any) -> None:
        waits.append(params["WaitTimeSeconds"])
        if len(waits) == 1:
            late.start()

    sqs = aws_clients.client("sqs")
    sqs.meta.events.register("provide-client-params.sqs.ReceiveMessage", arrive_during_the_wait, unique_id="late")
    try:
        report = redrive(lambda_context)
    finally:
        sqs.meta.events.unregister("provide-client-params.sqs.ReceiveMessage", unique_id="late")
        late.join(timeout=5)
    # Then the first receive waited (long polling) and the message that arrived meanwhile was delivered
    assert waits and all(0 < wait <= lambda_context.remaining_ms / 1000 for wait in waits)
    assert report["delivered"] == 1
    assert len(receiver.wait_for(1)) == 1


def test_redrive_stops_well_inside_the_admin_functions_remaining_time(aws, lambda_context, receiver, configure):
    # Given a dead letter, a receiver that now hangs, long timeouts, and 6 s left in the admin invocation
    configure(webhook_url_env=closed_port_url(), max_attempts=1)
    notifier_failures(load_event("notifier_new_user"), lambda_context)
    configure(webhook_url_env=receiver.url, read_timeout=20.0, connect_timeout=3.0)
    receiver.respond_with(200, delay=15)
    lambda_context.remaining_ms = 6000
    # When the admin redrives, then the answer comes with time to spare, and the message stays queued
    started = time.monotonic()
    report = redrive(lambda_context)
    assert time.monotonic() - started < 5.0
    assert report["still_failing"] == 1
    assert queue_size(aws) == 1
