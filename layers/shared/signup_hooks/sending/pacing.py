"""Pacing deliveries to one webhook, so that a burst of signups does not meet a chat service's rate limit.

Slack allows about one message per second per webhook, Discord about five per two seconds: each target gets a slot
at most that often, shared by every delivery thread of the execution environment. A 429 pushes the target's next
slot back by its Retry-After, so the other threads wait too instead of hammering it. A delivery that cannot get a
slot before its deadline is not attempted (the caller leaves it to a retry of the stream, or keeps it queued).
Generic receivers are not paced.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from signup_hooks.model.names import Shape

# Seconds between two messages to one webhook.
INTERVALS: dict[Shape, float] = {Shape.SLACK: 1.0, Shape.DISCORD: 0.4}


class Pacer:
    def __init__(
        self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}  # target key -> earliest time of its next message

    def wait(self, key: str, interval: float, limit: float) -> bool:
        """Take the next slot of `key` and sleep until it, unless that is more than `limit` seconds away."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next.get(key, now))
            if slot - now > limit:
                return False
            self._next[key] = slot + interval
        if slot > now:
            self._sleep(slot - now)
        return True

    def hold(self, key: str, seconds: float) -> None:
        """The target asked us to wait (429 with Retry-After): no slot before `seconds` from now."""
        with self._lock:
            until = self._clock() + seconds
            self._next[key] = max(self._next.get(key, until), until)

    def forget(self) -> None:
        with self._lock:
            self._next.clear()


pacer = Pacer()  # one per execution environment: its delivery threads share it
