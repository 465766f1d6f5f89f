"""Now as ISO 8601 text in UTC, at the two precisions the stored data has (each written to the same precision since
the data began, so that stored values compare and sort as text: never change a field from one to the other)."""

from __future__ import annotations

from datetime import UTC, datetime


def to_the_second(moment: datetime | None = None) -> str:
    """What an administrator reads and sets: a settings change, a rotated secret's end, a dead letter's failure, the
    next scheduled attempt."""
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


def to_the_millisecond(moment: datetime | None = None) -> str:
    """The delivery log and the health: attempts, records and health items, ordered by it."""
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds")
