"""The delivery log's values: one record per notification and endpoint, with every attempt on it. The table that
holds them is storage/deliveries_table.py's (and storage/health_table.py's, for each endpoint's health).

A record's id is derived from what the notification is about (endpoint, event, user), not from the stream event that
carried it, so that a replay can find the record of any user from the user alone. Records hold the target's host,
never the URL's path, a secret or an e-mail, keep at most MAX_ATTEMPTS attempts, and expire RETENTION_SECONDS after
their last change (TTL).

Items: `id = dlv_<uuid5>`, in the sparse indexes by creation time (all, and per status); a page of them is continued
with a cursor (cursors.py) holding its index's key (`page_start`).
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from typing import Any

from signup_hooks.model import cursors
from signup_hooks.model.names import DEFAULT_ENDPOINT, USER_CREATED

RETENTION_SECONDS = 30 * 24 * 3600
MAX_ATTEMPTS = 20  # kept per record; older ones are dropped first
MAX_PAGE = 100
ENTITY = "delivery"
BY_CREATED_INDEX = "ByCreated"
BY_STATUS_INDEX = "ByStatus"
# The single-URL API's endpoint and the signup event: the names every record, message and document defaults to.
_ID_NAMESPACE = uuid.UUID("3f0b7a52-0e8c-5b9b-a1f4-6c2d9e8b7a10")
_MAX_COUNT_PAGES = 20
# The key of a page of each index (the table's key and the index's): what a cursor must hold, and nothing else.
CURSOR_SCHEMAS: dict[str, cursors.Schema] = {
    BY_CREATED_INDEX: {"id": "S", "entity": "S", "sort_key": "S"},
    BY_STATUS_INDEX: {"id": "S", "status": "S", "sort_key": "S"},
}


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
    reason: str | None  # results.Reason value, None when delivered
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
    event_id: str  # the notification's key (endpoints.notification_key): its idempotency record and webhook-id
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


def page_start(cursor: str, status: Status | None) -> dict[str, Any]:
    """Where a page of the log (of one status, or of all) continues: the cursor's key for that query's index and
    partition, or InvalidInput naming `cursor`."""
    if status is None:
        return cursors.decode(cursor, CURSOR_SCHEMAS[BY_CREATED_INDEX], partition={"entity": ENTITY})
    return cursors.decode(cursor, CURSOR_SCHEMAS[BY_STATUS_INDEX], partition={"status": status.value})
