"""The delivery log (DynamoDB): one record per notification and endpoint, with every attempt on it. With
endpoint_health.py (the same table's health items), the only module that touches the deliveries table.

A record's id is derived from what the notification is about (endpoint, event, user), not from the stream event that
carried it, so that a replay can find the record of any user from the user alone. Records hold the target's host,
never the URL's path, a secret or an e-mail, keep at most MAX_ATTEMPTS attempts, and expire RETENTION_SECONDS after
their last change (TTL).

Items: `id = dlv_<uuid5>`, in the sparse indexes by creation time (all, and per status).
"""

from __future__ import annotations

import enum
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from signup_hooks import aws, cursors
from signup_hooks.errors import InvalidInput, StorageUnavailable

RETENTION_SECONDS = 30 * 24 * 3600
MAX_ATTEMPTS = 20  # kept per record; older ones are dropped first
MAX_PAGE = 100
ENTITY = "delivery"
BY_CREATED_INDEX = "ByCreated"
BY_STATUS_INDEX = "ByStatus"
DEFAULT_ENDPOINT = "default"
USER_CREATED = "user.created"
_ID_NAMESPACE = uuid.UUID("3f0b7a52-0e8c-5b9b-a1f4-6c2d9e8b7a10")
_MAX_COUNT_PAGES = 20
CURSOR_KEYS = frozenset({"id", "entity", "sort_key", "status"})  # the keys of a page of the log's indexes


class Status(enum.StrEnum):
    DELIVERED = "delivered"
    RETRYING = "retrying"
    FAILED = "failed"
    SKIPPED = "skipped"


class Trigger(enum.StrEnum):
    """What made an attempt: the stream's first try, the schedule, or an administrator."""

    STREAM = "stream"
    SCHEDULE = "schedule"
    RESEND = "resend"
    REPLAY = "replay"
    REDRIVE = "redrive"


@dataclass(frozen=True)
class Attempt:
    at: str
    status: int | None  # the receiver's HTTP status, None when no answer came
    reason: str | None  # delivery.Reason value, None when delivered
    latency_ms: int
    trigger: Trigger

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "status": self.status,
            "reason": self.reason,
            "latency_ms": self.latency_ms,
            "trigger": self.trigger.value,
        }


@dataclass(frozen=True)
class Subject:
    """What a record is about. Everything else of a record changes with its attempts."""

    user_id: str
    user_name: str
    event_id: str  # the stream event that announced the user: the idempotency key and the source of the webhook-id
    webhook_id: str
    endpoint: str = DEFAULT_ENDPOINT
    event: str = USER_CREATED

    @property
    def id(self) -> str:
        # A signup's record is found from its user (a replay); an operational event's from its delivery key.
        return record_id(self.endpoint, self.event, self.user_id if self.event == USER_CREATED else self.event_id)


@dataclass(frozen=True)
class Record:
    id: str
    subject: Subject
    status: Status
    target_host: str
    format: str
    created_at: str
    updated_at: str
    attempts: list[Attempt] = field(default_factory=list)
    attempt_count: int = 0
    next_attempt_at: str | None = None
    last_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """What the admin API shows."""
        return {
            "id": self.id,
            "webhook_id": self.subject.webhook_id,
            "endpoint": self.subject.endpoint,
            "event": self.subject.event,
            "user": {"id": self.subject.user_id, "name": self.subject.user_name},
            "status": self.status.value,
            "target_host": self.target_host,
            "format": self.format,
            "attempt_count": self.attempt_count,
            "attempts": [attempt.to_dict() for attempt in self.attempts],
            "last_reason": self.last_reason,
            "next_attempt_at": self.next_attempt_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def record_id(endpoint: str, event: str, user_id: str) -> str:
    return "dlv_" + uuid.uuid5(_ID_NAMESPACE, f"{endpoint}|{event}|{user_id}").hex


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------------------


def record(
    table: str,
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
    now = now_iso()
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
            TableName=table,
            Key={"id": {"S": subject.id}},
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="UPDATED_NEW",
        )
        kept = answer.get("Attributes", {}).get("attempts", {}).get("L", [])
        if len(kept) > MAX_ATTEMPTS:
            _drop_oldest(table, subject.id, len(kept) - MAX_ATTEMPTS)
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailable(f"the delivery log could not be written: {_code(exc)}") from exc


def _drop_oldest(table: str, item_id: str, count: int) -> None:
    removes = ", ".join(f"attempts[{index}]" for index in range(count))
    try:
        aws.client("dynamodb").update_item(
            TableName=table,
            Key={"id": {"S": item_id}},
            UpdateExpression=f"REMOVE {removes}",
            ConditionExpression="size(attempts) > :max",
            ExpressionAttributeValues={":max": {"N": str(MAX_ATTEMPTS)}},
        )
    except ClientError as exc:
        if _code(exc) != "ConditionalCheckFailedException":  # another writer trimmed it already
            raise


# ---------------------------------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------------------------------


def get(table: str, item_id: str) -> Record | None:
    if not item_id.startswith("dlv_"):
        return None
    try:
        item = aws.client("dynamodb").get_item(TableName=table, Key={"id": {"S": item_id}}, ConsistentRead=True)
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailable(f"the delivery log could not be read: {_code(exc)}") from exc
    found = item.get("Item")
    return _record(found) if found else None


def get_many(table: str, item_ids: list[str]) -> dict[str, Record]:
    """Records by id (BatchGetItem, 100 at a time); ids without a record are absent from the answer."""
    found: dict[str, Record] = {}
    client = aws.client("dynamodb")
    for start in range(0, len(item_ids), 100):
        keys: list[dict[str, Any]] = [
            {"id": {"S": item_id}} for item_id in dict.fromkeys(item_ids[start : start + 100])
        ]
        for _round in range(5):  # unprocessed keys (throttling) are asked again, a bounded number of times
            try:
                answer = client.batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}})
            except (ClientError, BotoCoreError) as exc:
                raise StorageUnavailable(f"the delivery log could not be read: {_code(exc)}") from exc
            for item in answer.get("Responses", {}).get(table, []):
                one = _record(item)
                found[one.id] = one
            keys = answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
            if not keys:
                break
        else:
            raise StorageUnavailable("the delivery log kept throttling a batch read")
    return found


def page(
    table: str, status: Status | None, limit: int, cursor: str | None, *, endpoint: str | None = None
) -> tuple[list[Record], str | None]:
    """Newest first, optionally of one status and of one endpoint; `cursor` continues where the previous page ended.

    The endpoint is a filter, not a key: a page reads `limit` records and keeps that endpoint's, so it may hold fewer
    (even none) and still have a cursor to the next."""
    if status is None:
        index, key_condition = BY_CREATED_INDEX, "entity = :key"
        values = {":key": {"S": ENTITY}}
        names: dict[str, str] = {}
    else:
        index, key_condition = BY_STATUS_INDEX, "#status = :key"
        values = {":key": {"S": status.value}}
        names = {"#status": "status"}
    request: dict[str, Any] = {
        "TableName": table,
        "IndexName": index,
        "KeyConditionExpression": key_condition,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if endpoint is not None:
        request["FilterExpression"] = "endpoint = :endpoint"
        values[":endpoint"] = {"S": endpoint}
        if endpoint == DEFAULT_ENDPOINT:  # records written before endpoints were are the default endpoint's
            request["FilterExpression"] += " OR attribute_not_exists(endpoint)"
    if names:
        request["ExpressionAttributeNames"] = names
    if cursor:
        request["ExclusiveStartKey"] = cursors.decode(cursor, CURSOR_KEYS)
    try:
        answer = aws.client("dynamodb").query(**request)
    except ClientError as exc:
        if _code(exc) == "ValidationException" and cursor:
            raise InvalidInput("cursor", "cursor is not one this API returned") from None
        raise StorageUnavailable(f"the delivery log could not be read: {_code(exc)}") from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(f"the delivery log could not be read: {_code(exc)}") from exc
    records = [_record(item) for item in answer.get("Items", [])]
    last = answer.get("LastEvaluatedKey")
    return records, cursors.encode(last) if last else None


def count(table: str, status: Status) -> int:
    """How many records have a status (a bounded number of index pages: a lower bound past that)."""
    total, start = 0, None
    client = aws.client("dynamodb")
    for _page in range(_MAX_COUNT_PAGES):
        request: dict[str, Any] = {
            "TableName": table,
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
            raise StorageUnavailable(f"the delivery log could not be read: {_code(exc)}") from exc
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


def _code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__
