"""One notification per new user: resolve the settings, render, check the target, sign, post with retries, exactly
once (idempotency.py), and dead-letter what still fails.

A stream batch is delivered concurrently, on a bounded pool of threads sharing keep-alive connections, so that one
slow receiver does not serialise the batch; every delivery stops at the same deadline.

Ordering: before idempotency, a failed record stopped the rest of its batch (the stream retries from the first
failed record, so delivering later ones would have sent them twice). With the idempotency record that constraint is
gone: every record of a batch is attempted at once, each failure is reported on its own, and when the stream retries
from the first failed record the later ones that were delivered are found COMPLETED and skipped. Notifications of one
batch may therefore arrive out of stream order; each carries its user's `created_at`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.exceptions import OrphanedChildLoggerError
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord, DynamoDBRecordEventName
from aws_lambda_powertools.utilities.typing import LambdaContext

from signup_hooks import (
    deliveries,
    delivery,
    endpoints,
    events,
    formats,
    idempotency,
    messages,
    metrics,
    pacing,
    retry,
    settings,
    settle,
    signing,
    targets,
)
from signup_hooks.config import Config
from signup_hooks.delivery import DeliveryResult, Reason
from signup_hooks.errors import InvalidInput, SignupHooksError, StorageUnavailable
from signup_hooks.settings import DeliverySettings
from signup_hooks.users import User, is_profile

logger = Logger(child=True)

# Time kept back at the end of an invocation for the dead-letter send and the batch response.
DEADLINE_MARGIN_SECONDS = 2.0
# Delivery threads per batch: as many as the connections kept per address (delivery.POOL_CONNECTIONS).
MAX_CONCURRENT_DELIVERIES = delivery.POOL_CONNECTIONS
# The quick first try on the stream: a failure the receiver may get over goes to the retry schedule after this long
# at most, so that a failing receiver never holds the stream (and every later signup's notification) for long.
FIRST_TRY_SECONDS = 10.0
FIRST_TRY = settle.Next()
# How long a notification another invocation holds (its idempotency record in progress) may stay held: at most that
# invocation's timeout, the notifier's Timeout in template.yaml.
IN_PROGRESS_WAIT_SECONDS = 60.0
ONE_ATTEMPT = retry.RetryPolicy(max_attempts=1)  # a scheduled retry or a resend: the schedule spaces attempts


class OutOfTime(SignupHooksError):
    """Too little of the invocation is left to attempt a delivery; the stream will retry the record."""


@contextlib.contextmanager
def log_keys(**keys: str) -> Iterator[None]:
    """Keys on every line this thread logs meanwhile (deeper modules' lines too), and on no other thread's lines.

    Powertools' `append_keys` and `append_context_keys` change one dict shared by every thread: from the delivery
    threads, one delivery's event id would land on another's lines. `thread_safe_append_keys` keeps them in a
    context variable, which each thread has its own of.
    """
    try:
        logger.thread_safe_append_keys(**keys)
    except OrphanedChildLoggerError:  # no handler's Logger yet (a library used on its own): lines carry `extra` only
        yield
        return
    try:
        yield
    finally:
        logger.thread_safe_remove_keys(keys)


@dataclass(frozen=True)
class Outcome:
    """What became of one notification."""

    delivered: bool
    already_delivered: bool = False
    result: DeliveryResult | None = None
    attempts: int = 0


@dataclass(frozen=True)
class Prepared:
    """A notification ready to post: rendered, its target checked, its payload built. `failure` when it cannot be.

    A target whose name could not be resolved for now (the resolver failed temporarily or was too slow) has neither
    `checked` nor `failure`: each attempt checks it again, with `policy`, and a failed lookup is retried like a
    connection error.
    """

    url: str
    message: str
    shape: formats.Shape
    event_id: str  # the delivery key: the idempotency record's and the webhook-id's (endpoints.delivery_key)
    user: User
    endpoint: str = endpoints.DEFAULT
    checked: targets.CheckedTarget | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    signing_secrets: tuple[str, ...] = field(default=(), repr=False)  # newest first; two during a rotation
    failure: DeliveryResult | None = None
    policy: targets.Policy | None = None  # to check the target at each attempt, when it could not be checked yet
    operational: events.OperationalEvent | None = None  # what it announces, when it is not a signup

    @property
    def event(self) -> str:
        return self.operational.type if self.operational else events.USER_CREATED

    @property
    def log_fields(self) -> dict[str, str]:
        """What every line about this notification says: never the URL's path, never the user's email."""
        return {
            "event_id": self.event_id,
            "webhook_id": signing.webhook_id(self.event_id),  # what the receiver saw (header, JSON envelope's id)
            "endpoint": self.endpoint,
            "user_id": self.user.id,
            "target_host": _host(self.url),
            "format": self.shape.value,
        }

    def send(self, connect_timeout: float, read_timeout: float) -> DeliveryResult:
        """One attempt. The webhook-id is the same on every attempt; the signature's timestamp is fresh."""
        if self.failure is not None:
            return self.failure
        checked = self.checked
        if checked is None:
            if self.policy is None:
                return DeliveryResult(False, None, Reason.INVALID_URL, 0)
            started = time.monotonic()
            try:  # the lookup is part of the attempt: it comes out of the connect timeout
                checked = targets.check(self.url, self.policy, lookup_timeout=connect_timeout)
            except targets.TargetError as exc:
                return target_failure(exc, int((time.monotonic() - started) * 1000))
            connect_timeout = max(0.05, connect_timeout - (time.monotonic() - started))
        headers = dict(self.headers)
        if self.signing_secrets:
            headers.update(signing.headers(self.signing_secrets, self.event_id, self.body))
        return delivery.send(checked, self.body, headers, connect_timeout, read_timeout)


def target_failure(exc: targets.TargetError, latency_ms: int = 0) -> DeliveryResult:
    """A target that failed its check, as a result: nothing was sent. Its reason says whether a retry may help."""
    return DeliveryResult(False, None, Reason(exc.reason), latency_ms, detail=exc.message)


# ---------------------------------------------------------------------------------------------------------------------
# A stream batch
# ---------------------------------------------------------------------------------------------------------------------


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


def notify_stream_batch(records: list[dict[str, Any]], config: Config, context: LambdaContext) -> BatchOutcomes:
    """Deliver every new user of a batch to every endpoint that receives signups, concurrently, within the deadline.

    Each endpoint has a lane of its own (at most MAX_CONCURRENT_DELIVERIES threads), so that a slow or failing
    endpoint holds only its own deliveries. A record is done when each of its deliveries is.
    """
    deadline = retry.Deadline(context.get_remaining_time_in_millis() / 1000, DEADLINE_MARGIN_SECONDS)
    parsed = [DynamoDBRecord(raw) for raw in records]
    outcomes = BatchOutcomes()
    try:
        known = endpoints.load_all(config, config.settings_max_age)
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
            _not_configured(user, event_id, config)
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
                futures.append((sequence, pool.submit(deliver_to, endpoint, user, event_id, config, deadline, context)))
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


def _not_configured(user: User, event_id: str, config: Config) -> None:
    with log_keys(correlation_id=event_id, event_id=event_id, user_id=user.id):
        logger.info(
            "webhook not configured: set it with the admin API or WEBHOOK_URL",
            extra={"reason": str(Reason.NOT_CONFIGURED)},
        )
        skipped = deliveries.Subject(user.id, user.name, event_id, signing.webhook_id(event_id))
        settle.skipped(config.deliveries_table, skipped, Reason.NOT_CONFIGURED)


# ---------------------------------------------------------------------------------------------------------------------
# One notification to one endpoint
# ---------------------------------------------------------------------------------------------------------------------


def deliver_to(
    endpoint: endpoints.Endpoint,
    user: User,
    event_id: str,
    config: Config,
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
            notify_new_user(user, key, endpoint.effective(), config, deadline, context, endpoint.id)
        except (idempotency.InProgress, OutOfTime) as exc:
            if not config.retry_queue_url:
                raise
            # Another invocation holds the notification (or this one ran out of time): the retry function takes
            # it over after that invocation's timeout, so that a crash mid-delivery never needs a human.
            wait = IN_PROGRESS_WAIT_SECONDS if isinstance(exc, idempotency.InProgress) else 0.0
            settle.hand_over(config, user, key, endpoint.id, wait, type(exc).__name__)
        except Exception as exc:
            detail = str(exc) if isinstance(exc, SignupHooksError) else ""  # our messages carry no secret
            logger.warning(
                "notification left for the stream to retry",
                extra={"error": type(exc).__name__, "detail": detail},
            )
            raise


def notify_new_user(
    user: User,
    key: str,
    current: settings.Effective,
    config: Config,
    deadline: retry.Deadline,
    context: LambdaContext,
    endpoint: str = endpoints.DEFAULT,
) -> Outcome:
    """Deliver one notification with the endpoint's settings `current`, exactly once (its idempotency record is
    `key`). A failure goes to the retry schedule or the dead-letter queue (settle.py); if that send fails too, the
    error propagates so that the stream retries the record. Nothing is dropped.
    """
    target = current.target
    if target.url is None:
        raise ValueError("an endpoint without a URL receives nothing")  # endpoints.receiving leaves them out
    if deadline.remaining() < retry.MIN_ATTEMPT_SECONDS:
        raise OutOfTime(f"{deadline.remaining():.1f}s left before the invocation's deadline")
    if current.credentials is settings.Credentials.WITHHELD:
        logger.warning(
            "custom header and signing secret withheld: they were saved for another origin",
            extra={"target_host": _host(target.url)},
        )
    first_try = retry.Deadline(min(deadline.remaining(), FIRST_TRY_SECONDS), 0.0)
    prepared = prepare(target.url, user, key, config, current.delivery, deadline, endpoint=endpoint)
    with log_keys(url_source=target.source.value):  # parameter or environment: where a wrong URL was set
        return deliver_once(prepared, config, first_try, context)


def deliver_once(
    prepared: Prepared,
    config: Config,
    deadline: retry.Deadline,
    context: LambdaContext,
    after: settle.Next = FIRST_TRY,
    policy: retry.RetryPolicy | None = None,
) -> Outcome:
    """Post with retries, at most once per event (idempotency table), then settle it (settle.py): the retry
    schedule, the dead-letter queue or, for an administrator's replay (`after.schedule_failures` False), nothing.

    Raises OutOfTime when no attempt could start before the deadline, idempotency.InProgress when another invocation
    is delivering the same event now.
    """
    attempts: list[deliveries.Attempt] = []
    if prepared.failure is not None:  # a refused or invalid target: nothing was sent, nothing to remember
        outcome = Outcome(False, result=prepared.failure)
    else:
        outcome = _deliver_idempotently(prepared, config, deadline, context, policy, attempts, after.trigger)
    _log_outcome(prepared, outcome)
    settle.settle(prepared, outcome, attempts, config, after)
    return outcome


def send_again(prepared: Prepared, config: Config, deadline: retry.Deadline, after: settle.Next) -> Outcome:
    """One attempt outside the idempotency record (an administrator's resend of a delivered notification), logged
    and settled as any other."""
    attempts: list[deliveries.Attempt] = []
    if prepared.failure is not None:
        outcome = Outcome(False, result=prepared.failure)
    else:
        made = send_with_retries(prepared, config, deadline, ONE_ATTEMPT, attempts, after.trigger)
        if made.count == 0:
            raise OutOfTime("no time left for an attempt before the invocation's deadline")
        outcome = Outcome(made.result.delivered, result=made.result, attempts=made.count)
    _log_outcome(prepared, outcome)
    settle.settle(prepared, outcome, attempts, config, after)
    return outcome


def _deliver_idempotently(
    prepared: Prepared,
    config: Config,
    deadline: retry.Deadline,
    context: LambdaContext,
    policy: retry.RetryPolicy | None,
    attempts: list[deliveries.Attempt],
    trigger: deliveries.Trigger,
) -> Outcome:
    def attempt() -> dict[str, Any]:
        made = send_with_retries(prepared, config, deadline, policy, attempts, trigger)
        if made.count == 0:
            raise OutOfTime("no time left for an attempt before the invocation's deadline")
        if not made.result.delivered:
            raise idempotency.NotDelivered(Outcome(False, result=made.result, attempts=made.count))
        result = made.result
        return {"delivered": True, "status": result.status, "attempts": made.count, "latency_ms": result.latency_ms}

    try:
        done = idempotency.once(config.idempotency_table, prepared.event_id, attempt, context)
    except idempotency.NotDelivered as failed:
        return failed.outcome  # type: ignore[no-any-return]
    result = DeliveryResult(True, done.get("status"), None, int(done.get("latency_ms", 0)))
    return Outcome(True, bool(done.get(idempotency.ALREADY_DELIVERED)), result, int(done.get("attempts", 0)))


def _attempt(result: DeliveryResult, trigger: deliveries.Trigger) -> deliveries.Attempt:
    return deliveries.Attempt(
        at=deliveries.now_iso(),
        status=result.status,
        reason=str(result.reason) if result.reason and not result.delivered else None,
        latency_ms=result.latency_ms,
        trigger=trigger,
    )


def _log_outcome(prepared: Prepared, outcome: Outcome) -> None:
    """One line and one metric per notification's outcome (the attempts have a line each too)."""
    result = outcome.result or DeliveryResult(
        outcome.delivered, None, None if outcome.delivered else Reason.NETWORK_ERROR, 0
    )
    fields: dict[str, Any] = {
        **prepared.log_fields,
        "attempts": outcome.attempts,
        "status": result.status,
        "latency_ms": result.latency_ms,
    }
    if outcome.already_delivered:
        logger.info("webhook already delivered", extra=fields)
    elif outcome.delivered:
        logger.info("webhook delivered", extra=fields)
        metrics.count(metrics.DELIVERIES)
    else:
        reason = str(result.reason or Reason.NETWORK_ERROR)
        logger.warning("webhook delivery failed", extra={**fields, "reason": reason, "detail": result.detail})
        metrics.failure(reason)


def send_with_retries(
    prepared: Prepared,
    config: Config,
    deadline: retry.Deadline,
    policy: retry.RetryPolicy | None = None,
    attempts: list[deliveries.Attempt] | None = None,
    trigger: deliveries.Trigger = deliveries.Trigger.STREAM,
) -> retry.Attempts:
    """Attempts paced to the target's rate limit (one slot at a time per webhook), within the deadline. Each attempt
    is added to `attempts`, for the delivery log."""
    interval = pacing.INTERVALS.get(prepared.shape, 0.0)
    pace: Callable[[float], bool] | None = None
    if interval:

        def pace(limit: float) -> bool:
            return pacing.pacer.wait(prepared.url, interval, limit)

    numbers = itertools.count(1)

    def send(connect_timeout: float, read_timeout: float) -> DeliveryResult:
        result = prepared.send(connect_timeout, read_timeout)
        metrics.latency(result.latency_ms)
        if attempts is not None:
            attempts.append(_attempt(result, trigger))
        logger.info(
            "webhook delivery attempt",
            extra={
                **prepared.log_fields,
                "attempt": next(numbers),
                "delivered": result.delivered,
                "status": result.status,
                "latency_ms": result.latency_ms,
                "reason": str(result.reason) if result.reason else None,
            },
        )
        return result

    def on_retry(result: DeliveryResult, wait: float) -> None:
        if result.status == 429:
            pacing.pacer.hold(prepared.url, wait)  # every thread waits for this webhook, not only this one

    return retry.deliver_with_retries(
        send,
        deadline,
        policy or config.retry_policy,
        config.connect_timeout,
        config.read_timeout,
        pace=pace,
        on_retry=on_retry,
    )


def prepare(
    url: str,
    user: User,
    event_id: str,
    config: Config,
    delivery_settings: DeliverySettings,
    deadline: retry.Deadline | None = None,
    *,
    endpoint: str = endpoints.DEFAULT,
) -> Prepared:
    """Render, check the target, build the payload for its receiver, and the headers that do not change per attempt."""
    template = delivery_settings.message_template or config.message_template
    message = messages.render(template, _placeholders(user))
    return prepare_message(url, user, event_id, message, config, delivery_settings, deadline, endpoint=endpoint)


def prepare_message(
    url: str,
    user: User,
    event_id: str,
    message: str,
    config: Config,
    delivery_settings: DeliverySettings,
    deadline: retry.Deadline | None = None,
    *,
    endpoint: str = endpoints.DEFAULT,
    operational: events.OperationalEvent | None = None,
) -> Prepared:
    """As `prepare`, for a message rendered already (a replay keeps the text it was dead-lettered with).

    The target's lookup waits at most the connect timeout, and never past `deadline`. A refused, invalid or
    non-existent target is a failure for good; one whose name could not be resolved for now is checked again at
    each attempt.
    """
    shape = formats.shape_for(delivery_settings.format, url) if _is_valid_url(url) else formats.Shape.TEXT
    base: dict[str, Any] = {
        "url": url,
        "message": message,
        "shape": shape,
        "event_id": event_id,
        "user": user,
        "endpoint": endpoint,
        "operational": operational,
    }
    if not _is_valid_url(url):
        failure = DeliveryResult(False, None, Reason.INVALID_URL, 0, detail="url is not a valid webhook URL")
        return Prepared(**base, failure=failure)
    lookup_timeout = config.connect_timeout if deadline is None else min(config.connect_timeout, deadline.remaining())
    checked: targets.CheckedTarget | None = None
    try:
        checked = targets.check(url, config.target_policy, lookup_timeout=lookup_timeout)
    except targets.ResolutionUnavailable:
        pass  # checked again at each attempt, which the retries and the deadline bound
    except targets.TargetError as exc:
        return Prepared(**base, failure=target_failure(exc))
    message_id = signing.webhook_id(event_id)
    if operational is not None:
        payload = formats.build_event(shape, operational, message_id)
    else:
        payload = formats.build(shape, message, user, message_id)
    headers = {"Content-Type": payload.content_type}
    if delivery_settings.custom_header:
        headers[delivery_settings.custom_header.name] = delivery_settings.custom_header.value
    return Prepared(
        **base,
        checked=checked,
        body=payload.body,
        headers=headers,
        signing_secrets=delivery_settings.signing_secrets,
        policy=config.target_policy,
    )


def prepare_event(
    url: str,
    event: events.OperationalEvent,
    key: str,
    config: Config,
    delivery_settings: DeliverySettings,
    deadline: retry.Deadline,
    endpoint: str,
) -> Prepared:
    """As `prepare`, for an operational event: its own sentence and envelope (events.py), never the signup template."""
    user = User(event.user_id, event.user_name, "", "", 0, "")  # only for the log's record: never an e-mail
    return prepare_message(
        url, user, key, event.message(), config, delivery_settings, deadline, endpoint=endpoint, operational=event
    )


def deliver(
    url: str,
    user: User,
    event_id: str,
    config: Config,
    delivery_settings: DeliverySettings,
    connect_timeout: float,
    read_timeout: float,
) -> tuple[str, DeliveryResult]:
    """One attempt, no retries, no idempotency record (the admin's test send). Returns the message and the result."""
    prepared = prepare(url, user, event_id, config, delivery_settings)
    return prepared.message, prepared.send(connect_timeout, read_timeout)


def _placeholders(user: User) -> dict[str, str]:
    """Each value cleaned (no control or bidi characters, bounded) before it meets the template."""
    values = {"name": user.name, "email": user.email, "role": user.role, "id": user.id}
    return {key: formats.clean_value(value) for key, value in values.items()}


def _host(url: str) -> str:
    """The host of a URL, for the logs: never its path or query (a chat webhook's credential), nor any userinfo."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _is_valid_url(url: str) -> bool:
    """The same rules as the admin API's, for a URL set some other way (the console, WEBHOOK_URL)."""
    try:
        settings.validate_webhook_url(url)
    except InvalidInput:
        return False
    return True
