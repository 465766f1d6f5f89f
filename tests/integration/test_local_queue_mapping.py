"""The local stack's SQS event source mapping (local/sqs_poller.py) against the suite's moto: records in Lambda's
shape, partial batch failures, a failed invocation, and the queue's redrive policy."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3

from local.esm import Invocation
from local.resolve import Resolver
from local.sqs_poller import QueueMappingSettings, QueuePoller, failed_ids, lambda_record
from local.template import load_template


def queue(name: str, redrive_to: str | None = None, receives: int = 2) -> tuple[str, str]:
    sqs = boto3.client("sqs")
    attributes = {"VisibilityTimeout": "1"}
    if redrive_to:
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": redrive_to, "maxReceiveCount": receives})
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def run(url: str, arn: str, answer: Any, seconds: float = 2.5) -> list[dict[str, Any]]:
    """Poll the queue for a while with a function that answers `answer(event)`; return the events it got."""
    events: list[dict[str, Any]] = []

    def invoke(event: dict[str, Any]) -> Invocation:
        events.append(event)
        return answer(event)

    settings = QueueMappingSettings("RetryFunction", arn, url, batch_size=10, report_batch_item_failures=True)
    poller = QueuePoller(boto3.client("sqs"), settings, invoke, lambda line: None)
    poller.start()
    time.sleep(seconds)
    poller.stop()
    return events


def left_in(url: str) -> list[str]:
    answer = boto3.client("sqs").receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2, VisibilityTimeout=30
    )
    return sorted(message["Body"] for message in answer.get("Messages", []))


def test_the_mapping_settings_come_from_the_template(aws):
    resolver = Resolver(load_template(), "signup-webhooks-local", {})
    resolver.refs["RetryQueue"] = "http://queue-url"
    resolver.attributes["RetryQueue"] = {"Arn": "arn:aws:sqs:us-east-1:123456789012:retries"}
    resolver.attributes["RetryFunction"] = {"Arn": "arn:aws:lambda:us-east-1:123456789012:function:retry"}
    settings = QueueMappingSettings.from_template(load_template(), "RetryQueueMapping", resolver)
    assert (settings.function_id, settings.queue_url, settings.batch_size) == ("RetryFunction", "http://queue-url", 10)
    assert settings.report_batch_item_failures is True and settings.maximum_concurrency == 5


def test_a_record_has_the_shape_lambda_gives_it(aws):
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": "{}",
        "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1"},
        "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "signup-retry"}},
    }
    record = lambda_record(message, "arn:aws:sqs:us-east-1:123456789012:q")
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"].endswith(":q")
    assert record["attributes"]["ApproximateReceiveCount"] == "2"
    assert record["messageAttributes"]["kind"]["stringValue"] == "signup-retry"
    assert record["md5OfBody"] == "99914b932bd37a50b983c5e7c90ae93b"


def test_only_the_reported_failures_stay_in_the_queue(aws):
    url, arn = queue("mapping-partial")
    for body in ("keep", "done-1", "done-2"):
        boto3.client("sqs").send_message(QueueUrl=url, MessageBody=body)

    def answer(event: dict[str, Any]) -> Invocation:
        failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "keep"]
        return Invocation(payload={"batchItemFailures": failures})

    events = run(url, arn, answer, seconds=0.8)
    assert sorted(r["body"] for r in events[0]["Records"]) == ["done-1", "done-2", "keep"]
    assert left_in(url) == ["keep"]


def test_a_failed_invocation_or_a_malformed_answer_leaves_the_whole_batch(aws):
    records = [{"messageId": "a"}, {"messageId": "b"}]
    assert failed_ids(records, Invocation(error="Unhandled"), True) is None
    assert failed_ids(records, Invocation(payload={"batchItemFailures": [{"itemIdentifier": "zzz"}]}), True) is None
    assert failed_ids(records, Invocation(payload={"batchItemFailures": []}), True) == set()
    assert failed_ids(records, Invocation(payload={"batchItemFailures": [{"itemIdentifier": "b"}]}), True) == {"b"}


def test_a_message_that_keeps_failing_moves_to_the_dead_letter_queue(aws):
    dead_url, dead_arn = queue("mapping-dead")
    url, arn = queue("mapping-poison", redrive_to=dead_arn, receives=2)
    boto3.client("sqs").send_message(QueueUrl=url, MessageBody="poison")
    events = run(url, arn, lambda event: Invocation(error="Unhandled"), seconds=3.5)
    assert len(events) == 2  # received twice (maxReceiveCount), then moved
    assert left_in(dead_url) == ["poison"]
