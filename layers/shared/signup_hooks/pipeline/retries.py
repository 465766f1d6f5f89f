"""The retry consumer: one scheduled attempt per retry-queue message, with the current URL and settings.

A message that arrives before it is due (a wait longer than SQS's 15-minute delay) is hidden until then and
reported as not done. A due one is dispatched (dispatch.py, trigger `schedule`, or `replay` for an administrator's
replay): one attempt, exactly once under the notification's identity (a resend or a replay that delivered meanwhile
makes it a no-op), then settled: delivered, the next retry, or the dead-letter queue when the schedule is used up.
Lambda's OnFailure record of a stream batch it gave up on arrives here too and is recovered (recovery.py).
"""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from signup_hooks.config import Config
from signup_hooks.errors import SignupHooksError
from signup_hooks.log_context import log_keys
from signup_hooks.model import retry_message
from signup_hooks.model.dead_letter import BatchInfo
from signup_hooks.model.dead_letter import parse as parse_dead_letter
from signup_hooks.model.delivery_log import Trigger
from signup_hooks.model.retry_message import RetryMessage
from signup_hooks.pipeline import dispatch
from signup_hooks.pipeline.dispatch import Skipped
from signup_hooks.pipeline.limits import DELIVERY_DEADLINE_MARGIN_SECONDS
from signup_hooks.pipeline.outcome import Outcome
from signup_hooks.pipeline.recovery import recover_batch
from signup_hooks.sending import backoff, http
from signup_hooks.storage.ports import Stores

logger = Logger(child=True)

EARLY_TOLERANCE_SECONDS = 1.0  # SQS delays are whole seconds


class NotDue(SignupHooksError):
    """The message came before its time; it was hidden until then and comes back."""


class Unreadable(SignupHooksError):
    """Not a retry message of ours: left for the queue's redrive policy to move to the dead-letter queue."""


def process_batch(
    records: list[dict[str, Any]], config: Config, stores: Stores, queue: RetryHold, context: LambdaContext
) -> dict[str, BaseException | None]:
    """Each message's error (None: done), by message id, for the batch processor to report."""
    deadline = backoff.Deadline(context.get_remaining_time_in_millis() / 1000, DELIVERY_DEADLINE_MARGIN_SECONDS)
    parsed = [SQSRecord(raw) for raw in records]
    workers = max(1, min(http.POOL_CONNECTIONS, len(parsed)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="retry") as pool:
        futures = {
            record.message_id: pool.submit(_one, record, config, stores, queue, deadline, context) for record in parsed
        }
    return {message_id: future.exception() for message_id, future in futures.items()}


class RetryHold(Protocol):
    """Hides a message that came early until it is due (storage/queues.RetryQueue)."""

    def hold(self, receipt: str, seconds: float) -> None: ...


def _one(
    record: SQSRecord,
    config: Config,
    stores: Stores,
    queue: RetryHold,
    deadline: backoff.Deadline,
    context: LambdaContext,
) -> None:
    message = retry_message.parse(record.body)
    if message is None:
        failed_batch = parse_dead_letter(record.body)  # Lambda's OnFailure record of the stream mapping
        if isinstance(failed_batch, BatchInfo):
            recover_batch(failed_batch, record.body, config, stores)
            return
        logger.warning("ignored a message that is not a scheduled retry", extra={"message_id": record.message_id})
        raise Unreadable("not a retry message")
    with log_keys(
        correlation_id=message.event_id, event_id=message.event_id, user_id=message.user_id, endpoint=message.endpoint
    ):
        wait = message.due_at - time.time()
        if wait > EARLY_TOLERANCE_SECONDS:
            queue.hold(record.receipt_handle, wait)
            raise NotDue(f"due in {wait:.0f}s")
        try:
            retry_one(message, config, stores, deadline, context)
        except Exception as exc:
            detail = str(exc) if isinstance(exc, SignupHooksError) else ""
            logger.warning("scheduled retry left in the queue", extra={"error": type(exc).__name__, "detail": detail})
            raise


def retry_one(
    message: RetryMessage, config: Config, stores: Stores, deadline: backoff.Deadline, context: LambdaContext
) -> Outcome | None:
    """One attempt of the notification the message names (dispatch.py, trigger `schedule` or `replay`), to the URL
    its endpoint has now; None when that endpoint has no URL any more, was deleted, disabled or unsubscribed from
    the event (logged as skipped: re-enabling it does not bring back what it missed)."""
    try:
        notification = dispatch.Notification.of_message(message)
    except ValueError as exc:
        raise Unreadable(f"not a valid {message.event} event: {exc}") from None
    trigger = Trigger.REPLAY if message.replay else Trigger.SCHEDULE
    request = dispatch.Request(notification, trigger, message.retries_done, message.first_attempt_at)
    outcome = dispatch.dispatch(request, config, stores, deadline, context)
    return None if isinstance(outcome, Skipped) else outcome
