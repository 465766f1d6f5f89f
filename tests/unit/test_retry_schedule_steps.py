"""The retry schedule's steps: the default spans about a day, a schedule that cannot be followed is refused, and a
longer Retry-After wins over the next step."""

from __future__ import annotations

import pytest
from signup_hooks.errors import ConfigError
from signup_hooks.model import schedule


def test_the_default_schedule_spans_about_a_day_in_seven_retries():
    steps = schedule.parse(schedule.DEFAULT_SCHEDULE)
    assert steps == (60, 300, 1800, 7200, 18000, 36000, 36000)
    assert 24 * 3600 < sum(steps) < 30 * 3600
    assert schedule.describe(steps) == "1m, 5m, 30m, 2h, 5h, 10h, 10h"


@pytest.mark.parametrize("text", ["", "1x", "0s", "13h", "1m,,2m", ",".join(["1s"] * 21), "\u0663s", "\u00b2m"])
def test_a_schedule_that_cannot_be_followed_is_refused_at_cold_start(text):
    if text == "":
        assert schedule.parse(text) == schedule.parse(schedule.DEFAULT_SCHEDULE)
        return
    with pytest.raises(ConfigError):
        schedule.parse(text)


def test_a_longer_retry_after_wins_over_the_schedule_and_the_end_is_none():
    steps = (60.0, 300.0)
    assert schedule.next_delay(steps, 0) == 60
    assert schedule.next_delay(steps, 0, retry_after=120) == 120
    assert schedule.next_delay(steps, 0, retry_after=10) == 60
    assert schedule.next_delay(steps, 0, retry_after=10**9) == schedule.MAX_DELAY_SECONDS
    assert schedule.next_delay(steps, 2) is None
