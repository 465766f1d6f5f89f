"""DynamoDB stream consumer: one webhook notification per new user, failures to the dead-letter queue."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from signup_hooks import notifications, users
from signup_hooks.config import load_config
from signup_hooks.users import User

logger = Logger()
config = load_config().require("dead_letter_queue_url")
# A batch whose every record failed is still a partial response: the stream retries from the first failure.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def record_handler(record: DynamoDBRecord, lambda_context: LambdaContext) -> None:
    if processor.fail_messages:
        # The stream retries from the first failed record; delivering later ones now would send them twice.
        raise notifications.NotAttempted("an earlier record of this batch failed")
    image = record.dynamodb.new_image if record.dynamodb else None
    if not image:
        raise ValueError("stream record has no new image: check the table's StreamViewType")
    if record.event_name != DynamoDBRecordEventName.INSERT or not users.is_profile(image):
        # The mapping's filter keeps these out; if it is ever missing, skip them rather than fail or leak.
        logger.warning("skipped a stream record that is not a new user", extra={"event_id": record.event_id})
        return
    user = User.from_item(image)
    with logger.append_context_keys(event_id=record.event_id, user_id=user.id):
        seconds_left = lambda_context.get_remaining_time_in_millis() / 1000
        notifications.notify_new_user(user, record.event_id or "", config, seconds_left)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
