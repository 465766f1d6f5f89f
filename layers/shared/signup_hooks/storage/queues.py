"""The SQS queues: the retry queue and the announcement queue (`RetryQueue`: retry_messages.RetryMessage, each due at
a time; the retry queue also gets Lambda's OnFailure records of the stream mapping) and the dead-letter queue
(deadletter.DeadLetter, and OnFailure records that could not be read back; the admin redrive reads it back). Each call
turns botocore's errors into StorageUnavailable, except where a failure is harmless and only logged (a delete or a
release after a redrive).
"""

from __future__ import annotations

import concurrent.futures
import math
import time
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from signup_hooks.errors import StorageUnavailable
from signup_hooks.model.dead_letter import MESSAGE_KIND as DEAD_LETTER_KIND
from signup_hooks.model.dead_letter import DeadLetter
from signup_hooks.model.retry_message import MESSAGE_KIND as RETRY_KIND
from signup_hooks.model.retry_message import RetryMessage
from signup_hooks.model.schedule import MAX_DELAY_SECONDS, SQS_MAX_DELAY_SECONDS
from signup_hooks.storage import aws

logger = Logger(child=True)

SEND_THREADS = 8  # SendMessageBatch calls at once: boto3 clients are thread-safe, each call waits on the network
VISIBILITY_SECONDS = 120  # a message being replayed is hidden from other readers (longer than the admin timeout)


def approximate_count(queue_url: str) -> int:
    """Messages waiting in a queue, visible or not (an approximation, as SQS gives it)."""
    try:
        attributes: dict[str, Any] = aws.client("sqs").get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailable(f"the queue could not be read: {type(exc).__name__}") from exc
    return sum(int(value) for value in attributes.values())


class RetryQueue:
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def send(self, message: RetryMessage, now: float | None = None) -> None:
        """Queue the message, delayed until it is due (or for SQS's longest delay, when it is due later)."""
        wait = max(0.0, message.due_at - (time.time() if now is None else now))
        try:
            aws.client("sqs").send_message(
                QueueUrl=self.queue_url,
                MessageBody=message.to_json(),
                DelaySeconds=math.ceil(min(wait, SQS_MAX_DELAY_SECONDS)),  # never early: SQS counts whole seconds
                MessageAttributes={"kind": {"DataType": "String", "StringValue": RETRY_KIND}},
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"the retry queue refused the message: {type(exc).__name__}") from exc

    def send_now(self, messages: list[RetryMessage]) -> int:
        """Queue messages due now, ten per call and up to SEND_THREADS calls at once (a replay's thousands fit in
        the admin function's time). Returns how many SQS took; raises when a call fails, after the others end."""
        client = aws.client("sqs")
        chunks = [messages[start : start + 10] for start in range(0, len(messages), 10)]

        def send(chunk: list[RetryMessage]) -> int:
            entries = [{"Id": str(index), "MessageBody": message.to_json()} for index, message in enumerate(chunk)]
            try:
                answer = client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise StorageUnavailable(f"the retry queue refused the messages: {type(exc).__name__}") from exc
            if answer.get("Failed"):
                raise StorageUnavailable(f"the retry queue refused {len(answer['Failed'])} message(s) of a batch")
            return len(answer.get("Successful", []))

        if len(chunks) <= 1:
            return sum(send(chunk) for chunk in chunks)
        with concurrent.futures.ThreadPoolExecutor(min(SEND_THREADS, len(chunks)), "send-now") as pool:
            return sum(pool.map(send, chunks))

    def hold(self, receipt: str, seconds: float) -> None:
        """Hide a message that came early until it is due."""
        try:
            aws.client("sqs").change_message_visibility(
                QueueUrl=self.queue_url,
                ReceiptHandle=receipt,
                VisibilityTimeout=int(max(1, min(seconds, MAX_DELAY_SECONDS))),
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"the retry queue refused a visibility change: {type(exc).__name__}") from exc


class DeadLetterQueue:
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def send(self, letter: DeadLetter) -> None:
        try:
            aws.client("sqs").send_message(
                QueueUrl=self.queue_url,
                MessageBody=letter.to_json(),
                MessageAttributes={"kind": {"DataType": "String", "StringValue": DEAD_LETTER_KIND}},
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"the dead-letter queue refused the message: {type(exc).__name__}") from exc

    def send_raw(self, body: str) -> None:
        """Queue a message as it came (a Lambda OnFailure record that could not be read back), for the admin's redrive
        and the queue's alarm."""
        try:
            aws.client("sqs").send_message(QueueUrl=self.queue_url, MessageBody=body)
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"the dead-letter queue refused the message: {type(exc).__name__}") from exc

    def receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        """Up to `count` messages (Body, ReceiptHandle, ...), hidden from other readers for VISIBILITY_SECONDS.

        Long polling: SQS asks every server for messages. A short poll asks some of them, so it can answer empty
        while messages wait, and the redrive would end early."""
        try:
            response = aws.client("sqs").receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=count,
                VisibilityTimeout=VISIBILITY_SECONDS,
                WaitTimeSeconds=wait_seconds,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"the dead-letter queue could not be read: {type(exc).__name__}") from exc
        return list(response.get("Messages", []))

    def delete(self, receipt: str) -> None:
        try:
            aws.client("sqs").delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)
        except (ClientError, BotoCoreError) as exc:
            # Delivered but still queued: the next redrive finds it delivered already and deletes it then.
            logger.warning("a replayed message could not be deleted", extra={"error": type(exc).__name__})

    def release(self, receipts: list[str]) -> None:
        """Make messages visible again now (those a redrive read and could not deliver)."""
        for receipt in receipts:
            try:
                aws.client("sqs").change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=receipt, VisibilityTimeout=0
                )
            except (ClientError, BotoCoreError) as exc:  # it becomes visible anyway when its visibility timeout ends
                logger.warning("a message could not be released", extra={"error": type(exc).__name__})
