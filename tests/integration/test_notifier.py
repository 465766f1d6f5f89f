"""The notifier: stream batch in, one webhook per new user out, failures to the dead-letter queue."""

from __future__ import annotations

import json

import pytest

from functions.notifier import app as notifier
from tests.helpers import closed_port_url, load_event, notifier_failures

# The quick first try and the dead-letter queue, without the retry schedule (test_retry_schedule.py has it).
pytestmark = pytest.mark.usefixtures("without_retry_schedule")

SPANISH_EXAMPLE = "Nuevo usuario registrado: Tim"


def test_new_user_is_posted_as_the_default_text(aws, lambda_context, receiver, configure):
    # Given the webhook URL in the environment
    configure(webhook_url_env=receiver.url)
    # When the sample batch with one new user arrives
    failures = notifier_failures(load_event("notifier_new_user"), lambda_context)
    # Then the receiver gets the default plain-text message
    assert failures == []
    [request] = receiver.wait_for(1)
    assert request.text == "New user signed up: Tim"
    assert request.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert aws.dead_letters() == []


def test_a_spanish_template_is_rendered_exactly(aws, lambda_context, receiver, configure):
    configure(webhook_url_env=receiver.url, message_template="Nuevo usuario registrado: {name}")
    notifier_failures(load_event("notifier_new_user"), lambda_context)
    assert receiver.wait_for(1)[0].body == SPANISH_EXAMPLE.encode("utf-8")


def test_the_parameter_wins_over_the_environment(aws, lambda_context, receiver, configure):
    configure(webhook_url_env="http://127.0.0.1:9/never-used")
    aws.ssm.put_parameter(
        Name=notifier.config.webhook_url_parameter, Value=receiver.url, Type="SecureString", Overwrite=True
    )
    assert notifier_failures(load_event("notifier_new_user"), lambda_context) == []
    assert len(receiver.wait_for(1)) == 1


def test_unconfigured_webhook_sends_nothing_and_says_so(aws, lambda_context, receiver, logs):
    # Given neither the parameter nor WEBHOOK_URL
    # When a new user arrives
    failures = notifier_failures(load_event("notifier_new_user"), lambda_context)
    # Then nothing is sent, nothing fails, and a log line says why
    assert failures == []
    assert receiver.received == []
    assert "webhook not configured" in logs.getvalue()


def test_records_the_filter_drops_are_skipped_without_sending(aws, lambda_context, receiver, configure):
    configure(webhook_url_env=receiver.url)
    assert notifier_failures(load_event("notifier_filtered_out"), lambda_context) == []
    assert receiver.wait_for(1, timeout=0.3) == []


def test_a_500_answer_is_dead_lettered_with_a_replayable_message(aws, lambda_context, receiver, configure):
    # Given a receiver that fails
    receiver.respond_with(500)
    configure(webhook_url_env=receiver.url + "/T000/SECRETPATH")
    event = load_event("notifier_new_user")
    # When the batch is handled
    failures = notifier_failures(event, lambda_context)
    # Then the record is not retried by the stream: it is safe in the dead-letter queue
    assert failures == []
    [letter] = aws.dead_letters()
    record = event["Records"][0]
    assert letter["kind"] == "signup-notification"
    # Its key is the notification's identity: the signup of this user, to the default endpoint
    assert letter["event_id"] == "user.created:" + record["dynamodb"]["NewImage"]["id"]["S"]
    assert letter["user"]["id"] == record["dynamodb"]["NewImage"]["id"]["S"]
    assert letter["user"]["name"] == "Tim"
    assert letter["message"] == "New user signed up: Tim"
    assert letter["target"] == {"scheme": "http", "host": "127.0.0.1"}
    assert letter["reason"] == "server_error"
    assert letter["http_status"] == 500
    assert letter["failed_at"]
    # And it carries no secret: no URL path, no email, no credential
    assert "SECRETPATH" not in json.dumps(letter)
    assert "tim@example.com" not in json.dumps(letter)


@pytest.mark.parametrize(("status", "reason"), [(404, "not_found"), (401, "auth_rejected"), (429, "rate_limited")])
def test_http_failures_are_named(aws, lambda_context, receiver, configure, status, reason):
    receiver.respond_with(status)
    configure(webhook_url_env=receiver.url)
    notifier_failures(load_event("notifier_new_user"), lambda_context)
    assert aws.dead_letters()[0]["reason"] == reason


def test_a_closed_port_is_dead_lettered_as_connection_refused(aws, lambda_context, configure):
    configure(webhook_url_env=closed_port_url())
    assert notifier_failures(load_event("notifier_new_user"), lambda_context) == []
    [letter] = aws.dead_letters()
    assert letter["reason"] == "connection_refused"
    assert letter["http_status"] is None


def test_a_hanging_receiver_is_cut_off_by_the_read_timeout(aws, lambda_context, receiver, configure):
    receiver.respond_with(200, delay=2.0)
    configure(webhook_url_env=receiver.url, read_timeout=0.3)
    assert notifier_failures(load_event("notifier_new_user"), lambda_context) == []
    assert aws.dead_letters()[0]["reason"] == "read_timeout"


def test_a_redirect_is_not_followed(aws, lambda_context, receiver, configure):
    receiver.respond_with(302)
    configure(webhook_url_env=receiver.url)
    notifier_failures(load_event("notifier_new_user"), lambda_context)
    assert len(receiver.received) == 1
    assert aws.dead_letters()[0]["reason"] == "redirect"


def test_an_invalid_url_from_the_environment_is_dead_lettered(aws, lambda_context, configure):
    configure(webhook_url_env="not a url")
    assert notifier_failures(load_event("notifier_new_user"), lambda_context) == []
    assert aws.dead_letters()[0]["reason"] == "invalid_url"


def test_when_the_dead_letter_send_fails_the_record_is_retried_by_the_stream(aws, lambda_context, configure):
    # Given a dead receiver and a dead-letter queue that does not exist
    configure(webhook_url_env=closed_port_url(), dead_letter_queue_url=notifier.config.dead_letter_queue_url + "-gone")
    event = load_event("notifier_new_user")
    # When the batch is handled
    failures = notifier_failures(event, lambda_context)
    # Then the record is reported as a batch item failure, so the stream retries it: nothing is dropped
    assert failures == [event["Records"][0]["dynamodb"]["SequenceNumber"]]


def test_too_little_time_left_fails_the_record_for_a_retry_without_sending(aws, lambda_context, receiver, configure):
    configure(webhook_url_env=receiver.url)
    lambda_context.remaining_ms = 1500
    event = load_event("notifier_new_user")
    assert notifier_failures(event, lambda_context) == [event["Records"][0]["dynamodb"]["SequenceNumber"]]
    assert receiver.received == []


def test_a_failed_record_is_retried_alone_and_the_rest_of_the_batch_is_not_sent_twice(
    aws, lambda_context, receiver, configure
):
    # The batch does not stop at a failure: with an idempotency record per event, every record is attempted at once
    # and only the failed one is reported. The stream's retry, which resends the batch from the failed record on,
    # never delivers a user twice.
    # Given a batch of two new users, a receiver that fails the first one for good and a dead-letter queue that is gone
    configure(
        webhook_url_env=receiver.url,
        dead_letter_queue_url=notifier.config.dead_letter_queue_url + "-gone",
        max_attempts=1,
    )
    event = load_event("notifier_new_user")
    second = json.loads(json.dumps(event["Records"][0]))
    second["eventID"] = "second-event"
    second["dynamodb"]["SequenceNumber"] = "100000000000000000009"
    second["dynamodb"]["NewImage"]["name"]["S"] = "Ada"
    second["dynamodb"]["NewImage"]["id"]["S"] = "second-user"
    event["Records"].append(second)
    receiver.respond_with(500, times=1)
    # When it is handled
    failures = notifier_failures(event, lambda_context)
    # Then only the record that failed (whichever reached the receiver first) is reported; the other was delivered
    assert len(failures) == 1
    failed = next(r for r in event["Records"] if r["dynamodb"]["SequenceNumber"] == failures[0])
    failed_text = "New user signed up: " + failed["dynamodb"]["NewImage"]["name"]["S"]
    assert sorted(r.text for r in receiver.wait_for(2)) == ["New user signed up: Ada", "New user signed up: Tim"]
    # And the retry (the whole batch again) sends the failed one only: the delivered one is not sent twice
    assert notifier_failures(event, lambda_context) == []
    texts = [r.text for r in receiver.wait_for(4, timeout=0.5)]
    assert len(texts) == 3
    assert texts[2] == failed_text


def test_every_record_of_a_healthy_batch_is_delivered(aws, lambda_context, receiver, configure):
    configure(webhook_url_env=receiver.url)
    event = load_event("notifier_new_user")
    for index in range(1, 4):
        extra = json.loads(json.dumps(event["Records"][0]))
        extra["eventID"] = f"event-{index}"
        extra["dynamodb"]["NewImage"]["name"]["S"] = f"User {index}"
        extra["dynamodb"]["NewImage"]["id"]["S"] = f"user-{index}"
        extra["dynamodb"]["SequenceNumber"] = f"10000000000000000001{index}"
        event["Records"].append(extra)
    assert notifier_failures(event, lambda_context) == []
    # Delivered concurrently: every one arrives, in any order
    bodies = sorted(request.text for request in receiver.wait_for(4))
    assert bodies == sorted(["New user signed up: Tim"] + [f"New user signed up: User {i}" for i in range(1, 4)])


def test_logs_name_the_host_but_never_the_full_url_or_email(aws, lambda_context, receiver, configure, logs):
    receiver.respond_with(500)
    configure(webhook_url_env=receiver.url + "/T000/SECRETPATH")
    notifier_failures(load_event("notifier_new_user"), lambda_context)
    output = logs.getvalue()
    assert "webhook delivery failed" in output
    assert '"target_host":"127.0.0.1"' in output
    assert "SECRETPATH" not in output
    assert "tim@example.com" not in output
