"""What the admin routes do with the delivery log: list and read records, resend one, replay a window, the health.

Inputs arrive parsed (`DeliveryQuery`, `ReplayWindow`, from the handler); answers are plain dicts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from signup_hooks import bodies, cursors, deliveries, endpoint_health, endpoints, retry_queue, users
from signup_hooks.config import Config, is_endpoint_id
from signup_hooks.deliveries import Status
from signup_hooks.errors import Conflict, InvalidInput, NotFound, StorageUnavailable
from signup_hooks.users import User

logger = Logger(child=True)

DEFAULT_PAGE = 20
MAX_REPLAY_USERS = 1000  # per call; the answer's cursor continues
MAX_BODY_BYTES = 2048
DEADLINE_MARGIN_SECONDS = 3.0  # the admin function answers well before its timeout
USERS_CURSOR_KEYS = frozenset({"pk", "entity", "created_at"})  # the users index's page key
REPLAY_EVENT_PREFIX = "replay:"  # the key of a user the log has no record of (created before the log existed)


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
            if not raw.isdigit() or not 1 <= int(raw) <= deliveries.MAX_PAGE:
                raise InvalidInput("limit", f"limit must be a whole number from 1 to {deliveries.MAX_PAGE}")
            limit = int(raw)
        cursor = params.get("cursor") or None
        if cursor is not None:
            cursors.decode(cursor, deliveries.CURSOR_KEYS)  # refuse a made-up cursor here, with its field named
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
            cursors.decode(cursor, USERS_CURSOR_KEYS)
        return cls(since, until, cursor or None, endpoint)


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
    records, cursor = deliveries.page(
        config.deliveries_table, query.status, query.limit, query.cursor, endpoint=query.endpoint
    )
    return {"items": [record.to_dict() for record in records], "cursor": cursor}


def get_delivery(config: Config, delivery_id: str) -> dict[str, Any]:
    return _record(config, delivery_id).to_dict()


def health(config: Config) -> dict[str, Any]:
    """The endpoint's health as the admin sees it: last success and failure, and what is waiting."""
    state = endpoint_health.read(config.deliveries_table, deliveries.DEFAULT_ENDPOINT)
    return {
        **state.to_dict(),
        "retrying": deliveries.count(config.deliveries_table, Status.RETRYING),
        "dead_letters": retry_queue.approximate_count(config.dead_letter_queue_url),
    }


def resend(config: Config, delivery_id: str, context: LambdaContext) -> dict[str, Any]:
    """Send the notification again now, to the URL configured now, with the same webhook-id; an attempt of its own.

    A notification not delivered yet goes through its idempotency record (a retry waiting in the schedule then finds
    it delivered); one delivered already is sent again because the administrator asked for it.
    """
    # Delivery code, only on this route: listing the log and the health (every page view) do without it.
    from signup_hooks import idempotency, notifications, retries, retry, settle

    record = _record(config, delivery_id)
    if record.subject.event != deliveries.USER_CREATED:
        raise InvalidInput("id", "only signup notifications (user.created) can be resent", code="not_resendable")
    endpoint = endpoints.find(endpoints.load_all(config, max_age=0, stale_ok=False), record.subject.endpoint)
    if endpoint is None:
        raise InvalidInput("id", "the endpoint of this notification was deleted", code="endpoint_deleted")
    if endpoint.problem is not None:
        raise endpoint.unavailable()
    current = endpoint.effective()
    target = current.target
    if target.url is None:
        raise InvalidInput("url", "no webhook URL is set: set one before a resend", code="not_configured")
    user = users.get_user(config.users_table, record.subject.user_id) or _user_of(record)
    deadline = retry.Deadline(context.get_remaining_time_in_millis() / 1000, DEADLINE_MARGIN_SECONDS)
    # The credentials come only for the origin they were saved for.
    prepared = notifications.prepare(
        target.url, user, record.subject.event_id, config, current.delivery, deadline, endpoint=endpoint.id
    )
    keep = record.status if record.status is Status.RETRYING else Status.FAILED
    after = settle.Next(schedule_failures=False, trigger=deliveries.Trigger.RESEND, failure_status=keep)
    with notifications.log_keys(event_id=record.subject.event_id, user_id=record.subject.user_id):
        if record.status is Status.DELIVERED:
            outcome = notifications.send_again(prepared, config, deadline, after)
        else:
            try:
                outcome = notifications.deliver_once(prepared, config, deadline, context, after, retries.ONE_ATTEMPT)
            except idempotency.InProgress:
                raise Conflict("this notification is being delivered right now; try again in a minute") from None
            except notifications.OutOfTime:
                raise StorageUnavailable("no time was left for the attempt") from None
    logger.info("notification resent", extra={"delivery_id": record.id, "delivered": outcome.delivered})
    return _record(config, delivery_id).to_dict()


def replay(config: Config, window: ReplayWindow) -> dict[str, Any]:
    """Queue, for the retry function, every user created in the window whose notification was not delivered, to
    each enabled endpoint that receives signups (or the one `window.endpoint` names). A disabled endpoint gets
    nothing: re-enabling it does not bring back what it missed unless it is replayed after.

    Users come from the users table's index on creation time (never a scan), at most MAX_REPLAY_USERS a call.
    """
    receivers = endpoints.receiving(endpoints.load_all(config, max_age=0, stale_ok=False), deliveries.USER_CREATED)
    if window.endpoint is not None:
        receivers = [endpoint for endpoint in receivers if endpoint.id == window.endpoint]
    if not receivers:
        raise InvalidInput("url", "no webhook URL is set: set one before a replay", code="not_configured")
    start = cursors.decode(window.cursor, USERS_CURSOR_KEYS) if window.cursor else None
    found, last = users.created_between(config.users_table, window.since, window.until, MAX_REPLAY_USERS, start)
    ids = {
        (endpoint.id, user.id): deliveries.record_id(endpoint.id, deliveries.USER_CREATED, user.id)
        for endpoint in receivers
        for user in found
    }
    records = deliveries.get_many(config.deliveries_table, list(ids.values()))
    now = time.time()
    queued: list[retry_queue.RetryMessage] = []
    already = waiting = 0
    for endpoint in receivers:
        for user in found:
            record = records.get(ids[(endpoint.id, user.id)])
            if record is not None and record.status is Status.DELIVERED:
                already += 1
            elif record is not None and record.status is Status.RETRYING:
                waiting += 1  # the schedule tries it anyway; queuing it again would only race its own retry
            else:
                key = (
                    record.subject.event_id
                    if record
                    else endpoints.delivery_key(REPLAY_EVENT_PREFIX + user.id, endpoint.id)
                )
                queued.append(retry_queue.RetryMessage.of(user, key, due_at=now, replay=True, endpoint=endpoint.id))
    retry_queue.send_now(config.retry_queue_url, queued)
    answer = {
        "users": len(found),
        "endpoints": len(receivers),
        "queued": len(queued),
        "already_delivered": already,
        "skipped": waiting,
        "cursor": cursors.encode(last) if last else None,
    }
    logger.info("replay queued", extra=answer)
    return answer


def _record(config: Config, delivery_id: str) -> deliveries.Record:
    if not isinstance(delivery_id, str) or len(delivery_id) > 64:
        raise NotFound("no delivery with this id")
    found = deliveries.get(config.deliveries_table, delivery_id)
    if found is None:
        raise NotFound("no delivery with this id")
    return found


def _user_of(record: deliveries.Record) -> User:
    return User(record.subject.user_id, record.subject.user_name, "", "", 0, "")
