"""The one way a notification is sent.

Every trigger (the stream's first try, a scheduled retry, a replay, a resend, a redrive, an operational event, a test
send) builds a `Request` and hands it to `dispatch`, which owns the stages: find the endpoint, check it, take its
current settings, prepare, deliver exactly once, settle, announce. What differs from one trigger to another is its
`Rule`, kept in RULES below and nowhere else; no other module calls the stages.

Identity: a notification is keyed by what it is about (registry.notification_key: the event, its subject, the
endpoint), so the first try, every retry, resend, redrive and replay of it share one idempotency record and one
webhook-id, whichever path found it. A key made before that rule (a stream event id) is carried by the messages,
dead letters and log records that hold it, and kept, so a receiver never sees a second webhook-id for a notification.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from signup_hooks import metrics
from signup_hooks.config import Config
from signup_hooks.endpoints import registry, send_options
from signup_hooks.endpoints.send_options import SendOptions
from signup_hooks.errors import InProgress, OutOfTime, StorageUnavailable
from signup_hooks.log_context import log_keys
from signup_hooks.model import delivery_log, events
from signup_hooks.model.delivery_log import Status, Trigger
from signup_hooks.model.names import USER_CREATED
from signup_hooks.model.results import DeliveryResult, Reason
from signup_hooks.model.retry_message import RetryMessage
from signup_hooks.model.urls import host_of
from signup_hooks.model.user import User
from signup_hooks.pipeline import attempts, operational, settle
from signup_hooks.pipeline.exactly_once import deliver_exactly_once
from signup_hooks.pipeline.outcome import Next, Outcome
from signup_hooks.pipeline.prepare import Prepared, prepare
from signup_hooks.sending import backoff
from signup_hooks.storage.ports import Stores

logger = Logger(child=True)

# The quick first try on the stream: a failure the receiver may get over goes to the retry schedule after this long
# at most, so that a failing receiver never holds the stream (and every later signup's notification) for long.
FIRST_TRY_SECONDS = 10.0
# How long a notification another invocation holds (its idempotency record in progress) may stay held: at most that
# invocation's timeout, the notifier's Timeout in template.yaml.
IN_PROGRESS_WAIT_SECONDS = 60.0
ONE_ATTEMPT = backoff.RetryPolicy(max_attempts=1)  # the schedule spaces the attempts
# A redrive tries each notification twice at most: the receiver had its retries already.
REDRIVE_POLICY = backoff.RetryPolicy(max_attempts=2, base_delay=0.5, max_delay=2.0, retry_after_cap=5.0)
# Why a notification is not sent, beside results.Reason.NOT_CONFIGURED: its endpoint changed meanwhile.
ENDPOINT_DISABLED = "endpoint_disabled"
ENDPOINT_DELETED = "endpoint_deleted"
ENDPOINT_UNSUBSCRIBED = "endpoint_unsubscribed"  # it no longer receives the event


@dataclass(frozen=True)
class Rule:
    """What a trigger does differently; everything else is the same for all of them."""

    policy: backoff.RetryPolicy | None  # the round of attempts; None: the function's own (the first try's)
    schedule_failures: bool  # a failure goes on the retry schedule, then the dead-letter queue
    keeps_status: bool = False  # a failure leaves the log's status as it was (a failed one is not dead-lettered again)
    sends_again: bool = False  # a delivered notification is sent again, outside its idempotency record
    logs_skips: bool = True  # a notification its endpoint no longer takes is logged `skipped` (else only answered)
    hands_over: bool = False  # held elsewhere or out of time: queued for the retry function rather than raised
    seconds: float | None = None  # at most this long for its round


RULES: dict[Trigger, Rule] = {
    Trigger.STREAM: Rule(None, schedule_failures=True, hands_over=True, seconds=FIRST_TRY_SECONDS),
    Trigger.SCHEDULE: Rule(ONE_ATTEMPT, schedule_failures=True, hands_over=True),
    # A replay of a failed notification leaves it failed, its dead letter where it is; of one never tried, it starts
    # the schedule, so that nothing a replay picked up can vanish.
    Trigger.REPLAY: Rule(ONE_ATTEMPT, schedule_failures=True, keeps_status=True, hands_over=True),
    Trigger.RESEND: Rule(ONE_ATTEMPT, schedule_failures=False, keeps_status=True, sends_again=True, logs_skips=False),
    # A redrive that fails leaves its message in the dead-letter queue: no new dead letter, no schedule.
    Trigger.REDRIVE: Rule(REDRIVE_POLICY, schedule_failures=False, logs_skips=False),
}


@dataclass(frozen=True)
class Notification:
    """What is sent: its subject, the endpoint it goes to, and its identity (`key`)."""

    user: User  # a signup's user; an operational event's is only for the log (no e-mail)
    endpoint: str
    key: str  # the idempotency record's and the webhook-id's (registry.notification_key)
    operational: events.OperationalEvent | None = None
    message: str | None = None  # the text a dead letter kept; None: rendered from the current template

    @property
    def event(self) -> str:
        return self.operational.type if self.operational else USER_CREATED

    @classmethod
    def signup(cls, user: User, endpoint: str) -> Notification:
        return cls(user, endpoint, registry.notification_key(USER_CREATED, user.id, endpoint))

    @classmethod
    def of_message(cls, message: RetryMessage) -> Notification:
        """The notification a retry-queue message names. Raises ValueError for a malformed operational event."""
        operational = None
        if message.event != USER_CREATED:
            operational = events.OperationalEvent.from_dict(message.details)
        user = User(message.user_id, message.user_name, "", message.user_role, message.user_created_at, "")
        return cls(user, message.endpoint, message.event_id, operational)


@dataclass(frozen=True)
class Request:
    notification: Notification
    trigger: Trigger
    retries_done: int = 0  # scheduled retries made before this one (a retry message's count)
    first_attempt_at: str | None = None

    @property
    def retries_after(self) -> int:
        """The count after this round: a scheduled retry is one more; a replay starts nothing new."""
        return self.retries_done + (1 if self.trigger is Trigger.SCHEDULE else 0)


@dataclass(frozen=True)
class Skipped:
    """Nothing was sent: the endpoint does not take the notification now (why: ENDPOINT_* or not_configured)."""

    why: str


def dispatch(
    request: Request,
    config: Config,
    stores: Stores,
    deadline: backoff.Deadline,
    context: LambdaContext,
    known: list[registry.Endpoint] | None = None,
) -> Outcome | Skipped:
    """Send one notification as its trigger's rule says, exactly once. `known`: the endpoints as the caller read
    them (an admin's fresh read), else the function's cached read.

    Raises StorageUnavailable when the endpoint's settings cannot be read (the caller's queue or stream retries),
    and, unless the rule hands over, InProgress (another invocation delivers it now) and OutOfTime.
    """
    rule = RULES[request.trigger]
    note = request.notification
    with log_keys(key=note.key, user_id=note.user.id, endpoint=note.endpoint):
        endpoint = registry.find(stores.endpoints() if known is None else known, note.endpoint)
        if endpoint is not None and endpoint.problem is not None:
            raise endpoint.unavailable()
        current = endpoint.effective() if endpoint is not None else None
        why = why_not_sent(endpoint, current, note.event)
        if endpoint is None or current is None or current.target.url is None or why is not None:
            why = why or str(Reason.NOT_CONFIGURED)
            if rule.logs_skips:
                logger.info("notification skipped", extra={"reason": why, "trigger": request.trigger.value})
                settle.skipped(stores.log, _subject(note), why)
            return Skipped(why)
        if current.credentials is send_options.Credentials.WITHHELD:
            logger.warning(
                "custom header and signing secret withheld: they were saved for another origin",
                extra={"target_host": host_of(current.target.url)},
            )
        user = note.user
        if note.operational is None and not user.email:  # a queue or a dead letter never holds the e-mail
            user = stores.users.get(user.id) or user
        round_deadline = deadline
        if rule.seconds is not None:
            round_deadline = backoff.Deadline(min(deadline.remaining(), rule.seconds), 0.0)
        if deadline.remaining() < backoff.MIN_ATTEMPT_SECONDS:
            return _out_of_time(request, stores, rule, f"{deadline.remaining():.1f}s left")
        prepared = prepare(
            current.target.url,
            user,
            note.key,
            config,
            current.options,
            deadline,
            endpoint=endpoint.id,
            message=note.message,
            operational=note.operational,
        )
        prior = _prior_status(note, stores) if rule.keeps_status else None
        after = Next(
            schedule_failures=rule.schedule_failures and prior is not Status.FAILED,
            retries_done=request.retries_after,
            first_attempt_at=request.first_attempt_at,
            trigger=request.trigger,
            failure_status=prior or Status.FAILED,
        )
        with log_keys(url_source=current.target.source.value):  # parameter or environment: where a wrong URL was set
            if rule.sends_again and prior is Status.DELIVERED:
                return _send_again(prepared, config, stores, round_deadline, rule, after)
            try:
                outcome, tried = deliver_exactly_once(
                    prepared, config, stores, round_deadline, context, request.trigger, rule.policy
                )
            except (InProgress, OutOfTime) as exc:
                if not rule.hands_over:
                    raise
                return _out_of_time(request, stores, rule, str(exc), held=isinstance(exc, InProgress))
            _settle(prepared, outcome, tried, config, stores, after)
    if request.trigger is Trigger.SCHEDULE and outcome.delivered and not outcome.already_delivered:
        metrics.count(metrics.RECOVERED)
    return outcome


def why_not_sent(endpoint: registry.Endpoint | None, current: send_options.Effective | None, event: str) -> str | None:
    """Why an endpoint does not take `event` now, or None when it does."""
    if endpoint is None:
        return ENDPOINT_DELETED
    if not endpoint.stored.enabled:
        return ENDPOINT_DISABLED
    if not endpoint.receives(event):
        return ENDPOINT_UNSUBSCRIBED
    if current is None or current.target.url is None:
        return str(Reason.NOT_CONFIGURED)
    return None


def send_test(
    url: str, user: User, options: SendOptions, config: Config, timeouts: tuple[float, float]
) -> DeliveryResult:
    """The test trigger: one attempt with the given settings, recorded nowhere (no idempotency record, no log, no
    health, no schedule, no metric), its payload marked as a test."""
    prepared = prepare(url, user, user.id, config, options, test=True)
    return attempts.post_attempt(prepared, *timeouts)


def _out_of_time(request: Request, stores: Stores, rule: Rule, why: str, held: bool = False) -> Outcome:
    """Another invocation holds the notification (or this one ran out of time): for a rule that hands over, the retry
    function takes it again after that invocation's timeout, as the same request, so that a crash mid-delivery
    never needs a human and a message never counts a receive toward its queue's redrive policy for it."""
    note = request.notification
    queue = stores.queue_for(note.operational is not None)
    if not rule.hands_over or queue is None:
        raise InProgress(why) if held else OutOfTime(why)
    wait = IN_PROGRESS_WAIT_SECONDS if held else 0.0
    message = RetryMessage.of(
        note.user,
        note.key,
        due_at=time.time() + wait,
        retries_done=request.retries_done,
        first_attempt_at=request.first_attempt_at,
        replay=request.trigger is Trigger.REPLAY,
        endpoint=note.endpoint,
        event=note.event,
        details=note.operational.to_dict() if note.operational else None,
    )
    queue.send(message)
    logger.info("notification handed to the retry queue", extra={"why": why, "wait_seconds": wait})
    return Outcome(False, handed_over=True)


def _send_again(
    prepared: Prepared, config: Config, stores: Stores, deadline: backoff.Deadline, rule: Rule, after: Next
) -> Outcome:
    """One round outside the idempotency record (the notification was delivered already), settled as any other."""
    tried: list[delivery_log.Attempt] = []
    if prepared.failure is not None:
        outcome = Outcome(False, result=prepared.failure)
    else:
        made = attempts.post_round(prepared, config, deadline, rule.policy, after.trigger)
        tried = made.attempts
        if made.count == 0:
            raise OutOfTime("no time left for an attempt before the invocation's deadline")
        outcome = Outcome(made.result.delivered, result=made.result, attempts=made.count)
    _settle(prepared, outcome, tried, config, stores, replace(after, counts_toward_health=False))
    return outcome


def _settle(
    prepared: Prepared,
    outcome: Outcome,
    attempts: list[delivery_log.Attempt],
    config: Config,
    stores: Stores,
    after: Next,
) -> None:
    """Settle the round, then tell the other endpoints what it came to (announcing never holds the settling up)."""
    operational.announce_settled(stores, prepared, settle.settle(prepared, outcome, attempts, config, stores, after))


def _prior_status(note: Notification, stores: Stores) -> Status | None:
    """The delivery log's status of the notification (None: no record, or the log cannot be read now)."""
    if stores.log is None:
        return None
    try:
        found = stores.log.get(_subject(note).id)
    except StorageUnavailable:
        return None
    return found.status if found else None


def _subject(note: Notification) -> delivery_log.Subject:
    return settle.subject_of(note.user, note.key, note.endpoint, note.event)
