"""DynamoDB stream consumer: one webhook notification per new user, exactly once, failures to the dead-letter queue."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext
from signup_hooks import metrics
from signup_hooks.config import load_config
from signup_hooks.pipeline import stream_batch
from signup_hooks.storage.wiring import stores_for

logger = Logger()
config = load_config().require("dead_letter_queue_url", "idempotency_table")
# A batch whose every record failed is still a partial response: the stream retries from the first failure.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The deliveries run concurrently first; the batch processor then reports each record's own outcome.
    records = event.get("Records") or []
    outcomes = stream_batch.deliver_stream_batch(records, config, stores_for(config), context)
    return process_partial_response(event=event, record_handler=outcomes.check, processor=processor, context=context)
