"""Each endpoint's health item in the delivery log's table (`health#<endpoint>`, in no index), as
endpoint_health.Health values."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from signup_hooks.errors import StorageUnavailable
from signup_hooks.model import clock
from signup_hooks.model.health import Health
from signup_hooks.storage import aws


class HealthTable:
    def __init__(self, table: str) -> None:
        self.table = table

    def record_outcome(self, endpoint: str, delivered: bool) -> tuple[Health, Health]:
        """Count one round's outcome into the endpoint's health; returns the health before and after it.

        The update is atomic and returns what it replaced, so of many concurrent rounds exactly one sees the endpoint
        start failing (0 failures before) and exactly one sees it recover (failures before, a success now): each
        transition is announced once (operational.py).
        """
        now = clock.to_the_millisecond()
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
                TableName=self.table,
                Key={"id": {"S": f"health#{endpoint}"}},
                UpdateExpression=expression,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"the endpoint's health could not be written: {aws.error_code(exc)}") from exc
        before = _health(answer.get("Attributes", {}))
        return before, before.after(delivered, now)

    def read(self, endpoint: str) -> Health:
        try:
            answer = aws.client("dynamodb").get_item(TableName=self.table, Key={"id": {"S": f"health#{endpoint}"}})
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"the endpoint's health could not be read: {aws.error_code(exc)}") from exc
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
