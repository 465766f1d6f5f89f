"""Retries inside one invocation: which failures deserve another attempt, how long to wait, never past the deadline.

- Retried: connection errors and timeouts, 408, 425, 429 and 5xx. Everything else (other 4xx, a redirect, a refused
  or invalid target, a TLS error) is permanent: retrying cannot change the answer.
- Waits: exponential backoff with "equal jitter" (half fixed, half random), so that a batch of failures does not
  come back in lockstep. A `Retry-After` header (seconds or an HTTP date) replaces the backoff when it is within
  the cap; a receiver asking for longer than the cap ends the retries (the notification is dead-lettered for a replay).
- The deadline: every attempt's timeouts are cut to what is left, and no wait or attempt starts that could not end
  before it. What is left after the deadline is kept for the dead-letter send and the batch response.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from signup_hooks.digits import is_ascii_digits
from signup_hooks.model import clock
from signup_hooks.model.results import DeliveryResult, Reason

RETRYABLE_STATUSES = frozenset({408, 425, 429})
RETRYABLE_REASONS = frozenset(
    {Reason.DNS_FAILURE, Reason.CONNECTION_REFUSED, Reason.CONNECT_TIMEOUT, Reason.READ_TIMEOUT, Reason.NETWORK_ERROR}
)
MIN_ATTEMPT_SECONDS = 0.2  # an attempt with less time than this left is not worth starting


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5  # the first wait is between base_delay / 2 and base_delay
    max_delay: float = 8.0
    retry_after_cap: float = 30.0  # the longest Retry-After honoured; a longer one ends the retries


class Deadline:
    """The end of the invocation, minus a margin kept for the dead-letter send and the batch response."""

    def __init__(self, seconds_left: float, margin: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + seconds_left - margin

    def remaining(self) -> float:
        return max(0.0, self._end - self._clock())


@dataclass(frozen=True)
class Attempts:
    """What a delivery with retries came to: the last result and the record of its attempts."""

    result: DeliveryResult
    count: int
    first_at: str | None  # ISO 8601 times of the first and last attempt; None when none was made
    last_at: str | None


Send = Callable[[float, float], DeliveryResult]  # (connect timeout, read timeout) -> result
Pace = Callable[[float], bool]  # wait for the target's next slot, at most this many seconds; False: no slot in time


def is_retryable(result: DeliveryResult) -> bool:
    if result.delivered:
        return False
    if result.status is not None:
        return result.status in RETRYABLE_STATUSES or result.status >= 500
    return result.reason in RETRYABLE_REASONS


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date. None when absent or unreadable:
    a receiver's odd header (`¹`, `1e3`, other scripts' digits) is as if it had sent none."""
    if value is None:
        return None
    text = value.strip()
    if not text.isascii():
        return None
    if is_ascii_digits(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff(attempt: int, policy: RetryPolicy, rng: random.Random | None = None) -> float:
    """The wait after failed attempt number `attempt` (1-based): equal jitter on an exponential ceiling."""
    ceiling = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    jitter: float = (rng or random).uniform(0, ceiling / 2)
    return float(ceiling / 2 + jitter)


def next_wait(
    attempt: int, result: DeliveryResult, policy: RetryPolicy, rng: random.Random | None = None
) -> float | None:
    """How long to wait before another attempt, or None when the receiver asked for longer than the cap."""
    asked = retry_after_seconds(result.retry_after)
    if asked is None:
        return backoff(attempt, policy, rng)
    if asked > policy.retry_after_cap:
        return None
    return asked


def deliver_with_retries(
    send: Send,
    deadline: Deadline,
    policy: RetryPolicy,
    connect_timeout: float,
    read_timeout: float,
    pace: Pace | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[DeliveryResult, float], None] | None = None,
) -> Attempts:
    """Attempt `send` until it delivers, fails for good, runs out of attempts, or would pass the deadline."""
    result = DeliveryResult(False, None, Reason.READ_TIMEOUT, 0, detail="no time left to attempt a delivery")
    count, first_at, last_at = 0, None, None
    while count < policy.max_attempts:
        left = deadline.remaining()
        if left < MIN_ATTEMPT_SECONDS or (pace is not None and not pace(left - MIN_ATTEMPT_SECONDS)):
            break
        left = deadline.remaining()
        if left < MIN_ATTEMPT_SECONDS:
            break
        connect = min(connect_timeout, left)
        read = max(0.1, min(read_timeout, left - connect))
        now = clock.to_the_millisecond()
        first_at = first_at or now
        last_at = now
        count += 1
        result = send(connect, read)
        if not is_retryable(result) or count >= policy.max_attempts:
            break
        wait = next_wait(count, result, policy)
        if wait is None or wait + MIN_ATTEMPT_SECONDS > deadline.remaining():
            break
        if on_retry is not None:
            on_retry(result, wait)
        sleep(wait)
    return Attempts(result, count, first_at, last_at)
