"""The retry schedule: when a notification that failed for a reason the receiver can get over is tried again.

After the quick first try on the stream, each further attempt waits the next interval of the schedule after the one
before it: by default 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 28 hours in all, as Svix's schedule). A
receiver's `Retry-After` is honoured when it asks for longer than the schedule, up to the longest wait SQS can hold a
message (a 12-hour visibility timeout). When the schedule is used up the notification goes to the dead-letter queue.

Written as `RETRY_SCHEDULE=1m,5m,30m,2h,5h,10h,10h` (template parameter `RetrySchedule`); tests and the local stack
compress it to seconds (`RETRY_SCHEDULE=2s,4s,8s`).
"""

from __future__ import annotations

import re

from signup_hooks.errors import ConfigError

DEFAULT_SCHEDULE = "1m,5m,30m,2h,5h,10h,10h"
MAX_STEPS = 20
MAX_DELAY_SECONDS = 12 * 3600  # SQS's longest visibility timeout: the longest one message can wait
SQS_MAX_DELAY_SECONDS = 900  # SendMessage's DelaySeconds stops at 15 minutes; longer waits use the visibility timeout
_UNITS = {"s": 1, "m": 60, "h": 3600}
_STEP = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([smh])$")  # ASCII digits: \d would take other scripts' digits too


def parse(text: str) -> tuple[float, ...]:
    """`1m,5m,2h` into seconds. Each step 1 s to 12 h, 1 to MAX_STEPS steps."""
    steps: list[float] = []
    for raw in (text or DEFAULT_SCHEDULE).split(","):
        match = _STEP.match(raw.strip().lower())
        if not match:
            raise ConfigError(f"RETRY_SCHEDULE: {raw.strip()!r} is not a duration such as 30s, 5m or 2h")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
        if not 1 <= seconds <= MAX_DELAY_SECONDS:
            raise ConfigError("RETRY_SCHEDULE: every step must be from 1 second to 12 hours")
        steps.append(seconds)
    if not 1 <= len(steps) <= MAX_STEPS:
        raise ConfigError(f"RETRY_SCHEDULE must have 1 to {MAX_STEPS} steps")
    return tuple(steps)


def describe(steps: tuple[float, ...]) -> str:
    """`1m, 5m, 2h`: the schedule as an administrator wrote it."""
    return ", ".join(_short(step) for step in steps)


def next_delay(steps: tuple[float, ...], retries_done: int, retry_after: float | None = None) -> float | None:
    """Seconds until the next retry after `retries_done` scheduled retries, or None when the schedule is used up."""
    if retries_done >= len(steps):
        return None
    delay = steps[retries_done]
    if retry_after is not None and retry_after > delay:
        delay = min(retry_after, MAX_DELAY_SECONDS)
    return delay


def _short(seconds: float) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
