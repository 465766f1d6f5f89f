"""A stream batch: every new user of a batch of the users table's stream records, delivered to every endpoint that
receives signups (`deliver_stream_batch`, the notifier's one entry point).

A batch is delivered concurrently, one lane per endpoint on a bounded pool of threads sharing keep-alive connections,
so that one slow receiver holds only its own deliveries; every delivery stops at the same deadline. Each delivery is
the quick first try (dispatch.py, trigger `stream`: at most FIRST_TRY_SECONDS), exactly once; a failure the receiver
may get over goes to the retry schedule, so a failing receiver never holds the stream for long.

Ordering: every record of a batch is attempted at once and each failure is reported on its own. When the stream
retries from the first failed record, the later ones that were delivered are found delivered (their idempotency
record is COMPLETED) and skipped. Notifications of one batch may therefore arrive out of stream order; each carries
its user's `created_at`.
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from signup_hooks.config import Config
from signup_hooks.endpoints import registry
from signup_hooks.errors import SignupHooksError, StorageUnavailable
from signup_hooks.log_context import log_keys
from signup_hooks.model.delivery_log import Trigger
from signup_hooks.model.names import DEFAULT_ENDPOINT, USER_CREATED
from signup_hooks.model.results import Reason
from signup_hooks.model.user import User, user_from_record
from signup_hooks.pipeline import dispatch, settle
from signup_hooks.pipeline.limits import DELIVERY_DEADLINE_MARGIN_SECONDS
from signup_hooks.sending import backoff, http
from signup_hooks.storage.ports import Stores

logger = Logger(child=True)


@dataclass
class BatchOutcomes:
    """Each record's error (None: done) by sequence number, for the batch processor to report."""

    errors: dict[str, BaseException | None] = field(default_factory=dict)

    def check(self, record: DynamoDBRecord) -> None:
        error = self.errors.get(_sequence(record))
        if error is not None:
            raise error


def deliver_stream_batch(
    records: list[dict[str, Any]], config: Config, stores: Stores, context: LambdaContext
) -> BatchOutcomes:
    """Deliver every new user of a batch to every endpoint that receives signups, concurrently, within the deadline.

    Each endpoint has a lane of its own (at most http.POOL_CONNECTIONS threads, one per pooled connection), so that a
    slow or failing endpoint holds only its own deliveries. A record is done when each of its deliveries is.
    """
    deadline = backoff.Deadline(context.get_remaining_time_in_millis() / 1000, DELIVERY_DEADLINE_MARGIN_SECONDS)
    parsed = [DynamoDBRecord(raw) for raw in records]
    outcomes = BatchOutcomes()
    try:
        known = stores.endpoints()
    except StorageUnavailable as exc:
        logger.warning(
            "notifications left for the stream to retry: the settings cannot be read", extra={"detail": str(exc)}
        )
        outcomes.errors = {_sequence(record): exc for record in parsed}
        return outcomes
    lanes: dict[str, list[tuple[str, User, str, registry.Endpoint]]] = {}
    for record in parsed:
        sequence, event_id = _sequence(record), record.event_id or ""
        try:
            user = user_from_record(record)
        except Exception as exc:  # one unreadable record must not stop the others
            logger.warning(
                "notification left for the stream to retry",
                extra={"event_id": event_id, "error": type(exc).__name__, "detail": str(exc)},
            )
            outcomes.errors[sequence] = exc
            continue
        outcomes.errors[sequence] = None
        if user is None:
            continue
        receivers = registry.receiving(known, USER_CREATED)
        gone = [endpoint for endpoint in known if endpoint.gone(USER_CREATED)]
        for endpoint in gone:
            _skipped(user, event_id, endpoint.id, dispatch.ENDPOINT_DISABLED, stores)
        if not receivers and not gone:
            _not_configured(user, event_id, stores)
        for endpoint in receivers:
            lanes.setdefault(endpoint.id, []).append((sequence, user, event_id, endpoint))

    futures: list[tuple[str, concurrent.futures.Future[None]]] = []
    pools = []
    try:
        for lane, work in lanes.items():
            workers = min(http.POOL_CONNECTIONS, len(work))
            pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"deliver-{lane}")
            pools.append(pool)
            for sequence, user, event_id, endpoint in work:
                future = pool.submit(_deliver_to, endpoint, known, user, event_id, config, stores, deadline, context)
                futures.append((sequence, future))
    finally:
        for pool in pools:
            pool.shutdown(wait=True)
    for sequence, future in futures:
        error = future.exception()
        if error is not None and outcomes.errors.get(sequence) is None:
            outcomes.errors[sequence] = error
    return outcomes


def _sequence(record: DynamoDBRecord) -> str:
    return str(record.dynamodb.sequence_number if record.dynamodb else "")


def _not_configured(user: User, event_id: str, stores: Stores) -> None:
    with log_keys(correlation_id=event_id, event_id=event_id, user_id=user.id):
        logger.info(
            "webhook not configured: set it with the admin API or WEBHOOK_URL",
            extra={"reason": str(Reason.NOT_CONFIGURED)},
        )
    _skipped(user, event_id, DEFAULT_ENDPOINT, Reason.NOT_CONFIGURED, stores)


def _skipped(user: User, event_id: str, endpoint_id: str, why: str, stores: Stores) -> None:
    with log_keys(correlation_id=event_id, event_id=event_id, user_id=user.id, endpoint=endpoint_id):
        if why != Reason.NOT_CONFIGURED:
            logger.info("notification skipped", extra={"reason": why, "trigger": Trigger.STREAM.value})
        note = dispatch.Notification.signup(user, endpoint_id)
        subject = settle.subject_of(user, note.key, note.endpoint, note.event)
        settle.skipped(stores.log, subject, why)


def _deliver_to(
    endpoint: registry.Endpoint,
    known: list[registry.Endpoint],
    user: User,
    event_id: str,
    config: Config,
    stores: Stores,
    deadline: backoff.Deadline,
    context: LambdaContext,
) -> None:
    """A new user's notification to one endpoint: the quick first try (dispatch.py), exactly once, or handed to the
    retry queue. Raises what the stream must retry (the settings or a queue unavailable): nothing is dropped."""
    request = dispatch.Request(dispatch.Notification.signup(user, endpoint.id), Trigger.STREAM)
    # The correlation id is the stream event id: the same for every endpoint's delivery, in dead letters and replays.
    with log_keys(correlation_id=event_id, event_id=event_id, user_id=user.id, endpoint=endpoint.id):
        try:
            dispatch.dispatch(request, config, stores, deadline, context, known)
        except Exception as exc:
            detail = str(exc) if isinstance(exc, SignupHooksError) else ""  # our messages carry no secret
            logger.warning(
                "notification left for the stream to retry",
                extra={"error": type(exc).__name__, "detail": detail},
            )
            raise
