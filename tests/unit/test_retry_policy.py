"""Which failed attempts are retried, how long a Retry-After asks to wait, and the backoff between quick attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from signup_hooks.sending import backoff, http
from signup_hooks.sending.http import DeliveryResult, Reason


def test_retry_after_is_read_as_seconds_or_an_http_date():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert backoff.retry_after_seconds("3", now) == 3.0
    assert backoff.retry_after_seconds(format_datetime(now + timedelta(seconds=7), usegmt=True), now) == 7.0
    assert backoff.retry_after_seconds(format_datetime(now - timedelta(seconds=7), usegmt=True), now) == 0.0
    assert backoff.retry_after_seconds("soon", now) is None
    assert backoff.retry_after_seconds(None, now) is None


def test_a_retry_after_that_is_not_ascii_digits_or_a_date_counts_as_none():
    # '¹' (byte 0xB9, as a header is decoded) passes str.isdigit() but float() refuses it
    now = datetime(2026, 1, 1, tzinfo=UTC)
    odd = ("\u00b9", "\u00b2", "\u0663", "1e3", "-1", "+5", "inf", "nan", "1_0", "", "Mon, \u0660\u0661 Jan 2026")
    for value in odd:
        assert backoff.retry_after_seconds(value, now) is None, value
    assert backoff.retry_after_seconds(" 12 ", now) == 12.0
    result = DeliveryResult(False, 503, Reason.SERVER_ERROR, 0, retry_after="\u00b9")
    assert backoff.next_wait(1, result, backoff.RetryPolicy(base_delay=0.5)) is not None  # the backoff, not a crash


def test_which_failures_are_retried():
    def result(status: int | None, reason: Reason | None) -> DeliveryResult:
        return DeliveryResult(False, status, reason, 0)

    for status in (408, 425, 429, 500, 502, 503, 504):
        assert backoff.is_retryable(result(status, Reason.SERVER_ERROR))
    for status in (400, 401, 403, 404, 410, 302):
        assert not backoff.is_retryable(result(status, Reason.CLIENT_ERROR))
    for reason in (Reason.CONNECTION_REFUSED, Reason.CONNECT_TIMEOUT, Reason.READ_TIMEOUT, Reason.NETWORK_ERROR):
        assert backoff.is_retryable(result(None, reason))
    for reason in (Reason.INVALID_URL, Reason.BLOCKED_TARGET, Reason.TLS_ERROR):
        assert not backoff.is_retryable(result(None, reason))


def test_backoff_grows_with_jitter_and_stays_bounded():
    policy = backoff.RetryPolicy(base_delay=0.5, max_delay=8.0)
    waits = [[backoff.backoff(attempt, policy) for _ in range(50)] for attempt in range(1, 8)]
    for attempt, values in enumerate(waits, start=1):
        ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
        assert all(ceiling / 2 <= value <= ceiling for value in values)
        assert len(set(values)) > 1


def test_a_410_has_a_reason_of_its_own_and_is_not_retried():
    assert http.classify_status(404) is Reason.NOT_FOUND
    assert http.classify_status(410) is Reason.GONE
    assert str(Reason.GONE) == "gone"
    assert not backoff.is_retryable(DeliveryResult(False, 410, Reason.GONE, 0))
