"""What the admin routes do with the delivery log: list and read records, replay a window, the health (resend.py
resends one record).

Inputs arrive parsed (`DeliveryQuery`, `ReplayWindow`, from the handler); answers are plain dicts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from signup_hooks.api import bodies
from signup_hooks.config import Config
from signup_hooks.digits import is_ascii_digits
from signup_hooks.endpoints import registry
from signup_hooks.endpoints.registry import is_endpoint_id
from signup_hooks.errors import InvalidInput, NotFound
from signup_hooks.model import cursors, delivery_log
from signup_hooks.model.delivery_log import Status
from signup_hooks.model.names import DEFAULT_ENDPOINT, USER_CREATED
from signup_hooks.model.retry_message import RetryMessage
from signup_hooks.model.user import USER_ENTITY, User
from signup_hooks.pipeline.limits import ADMIN_DEADLINE_MARGIN_SECONDS
from signup_hooks.sending import backoff
from signup_hooks.storage import queues, settings_store
from signup_hooks.storage.deliveries_table import DeliveriesTable
from signup_hooks.storage.health_table import HealthTable
from signup_hooks.storage.ports import DeliveryLog, RetryQueue
from signup_hooks.storage.users_table import UsersTable

logger = Logger(child=True)

DEFAULT_PAGE = 20
MAX_REPLAY_USERS = 1000  # per call; the answer's cursor continues
REPLAY_MESSAGES_PER_PAGE = 500  # users per page x endpoints: one page's reads and sends
REPLAY_PAGE_SECONDS = 3.0  # the least time left in which another page starts (more when pages have been slower)
# A retry is stranded when its next attempt is this long past: a due message is taken within seconds, one the
# consumer keeps failing on leaves the retry queue (redrive policy) within its receives, well under this.
STRANDED_AFTER_SECONDS = 3600
MAX_BODY_BYTES = 2048
USERS_CURSOR_KEYS: cursors.Schema = {"pk": "S", "entity": "S", "created_at": "N"}  # the users index's page key


# ---------------------------------------------------------------------------------------------------------------------
# Inputs, parsed at the edge
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryQuery:
    status: Status | None = None
    limit: int = DEFAULT_PAGE
    cursor: str | None = None
    endpoint: str | None = None  # one endpoint's records only

    @classmethod
    def parse(cls, params: dict[str, str] | None) -> DeliveryQuery:
        params = params or {}
        unknown = set(params) - {"status", "limit", "cursor", "endpoint"}
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "unknown query parameter; use status, limit, cursor, endpoint")
        status = None
        if params.get("status"):
            try:
                status = Status(params["status"])
            except ValueError:
                raise InvalidInput("status", "status must be one of " + ", ".join(s.value for s in Status)) from None
        limit = DEFAULT_PAGE
        if params.get("limit"):
            raw = params["limit"]
            if not is_ascii_digits(raw) or not 1 <= int(raw) <= delivery_log.MAX_PAGE:
                raise InvalidInput("limit", f"limit must be a whole number from 1 to {delivery_log.MAX_PAGE}")
            limit = int(raw)
        cursor = params.get("cursor") or None
        if cursor is not None:
            delivery_log.page_start(cursor, status)  # refuse a made-up cursor here, with its field named
        endpoint = params.get("endpoint") or None
        if endpoint is not None and not is_endpoint_id(endpoint):
            raise InvalidInput("endpoint", "endpoint must be an endpoint id")
        return cls(status, limit, cursor, endpoint)


@dataclass(frozen=True)
class ReplayWindow:
    since: int  # epoch seconds, inclusive
    until: int
    cursor: str | None = None
    endpoint: str | None = None  # one endpoint only; else every endpoint that receives signups

    @classmethod
    def parse(cls, body: str | None, now: float | None = None) -> ReplayWindow:
        data = bodies.json_object(body, MAX_BODY_BYTES)
        unknown = set(data) - {"since", "until", "cursor", "endpoint"}
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "unknown field; use since, until, cursor, endpoint")
        endpoint = data.get("endpoint")
        if endpoint is not None and not (isinstance(endpoint, str) and is_endpoint_id(endpoint)):
            raise InvalidInput("endpoint", "endpoint must be the id of an endpoint")
        if "since" not in data:
            raise InvalidInput("since", "since is required (an ISO 8601 time)", code="missing_field")
        since = _instant(data["since"], "since")
        until = _instant(data["until"], "until") if data.get("until") is not None else int(now or time.time())
        if since > until:
            raise InvalidInput("until", "until must not be before since")
        cursor = data.get("cursor")
        if cursor is not None and not isinstance(cursor, str):
            raise InvalidInput("cursor", "cursor must be the string a previous replay returned")
        if cursor:
            _check_users_cursor(cursor, since, until)
        return cls(since, until, cursor or None, endpoint)


def _check_users_cursor(cursor: str, since: int, until: int) -> None:
    """A replay's cursor is a key of the users index within the window: DynamoDB refuses a start key outside the
    query's range ("outside query boundaries") as it refuses one of another partition."""
    key = cursors.decode(cursor, USERS_CURSOR_KEYS, partition={"entity": USER_ENTITY})
    if not since <= cursors.number(key, "created_at") <= until:
        raise InvalidInput("cursor", "cursor is not one this API returned for this window")


def _instant(value: object, field: str) -> int:
    if not isinstance(value, str) or len(value) > 40:
        raise InvalidInput(field, f"{field} must be an ISO 8601 time such as 2026-01-31T09:00:00Z")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise InvalidInput(field, f"{field} must be an ISO 8601 time such as 2026-01-31T09:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # a time without a zone is read as UTC
    return int(moment.timestamp())


# ---------------------------------------------------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------------------------------------------------


def list_deliveries(config: Config, query: DeliveryQuery) -> dict[str, Any]:
    records, cursor = DeliveriesTable(config.deliveries_table).page(
        query.status, query.limit, query.cursor, endpoint=query.endpoint
    )
    return {"items": [record.to_dict() for record in records], "cursor": cursor}


def get_delivery(config: Config, delivery_id: str) -> dict[str, Any]:
    return record_of(DeliveriesTable(config.deliveries_table), delivery_id).to_dict()


def health(config: Config) -> dict[str, Any]:
    """The endpoint's health as the admin sees it: last success and failure, and what is waiting."""
    state = HealthTable(config.deliveries_table).read(DEFAULT_ENDPOINT)
    return {
        **state.to_dict(),
        "retrying": DeliveriesTable(config.deliveries_table).count(Status.RETRYING),
        "dead_letters": queues.approximate_count(config.dead_letter_queue_url),
    }


class UsersByCreation(Protocol):
    """Users created in a window, a page at a time (storage/users_table.py)."""

    def created_between(
        self, since: int, until: int, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[User], dict[str, Any] | None]: ...


def replay(config: Config, window: ReplayWindow, seconds: float) -> dict[str, Any]:
    """The replay route: `queue_replay` with this deployment's endpoints (as stored now), tables and retry queue,
    within `seconds` (what is left of the invocation)."""
    known = registry.load_all(config, settings_store.read_documents, max_age=0, stale_ok=False)
    log = DeliveriesTable(config.deliveries_table)
    deadline = backoff.Deadline(seconds, ADMIN_DEADLINE_MARGIN_SECONDS)
    queue = queues.RetryQueue(config.retry_queue_url)
    return queue_replay(window, known, UsersTable(config.users_table), log, queue, deadline)


def queue_replay(
    window: ReplayWindow,
    known: list[registry.Endpoint],
    users: UsersByCreation,
    log: DeliveryLog,
    queue: RetryQueue,
    deadline: backoff.Deadline | None = None,
) -> dict[str, Any]:
    """Queue, for the retry function, every user created in the window whose notification was not delivered, to
    each enabled endpoint that receives signups (or the one `window.endpoint` names). A disabled endpoint gets
    nothing: re-enabling it does not bring back what it missed unless it is replayed after. A notification the
    schedule is retrying already is left to it, unless its next attempt is long past (its retry was stranded).

    Each queued notification keeps its identity (the key its log record holds, else registry.notification_key), so
    a replay during a first try, a retry or a redrive of the same notification meets it at one idempotency record
    and sends nothing twice. Users come a page at a time from the users table's index on creation time (never a
    scan), at most MAX_REPLAY_USERS a call, and the call stops early, with a cursor, before `deadline`.
    """
    receivers = registry.receiving(known, USER_CREATED)
    if window.endpoint is not None:
        receivers = [endpoint for endpoint in receivers if endpoint.id == window.endpoint]
    if not receivers:
        raise InvalidInput("url", "no webhook URL is set: set one before a replay", code="not_configured")
    start = cursors.decode(window.cursor, USERS_CURSOR_KEYS) if window.cursor else None
    counts = {"users": 0, "queued": 0, "already_delivered": 0, "skipped": 0}
    page = max(1, REPLAY_MESSAGES_PER_PAGE // len(receivers))
    slowest = 0.0
    while counts["users"] < MAX_REPLAY_USERS:
        started = time.monotonic()
        found, start = users.created_between(
            window.since, window.until, min(page, MAX_REPLAY_USERS - counts["users"]), start
        )
        _queue_page(found, receivers, log, queue, counts)
        counts["users"] += len(found)
        slowest = max(slowest, time.monotonic() - started)
        # Another page only with time for two of the slowest so far: the answer must come before the timeout.
        if start is None or (deadline is not None and deadline.remaining() < max(REPLAY_PAGE_SECONDS, 2 * slowest)):
            break
    answer = {**counts, "endpoints": len(receivers), "cursor": cursors.encode(start) if start else None}
    logger.info("replay queued", extra=answer)
    return answer


def _queue_page(
    found: list[User], receivers: list[registry.Endpoint], log: DeliveryLog, queue: RetryQueue, counts: dict[str, int]
) -> None:
    ids = {
        (endpoint.id, user.id): delivery_log.record_id(endpoint.id, USER_CREATED, user.id)
        for endpoint in receivers
        for user in found
    }
    records = log.get_many(list(ids.values()))
    now = time.time()
    queued: list[RetryMessage] = []
    for endpoint in receivers:
        for user in found:
            record = records.get(ids[(endpoint.id, user.id)])
            if record is not None and record.status is Status.DELIVERED:
                counts["already_delivered"] += 1
            elif record is not None and record.status is Status.RETRYING and not _stranded(record, now):
                counts["skipped"] += 1  # the schedule tries it anyway
            else:
                key = record.subject.event_id if record else _identity(user, endpoint.id)
                queued.append(RetryMessage.of(user, key, due_at=now, replay=True, endpoint=endpoint.id))
    queue.send_now(queued)
    counts["queued"] += len(queued)


def _identity(user: User, endpoint_id: str) -> str:
    return registry.notification_key(USER_CREATED, user.id, endpoint_id)


def _stranded(record: delivery_log.Record, now: float) -> bool:
    """A retry whose next attempt is long past: nothing waits for it any more (its message left the retry queue)."""
    if not record.next_attempt_at:
        return False  # the log does not say when: left to the schedule
    try:
        due = datetime.fromisoformat(record.next_attempt_at).timestamp()
    except ValueError:
        return False
    return now - due > STRANDED_AFTER_SECONDS


def record_of(log: DeliveryLog, delivery_id: str) -> delivery_log.Record:
    """The record of a delivery id from a request, or NotFound."""
    if not isinstance(delivery_id, str) or len(delivery_id) > 64:
        raise NotFound("no delivery with this id")
    found = log.get(delivery_id)
    if found is None:
        raise NotFound("no delivery with this id")
    return found
