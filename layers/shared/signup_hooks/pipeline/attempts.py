"""Posting a prepared notification (prepare.py): `post_attempt` is one attempt (check the target again when it could
not be checked before, sign, post); `post_round` is a round of attempts with backoff (backoff.py), paced to the
target's rate limit (pacing.py) and stopped at the deadline, each attempt logged, timed and kept for the delivery log.
Neither records anything: what follows a round is settle.py's.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aws_lambda_powertools import Logger

from signup_hooks import metrics
from signup_hooks.config import Config
from signup_hooks.model import clock, delivery_log
from signup_hooks.model.results import DeliveryResult, Reason
from signup_hooks.pipeline.prepare import Prepared, target_failure
from signup_hooks.sending import backoff, http, pacing, signing, targets

logger = Logger(child=True)


@dataclass(frozen=True)
class Round:
    """What a round of attempts came to: the last result, how many were made, and each for the delivery log."""

    result: DeliveryResult
    count: int
    attempts: list[delivery_log.Attempt] = field(default_factory=list)


def post_attempt(prepared: Prepared, connect_timeout: float, read_timeout: float) -> DeliveryResult:
    """One attempt. The webhook-id is the same on every attempt; the signature's timestamp is fresh."""
    if prepared.failure is not None:
        return prepared.failure
    checked = prepared.checked
    if checked is None:
        if prepared.policy is None:
            return DeliveryResult(False, None, Reason.INVALID_URL, 0)
        started = time.monotonic()
        try:  # the lookup is part of the attempt: it comes out of the connect timeout
            checked = targets.check(prepared.url, prepared.policy, lookup_timeout=connect_timeout)
        except targets.TargetError as exc:
            return target_failure(exc, int((time.monotonic() - started) * 1000))
        connect_timeout = max(0.05, connect_timeout - (time.monotonic() - started))
    headers = dict(prepared.headers)
    if prepared.signing_secrets:
        headers.update(signing.headers(prepared.signing_secrets, prepared.event_id, prepared.body))
    return http.send(checked, prepared.body, headers, connect_timeout, read_timeout, prepared.credentials)


def post_round(
    prepared: Prepared,
    config: Config,
    deadline: backoff.Deadline,
    policy: backoff.RetryPolicy | None = None,
    trigger: delivery_log.Trigger = delivery_log.Trigger.STREAM,
) -> Round:
    """Attempts paced to the target's rate limit (one slot at a time per webhook), within the deadline, with the
    function's retry policy unless `policy` says otherwise."""
    interval = pacing.INTERVALS.get(prepared.shape, 0.0)
    pace: Callable[[float], bool] | None = None
    if interval:

        def pace(limit: float) -> bool:
            return pacing.pacer.wait(prepared.url, interval, limit)

    numbers = itertools.count(1)
    logged: list[delivery_log.Attempt] = []

    def send(connect_timeout: float, read_timeout: float) -> DeliveryResult:
        result = post_attempt(prepared, connect_timeout, read_timeout)
        metrics.latency(result.latency_ms)
        logged.append(_logged(result, trigger))
        logger.info(
            "webhook delivery attempt",
            extra={
                **prepared.log_fields,
                "attempt": next(numbers),
                "delivered": result.delivered,
                "status": result.status,
                "latency_ms": result.latency_ms,
                "reason": str(result.reason) if result.reason else None,
            },
        )
        return result

    def on_retry(result: DeliveryResult, wait: float) -> None:
        if result.status == 429:
            pacing.pacer.hold(prepared.url, wait)  # every thread waits for this webhook, not only this one

    made = backoff.deliver_with_retries(
        send,
        deadline,
        policy or config.retry_policy,
        config.connect_timeout,
        config.read_timeout,
        pace=pace,
        on_retry=on_retry,
    )
    return Round(made.result, made.count, logged)


def _logged(result: DeliveryResult, trigger: delivery_log.Trigger) -> delivery_log.Attempt:
    return delivery_log.Attempt(
        at=clock.to_the_millisecond(),
        status=result.status,
        reason=str(result.reason) if result.reason and not result.delivered else None,
        latency_ms=result.latency_ms,
        trigger=trigger,
    )
