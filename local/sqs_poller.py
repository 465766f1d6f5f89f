"""Lambda's event source mapping for an SQS queue, on a background thread.

What it does, as Lambda documents it for SQS:
- Receives up to BatchSize messages (long polling), waiting up to MaximumBatchingWindowInSeconds for a batch to fill.
- Each received message stays invisible for the queue's VisibilityTimeout (or what the function sets meanwhile).
- The function succeeds: every message is deleted, except those named in a ReportBatchItemFailures answer
  (`{"batchItemFailures": [{"itemIdentifier": <messageId>}]}`), which come back when their visibility timeout ends.
  A malformed answer, or an error, leaves the whole batch in the queue.
- The queue's redrive policy (maxReceiveCount) moves a message that keeps coming back to its dead-letter queue:
  moto does that itself on receive, as SQS does.
- ScalingConfig.MaximumConcurrency: at most that many invocations of this mapping at once, each batch received only
  when a slot is free; a function with two mappings has each one's bound, so one queue's flood never takes the
  other's invocations. Without it, one at a time locally.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.esm import Invocation
from local.resolve import REGION, Resolver
from local.template import resource

WAIT_SECONDS = 1  # long polling: an idle queue costs one call a second


@dataclass(frozen=True)
class QueueMappingSettings:
    function_id: str
    queue_arn: str
    queue_url: str
    batch_size: int = 10
    batching_window: float = 0.0
    report_batch_item_failures: bool = False
    maximum_concurrency: int = 1

    @classmethod
    def from_template(cls, template: dict[str, Any], mapping_id: str, resolver: Resolver) -> QueueMappingSettings:
        raw = resource(template, mapping_id)["Properties"]
        props = resolver.resolve(raw)
        queue_id = raw["EventSourceArn"]["Fn::GetAtt"][0]  # the template names its own queue with !GetAtt
        return cls(
            function_id=raw["FunctionName"]["Ref"],
            queue_arn=props["EventSourceArn"],
            queue_url=resolver.refs[queue_id],
            batch_size=int(props.get("BatchSize", 10)),
            batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
            report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
            maximum_concurrency=int(props.get("ScalingConfig", {}).get("MaximumConcurrency", 1)),
        )


def lambda_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A ReceiveMessage message as Lambda puts it in the event."""
    attributes = {
        name: str(message.get("Attributes", {}).get(name, ""))
        for name in ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp")
    }
    message_attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType", "String"),
        }
        for name, value in message.get("MessageAttributes", {}).items()
    }
    body = message.get("Body", "")
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def failed_ids(records: list[dict[str, Any]], invocation: Invocation, report_failures: bool) -> set[str] | None:
    """The message ids to leave in the queue; None: all of them (an error or a malformed answer)."""
    if invocation.error:
        return None
    payload = invocation.payload
    if not report_failures or not isinstance(payload, dict) or not payload.get("batchItemFailures"):
        return set()
    known = {record["messageId"] for record in records}
    failed = set()
    for failure in payload["batchItemFailures"]:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in known:
            return None
        failed.add(identifier)
    return failed


class QueuePoller:
    def __init__(
        self,
        sqs: Any,
        settings: QueueMappingSettings,
        invoke: Callable[[dict[str, Any]], Invocation],
        log: Callable[[str], None],
    ) -> None:
        self._sqs = sqs
        self._settings = settings
        self._invoke = invoke
        self._log = log
        self._stop = threading.Event()
        self._slots = threading.BoundedSemaphore(max(1, settings.maximum_concurrency))
        self._batches: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._run, name=f"sqs-poller-{settings.function_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=WAIT_SECONDS + 2)
        for batch in self._batches:
            batch.join(timeout=WAIT_SECONDS + 2)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=WAIT_SECONDS):  # every slot busy: receive nothing until one is free
                continue
            try:
                messages = self._receive()
            except Exception as exc:  # a poller that dies silently would strand the queue: say it, go on
                self._slots.release()
                if self._stop.is_set():
                    return
                self._log(f"queue read failed, retrying: {type(exc).__name__}: {exc}")
                self._stop.wait(1)
                continue
            if not messages:
                self._slots.release()
                continue
            batch = threading.Thread(target=self._batch, args=(messages,), name=self._thread.name, daemon=True)
            self._batches = [running for running in self._batches if running.is_alive()] + [batch]
            batch.start()

    def _batch(self, messages: list[dict[str, Any]]) -> None:
        """One invocation in one slot of the mapping's concurrency."""
        try:
            self._process(messages)
        except Exception as exc:  # the messages come back after their visibility timeout
            self._log(f"a batch failed: {type(exc).__name__}: {exc}")
        finally:
            self._slots.release()

    def _receive(self) -> list[dict[str, Any]]:
        settings = self._settings
        messages: list[dict[str, Any]] = []
        window_ends = time.monotonic() + settings.batching_window
        while len(messages) < settings.batch_size and not self._stop.is_set():
            answer = self._sqs.receive_message(
                QueueUrl=settings.queue_url,
                MaxNumberOfMessages=min(10, settings.batch_size - len(messages)),
                WaitTimeSeconds=0 if messages else WAIT_SECONDS,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = answer.get("Messages", [])
            messages.extend(received)
            if not received and (not messages or time.monotonic() >= window_ends):
                break
            if time.monotonic() >= window_ends:
                break
        return messages

    def _process(self, messages: list[dict[str, Any]]) -> None:
        settings = self._settings
        records = [lambda_record(message, settings.queue_arn) for message in messages]
        self._log(f"{settings.function_id} <- {len(records)} message(s)")
        invocation = self._invoke({"Records": records})
        keep = failed_ids(records, invocation, settings.report_batch_item_failures)
        if keep is None:
            self._log(f"{settings.function_id} failed the batch: its messages return after their visibility timeout")
            return
        for record in records:
            if record["messageId"] not in keep:
                self._sqs.delete_message(QueueUrl=settings.queue_url, ReceiptHandle=record["receiptHandle"])
