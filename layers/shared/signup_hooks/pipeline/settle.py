"""What follows a notification's attempts: the retry schedule or the dead-letter queue, the delivery log, the health.

- Delivered: the record says so; the endpoint is healthy.
- Failed for a reason the receiver can get over (backoff.is_retryable), with schedule left: a message on the retry
  queue, due after the schedule's next wait (or the receiver's longer Retry-After). The stream is not held.
- Failed for good, or the schedule is used up: the dead-letter queue, with every attempt the log holds. So is every
  failure of a function given no retry queue (RETRY_QUEUE_URL empty): the quick first try is then all there is.
- Answered 410 Gone: failed for good, and the endpoint is disabled (nothing is ever disabled otherwise).

The queues are where a notification lives; the delivery log is what an administrator reads. So the queue send comes
first and its failure propagates (the stream or the retry queue tries the whole notification again), while a failed
log write is only logged: it never loses or duplicates a notification.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from signup_hooks import metrics
from signup_hooks.config import Config
from signup_hooks.errors import Conflict, StorageUnavailable
from signup_hooks.model import clock, delivery_log, schedule
from signup_hooks.model.dead_letter import DeadLetter
from signup_hooks.model.health import Health
from signup_hooks.model.results import DeliveryResult, Reason
from signup_hooks.model.retry_message import RetryMessage
from signup_hooks.model.user import User
from signup_hooks.pipeline.outcome import Next, Outcome, Settled
from signup_hooks.pipeline.prepare import Prepared
from signup_hooks.sending import backoff, signing
from signup_hooks.storage.ports import DeliveryLog, RetryQueue, Stores

logger = Logger(child=True)


def subject_of(user: User, key: str, endpoint: str, event: str) -> delivery_log.Subject:
    """What a delivery log record is about (its id follows from it)."""
    return delivery_log.Subject(user.id, user.name, key, signing.webhook_id(key), endpoint=endpoint, event=event)


def subject(prepared: Prepared) -> delivery_log.Subject:
    return subject_of(prepared.user, prepared.event_id, prepared.endpoint, prepared.event)


def settle(
    prepared: Prepared,
    outcome: Outcome,
    attempts: list[delivery_log.Attempt],
    config: Config,
    stores: Stores,
    after: Next,
) -> Settled:
    """Log the outcome; schedule, dead-letter or close the notification; then record it in the delivery log and the
    endpoint's health. Returns the status it now has, and what the other endpoints may be told of (a dead letter, a
    change of health), which dispatch.py announces once the notification is settled."""
    _log_outcome(prepared, outcome)
    if outcome.already_delivered:
        return Settled(delivery_log.Status.DELIVERED)
    result = outcome.result or DeliveryResult(
        outcome.delivered, None, None if outcome.delivered else Reason.NETWORK_ERROR, 0
    )
    reason = str(result.reason) if result.reason and not outcome.delivered else None
    next_at: str | None = None
    letter: DeadLetter | None = None
    if outcome.delivered:
        status = delivery_log.Status.DELIVERED
    elif not after.schedule_failures:
        status = after.failure_status
    else:
        # None: no retry schedule, a failure is dead-lettered at once
        queue = stores.queue_for(prepared.operational is not None)
        delay = _next_delay(result, config, after.retries_done) if queue is not None else None
        if queue is not None and delay is not None:
            next_at = _schedule(prepared, config, queue, after, attempts, delay)
            status = delivery_log.Status.RETRYING
        else:
            if prepared.operational is None:  # an operational event that fails for good is only logged
                letter = _dead_letter(prepared, outcome, attempts, stores, after)
            status = delivery_log.Status.FAILED
    health = _record(prepared, status, attempts, stores, next_at, reason, after.counts_toward_health)
    disabled_at = _disable(prepared, stores) if result.reason is Reason.GONE and not outcome.delivered else None
    return Settled(status, letter, health, attempts[-1].reason if attempts else None, disabled_at)


def _disable(prepared: Prepared, stores: Stores) -> str | None:
    """Switch off the endpoint whose receiver answered 410 Gone: it says the webhook is gone for good, so what waits
    for it is skipped until an administrator enables it again (and replays what it missed). When this call did it;
    None when it was off already or could not be switched off now (the next 410 tries again)."""
    if stores.switch is None:
        return None
    try:
        at = stores.switch.disable(prepared.endpoint, str(Reason.GONE))
    except (StorageUnavailable, Conflict) as exc:
        logger.warning(
            "an endpoint gone for good could not be disabled", extra={**prepared.log_fields, "detail": str(exc)}
        )
        return None
    if at is not None:
        logger.warning(
            "endpoint disabled: its receiver answered 410 Gone", extra={**prepared.log_fields, "disabled_at": at}
        )
    return at


def _log_outcome(prepared: Prepared, outcome: Outcome) -> None:
    """One line and one metric per notification's outcome (the attempts have a line each too)."""
    result = outcome.result or DeliveryResult(
        outcome.delivered, None, None if outcome.delivered else Reason.NETWORK_ERROR, 0
    )
    fields: dict[str, Any] = {
        **prepared.log_fields,
        "attempts": outcome.attempts,
        "status": result.status,
        "latency_ms": result.latency_ms,
    }
    if outcome.already_delivered:
        logger.info("webhook already delivered", extra=fields)
    elif outcome.delivered:
        logger.info("webhook delivered", extra=fields)
        metrics.count(metrics.DELIVERIES)
    else:
        reason = str(result.reason or Reason.NETWORK_ERROR)
        logger.warning("webhook delivery failed", extra={**fields, "reason": reason, "detail": result.detail})
        metrics.failure(reason)


def _next_delay(result: DeliveryResult, config: Config, retries_done: int) -> float | None:
    if not backoff.is_retryable(result):
        return None
    return schedule.next_delay(config.retry_schedule, retries_done, backoff.retry_after_seconds(result.retry_after))


def _schedule(
    prepared: Prepared,
    config: Config,
    queue: RetryQueue,
    after: Next,
    attempts: list[delivery_log.Attempt],
    delay: float,
) -> str:
    due = time.time() + delay
    message = RetryMessage.of(
        prepared.user,
        prepared.event_id,
        due_at=due,
        retries_done=after.retries_done,
        first_attempt_at=after.first_attempt_at or (attempts[0].at if attempts else None),
        endpoint=prepared.endpoint,
        event=prepared.event,
        details=prepared.operational.to_dict() if prepared.operational else None,
    )
    queue.send(message)
    next_at = clock.to_the_second(datetime.fromtimestamp(due, UTC))
    logger.info(
        "webhook retry scheduled",
        extra={
            **prepared.log_fields,
            "retry": after.retries_done + 1,
            "of": len(config.retry_schedule),
            "next_attempt_at": next_at,
            "reason": str(attempts[-1].reason) if attempts else None,
        },
    )
    metrics.count(metrics.RETRIES_SCHEDULED)
    return next_at


def _dead_letter(
    prepared: Prepared, outcome: Outcome, attempts: list[delivery_log.Attempt], stores: Stores, after: Next
) -> DeadLetter:
    result = outcome.result or DeliveryResult(False, None, Reason.NETWORK_ERROR, 0)
    history = _history(prepared, attempts, stores.log)
    letter = DeadLetter(
        prepared.event_id,
        prepared.user,
        prepared.message,
        prepared.url,
        result,
        format=prepared.shape.value,
        attempts=len(history) or outcome.attempts,
        first_attempt_at=after.first_attempt_at or (history[0]["at"] if history else None),
        last_attempt_at=history[-1]["at"] if history else None,
        history=history,
        endpoint=prepared.endpoint,
    )
    stores.dead_letters.send(letter)
    logger.info(
        "notification dead-lettered",
        extra={**prepared.log_fields, "reason": str(result.reason), "attempts": letter.attempts},
    )
    metrics.count(metrics.DEAD_LETTERED)
    if after.retries_done > 0:
        metrics.count(metrics.RETRIES_EXHAUSTED)
    return letter


def _history(prepared: Prepared, attempts: list[delivery_log.Attempt], log: DeliveryLog | None) -> list[dict[str, Any]]:
    """Every attempt of the notification: the log's earlier ones and this round's (bounded as the log is)."""
    earlier: list[delivery_log.Attempt] = []
    if log is not None:
        try:
            found = log.get(subject(prepared).id)
        except StorageUnavailable:
            logger.warning("the delivery log could not be read: the dead letter has this round's attempts only")
            found = None
        earlier = found.attempts if found else []
    return [attempt.to_dict() for attempt in [*earlier, *attempts][-delivery_log.MAX_ATTEMPTS :]]


def _record(
    prepared: Prepared,
    status: delivery_log.Status,
    attempts: list[delivery_log.Attempt],
    stores: Stores,
    next_at: str | None,
    reason: str | None,
    counts_toward_health: bool,
) -> tuple[Health, Health] | None:
    """Write the log record and the health; the health before and after, when this round changed it."""
    if stores.log is None:
        return None
    try:
        stores.log.record(
            subject(prepared),
            status,
            target_host=prepared.log_fields["target_host"],
            format=prepared.shape.value,
            attempts=attempts,
            next_attempt_at=next_at,
            reason=reason,
        )
        # An operational event's delivery never changes health: an announcement must not cause announcements.
        if attempts and stores.health is not None and counts_toward_health and prepared.operational is None:
            before, after = stores.health.record_outcome(prepared.endpoint, attempts[-1].reason is None)
            metrics.failing_minutes(after.failing_minutes())
            return before, after
    except StorageUnavailable as exc:
        logger.warning("the delivery log could not be written", extra={**prepared.log_fields, "detail": str(exc)})
    return None


def skipped(log: DeliveryLog | None, record: delivery_log.Subject, reason: str) -> None:
    """Log a notification that was not sent (no URL configured, its endpoint disabled or deleted)."""
    if log is None:
        return
    try:
        log.record(record, delivery_log.Status.SKIPPED, target_host="", format="", reason=reason)
    except StorageUnavailable as exc:
        logger.warning("the delivery log could not be written", extra={"user_id": record.user_id, "detail": str(exc)})
