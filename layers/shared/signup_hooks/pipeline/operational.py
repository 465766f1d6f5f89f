"""Operational events: telling the other endpoints that one started failing, recovered, was disabled (its receiver
answered 410 Gone), or had a signup notification dead-lettered, so that an administrator hears of a failing receiver
on another channel before anything is lost.

An event goes to every endpoint subscribed to it except the one it is about, as one message per endpoint on the
announcement queue (Stores.queue_for), due now: the retry function delivers it like any notification (its own
idempotency record, webhook-id, retry schedule and delivery log record), so announcing never slows the delivery that
caused it. The key of each is made of what it announces (the failing period, the dead-lettered delivery), so an event
announced twice is sent once, and its delivery never changes the receiving endpoint's health.

An operational event that fails for good is logged as failed and goes no further: it is never dead-lettered and
never causes a `delivery.failed` of its own, so failing endpoints cannot set off a chain of announcements.
"""

from __future__ import annotations

import time

from aws_lambda_powertools import Logger

from signup_hooks.endpoints import registry
from signup_hooks.errors import StorageUnavailable
from signup_hooks.model import events
from signup_hooks.model.health import Health
from signup_hooks.model.retry_message import RetryMessage
from signup_hooks.pipeline.outcome import Settled
from signup_hooks.pipeline.prepare import Prepared
from signup_hooks.storage.ports import Stores

logger = Logger(child=True)


def announce_settled(stores: Stores, prepared: Prepared, settled: Settled) -> None:
    """Announce what settling `prepared` came to: its dead letter, then the change of its endpoint's health."""
    letter = settled.dead_letter
    if letter is not None:
        dead_lettered(stores, prepared, str(letter.result.reason) if letter.result.reason else None, letter.attempts)
    if settled.health is not None:
        health_changed(stores, prepared, *settled.health, settled.last_reason)
    if settled.disabled_at is not None:
        kind = events.ENDPOINT_DISABLED  # keyed by when: a later disabling, after a re-enable, is told again
        announce(
            stores, prepared, kind, f"{kind}:{prepared.endpoint}:{settled.disabled_at}", reason=settled.last_reason
        )


def health_changed(stores: Stores, prepared: Prepared, before: Health, after: Health, reason: str | None) -> None:
    """Announce `endpoint.failing` when this round made the endpoint fail, `endpoint.recovered` when it ended that."""
    if before.consecutive_failures == 0 and after.consecutive_failures > 0:
        kind, since = events.ENDPOINT_FAILING, after.failing_since
    elif before.consecutive_failures > 0 and after.consecutive_failures == 0:
        kind, since, reason = events.ENDPOINT_RECOVERED, before.failing_since, None
    else:
        return
    announce(stores, prepared, kind, f"{kind}:{prepared.endpoint}:{since}", failing_since=since, reason=reason)


def dead_lettered(stores: Stores, prepared: Prepared, reason: str | None, attempts: int) -> None:
    """Announce `delivery.failed` for a signup notification that went to the dead-letter queue."""
    if prepared.operational is not None:
        return  # see the module's docstring: no announcement of an announcement
    kind = events.DELIVERY_FAILED
    announce(stores, prepared, kind, f"{kind}:{prepared.event_id}", reason=reason, attempts=attempts)


def announce(
    stores: Stores,
    prepared: Prepared,
    kind: str,
    key: str,
    *,
    reason: str | None = None,
    failing_since: str | None = None,
    attempts: int = 0,
) -> int:
    """Queue `kind` about `prepared`'s endpoint for every other endpoint subscribed to it. Returns how many.

    Best effort: the notification that caused it is settled already, so a failure here is logged, never raised.
    """
    queue = stores.queue_for(operational=True)
    if queue is None:
        return 0
    try:
        known = stores.endpoints()
        receivers = registry.receiving(known, kind, excluding=prepared.endpoint)
        if not receivers:
            return 0
        about = registry.find(known, prepared.endpoint)
        user_fields = {}
        if kind == events.DELIVERY_FAILED:
            webhook_id = prepared.log_fields["webhook_id"]
            user_fields = {"user_id": prepared.user.id, "user_name": prepared.user.name, "webhook_id": webhook_id}
        event = events.OperationalEvent(
            type=kind,
            endpoint_id=prepared.endpoint,
            endpoint_name=about.name if about else prepared.endpoint,
            target_host=prepared.log_fields["target_host"] or "unknown",
            occurred_at=int(time.time()),
            reason=reason,
            failing_since=failing_since,
            attempts=attempts,
            **user_fields,
        )
        messages = [
            RetryMessage.of(
                prepared.user,
                registry.delivery_key(key, receiver.id),
                due_at=time.time(),
                endpoint=receiver.id,
                event=kind,
                details=event.to_dict(),
            )
            for receiver in receivers
        ]
        queue.send_now(messages)
    except (StorageUnavailable, ValueError) as exc:
        logger.warning("an operational event could not be announced", extra={"event": kind, "detail": str(exc)})
        return 0
    logger.info("operational event announced", extra={"event": kind, "about": prepared.endpoint, "to": len(messages)})
    return len(messages)
