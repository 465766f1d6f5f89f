"""The retry consumer: one scheduled attempt per retry-queue message, with the current URL and settings.

A message that arrives before it is due (a wait longer than SQS's 15-minute delay) is hidden until then and
reported as not done. A due one gets one attempt, exactly once across the schedule (the same idempotency record and
webhook-id as the stream's first try, so a resend or a replay that delivered meanwhile makes it a no-op), then is
settled (settle.py): delivered, the next retry, or the dead-letter queue when the schedule is used up.
"""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from signup_hooks import deliveries, endpoints, events, metrics, retry, retry_messages, settle, signing
from signup_hooks.config import Config
from signup_hooks.deadletter import BatchInfo
from signup_hooks.deadletter import parse as parse_dead_letter
from signup_hooks.errors import SignupHooksError
from signup_hooks.exactly_once import deliver_exactly_once
from signup_hooks.log_context import log_keys
from signup_hooks.prepare import prepare
from signup_hooks.recovery import recover_batch
from signup_hooks.results import Reason
from signup_hooks.retry_messages import RetryMessage
from signup_hooks.send_options import Effective
from signup_hooks.settle import Outcome
from signup_hooks.stores import Stores
from signup_hooks.stream_batch import DEADLINE_MARGIN_SECONDS, MAX_CONCURRENT_DELIVERIES
from signup_hooks.users import User

logger = Logger(child=True)

ONE_ATTEMPT = retry.RetryPolicy(max_attempts=1)  # one attempt per message: the schedule spaces the attempts
EARLY_TOLERANCE_SECONDS = 1.0  # SQS delays are whole seconds
# Why a retry sends nothing, beside results.Reason.NOT_CONFIGURED: its endpoint changed meanwhile.
ENDPOINT_DISABLED = "endpoint_disabled"
ENDPOINT_DELETED = "endpoint_deleted"
ENDPOINT_UNSUBSCRIBED = "endpoint_unsubscribed"  # it no longer receives the event


class NotDue(SignupHooksError):
    """The message came before its time; it was hidden until then and comes back."""


class Unreadable(SignupHooksError):
    """Not a retry message of ours: left for the queue's redrive policy to move to the dead-letter queue."""


def process_batch(
    records: list[dict[str, Any]], config: Config, stores: Stores, queue: RetryHold, context: LambdaContext
) -> dict[str, BaseException | None]:
    """Each message's error (None: done), by message id, for the batch processor to report."""
    deadline = retry.Deadline(context.get_remaining_time_in_millis() / 1000, DEADLINE_MARGIN_SECONDS)
    parsed = [SQSRecord(raw) for raw in records]
    workers = max(1, min(MAX_CONCURRENT_DELIVERIES, len(parsed)))
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
    deadline: retry.Deadline,
    context: LambdaContext,
) -> None:
    message = retry_messages.parse(record.body)
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
    message: RetryMessage, config: Config, stores: Stores, deadline: retry.Deadline, context: LambdaContext
) -> Outcome | None:
    """One attempt to the URL the message's endpoint has now. None when that endpoint has no URL any more, was
    deleted, disabled or unsubscribed from the event (logged as skipped: re-enabling it does not bring back what it
    missed)."""
    announced = _operational_event(message)
    user = _user_of(message) if announced else stores.users.get(message.user_id) or _user_of(message)
    endpoint = endpoints.find(stores.endpoints(), message.endpoint)
    if endpoint is not None and endpoint.problem is not None:
        raise endpoint.unavailable()
    current = endpoint.effective() if endpoint is not None else None
    why = _why_skipped(endpoint, current, message.event)
    if endpoint is None or current is None or current.target.url is None or why is not None:
        logger.info("scheduled retry skipped", extra={"reason": why, "endpoint": message.endpoint})
        subject = deliveries.Subject(
            user.id,
            user.name,
            message.event_id,
            signing.webhook_id(message.event_id),
            endpoint=message.endpoint,
            event=message.event,
        )
        settle.skipped(stores.log, subject, why or str(Reason.NOT_CONFIGURED))
        return None
    # The credentials come only for the origin they were saved for.
    prepared = prepare(
        current.target.url,
        user,
        message.event_id,
        config,
        current.options,
        deadline,
        endpoint=endpoint.id,
        operational=announced,
    )
    trigger = deliveries.Trigger.REPLAY if message.replay else deliveries.Trigger.SCHEDULE
    after = settle.Next(
        retries_done=message.retries_done + (0 if message.replay else 1),
        first_attempt_at=message.first_attempt_at,
        trigger=trigger,
    )
    outcome = deliver_exactly_once(prepared, config, stores, deadline, context, after, policy=ONE_ATTEMPT)
    if outcome.delivered and not outcome.already_delivered and not message.replay:
        metrics.count(metrics.RECOVERED)
    return outcome


def _operational_event(message: RetryMessage) -> events.OperationalEvent | None:
    """The operational event a message carries (None for a signup's), or Unreadable when it is malformed."""
    if message.event == events.USER_CREATED:
        return None
    try:
        return events.OperationalEvent.from_dict(message.details)
    except ValueError as exc:
        raise Unreadable(f"not a valid {message.event} event: {exc}") from None


def _why_skipped(endpoint: endpoints.Endpoint | None, current: Effective | None, event: str) -> str | None:
    """Why a retry sends nothing now, or None when it may send."""
    if endpoint is None:
        return ENDPOINT_DELETED
    if not endpoint.stored.enabled:
        return ENDPOINT_DISABLED
    if not endpoint.receives(event):
        return ENDPOINT_UNSUBSCRIBED
    if current is None or current.target.url is None:
        return str(Reason.NOT_CONFIGURED)
    return None


def _user_of(message: RetryMessage) -> User:
    """The user as the message knows it, when the profile is gone (no e-mail: the queue never holds one)."""
    return User(
        id=message.user_id,
        name=message.user_name,
        email="",
        role=message.user_role,
        created_at=message.user_created_at,
        profile_image_url="",
    )
