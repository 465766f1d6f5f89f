"""Each endpoint's health: the last success and failure, since when it has been failing, and how many rounds of
attempts in a row failed. Kept in the delivery log's table (storage/health_table.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Health:
    last_success_at: str | None = None
    last_failure_at: str | None = None
    failing_since: str | None = None
    consecutive_failures: int = 0

    @property
    def status(self) -> str:
        if self.consecutive_failures > 0:
            return "failing"
        return "healthy" if self.last_success_at else "unknown"

    def failing_minutes(self, now: datetime | None = None) -> float:
        """Minutes since the first failure in a row; 0 when healthy."""
        if not self.failing_since or self.consecutive_failures == 0:
            return 0.0
        since = datetime.fromisoformat(self.failing_since)
        return max(0.0, ((now or datetime.now(UTC)) - since).total_seconds() / 60)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "last_success_at": self.last_success_at,
            "last_failure_at": self.last_failure_at,
            "failing_since": self.failing_since if self.consecutive_failures else None,
            "consecutive_failures": self.consecutive_failures,
        }

    def after(self, delivered: bool, now: str) -> Health:
        """The health after one more round of attempts, at `now`."""
        if delivered:
            return Health(now, self.last_failure_at, None, 0)
        since = self.failing_since if self.consecutive_failures else now
        return Health(self.last_success_at, now, since or now, self.consecutive_failures + 1)
