"""A per-process cache of parameter reads: one read at a time, which threads waiting for it then share, and the last
good values for a bounded time when SSM fails. storage/settings_store.py keeps one, with SSM as its `fetch`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from aws_lambda_powertools import Logger

from signup_hooks.errors import StorageUnavailable

logger = Logger(child=True)

# When SSM fails, values read successfully this recently are used instead; after that, reads fail.
STALE_VALUE_MAX_SECONDS = 300.0


class SettingsReader:
    """Reads parameters with a per-process cache; one read at a time, which the waiting threads then share."""

    def __init__(
        self,
        fetch: Callable[[Sequence[str]], dict[str, str]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[tuple[str, ...], tuple[dict[str, str], float]] = {}

    def read(
        self,
        names: tuple[str, ...],
        max_age: float,
        stale_ok: bool = True,
        fetch: Callable[[], dict[str, str]] | None = None,
    ) -> dict[str, str]:
        """The values of `names` (the cache's key), read with `fetch` when given, else the reader's own fetch."""
        with self._lock:
            remembered = self._last.get(names)
            now = self._clock()
            if remembered is not None and now - remembered[1] < max_age:
                return remembered[0]
            try:
                values = fetch() if fetch is not None else self._fetch(names)
            except StorageUnavailable as exc:
                age = now - remembered[1] if remembered is not None else None
                if not stale_ok or remembered is None or age is None or age > STALE_VALUE_MAX_SECONDS:
                    raise
                logger.warning(
                    "SSM unavailable: using the last good settings",
                    extra={"age_seconds": round(age, 1), "error": str(exc)},
                )
                return remembered[0]
            self._last[names] = (values, self._clock())
            return values

    def forget(self, names: tuple[str, ...] | None = None) -> None:
        with self._lock:
            if names is None:
                self._last.clear()
            else:
                self._last.pop(names, None)
