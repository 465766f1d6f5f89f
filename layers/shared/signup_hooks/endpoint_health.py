"""Each endpoint's health, kept in the delivery log's table (item `health#<endpoint>`, in no index): the last success
and failure, since when it has been failing, and how many rounds of attempts in a row failed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from signup_hooks import aws
from signup_hooks.errors import StorageUnavailable


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


def record_outcome(table: str, endpoint: str, delivered: bool) -> tuple[Health, Health]:
    """Count one round's outcome into the endpoint's health; returns the health before and after it.

    The update is atomic and returns what it replaced, so of many concurrent rounds exactly one sees the endpoint
    start failing (0 failures before) and exactly one sees it recover (failures before, a success now): each
    transition is announced once (operational.py).
    """
    now = _now()
    if delivered:
        expression = "SET last_success_at = :now, consecutive_failures = :zero REMOVE failing_since"
        values = {":now": {"S": now}, ":zero": {"N": "0"}}
    else:
        expression = (
            "SET last_failure_at = :now, failing_since = if_not_exists(failing_since, :now) "
            "ADD consecutive_failures :one"
        )
        values = {":now": {"S": now}, ":one": {"N": "1"}}
    try:
        answer = aws.client("dynamodb").update_item(
            TableName=table,
            Key={"id": {"S": f"health#{endpoint}"}},
            UpdateExpression=expression,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",
        )
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailable(f"the endpoint's health could not be written: {_code(exc)}") from exc
    before = _health(answer.get("Attributes", {}))
    if delivered:
        after = Health(now, before.last_failure_at, None, 0)
    else:
        since = before.failing_since if before.consecutive_failures else now
        after = Health(before.last_success_at, now, since or now, before.consecutive_failures + 1)
    return before, after


def read(table: str, endpoint: str) -> Health:
    try:
        answer = aws.client("dynamodb").get_item(TableName=table, Key={"id": {"S": f"health#{endpoint}"}})
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailable(f"the endpoint's health could not be read: {_code(exc)}") from exc
    return _health(answer.get("Item", {}))


def _health(item: dict[str, Any]) -> Health:
    def text(name: str) -> str | None:
        value = item.get(name, {}).get("S")
        return str(value) if value else None

    return Health(
        last_success_at=text("last_success_at"),
        last_failure_at=text("last_failure_at"),
        failing_since=text("failing_since"),
        consecutive_failures=int(item.get("consecutive_failures", {}).get("N", "0")),
    )


def _code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
