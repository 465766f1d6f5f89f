"""The one dispatch path, in process: every way the same user's signup reaches the same endpoint (the first try, a
retry, a replay, a resend, a redrive) shares one idempotency record and one webhook-id, whatever the delivery log
holds, and each trigger keeps its own rule. Real receivers on loopback, moto for AWS; the sandbox's schedule is
RETRY_SCHEDULE=1s,2s,3s."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from signup_hooks.endpoints import registry, settings
from signup_hooks.errors import StorageUnavailable
from signup_hooks.model import delivery_log, retry_message, urls
from signup_hooks.model.names import USER_CREATED
from signup_hooks.model.user import User
from signup_hooks.pipeline import dispatch
from signup_hooks.storage import settings_store
from signup_hooks.storage.deliveries_table import DeliveriesTable
from signup_hooks.storage.health_table import HealthTable

from functions.notifier import app as notifier
from functions.retry import app as retry_function
from local import aws_calls
from local.receiver import Receiver
from tests import sandbox
from tests.helpers import (
    call_admin,
    filtered,
    load_event,
    on_failure_body,
    sign_up_in_process,
    stream_batch,
    wait_until,
)

TABLE = sandbox.DELIVERIES_TABLE_NAME


@pytest.fixture
def handlers_at_once() -> Any:
    """Handlers of several functions run at once in this process: the permissions test cannot tell their calls
    apart, so none is recorded (the other tests record what each handler calls)."""
    with aws_calls.unrecorded():
        yield


def notify(context: Any) -> list[dict[str, str]]:
    return list(notifier.lambda_handler(filtered(stream_batch()), context)["batchItemFailures"])


def replay(context: Any, since: str) -> dict[str, Any]:
    event = load_event("admin_replay_webhook")
    event["body"] = json.dumps({"since": since})
    status, body = call_admin(event, context)
    assert status == 200, body
    return body


def redrive(context: Any) -> dict[str, Any]:
    status, body = call_admin(load_event("admin_redrive_webhook"), context)
    assert status == 200, body
    return body


def resend(context: Any, delivery_id: str) -> tuple[int, dict[str, Any]]:
    event = load_event("admin_resend_delivery")
    path = f"/api/v1/admin/webhook/deliveries/{delivery_id}/resend"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"id": delivery_id}
    return call_admin(event, context)


def waiting(aws: Any) -> int:
    """Messages in the retry queue, visible, in flight or delayed."""
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    answer = aws.sqs.get_queue_attributes(QueueUrl=sandbox.os.environ["RETRY_QUEUE_URL"], AttributeNames=names)
    return sum(int(value) for value in answer["Attributes"].values())


def drain(aws: Any, context: Any, seconds: float = 20.0) -> bool:
    """Run the retry function on whatever the retry queue holds, as its mapping would, until the queue is empty
    (True) or `seconds` have passed (False)."""
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        if waiting(aws) == 0:
            return True
        answer = aws.sqs.receive_message(
            QueueUrl=sandbox.os.environ["RETRY_QUEUE_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        messages = answer.get("Messages", [])
        if not messages:
            continue
        event = load_event("retry_due")
        template = event["Records"][0]
        event["Records"] = [
            {**template, "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]}
            for m in messages
        ]
        failed = {f["itemIdentifier"] for f in retry_function.lambda_handler(event, context)["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                aws.sqs.delete_message(
                    QueueUrl=sandbox.os.environ["RETRY_QUEUE_URL"], ReceiptHandle=message["ReceiptHandle"]
                )
    return False


def record_of(user_id: str, endpoint: str = "default") -> delivery_log.Record | None:
    return DeliveriesTable(TABLE).get(delivery_log.record_id(endpoint, USER_CREATED, user_id))


def in_progress(aws: Any) -> bool:
    """Whether a delivery holds its idempotency record now."""
    items = aws.dynamodb.scan(TableName=sandbox.IDEMPOTENCY_TABLE_NAME)["Items"]
    return any(item.get("status", {}).get("S") == "INPROGRESS" for item in items)


def a_delivered_notification(context: Any, receiver: Receiver) -> delivery_log.Record:
    """A signup delivered by its first try: its log record."""
    user = sign_up_in_process(context)
    assert notify(context) == []
    receiver.wait_for(1)
    delivered = record_of(user["id"])
    assert delivered is not None and delivered.status is delivery_log.Status.DELIVERED
    return delivered


def a_second_ago() -> str:
    return (datetime.now(UTC) - timedelta(seconds=1)).isoformat()


# ---- one identity, whatever the log holds ---------------------------------------------------------------------------


def test_a_replay_during_a_slow_first_try_sends_once_with_one_webhook_id(
    aws, lambda_context, receiver, configure_all, monkeypatch, handlers_at_once
):
    # Given a first try still waiting on a slow receiver: no log record yet
    monkeypatch.setattr(dispatch, "IN_PROGRESS_WAIT_SECONDS", 1.0)  # the notifier's timeout, compressed
    configure_all(webhook_url_env=receiver.url)
    receiver.respond_with(200, delay=1.5, times=1)  # within the read timeout (2 s)
    since = a_second_ago()
    user = sign_up_in_process(lambda_context)
    first = threading.Thread(target=notify, args=(lambda_context,))
    first.start()
    time.sleep(0.5)  # the first try is waiting for its answer
    # When the administrator replays the window meanwhile and the retry function takes the replay
    assert replay(lambda_context, since)["queued"] == 1
    assert drain(aws, lambda_context)
    first.join()
    assert drain(aws, lambda_context)
    # Then the user was sent once, under one webhook-id, and the log says delivered
    assert len(receiver.wait_for(2, timeout=1)) == 1
    found = record_of(user["id"])
    assert found is not None and found.status is delivery_log.Status.DELIVERED
    assert found.subject.event_id == registry.notification_key("user.created", user["id"], "default")


def test_a_replay_after_a_lost_log_write_sends_nothing_twice(aws, lambda_context, receiver, configure_all, monkeypatch):
    # Given a first try that was delivered while the delivery log could not be written (throttling)
    configure_all(webhook_url_env=receiver.url)
    since = a_second_ago()
    sign_up_in_process(lambda_context)

    def throttled(*_args: Any, **_kwargs: Any) -> None:
        raise StorageUnavailable("DynamoDB refused the write: ThrottlingException")

    with monkeypatch.context() as patch:
        patch.setattr(DeliveriesTable, "record", throttled)
        assert notify(lambda_context) == []
    receiver.wait_for(1)
    # When the administrator replays the window (the log has no record, so the user looks missed)
    assert replay(lambda_context, since)["queued"] == 1
    assert drain(aws, lambda_context)
    # Then nothing was sent again: the replay met the first try's idempotency record
    assert len(receiver.wait_for(2, timeout=1)) == 1


def test_a_replay_then_a_redrive_of_the_same_batch_sends_once(aws, lambda_context, receiver, configure_all):
    # Given a signup whose failed stream batch sits in the dead-letter queue as its OnFailure record
    configure_all(webhook_url_env=receiver.url)
    since = a_second_ago()
    sign_up_in_process(lambda_context, name="Ada", email="ada@example.com")
    records = stream_batch()["Records"]
    first, last = records[0]["dynamodb"]["SequenceNumber"], records[-1]["dynamodb"]["SequenceNumber"]
    arn = aws.dynamodb.describe_table(TableName=sandbox.TABLE_NAME)["Table"]["LatestStreamArn"]
    configure_all(users_stream_arn=arn)
    body = on_failure_body(arn, first, last, len(records))
    aws.sqs.send_message(QueueUrl=sandbox.os.environ["DEAD_LETTER_QUEUE_URL"], MessageBody=body)
    # When, the document fixed, the administrator replays the window, then redrives the dead letters
    assert replay(lambda_context, since)["queued"] == 1
    assert drain(aws, lambda_context)
    report = redrive(lambda_context)
    # Then the user was sent once: the redrive found the replay's delivery under the same identity
    assert (report["delivered"], report["already_delivered"], report["still_failing"]) == (0, 1, 0)
    assert len(receiver.wait_for(2, timeout=1)) == 1


# ---- nothing stranded -----------------------------------------------------------------------------------------------


def a_retry_message(user: dict[str, Any]) -> str:
    account = User(user["id"], user["name"], "", user["role"], 0, "")
    key = f"user.created:{user['id']}"
    return retry_message.RetryMessage.of(account, key, due_at=time.time() - 3600, retries_done=2).to_json()


def test_a_retry_the_queues_redrive_policy_moved_to_the_dead_letter_queue_is_redriven(
    aws, lambda_context, receiver, configure_all
):
    # Given a scheduled retry that its consumer kept failing on, moved to the dead-letter queue by the redrive policy
    configure_all(webhook_url_env=receiver.url)
    user = sign_up_in_process(lambda_context)
    aws.sqs.send_message(QueueUrl=sandbox.os.environ["DEAD_LETTER_QUEUE_URL"], MessageBody=a_retry_message(user))
    # When the administrator redrives the dead letters
    report = redrive(lambda_context)
    # Then it is delivered, not left as unreadable, and the queue is empty
    assert (report["delivered"], report["unreadable"], report["still_failing"]) == (1, 0, 0)
    assert [r.text for r in receiver.wait_for(1)] == ["New user signed up: Tim"]
    assert aws.dead_letters() == []


def test_a_replay_picks_up_a_retry_whose_next_attempt_is_long_past(aws, lambda_context, receiver, configure_all):
    # Given a user the log says is retrying, with a next attempt two hours ago and nothing waiting for it
    configure_all(webhook_url_env=receiver.url)
    since = a_second_ago()
    user = sign_up_in_process(lambda_context)
    subject = delivery_log.Subject(user["id"], user["name"], f"user.created:{user['id']}", "msg_x")
    past = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="seconds")
    DeliveriesTable(TABLE).record(
        subject, delivery_log.Status.RETRYING, target_host="127.0.0.1", format="text", next_attempt_at=past
    )
    # When the administrator replays the window
    body = replay(lambda_context, since)
    # Then it is queued and delivered
    assert (body["queued"], body["skipped"]) == (1, 0)
    assert drain(aws, lambda_context)
    assert [r.text for r in receiver.wait_for(1)] == ["New user signed up: Tim"]
    found = record_of(user["id"])
    assert found is not None and found.status is delivery_log.Status.DELIVERED


# ---- each trigger's rule --------------------------------------------------------------------------------------------


def test_a_failed_resend_of_a_delivered_notification_leaves_it_delivered_and_the_health_alone(
    aws, lambda_context, receiver, configure_all
):
    # Given a delivered notification
    configure_all(webhook_url_env=receiver.url)
    delivered = a_delivered_notification(lambda_context, receiver)
    # When the administrator resends it and the receiver fails for good
    receiver.respond_with(404)
    status, body = resend(lambda_context, delivered.id)
    # Then the answer shows the failed attempt, but the notification stays delivered and the endpoint healthy
    assert status == 200
    assert body["status"] == "delivered" and body["attempts"][-1]["reason"] == "not_found"
    assert HealthTable(TABLE).read("default").consecutive_failures == 0
    assert aws.dead_letters() == []


def test_resend_to_a_disabled_endpoint_is_refused_and_sends_nothing(aws, lambda_context, receiver, configure_all):
    # Given a delivered notification of an endpoint an administrator then disabled
    configure_all(webhook_url_env=receiver.url)
    delivered = a_delivered_notification(lambda_context, receiver)
    stored = settings.StoredSettings(url=receiver.url, credentials_origin=urls.origin_of(receiver.url), enabled=False)
    settings_store.save(registry.settings_names(notifier.config), stored)
    # When the administrator resends it
    status, body = resend(lambda_context, delivered.id)
    # Then it is refused, naming why, and nothing is sent
    assert status == 422 and body["code"] == "endpoint_disabled"
    assert len(receiver.wait_for(2, timeout=0.5)) == 1


def test_each_replay_of_a_notification_that_still_fails_for_good_leaves_its_one_dead_letter(
    aws, lambda_context, receiver, configure_all
):
    # Given a notification dead-lettered after a permanent failure
    configure_all(webhook_url_env=receiver.url)
    receiver.respond_with(404)
    since = a_second_ago()
    user = sign_up_in_process(lambda_context)
    assert notify(lambda_context) == []
    assert len(aws.dead_letters()) == 1
    # When the administrator replays the window three times and it fails each time
    for _ in range(3):
        assert replay(lambda_context, since)["queued"] == 1
        assert drain(aws, lambda_context)
    # Then there is still one dead letter, and the log says failed
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    answer = aws.sqs.get_queue_attributes(QueueUrl=sandbox.os.environ["DEAD_LETTER_QUEUE_URL"], AttributeNames=names)
    assert sum(int(value) for value in answer["Attributes"].values()) == 1
    found = record_of(user["id"])
    assert found is not None and found.status is delivery_log.Status.FAILED
    assert len(receiver.received) == 4


# ---- no storms ------------------------------------------------------------------------------------------------------


def test_operational_events_among_flaky_endpoints_stop_by_themselves(aws, lambda_context, configure_all):
    # Given three endpoints subscribed to every event, whose receivers fail about half the time
    receivers = [Receiver().start() for _ in range(3)]
    configure_all(max_attempts=1)  # one attempt a round, so that each answer can turn an endpoint's health
    try:
        for index, receiver in enumerate(receivers):
            receiver.fail_randomly(0.5, seed=index)
            stored = settings.StoredSettings(url=receiver.url, credentials_origin=urls.origin_of(receiver.url))
            endpoint_id = "default" if index == 0 else f"ep{index}"
            settings_store.save(registry.settings_names(notifier.config, endpoint_id), replace(stored, events=("*",)))
        # When one user signs up and the retry function works through everything that follows
        sign_up_in_process(lambda_context)
        assert notify(lambda_context) == []
        # Then the announcements stop by themselves, a handful per transition, with nothing left waiting
        assert drain(aws, lambda_context, seconds=40)
        operational = [r for receiver in receivers for r in receiver.received if "New user" not in r.text]
        signups = [r for receiver in receivers for r in receiver.received if "New user" in r.text]
        # Each signup attempt can flip its endpoint's health once; each flip is told to the two others, and each
        # announcement has at most the schedule's four attempts
        assert len(operational) <= len(signups) * 2 * 4
    finally:
        for receiver in receivers:
            receiver.stop()


# ---- races between triggers ------------------------------------------------------------------------------------------


def test_a_resend_during_a_retry_in_flight_is_refused_and_the_user_gets_one_delivery(
    aws, lambda_context, receiver, configure_all, handlers_at_once
):
    # Given a notification whose first try failed, and its scheduled retry waiting on a slow receiver
    configure_all(webhook_url_env=receiver.url, max_attempts=1)
    receiver.respond_with(503, times=1)
    receiver.respond_with(200, delay=1.5, times=1)  # within the read timeout (2 s)
    user = sign_up_in_process(lambda_context)
    assert notify(lambda_context) == []
    retrying = record_of(user["id"])
    assert retrying is not None and retrying.status is delivery_log.Status.RETRYING
    in_flight = threading.Thread(target=drain, args=(aws, lambda_context))
    in_flight.start()
    assert wait_until(lambda: in_progress(aws), timeout=10)  # the retry is waiting for its answer
    # When the administrator resends it meanwhile
    status, body = resend(lambda_context, retrying.id)
    in_flight.join()
    # Then the resend is refused as in progress, and the user got the retry's one delivery
    assert status == 409, body
    assert len(receiver.wait_for(3, timeout=1)) == 2  # the failed first try and the retry
    found = record_of(user["id"])
    assert found is not None and found.status is delivery_log.Status.DELIVERED


def test_a_redrive_of_a_dead_letter_that_kept_no_text_renders_the_current_template_with_the_users_email(
    aws, lambda_context, receiver, configure_all
):
    # Given a notification of a template with the e-mail in it, dead-lettered (the letter keeps no text, no e-mail)
    configure_all(webhook_url_env=receiver.url, message_template="New user: {name} <{email}>")
    receiver.respond_with(404, times=1)
    sign_up_in_process(lambda_context, name="Ada", email="ada@example.com")
    assert notify(lambda_context) == []
    [message] = aws.sqs.receive_message(
        QueueUrl=sandbox.os.environ["DEAD_LETTER_QUEUE_URL"], MaxNumberOfMessages=10, VisibilityTimeout=0
    )["Messages"]
    assert json.loads(message["Body"])["message"] is None and "ada@example.com" not in message["Body"]
    # When the administrator redrives it
    report = redrive(lambda_context)
    # Then it is rendered again from the user's record, e-mail included
    assert report["delivered"] == 1
    assert receiver.wait_for(2)[-1].text == "New user: Ada <ada@example.com>"
