"""Retry-queue consumer: one scheduled attempt per due notification, then the next retry or the dead-letter queue."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from signup_hooks import metrics, retries
from signup_hooks.config import load_config
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
    errors = retries.process_batch(records, config, stores_for(config), RetryQueue(config.retry_queue_url), context)

    def check(record: SQSRecord) -> None:
        error = errors.get(record.message_id)
        if error is not None:
            raise error

    return process_partial_response(event=event, record_handler=check, processor=processor, context=context)
