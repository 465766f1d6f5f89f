"""Replay the dead-letter queue to each endpoint's current URL, exactly once, bounded in messages and time. Each
notification goes through the one path (dispatch.py, trigger `redrive`), under its identity, so the idempotency
record makes it a no-op when it went out meanwhile and the `webhook-id` matches every earlier try.

Three kinds of message sit in the queue:
- Our dead letters (dead_letter.DeadLetter): self-contained. The replay posts the message it kept (or renders the
  current template, when the letter kept none), in the shape the current URL needs, under the key it carries.
- Retries that the retry queue's redrive policy moved here (their consumer kept failing: an unreadable endpoint
  document, a long storage outage): replayed like a dead letter, so that none is stranded.
- Lambda's OnFailure records for a stream batch it gave up on that the retry function could not read back (it
  recovers the others on its own): the replay reads the records back from the stream and delivers each new profile
  among them to each endpoint under its identity, so a user the notifier did reach is skipped. A stream keeps records
  24 hours: once they are trimmed, the message stays in the queue, reported as still failing with reason
  `stream_expired`, for an operator to handle by hand. Nothing is deleted that was not delivered.

A message is deleted only after every notification in it is delivered or found delivered already. One that still
fails stays in the queue and becomes visible again at the end of the call, for the next redrive.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from signup_hooks import metrics
from signup_hooks.api import bodies
from signup_hooks.config import Config
from signup_hooks.endpoints import registry
from signup_hooks.errors import InProgress, InvalidInput, OutOfTime, ShortRead, StreamGone
from signup_hooks.log_context import log_keys
from signup_hooks.model import dead_letter, delivery_log, retry_message
from signup_hooks.model.names import USER_CREATED
from signup_hooks.model.user import user_from_record
from signup_hooks.pipeline import dispatch
from signup_hooks.pipeline.limits import ADMIN_DEADLINE_MARGIN_SECONDS
from signup_hooks.sending import backoff
from signup_hooks.storage import stream
from signup_hooks.storage.ports import Stores
from signup_hooks.storage.queues import DeadLetterQueue
from signup_hooks.storage.wiring import fresh_endpoints, stores_for

logger = Logger(child=True)

MAX_BODY_BYTES = 1024
MAX_MESSAGES_PER_CALL = 100
MIN_SECONDS_PER_MESSAGE = 1.0
# A receive waits this long for messages: within the AWS client's read timeout (storage/aws.py), cut to the time left.
LONG_POLL_SECONDS = 1

DELIVERED, ALREADY, FAILING = "delivered", "already_delivered", "still_failing"


@dataclass
class Report:
    delivered: int = 0
    already_delivered: int = 0
    still_failing: int = 0
    messages: int = 0  # queue messages read
    unreadable: int = 0  # messages that are neither ours nor Lambda's (left in the queue)
    reasons: Counter[str] = field(default_factory=Counter)  # why the still failing ones failed
    more: bool = False  # the call stopped at its bounds with messages possibly left

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "already_delivered": self.already_delivered,
            "still_failing": self.still_failing,
            "messages": self.messages,
            "unreadable": self.unreadable,
            "reasons": dict(self.reasons),
            "more": self.more,
        }


def max_messages_of(body: str | None) -> int:
    """`{"max_messages": n}` (1 to MAX_MESSAGES_PER_CALL), optional."""
    data = bodies.json_object(body, MAX_BODY_BYTES) if body and body.strip() else {}
    value = data.get("max_messages", MAX_MESSAGES_PER_CALL)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_MESSAGES_PER_CALL:
        raise InvalidInput("max_messages", f"max_messages must be a whole number from 1 to {MAX_MESSAGES_PER_CALL}")
    return value


def redrive(config: Config, context: LambdaContext, max_messages: int = MAX_MESSAGES_PER_CALL) -> Report:
    """Replay up to `max_messages` of the dead-letter queue within this invocation's time."""
    known = fresh_endpoints(config)
    stores = stores_for(config)
    queue = DeadLetterQueue(config.dead_letter_queue_url)
    if not registry.receiving(known, USER_CREATED):
        raise InvalidInput("url", "no webhook URL is set: set one before a redrive", code="not_configured")
    deadline = backoff.Deadline(context.get_remaining_time_in_millis() / 1000, ADMIN_DEADLINE_MARGIN_SECONDS)
    report = Report()
    held: list[str] = []  # receipt handles of messages that still fail: visible again at the end of the call
    try:
        while report.messages < max_messages:
            if deadline.remaining() < MIN_SECONDS_PER_MESSAGE:
                report.more = True
                break
            wait = min(LONG_POLL_SECONDS, int(deadline.remaining() - MIN_SECONDS_PER_MESSAGE))
            if wait < 1:  # too little time to wait for a message and replay it
                report.more = True
                break
            batch = queue.receive(min(10, max_messages - report.messages), wait)
            if not batch:
                break
            for index, message in enumerate(batch):
                if deadline.remaining() < MIN_SECONDS_PER_MESSAGE:
                    held.extend(m["ReceiptHandle"] for m in batch[index:])
                    report.more = True
                    break
                report.messages += 1
                done = _replay(message, known, config, stores, deadline, context, report)
                if done:
                    queue.delete(message["ReceiptHandle"])
                else:
                    held.append(message["ReceiptHandle"])
        else:
            report.more = True
    finally:
        queue.release(held)
    logger.info("dead-letter queue redriven", extra=report.to_dict())
    return report


def _replay(
    message: dict[str, Any],
    known: list[registry.Endpoint],
    config: Config,
    stores: Stores,
    deadline: backoff.Deadline,
    context: LambdaContext,
    report: Report,
) -> bool:
    """Replay one queue message; True when it can be deleted."""
    body = message.get("Body", "")
    letter = dead_letter.parse(body)
    if letter is None:
        # A retry the retry queue's redrive policy moved here (its consumer kept failing): replayed like the others.
        waiting = retry_message.parse(body)
        try:
            found = dispatch.Notification.of_message(waiting) if waiting is not None else None
        except ValueError:
            found = None
        if found is None:
            report.unreadable += 1
            return False
        notifications = [found]
    elif isinstance(letter, dead_letter.Notification):
        notifications = [dispatch.Notification(letter.user, letter.endpoint, letter.event_id, message=letter.message)]
    else:
        try:
            records = _stream_records(letter, config)
        except StreamGone:
            report.still_failing += 1
            report.reasons["stream_expired"] += 1
            return False
        except ShortRead:
            report.still_failing += 1
            report.reasons["stream_incomplete"] += 1
            return False
        users = [user for record in records if (user := user_from_record(record)) is not None]
        receivers = registry.receiving(known, USER_CREATED)
        notifications = [dispatch.Notification.signup(user, endpoint.id) for user in users for endpoint in receivers]
    outcomes = [_deliver(note, known, config, stores, deadline, context, report) for note in notifications]
    return all(outcome != FAILING for outcome in outcomes)


def _deliver(
    notification: dispatch.Notification,
    known: list[registry.Endpoint],
    config: Config,
    stores: Stores,
    deadline: backoff.Deadline,
    context: LambdaContext,
    report: Report,
) -> str:
    # The admin request's correlation id stays; each replayed notification's lines add its event and user ids.
    endpoint = registry.find(known, notification.endpoint)
    if endpoint is not None and endpoint.problem is not None:  # its document cannot be read: kept until it can
        return _failing(report, "endpoint_unavailable")
    request = dispatch.Request(notification, delivery_log.Trigger.REDRIVE)
    try:
        with log_keys(event_id=notification.key):  # under the admin request's correlation id
            outcome = dispatch.dispatch(request, config, stores, deadline, context, known)
    except OutOfTime:
        return _failing(report, "out_of_time")
    except InProgress:
        return _failing(report, "in_progress")
    if isinstance(outcome, dispatch.Skipped):  # kept in the queue until the endpoint can take it again
        return _failing(report, "endpoint_unavailable")
    if outcome.already_delivered:
        report.already_delivered += 1
        return ALREADY
    if outcome.delivered:
        report.delivered += 1
        metrics.count(metrics.REDRIVEN)
        return DELIVERED
    reason = outcome.result.reason if outcome.result else None
    return _failing(report, str(reason.value if reason else "unknown"))


def _failing(report: Report, reason: str) -> str:
    report.still_failing += 1
    report.reasons[reason] += 1
    return FAILING


def _stream_records(info: dead_letter.BatchInfo, config: Config) -> list[DynamoDBRecord]:
    if not config.users_stream_arn or info.stream_arn != config.users_stream_arn:
        raise StreamGone("the OnFailure record names another stream")
    return stream.batch_records(info)
