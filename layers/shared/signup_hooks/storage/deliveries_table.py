"""The delivery log's table (DynamoDB): records of notifications (model/delivery_log.py's values) written and read back.
The same table holds each endpoint's health item (health_table.py); nothing else touches it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from signup_hooks.errors import InvalidInput, StorageUnavailable
from signup_hooks.model import clock, cursors
from signup_hooks.model.delivery_log import (
    BY_CREATED_INDEX,
    BY_STATUS_INDEX,
    ENTITY,
    MAX_ATTEMPTS,
    RETENTION_SECONDS,
    Attempt,
    Record,
    Status,
    Subject,
    Trigger,
    page_start,
)
from signup_hooks.model.names import DEFAULT_ENDPOINT, USER_CREATED
from signup_hooks.storage import aws

MAX_COUNT_PAGES = 20  # index pages a count reads at most: past that, the count is a lower bound
MAX_FILTERED_READS = 10  # reads a page of one endpoint's records makes at most to fill itself


class DeliveriesTable:
    """The delivery log of one table: `record` a notification's status and attempts, read records back."""

    def __init__(self, table: str) -> None:
        self.table = table

    def record(
        self,
        subject: Subject,
        status: Status,
        *,
        target_host: str,
        format: str,
        attempts: list[Attempt] | None = None,
        next_attempt_at: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Create or update the record of a notification: its status, and the attempts of this round."""
        now = clock.to_the_millisecond()
        names = {"#status": "status", "#format": "format"}
        values: dict[str, Any] = {
            ":entity": {"S": ENTITY},
            ":status": {"S": status.value},
            ":host": {"S": target_host},
            ":format": {"S": format},
            ":user_id": {"S": subject.user_id},
            ":user_name": {"S": subject.user_name},
            ":event_id": {"S": subject.event_id},
            ":webhook_id": {"S": subject.webhook_id},
            ":endpoint": {"S": subject.endpoint},
            ":event": {"S": subject.event},
            ":now": {"S": now},
            ":sort": {"S": f"{now}#{subject.id}"},
            ":expires": {"N": str(int(time.time()) + RETENTION_SECONDS)},
        }
        sets = [
            "entity = :entity",
            "#status = :status",
            "target_host = :host",
            "#format = :format",
            "user_id = if_not_exists(user_id, :user_id)",
            "user_name = if_not_exists(user_name, :user_name)",
            "event_id = if_not_exists(event_id, :event_id)",
            "webhook_id = if_not_exists(webhook_id, :webhook_id)",
            "endpoint = :endpoint",
            "event_type = :event",
            "created_at = if_not_exists(created_at, :now)",
            "sort_key = if_not_exists(sort_key, :sort)",
            "updated_at = :now",
            "expires_at = :expires",
        ]
        removes = []
        if attempts:
            kept = attempts[-MAX_ATTEMPTS:]
            values[":attempts"] = {"L": [{"S": json.dumps(attempt.to_dict())} for attempt in kept]}
            values[":empty"] = {"L": []}
            values[":zero"] = {"N": "0"}
            values[":made"] = {"N": str(len(attempts))}
            sets.append("attempts = list_append(if_not_exists(attempts, :empty), :attempts)")
            sets.append("attempt_count = if_not_exists(attempt_count, :zero) + :made")
        if next_attempt_at:
            values[":next"] = {"S": next_attempt_at}
            sets.append("next_attempt_at = :next")
        else:
            removes.append("next_attempt_at")
        if reason:
            values[":reason"] = {"S": reason}
            sets.append("last_reason = :reason")
        elif status is Status.DELIVERED:
            removes.append("last_reason")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            answer = aws.client("dynamodb").update_item(
                TableName=self.table,
                Key={"id": {"S": subject.id}},
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
            )
            kept = answer.get("Attributes", {}).get("attempts", {}).get("L", [])
            if len(kept) > MAX_ATTEMPTS:
                self._drop_oldest(subject.id, len(kept) - MAX_ATTEMPTS)
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"the delivery log could not be written: {aws.error_code(exc)}") from exc

    def _drop_oldest(self, item_id: str, count: int) -> None:
        removes = ", ".join(f"attempts[{index}]" for index in range(count))
        try:
            aws.client("dynamodb").update_item(
                TableName=self.table,
                Key={"id": {"S": item_id}},
                UpdateExpression=f"REMOVE {removes}",
                ConditionExpression="size(attempts) > :max",
                ExpressionAttributeValues={":max": {"N": str(MAX_ATTEMPTS)}},
            )
        except ClientError as exc:
            if aws.error_code(exc) != "ConditionalCheckFailedException":  # another writer trimmed it already
                raise

    def get(self, item_id: str) -> Record | None:
        if not item_id.startswith("dlv_"):
            return None
        try:
            item = aws.client("dynamodb").get_item(
                TableName=self.table, Key={"id": {"S": item_id}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"the delivery log could not be read: {aws.error_code(exc)}") from exc
        found = item.get("Item")
        return _record(found) if found else None

    def get_many(self, item_ids: list[str]) -> dict[str, Record]:
        """Records by id (BatchGetItem, 100 at a time); ids without a record are absent from the answer."""
        found: dict[str, Record] = {}
        client = aws.client("dynamodb")
        for start in range(0, len(item_ids), 100):
            keys: list[dict[str, Any]] = [
                {"id": {"S": item_id}} for item_id in dict.fromkeys(item_ids[start : start + 100])
            ]
            for _round in range(5):  # unprocessed keys (throttling) are asked again, a bounded number of times
                try:
                    answer = client.batch_get_item(RequestItems={self.table: {"Keys": keys, "ConsistentRead": True}})
                except (ClientError, BotoCoreError) as exc:
                    raise StorageUnavailable(f"the delivery log could not be read: {aws.error_code(exc)}") from exc
                for item in answer.get("Responses", {}).get(self.table, []):
                    one = _record(item)
                    found[one.id] = one
                keys = answer.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
                if not keys:
                    break
            else:
                raise StorageUnavailable("the delivery log kept throttling a batch read")
        return found

    def page(
        self, status: Status | None, limit: int, cursor: str | None, *, endpoint: str | None = None
    ) -> tuple[list[Record], str | None]:
        """Newest first, optionally of one status and of one endpoint; `cursor` continues where the previous page
        ended.

        The endpoint is a filter, not a key: a page goes on reading until it holds `limit` of that endpoint's
        records, for at most MAX_FILTERED_READS reads; past that it may hold fewer (even none) and still have a
        cursor to the next."""
        if status is None:
            index, key_condition = BY_CREATED_INDEX, "entity = :key"
            values = {":key": {"S": ENTITY}}
            names: dict[str, str] = {}
        else:
            index, key_condition = BY_STATUS_INDEX, "#status = :key"
            values = {":key": {"S": status.value}}
            names = {"#status": "status"}
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
        }
        if endpoint is not None:
            request["FilterExpression"] = "endpoint = :endpoint"
            values[":endpoint"] = {"S": endpoint}
            if endpoint == DEFAULT_ENDPOINT:  # records written before endpoints were are the default endpoint's
                request["FilterExpression"] += " OR attribute_not_exists(endpoint)"
        if names:
            request["ExpressionAttributeNames"] = names
        last = page_start(cursor, status) if cursor else None
        records: list[Record] = []
        for _read in range(MAX_FILTERED_READS if endpoint is not None else 1):
            # A read evaluates no more records than the page still lacks, so it never holds more than `limit` and
            # its last key is where the next page starts.
            request["Limit"] = limit - len(records)
            if last:
                request["ExclusiveStartKey"] = last
            answer = self._query(request, from_cursor=bool(cursor))
            records += [_record(item) for item in answer.get("Items", [])]
            last = answer.get("LastEvaluatedKey")
            if not last or len(records) >= limit:
                break
        return records, cursors.encode(last) if last else None

    @staticmethod
    def _query(request: dict[str, Any], *, from_cursor: bool) -> dict[str, Any]:
        try:
            return dict(aws.client("dynamodb").query(**request))
        except ClientError as exc:
            if aws.error_code(exc) == "ValidationException" and from_cursor:
                raise InvalidInput("cursor", "cursor is not one this API returned") from None
            raise StorageUnavailable(f"the delivery log could not be read: {aws.error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"the delivery log could not be read: {aws.error_code(exc)}") from exc

    def count(self, status: Status) -> int:
        """How many records have a status (a bounded number of index pages: a lower bound past that)."""
        total, start = 0, None
        client = aws.client("dynamodb")
        for _page in range(MAX_COUNT_PAGES):
            request: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": BY_STATUS_INDEX,
                "KeyConditionExpression": "#status = :status",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":status": {"S": status.value}},
                "Select": "COUNT",
            }
            if start:
                request["ExclusiveStartKey"] = start
            try:
                answer = client.query(**request)
            except (ClientError, BotoCoreError) as exc:
                raise StorageUnavailable(f"the delivery log could not be read: {aws.error_code(exc)}") from exc
            total += int(answer.get("Count", 0))
            start = answer.get("LastEvaluatedKey")
            if not start:
                break
        return total


def _record(item: dict[str, Any]) -> Record:
    def text(name: str) -> str:
        return str(item.get(name, {}).get("S", ""))

    attempts = []
    for raw in item.get("attempts", {}).get("L", []):
        data = json.loads(raw.get("S", "{}"))
        attempts.append(
            Attempt(
                at=str(data.get("at", "")),
                status=data.get("status"),
                reason=data.get("reason"),
                latency_ms=int(data.get("latency_ms") or 0),
                trigger=Trigger(data.get("trigger", Trigger.STREAM.value)),
            )
        )
    subject = Subject(
        user_id=text("user_id"),
        user_name=text("user_name"),
        event_id=text("event_id"),
        webhook_id=text("webhook_id"),
        endpoint=text("endpoint") or DEFAULT_ENDPOINT,
        event=text("event_type") or USER_CREATED,
    )
    return Record(
        id=text("id"),
        subject=subject,
        status=Status(text("status")),
        target_host=text("target_host"),
        format=text("format"),
        created_at=text("created_at"),
        updated_at=text("updated_at"),
        attempts=attempts,
        attempt_count=int(item.get("attempt_count", {}).get("N", "0")),
        next_attempt_at=text("next_attempt_at") or None,
        last_reason=text("last_reason") or None,
    )
