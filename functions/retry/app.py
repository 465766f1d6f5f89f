"""Retry-queue consumer: one scheduled attempt per due notification, then the next retry or the dead-letter queue.

Two mappings invoke it: the retry queue's and the announcement queue's (operational events). A batch comes from one
of them, and a message that came early is hidden on the queue it came from: SQS refuses a receipt handle of another
queue."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from signup_hooks import metrics
from signup_hooks.config import load_config
from signup_hooks.pipeline import retries
from signup_hooks.storage.queues import RetryQueue
from signup_hooks.storage.wiring import stores_for

logger = Logger()
config = load_config().require("retry_queue_url", "dead_letter_queue_url", "idempotency_table", "users_table")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The attempts run concurrently first; the batch processor then reports each message's own outcome.
    records = event.get("Records") or []
    errors = retries.process_batch(records, config, stores_for(config), _source_queue(records), context)

    def check(record: SQSRecord) -> None:
        error = errors.get(record.message_id)
        if error is not None:
            raise error

    return process_partial_response(event=event, record_handler=check, processor=processor, context=context)


def _source_queue(records: list[dict[str, Any]]) -> RetryQueue:
    """The queue the batch came from, by its records' eventSourceARN (the ARN ends with the queue's name, as its URL
    does)."""
    source = str(records[0].get("eventSourceARN", "")) if records else ""
    announcements = config.announcement_queue_url
    if announcements and source.rsplit(":", 1)[-1] == announcements.rsplit("/", 1)[-1]:
        return RetryQueue(announcements)
    return RetryQueue(config.retry_queue_url)
