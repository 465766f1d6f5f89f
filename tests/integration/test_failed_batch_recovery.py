"""Lambda's OnFailure records recovered with no human, in process: the stream mapping sends the record of a batch it
gave up on to the retry queue; the retry function reads the batch back from the stream and queues each new user's
notification, which it then delivers like any other retry. Only what the stream no longer has reaches the dead-letter
queue, unchanged, for the admin's redrive."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from signup_hooks.endpoints import registry
from signup_hooks.model.names import DEFAULT_ENDPOINT, USER_CREATED
from signup_hooks.sending import signing
from signup_hooks.storage import aws as aws_clients

from functions.retry import app as retry_function
from tests import sandbox
from tests.helpers import (
    filtered,
    load_event,
    notifier_failures,
    on_failure_body,
    put_settings,
    sign_up_in_process,
    stream_batch,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # signed: every request carries its webhook-id
MAX_ROUNDS = 5  # retry-function invocations per test: recovering a record, then delivering what it queued


@pytest.fixture
def stack_settings(
    aws: Any, lambda_context: Any, receiver: Any, configure: Any, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The receiver as the default endpoint (signed), and the users stream as every function's; the stream's ARN."""
    assert put_settings({"url": receiver.url, "signing_secret": SECRET}, lambda_context)[0] == 200
    arn = str(aws.dynamodb.describe_table(TableName=sandbox.TABLE_NAME)["Table"]["LatestStreamArn"])
    configure(users_stream_arn=arn)
    monkeypatch.setattr(retry_function, "config", dataclasses.replace(retry_function.config, users_stream_arn=arn))
    return arn


def give_up_on(arn: str, records: list[dict[str, Any]]) -> str:
    """What the stream mapping does with a batch it gave up on: its OnFailure record, sent to the template's
    destination (the retry queue). The body sent."""
    first, last = records[0]["dynamodb"]["SequenceNumber"], records[-1]["dynamodb"]["SequenceNumber"]
    body = on_failure_body(arn, first, last, len(records))
    boto3.client("sqs").send_message(QueueUrl=sandbox.os.environ["RETRY_QUEUE_URL"], MessageBody=body)
    return body


def run_retry_function(context: Any) -> int:
    """Feed the retry queue to the retry function as its event source mapping does, until the queue is empty (at
    most MAX_ROUNDS invocations); each message it finished is deleted. How many invocations it took."""
    sqs = boto3.client("sqs")
    queue_url = sandbox.os.environ["RETRY_QUEUE_URL"]
    template = load_event("retry_due")["Records"][0]
    for rounds in range(MAX_ROUNDS):
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages")
        if not messages:
            return rounds
        records = []
        for message in messages:
            record = copy.deepcopy(template)
            record.update(messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"], body=message["Body"])
            records.append(record)
        failed = {
            f["itemIdentifier"]
            for f in retry_function.lambda_handler({"Records": records}, context)["batchItemFailures"]
        }
        assert not failed, f"the retry function failed {len(failed)} message(s)"
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    raise AssertionError(f"the retry queue was not empty after {MAX_ROUNDS} invocations")


def copies(receiver: Any) -> dict[str, list[str]]:
    """The webhook-id of each copy every user's notification arrived with, by text."""
    found: dict[str, list[str]] = {}
    for request in receiver.wait_for(100, timeout=0.5):
        headers = {key.lower(): value for key, value in request.headers.items()}
        found.setdefault(request.text, []).append(headers["webhook-id"])
    return found


def first_try_id(user: dict[str, Any]) -> str:
    """The webhook-id of a notification's identity: what the notifier's first try sends it with."""
    key = registry.notification_key(USER_CREATED, user["id"], DEFAULT_ENDPOINT)
    return signing.webhook_id(key)


def dead_letter_bodies() -> list[str]:
    answer = boto3.client("sqs").receive_message(
        QueueUrl=sandbox.os.environ["DEAD_LETTER_QUEUE_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=0
    )
    return [message["Body"] for message in answer.get("Messages", [])]


def test_an_on_failure_record_on_the_retry_queue_delivers_each_user_of_its_batch_once(
    stack_settings, lambda_context, receiver
):
    # Given two signups whose stream batch Lambda gave up on: its OnFailure record is on the retry queue
    ada = sign_up_in_process(lambda_context, name="Ada", email="ada@example.com")
    linus = sign_up_in_process(lambda_context, name="Linus", email="linus@example.com")
    give_up_on(stack_settings, stream_batch()["Records"])
    # When the retry function consumes the queue
    run_retry_function(lambda_context)
    # Then each user arrived once, with the webhook-id a first try would have had, and nothing was dead-lettered
    assert copies(receiver) == {
        "New user signed up: Ada": [first_try_id(ada)],
        "New user signed up: Linus": [first_try_id(linus)],
    }
    assert dead_letter_bodies() == []


def test_an_on_failure_record_received_twice_sends_each_user_once(stack_settings, lambda_context, receiver):
    # Given an OnFailure record that SQS delivers twice (at least once), recovered and delivered the first time
    ada = sign_up_in_process(lambda_context, name="Ada", email="ada@example.com")
    body = give_up_on(stack_settings, stream_batch()["Records"])
    run_retry_function(lambda_context)
    # When it comes again
    boto3.client("sqs").send_message(QueueUrl=sandbox.os.environ["RETRY_QUEUE_URL"], MessageBody=body)
    run_retry_function(lambda_context)
    # Then the user was notified once
    assert copies(receiver) == {"New user signed up: Ada": [first_try_id(ada)]}


def test_a_user_the_notifier_delivered_before_the_batch_failed_is_not_sent_again(
    stack_settings, lambda_context, receiver
):
    # Given a batch of two signups where the notifier delivered the first before the batch failed
    sign_up_in_process(lambda_context, name="Ada", email="ada@example.com")
    sign_up_in_process(lambda_context, name="Linus", email="linus@example.com")
    records = stream_batch()["Records"]
    new_users = filtered({"Records": records})["Records"]
    assert notifier_failures({"Records": new_users[:1]}, lambda_context) == []
    # When Lambda's OnFailure record of the whole batch is recovered
    give_up_on(stack_settings, records)
    run_retry_function(lambda_context)
    # Then Ada is not sent again and Linus arrives once
    assert sorted(copies(receiver)) == ["New user signed up: Ada", "New user signed up: Linus"]
    assert [len(ids) for ids in copies(receiver).values()] == [1, 1]


def test_an_on_failure_record_the_stream_no_longer_has_lands_in_the_dead_letter_queue_unchanged(
    stack_settings, lambda_context, receiver
):
    # Given an OnFailure record whose records the stream trimmed (older than 24 hours)
    sign_up_in_process(lambda_context, name="Ada", email="ada@example.com")
    body = give_up_on(stack_settings, stream_batch()["Records"])

    def trimmed(**_kwargs: Any) -> tuple[AWSResponse, dict[str, Any]]:
        error = {"Error": {"Code": "TrimmedDataAccessException", "Message": "the records were trimmed"}}
        return AWSResponse("https://streams.dynamodb.us-east-1.amazonaws.com", 400, {}, None), error

    streams = aws_clients.client("dynamodbstreams")
    streams.meta.events.register("before-call.dynamodb-streams.GetShardIterator", trimmed, unique_id="trimmed")
    try:
        # When the retry function consumes the queue
        run_retry_function(lambda_context)
    finally:
        streams.meta.events.unregister("before-call.dynamodb-streams.GetShardIterator", unique_id="trimmed")
    # Then nothing was sent and the record waits in the dead-letter queue as Lambda sent it, for the admin's redrive
    assert receiver.wait_for(1, timeout=0.5) == []
    assert dead_letter_bodies() == [body]
