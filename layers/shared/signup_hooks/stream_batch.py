"""A stream batch: every new user of a batch of the users table's stream records, delivered to every endpoint that
receives signups (`deliver_stream_batch`, the notifier's one entry point).

A batch is delivered concurrently, one lane per endpoint on a bounded pool of threads sharing keep-alive connections,
so that one slow receiver holds only its own deliveries; every delivery stops at the same deadline. Each delivery is
the quick first try (at most FIRST_TRY_SECONDS), exactly once (exactly_once.py); a failure the receiver may get
over goes to the retry schedule, so a failing receiver never holds the stream for long.

Ordering: every record of a batch is attempted at once and each failure is reported on its own. When the stream
retries from the first failed record, the later ones that were delivered are found delivered (their idempotency
record is COMPLETED) and skipped. Notifications of one batch may therefore arrive out of stream order; each carries
its user's `created_at`.
"""

from __future__ import annotations

import concurrent.futures
import time
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord, DynamoDBRecordEventName
from aws_lambda_powertools.utilities.typing import LambdaContext

from signup_hooks import deliveries, delivery, endpoints, retry, send_options, settle, signing
from signup_hooks.config import Config
from signup_hooks.errors import InProgress, OutOfTime, SignupHooksError, StorageUnavailable
from signup_hooks.exactly_once import deliver_exactly_once
from signup_hooks.log_context import log_keys
from signup_hooks.prepare import prepare
from signup_hooks.results import Reason
from signup_hooks.retry_messages import RetryMessage
from signup_hooks.stores import Stores
from signup_hooks.urls import host_of
from signup_hooks.users import User, is_profile

logger = Logger(child=True)

# Time kept back at the end of an invocation for the dead-letter send and the batch response.
DEADLINE_MARGIN_SECONDS = 2.0
# Delivery threads per lane: as many as the connections kept per address (delivery.POOL_CONNECTIONS).
MAX_CONCURRENT_DELIVERIES = delivery.POOL_CONNECTIONS
# The quick first try on the stream: a failure the receiver may get over goes to the retry schedule after this long
# at most, so that a failing receiver never holds the stream (and every later signup's notification) for long.
FIRST_TRY_SECONDS = 10.0
# How long a notification another invocation holds (its idempotency record in progress) may stay held: at most that
# invocation's timeout, the notifier's Timeout in template.yaml.
IN_PROGRESS_WAIT_SECONDS = 60.0


@dataclass
class BatchOutcomes:
    """Each record's error (None: done) by sequence number, for the batch processor to report."""

    errors: dict[str, BaseException | None] = field(default_factory=dict)

    def check(self, record: DynamoDBRecord) -> None:
        error = self.errors.get(_sequence(record))
        if error is not None:
            raise error


def user_from_record(record: DynamoDBRecord) -> User | None:
    """The new user of a stream record, or None for a record that is not a new profile (the mapping's filter keeps
    those out; if it is ever missing they are skipped rather than failed or leaked)."""
    image = record.dynamodb.new_image if record.dynamodb else None
    if not image:
        raise ValueError("stream record has no new image: check the table's StreamViewType")
    if record.event_name != DynamoDBRecordEventName.INSERT or not is_profile(image):
        logger.warning("skipped a stream record that is not a new user", extra={"event_id": record.event_id})
        return None
    return User.from_item(image)


def deliver_stream_batch(
    records: list[dict[str, Any]], config: Config, stores: Stores, context: LambdaContext
) -> BatchOutcomes:
    """Deliver every new user of a batch to every endpoint that receives signups, concurrently, within the deadline.

    Each endpoint has a lane of its own (at most MAX_CONCURRENT_DELIVERIES threads), so that a slow or failing
    endpoint holds only its own deliveries. A record is done when each of its deliveries is.
    """
    deadline = retry.Deadline(context.get_remaining_time_in_millis() / 1000, DEADLINE_MARGIN_SECONDS)
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
    lanes: dict[str, list[tuple[str, User, str, endpoints.Endpoint]]] = {}
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
        receivers = endpoints.receiving(known, deliveries.USER_CREATED)
        if not receivers:
            _not_configured(user, event_id, stores)
        for endpoint in receivers:
            lanes.setdefault(endpoint.id, []).append((sequence, user, event_id, endpoint))

    futures: list[tuple[str, concurrent.futures.Future[None]]] = []
    pools = []
    try:
        for lane, work in lanes.items():
            workers = min(MAX_CONCURRENT_DELIVERIES, len(work))
            pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"deliver-{lane}")
            pools.append(pool)
            for sequence, user, event_id, endpoint in work:
                future = pool.submit(_deliver_to, endpoint, user, event_id, config, stores, deadline, context)
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
        skipped = deliveries.Subject(user.id, user.name, event_id, signing.webhook_id(event_id))
        settle.skipped(stores.log, skipped, Reason.NOT_CONFIGURED)


def _deliver_to(
    endpoint: endpoints.Endpoint,
    user: User,
    event_id: str,
    config: Config,
    stores: Stores,
    deadline: retry.Deadline,
    context: LambdaContext,
) -> None:
    """A new user's notification to one endpoint, exactly once, or handed to the retry queue. Raises what the stream
    must retry (the settings or a queue unavailable)."""
    key = endpoints.delivery_key(event_id, endpoint.id)
    # The correlation id is the stream event id: the same for every endpoint's delivery, in dead letters and replays.
    with log_keys(correlation_id=event_id, event_id=key, user_id=user.id, endpoint=endpoint.id):
        try:
            if endpoint.problem is not None:
                raise endpoint.unavailable()
            _first_try(user, key, endpoint, config, stores, deadline, context)
        except (InProgress, OutOfTime) as exc:
            if stores.retry_queue is None:
                raise
            # Another invocation holds the notification (or this one ran out of time): the retry function takes
            # it over after that invocation's timeout, so that a crash mid-delivery never needs a human.
            wait = IN_PROGRESS_WAIT_SECONDS if isinstance(exc, InProgress) else 0.0
            message = RetryMessage.of(user, key, due_at=time.time() + wait, endpoint=endpoint.id)
            stores.retry_queue.send(message)
            logger.info(
                "notification handed to the retry queue",
                extra={"user_id": user.id, "why": type(exc).__name__, "wait_seconds": wait},
            )
        except Exception as exc:
            detail = str(exc) if isinstance(exc, SignupHooksError) else ""  # our messages carry no secret
            logger.warning(
                "notification left for the stream to retry",
                extra={"error": type(exc).__name__, "detail": detail},
            )
            raise


def _first_try(
    user: User,
    key: str,
    endpoint: endpoints.Endpoint,
    config: Config,
    stores: Stores,
    deadline: retry.Deadline,
    context: LambdaContext,
) -> None:
    """The quick first try with the endpoint's current settings. A failure goes to the retry schedule or the
    dead-letter queue (settle.py); if that send fails too, the error propagates so that the stream retries the
    record. Nothing is dropped."""
    current = endpoint.effective()
    target = current.target
    if target.url is None:
        raise ValueError("an endpoint without a URL receives nothing")  # endpoints.receiving leaves them out
    if deadline.remaining() < retry.MIN_ATTEMPT_SECONDS:
        raise OutOfTime(f"{deadline.remaining():.1f}s left before the invocation's deadline")
    if current.credentials is send_options.Credentials.WITHHELD:
        logger.warning(
            "custom header and signing secret withheld: they were saved for another origin",
            extra={"target_host": host_of(target.url)},
        )
    first_try = retry.Deadline(min(deadline.remaining(), FIRST_TRY_SECONDS), 0.0)
    prepared = prepare(target.url, user, key, config, current.options, deadline, endpoint=endpoint.id)
    with log_keys(url_source=target.source.value):  # parameter or environment: where a wrong URL was set
        deliver_exactly_once(prepared, config, stores, first_try, context)
