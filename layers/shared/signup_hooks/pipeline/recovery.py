"""Recovering a stream batch Lambda gave up on, with no human: its OnFailure record (only the stream, the shard and the
first and last sequence numbers) arrives on the retry queue, the records are read back from the stream while it keeps
them (24 hours), and each new user's notification to each endpoint receiving `user.created` is queued for the retry
function, due now, like any other retry.

Each message carries the notification's identity (registry.notification_key), the key the notifier's first try uses:
a user the notifier reached before the batch failed is found delivered and not sent again, and one it did not reach
gets the webhook-id the first try had. A record the stream no longer has, or of another stream, goes to the
dead-letter queue as it came, where the admin's redrive and the queue's alarm see it. A read that stops short raises,
so that SQS brings the record back; after the queue's maxReceiveCount it reaches the dead-letter queue the same way.
"""

from __future__ import annotations

import time

from aws_lambda_powertools import Logger

from signup_hooks.config import Config
from signup_hooks.endpoints import registry
from signup_hooks.errors import StorageUnavailable, StreamGone
from signup_hooks.model import dead_letter
from signup_hooks.model.names import USER_CREATED
from signup_hooks.model.retry_message import RetryMessage
from signup_hooks.model.user import user_from_record
from signup_hooks.storage.ports import Stores, StreamReader

logger = Logger(child=True)


def recover_batch(
    info: dead_letter.BatchInfo,
    body: str,
    config: Config,
    stores: Stores,
    read: StreamReader | None = None,
    now: float | None = None,
) -> int:
    """Queue the batch's notifications (how many), or move `body`, the OnFailure record as it came, to the
    dead-letter queue when its records cannot be read back. `read`: the stream (stores.stream unless given). Raises
    ShortRead and StorageUnavailable for SQS to bring the record back."""
    read = read or stores.stream
    if stores.retry_queue is None or read is None:
        raise StorageUnavailable("no retry queue or stream to recover a failed stream batch with")
    try:
        if not config.users_stream_arn or info.stream_arn != config.users_stream_arn:
            raise StreamGone("the OnFailure record names another stream")
        records = read(info)
    except StreamGone as exc:
        stores.dead_letters.send_raw(body)
        logger.warning(
            "a failed stream batch cannot be read back: its OnFailure record is dead-lettered",
            extra={"detail": str(exc), "start_sequence": info.start_sequence, "end_sequence": info.end_sequence},
        )
        return 0
    due = time.time() if now is None else now
    receivers = registry.receiving(stores.endpoints(), USER_CREATED)
    messages = []
    users = [user for record in records if (user := user_from_record(record)) is not None]
    for user in users:
        for endpoint in receivers:
            key = registry.notification_key(USER_CREATED, user.id, endpoint.id)
            messages.append(RetryMessage.of(user, key, due, endpoint=endpoint.id))
    stores.retry_queue.send_now(messages)
    logger.info(
        "a failed stream batch was read back and queued for delivery",
        extra={"records": len(records), "notifications": len(messages), "start_sequence": info.start_sequence},
    )
    return len(messages)
