"""Several endpoints in process: each new user goes to every enabled endpoint that receives `user.created`, in that
endpoint's own format and with its own secret, idempotency record and webhook-id; a failing or slow endpoint holds only
its own deliveries; operational events (`endpoint.failing`, `endpoint.recovered`, `delivery.failed`) reach the other
endpoints subscribed to them, through the retry function. The sandbox's schedule is RETRY_SCHEDULE=1s,2s,3s."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from signup_hooks.endpoints import registry, send_options, settings
from signup_hooks.model import delivery_log, urls
from signup_hooks.model.names import Format
from signup_hooks.sending import signing
from signup_hooks.storage import settings_store
from signup_hooks.storage.deliveries_table import DeliveriesTable
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from functions.notifier import app as notifier
from functions.retry import app as retry_function
from local.receiver import Receiver
from tests import sandbox
from tests.helpers import batch_of, load_event, notifier_failures

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # 24 bytes of base64, a test value
OLD_SECRET = "whsec_" + "C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
LOG = DeliveriesTable(sandbox.DELIVERIES_TABLE_NAME)  # the delivery log, as the admin routes read it


def add_endpoint(endpoint_id: str, url: str, **fields: Any) -> None:
    """Store an endpoint's document as the admin API does (the credentials bound to the URL's origin)."""
    stored = settings.StoredSettings(url=url, credentials_origin=urls.origin_of(url), **fields)
    settings_store.save(registry.settings_names(notifier.config, endpoint_id), stored)


def run_retries(aws: Any, context: Any, quiet_polls: int = 3) -> list[dict[str, Any]]:
    """Hand each message of the retry and announcement queues to the retry function as it comes due, as their two
    event source mappings do, until both stay empty for `quiet_polls` one-second polls. Returns the messages' bodies
    in order."""
    queues = [sandbox.os.environ["RETRY_QUEUE_URL"], sandbox.os.environ["ANNOUNCEMENT_QUEUE_URL"]]
    arns = {
        url: aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for url in queues
    }
    bodies: list[dict[str, Any]] = []
    quiet = 0
    while quiet < quiet_polls and len(bodies) < 50:  # bounded either way
        received = [
            (url, message)
            for wait, url in enumerate(queues)  # one second's long poll on the first, a short one on the second
            for message in aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1 - wait).get(
                "Messages", []
            )
        ]
        quiet = 0 if received else quiet + 1
        for url, message in received:
            event = load_event("retry_due")
            event["Records"][0].update(
                messageId=message["MessageId"],
                receiptHandle=message["ReceiptHandle"],
                body=message["Body"],
                eventSourceARN=arns[url],
            )
            bodies.append(json.loads(message["Body"]))
            if not retry_function.lambda_handler(event, context)["batchItemFailures"]:
                aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


@pytest.fixture
def two_receivers() -> Any:
    first, second = Receiver().start(), Receiver().start()
    yield first, second
    first.stop()
    second.stop()


@pytest.fixture
def retry_config(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The retry function with changed settings (it reads the same SSM documents as the notifier)."""

    def apply(**changes: Any) -> None:
        monkeypatch.setattr(notifier, "config", dataclasses.replace(notifier.config, **changes))
        monkeypatch.setattr(retry_function, "config", dataclasses.replace(retry_function.config, **changes))

    return apply


# ---- one notification per endpoint, in its own format -----------------------------------------------------------


def test_two_endpoints_each_get_one_notification_per_signup_in_their_own_format(aws, lambda_context, two_receivers):
    chat, crm = two_receivers
    add_endpoint("default", chat.url, format=Format.TEXT, message_template="New user {name}")
    add_endpoint("crm", crm.url, format=Format.JSON, signing_secret=SECRET, name="CRM")

    assert notifier_failures(batch_of(3), lambda_context) == []

    assert sorted(r.text for r in chat.wait_for(3)) == ["New user User 0", "New user User 1", "New user User 2"]
    envelopes = [json.loads(r.body) for r in crm.wait_for(3)]
    assert sorted(e["data"]["user"]["id"] for e in envelopes) == ["user-0", "user-1", "user-2"]
    assert {e["event"] for e in envelopes} == {"user.created"}
    for request in crm.received:  # only the endpoint with a secret signs
        Webhook(SECRET).verify(request.body, request.headers)
    assert not any("webhook-signature" in r.headers for r in chat.received)
    # each endpoint has its own webhook-id for the same signup, from what it is about (the user's signup, the endpoint)
    crm_ids = {json.loads(r.body)["data"]["user"]["id"]: r.headers["webhook-id"] for r in crm.received}
    assert (
        crm_ids["user-0"] == signing.webhook_id("user.created:user-0#crm") != signing.webhook_id("user.created:user-0")
    )
    # and its own delivery log record
    for endpoint in ("default", "crm"):
        record = DeliveriesTable(sandbox.DELIVERIES_TABLE_NAME).get(
            delivery_log.record_id(endpoint, "user.created", "user-1")
        )
        assert record is not None and record.status is delivery_log.Status.DELIVERED

    # The stream's retry of the same batch sends nothing again, to either endpoint
    assert notifier_failures(batch_of(3), lambda_context) == []
    assert len(chat.wait_for(4, timeout=0.5)) == 3 and len(crm.wait_for(4, timeout=0.1)) == 3


def test_a_failing_endpoint_does_not_delay_another(aws, lambda_context, two_receivers):
    failing, healthy = two_receivers
    failing.respond_with(500)
    add_endpoint("default", failing.url)
    add_endpoint("other", healthy.url)

    started = time.monotonic()
    assert notifier_failures(batch_of(5), lambda_context) == []

    assert len(healthy.wait_for(5)) == 5
    assert max(r.received_at for r in healthy.received) - started < 1.0
    # the failing endpoint had its quick first try, and its notifications wait on its own schedule
    assert len(failing.received) >= 5
    waiting, _ = LOG.page(delivery_log.Status.RETRYING, 10, None)
    assert {record.subject.endpoint for record in waiting} == {"default"} and len(waiting) == 5


def test_a_slow_endpoint_does_not_delay_another(aws, lambda_context, two_receivers):
    slow, fast = two_receivers
    slow.respond_with(200, delay=1.0)  # within the read timeout: slow, not failing
    add_endpoint("slow", slow.url)
    add_endpoint("fast", fast.url)

    started = time.monotonic()
    assert notifier_failures(batch_of(10), lambda_context) == []

    assert all(r.received_at - started < 1.0 for r in fast.wait_for(10))
    assert len(slow.wait_for(10)) == 10


def test_a_disabled_endpoint_gets_nothing_and_is_not_caught_up_when_enabled(aws, lambda_context, two_receivers):
    off, on = two_receivers
    add_endpoint("off", off.url, enabled=False)
    add_endpoint("on", on.url)
    earlier, later = batch_of(3), batch_of(3)
    earlier["Records"], later["Records"] = earlier["Records"][:2], later["Records"][2:]

    assert notifier_failures(earlier, lambda_context) == []
    assert len(on.wait_for(2)) == 2
    assert off.wait_for(1, timeout=0.5) == []
    assert run_retries(aws, lambda_context) == []  # nothing waits for it either

    add_endpoint("off", off.url, enabled=True)
    assert notifier_failures(later, lambda_context) == []
    assert [r.text for r in off.wait_for(2, timeout=1.0)] == ["New user signed up: User 2"]


def test_an_endpoint_not_subscribed_to_signups_gets_none(aws, lambda_context, two_receivers):
    signups, operations = two_receivers
    add_endpoint("default", signups.url)
    add_endpoint("ops", operations.url, events=("delivery.failed",))

    assert notifier_failures(batch_of(2), lambda_context) == []

    assert len(signups.wait_for(2)) == 2
    assert operations.wait_for(1, timeout=0.5) == []


def test_an_unreadable_endpoint_leaves_the_record_for_the_stream_and_the_others_are_delivered(
    aws, lambda_context, two_receivers
):
    good, _ = two_receivers
    add_endpoint("good", good.url)
    aws.ssm.put_parameter(
        Name=registry.settings_names(notifier.config, "broken").document, Value="not json", Type="SecureString"
    )
    event = batch_of(1)

    assert notifier_failures(event, lambda_context) == [event["Records"][0]["dynamodb"]["SequenceNumber"]]
    assert len(good.wait_for(1)) == 1
    # once the document is fixed, the stream's retry delivers to it and not again to the other
    add_endpoint("broken", good.url)
    assert notifier_failures(event, lambda_context) == []
    assert len(good.wait_for(3, timeout=1.0)) == 2


# ---- the retry schedule, per endpoint ------------------------------------------------------------------------------


def test_each_endpoint_retries_on_its_own_schedule_with_its_current_settings(aws, lambda_context, two_receivers):
    flaky, steady = two_receivers
    flaky.respond_with(503, times=3)  # the quick first try fails; the first scheduled retry succeeds
    add_endpoint("flaky", flaky.url, format=Format.JSON)
    add_endpoint("steady", steady.url)

    assert notifier_failures(batch_of(1), lambda_context) == []
    bodies = run_retries(aws, lambda_context)

    assert [(b["endpoint"], b["event_id"]) for b in bodies] == [("flaky", "user.created:user-0#flaky")]
    assert len(steady.wait_for(2, timeout=0.3)) == 1
    delivered = flaky.wait_for(4)[-1]
    assert delivered.status == 200 and json.loads(delivered.body)["event"] == "user.created"
    assert json.loads(delivered.body)["id"] == signing.webhook_id("user.created:user-0#flaky")  # on every attempt


def test_a_retry_for_an_endpoint_disabled_meanwhile_is_skipped(aws, lambda_context, two_receivers):
    failing, _ = two_receivers
    failing.respond_with(503)
    add_endpoint("later-off", failing.url)
    assert notifier_failures(batch_of(1), lambda_context) == []
    tried = len(failing.received)

    add_endpoint("later-off", failing.url, enabled=False)
    run_retries(aws, lambda_context)

    assert len(failing.received) == tried
    record = DeliveriesTable(sandbox.DELIVERIES_TABLE_NAME).get(
        delivery_log.record_id("later-off", "user.created", "user-0")
    )
    assert record is not None and (record.status, record.last_reason) == (
        delivery_log.Status.SKIPPED,
        "endpoint_disabled",
    )


# ---- operational events --------------------------------------------------------------------------------------------


def test_an_endpoint_subscribed_to_delivery_failed_is_told_when_another_ones_notification_is_dead_lettered(
    aws, lambda_context, two_receivers, retry_config
):
    broken, operations = two_receivers
    broken.respond_with(500)
    retry_config(retry_schedule=(1.0,))  # compressed: one scheduled retry, then the dead-letter queue
    add_endpoint("default", broken.url, name="Slack")
    add_endpoint("ops", operations.url, format=Format.JSON, events=("delivery.failed",), signing_secret=SECRET)

    assert notifier_failures(batch_of(1), lambda_context) == []
    # the default endpoint's one scheduled retry fails and is dead-lettered; then the announcement to ops
    handled = run_retries(aws, lambda_context)

    assert [(b["event"], b["endpoint"]) for b in handled] == [("user.created", "default"), ("delivery.failed", "ops")]
    [letter] = aws.dead_letters()
    assert letter["endpoint"] == "default"
    [told] = operations.wait_for(1)
    Webhook(SECRET).verify(told.body, told.headers)
    envelope = json.loads(told.body)
    assert envelope["event"] == "delivery.failed"
    assert envelope["data"]["endpoint"] == {"id": "default", "name": "Slack", "target_host": "127.0.0.1"}
    assert envelope["data"]["user"] == {"id": "user-0", "name": "User 0"}
    assert envelope["data"]["reason"] == "server_error"
    assert "@" not in told.text  # never an e-mail
    # the announcement has its own log record, under the endpoint it went to
    page, _ = LOG.page(delivery_log.Status.DELIVERED, 10, None)
    assert [(r.subject.endpoint, r.subject.event) for r in page] == [("ops", "delivery.failed")]


def test_failing_and_recovered_are_told_to_the_other_endpoints_once_never_to_the_one_they_are_about(
    aws, lambda_context, two_receivers
):
    flaky, operations = two_receivers
    flaky.respond_with(503, times=6)  # both quick first tries (3 attempts each) fail, the scheduled retries succeed
    add_endpoint("default", flaky.url, events=("*",))  # subscribed to everything, yet never told of itself
    add_endpoint("ops", operations.url, format=Format.TEXT, events=("endpoint.failing", "endpoint.recovered"))

    assert notifier_failures(batch_of(2), lambda_context) == []  # two notifications fail: one transition to failing
    handled = run_retries(aws, lambda_context)

    told = [(b["event"], b["endpoint"]) for b in handled if b["event"] != "user.created"]
    assert told == [("endpoint.failing", "ops"), ("endpoint.recovered", "ops")]
    texts = [r.text for r in operations.wait_for(2)]
    assert texts[0].startswith('Webhook endpoint "Default" (127.0.0.1) is failing: server error.')
    assert texts[1].startswith('Webhook endpoint "Default" (127.0.0.1) has recovered')


def test_announcements_go_to_their_own_queue_and_the_signup_retries_stay_on_the_retry_queue(
    aws, lambda_context, two_receivers
):
    failing, operations = two_receivers
    failing.respond_with(503)
    add_endpoint("default", failing.url)
    add_endpoint("ops", operations.url, events=("endpoint.failing",))

    assert notifier_failures(batch_of(1), lambda_context) == []

    # the signup's retry is on the retry queue, the endpoint.failing it set off on the announcement queue only
    def waiting_in(variable: str) -> list[tuple[str, str]]:
        answer = aws.sqs.receive_message(  # long polling outlasts the retry's delay (the schedule's first 1 s)
            QueueUrl=sandbox.os.environ[variable], MaxNumberOfMessages=10, WaitTimeSeconds=2
        )
        return [(json.loads(m["Body"])["event"], json.loads(m["Body"])["endpoint"]) for m in answer.get("Messages", [])]

    assert waiting_in("RETRY_QUEUE_URL") == [("user.created", "default")]
    assert waiting_in("ANNOUNCEMENT_QUEUE_URL") == [("endpoint.failing", "ops")]
    assert waiting_in("RETRY_QUEUE_URL") == []  # nothing more came later (the first one is hidden now)


def test_an_announcement_that_came_early_is_hidden_on_the_announcement_queue_it_came_from(aws, lambda_context):
    # Given an operational event's scheduled retry, due in an hour, received from the announcement queue
    url = sandbox.os.environ["ANNOUNCEMENT_QUEUE_URL"]
    event = load_event("retry_due")
    body = json.loads(event["Records"][0]["body"])
    body.update(event="endpoint.failing", endpoint="ops", due_at=time.time() + 3600)
    aws.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    [message] = aws.sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]  # visible again at once
    arn = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    event["Records"][0].update(
        messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"], body=message["Body"], eventSourceARN=arn
    )

    # When the retry function gets it
    answer = retry_function.lambda_handler(event, lambda_context)

    # Then it is reported not done and stays hidden on its own queue until due (SQS refuses its receipt handle on
    # the retry queue: it would come back at once, and reach the dead-letter queue after a few receives)
    assert answer["batchItemFailures"] == [{"itemIdentifier": message["MessageId"]}]
    assert aws.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []


def test_nothing_is_announced_when_no_other_endpoint_subscribes(aws, lambda_context, receiver, without_retry_schedule):
    receiver.respond_with(404)
    add_endpoint("default", receiver.url, events=("*",))

    assert notifier_failures(batch_of(1), lambda_context) == []

    assert len(aws.dead_letters()) == 1
    assert aws.scheduled_retries() == [] and aws.announcements() == []


# ---- secret rotation -----------------------------------------------------------------------------------------------


def _rotated(until: datetime) -> dict[str, Any]:
    return {
        "format": Format.JSON,  # the reference library reads the body as JSON
        "signing_secret": SECRET,
        "previous_signing_secret": OLD_SECRET,
        "previous_secret_until": until.isoformat(),
    }


def test_during_the_overlap_both_secrets_sign_and_either_verifies(aws, lambda_context, receiver):
    add_endpoint("default", receiver.url, **_rotated(datetime.now(UTC) + timedelta(hours=1)))

    assert notifier_failures(batch_of(1), lambda_context) == []

    [request] = receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(SECRET).verify(request.body, request.headers)
    Webhook(OLD_SECRET).verify(request.body, request.headers)


def test_after_the_overlap_only_the_new_secret_signs(aws, lambda_context, receiver):
    add_endpoint("default", receiver.url, **_rotated(datetime.now(UTC) - timedelta(seconds=1)))

    assert notifier_failures(batch_of(1), lambda_context) == []

    [request] = receiver.wait_for(1)
    Webhook(SECRET).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(OLD_SECRET).verify(request.body, request.headers)


def test_the_rotated_out_secret_never_follows_a_new_origin(aws, lambda_context, two_receivers):
    first, second = two_receivers
    add_endpoint("default", first.url, **_rotated(datetime.now(UTC) + timedelta(hours=1)))
    stored = settings_store.load(registry.settings_names(notifier.config), "", max_age=0).stored

    # bound to the first receiver's origin: a delivery to another origin carries neither secret
    options, credentials = send_options.options_for(stored, second.url)
    assert options.signing_secrets == () and credentials is send_options.Credentials.WITHHELD
    options, _ = send_options.options_for(stored, first.url)
    assert options.signing_secrets == (SECRET, OLD_SECRET)
