"""Replay the dead-letter queue to each endpoint's current URL, exactly once, bounded in messages and time.

Two kinds of message sit in the queue:
- Our dead letters (deadletter.DeadLetter): self-contained. The replay posts the message it kept, in the shape the
  current URL needs, under the same event id, so the idempotency record (storage/idempotency.py) makes it a no-op
  when the notification went out meanwhile (a stream retry, an earlier redrive) and the `webhook-id` matches every
  earlier try.
- Lambda's OnFailure records for a stream batch it gave up on: only the shard and the first and last sequence numbers.
  The replay reads those records back from the stream (GetShardIterator AT_SEQUENCE_NUMBER, GetRecords up to the last
  one) and delivers each new profile among them under its own stream event id: the same key the notifier used, so a
  user the notifier did reach is skipped. The stream is the one source that has both the users and their event ids;
  the users table alone cannot say which users a batch held. A stream keeps records 24 hours (the mapping gives up on
  a record after that long too): once they are trimmed, the message stays in the queue, reported as still failing
  with reason `stream_expired`, for an operator to handle by hand. Nothing is deleted that was not delivered.

A message is deleted only after every notification in it is delivered or found delivered already. One that still
fails stays in the queue and becomes visible again at the end of the call, for the next redrive.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord, DynamoDBRecordEventName
from aws_lambda_powertools.utilities.typing import LambdaContext

from signup_hooks import bodies, deadletter, deliveries, endpoints, metrics, retry, settle
from signup_hooks.config import Config
from signup_hooks.errors import InProgress, InvalidInput, OutOfTime
from signup_hooks.exactly_once import deliver_exactly_once
from signup_hooks.log_context import log_keys
from signup_hooks.prepare import Prepared, prepare
from signup_hooks.storage import stream
from signup_hooks.storage.queues import DeadLetterQueue
from signup_hooks.storage.wiring import fresh_endpoints, stores_for
from signup_hooks.stores import Stores
from signup_hooks.stream_batch import user_from_record

logger = Logger(child=True)

MAX_BODY_BYTES = 1024
MAX_MESSAGES_PER_CALL = 100
DEADLINE_MARGIN_SECONDS = 3.0  # for the answer, and the visibility reset of what still fails
MIN_SECONDS_PER_MESSAGE = 1.0
# A receive waits this long for messages: within the AWS client's read timeout (storage/aws.py), cut to the time left.
LONG_POLL_SECONDS = 1
# A replay tries each notification twice at most: the receiver had its retries already.
POLICY = retry.RetryPolicy(max_attempts=2, base_delay=0.5, max_delay=2.0, retry_after_cap=5.0)

DELIVERED, ALREADY, FAILING = "delivered", "already_delivered", "still_failing"
# A failed replay leaves the message in the dead-letter queue: no new dead letter, no retry schedule.
REPLAY = settle.Next(schedule_failures=False, trigger=deliveries.Trigger.REDRIVE)


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
    if not endpoints.receiving(known, deliveries.USER_CREATED):
        raise InvalidInput("url", "no webhook URL is set: set one before a redrive", code="not_configured")
    deadline = retry.Deadline(context.get_remaining_time_in_millis() / 1000, DEADLINE_MARGIN_SECONDS)
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
    known: list[endpoints.Endpoint],
    config: Config,
    stores: Stores,
    deadline: retry.Deadline,
    context: LambdaContext,
    report: Report,
) -> bool:
    """Replay one queue message; True when it can be deleted."""
    letter = deadletter.parse(message.get("Body", ""))
    if letter is None:
        report.unreadable += 1
        return False
    if isinstance(letter, deadletter.Notification):
        endpoint = endpoints.find(known, letter.endpoint)
        current = endpoint.effective() if endpoint is not None and endpoint.problem is None else None
        if endpoint is None or current is None or current.target.url is None or not endpoint.stored.enabled:
            report.still_failing += 1  # kept in the queue until the endpoint can take it again
            report.reasons["endpoint_unavailable"] += 1
            return False
        prepared = prepare(
            current.target.url,
            letter.user,
            letter.event_id,
            config,
            current.options,
            endpoint=endpoint.id,
            message=letter.message,
        )
        outcomes = [_deliver(prepared, config, stores, deadline, context, report)]
    else:
        try:
            records = _stream_records(letter, config)
        except stream.StreamGone:
            report.still_failing += 1
            report.reasons["stream_expired"] += 1
            return False
        except stream.ShortRead:
            report.still_failing += 1
            report.reasons["stream_incomplete"] += 1
            return False
        outcomes = []
        for record in records:
            if record.event_name != DynamoDBRecordEventName.INSERT:
                continue  # an update or delete of a user in the batch's range: not a signup
            user = user_from_record(record)
            if user is None:
                continue
            for endpoint in endpoints.receiving(known, deliveries.USER_CREATED):
                if endpoint.problem is not None:
                    report.still_failing += 1
                    report.reasons["endpoint_unavailable"] += 1
                    outcomes.append(FAILING)
                    continue
                current = endpoint.effective()
                key = endpoints.delivery_key(record.event_id or "", endpoint.id)
                url = current.target.url or ""  # receiving() leaves out endpoints without a URL
                prepared = prepare(url, user, key, config, current.options, endpoint=endpoint.id)
                outcomes.append(_deliver(prepared, config, stores, deadline, context, report))
    return all(outcome != FAILING for outcome in outcomes)


def _deliver(
    prepared: Prepared,
    config: Config,
    stores: Stores,
    deadline: retry.Deadline,
    context: LambdaContext,
    report: Report,
) -> str:
    # The admin request's correlation id stays; each replayed notification's lines add its event and user ids.
    with log_keys(event_id=prepared.event_id, user_id=prepared.user.id):
        try:
            outcome = deliver_exactly_once(prepared, config, stores, deadline, context, REPLAY, policy=POLICY)
        except OutOfTime:
            report.still_failing += 1
            report.reasons["out_of_time"] += 1
            return FAILING
        except InProgress:
            report.still_failing += 1
            report.reasons["in_progress"] += 1
            return FAILING
        if outcome.already_delivered:
            report.already_delivered += 1
            return ALREADY
        if outcome.delivered:
            report.delivered += 1
            metrics.count(metrics.REDRIVEN)
            return DELIVERED
        report.still_failing += 1
        reason = outcome.result.reason if outcome.result else None
        report.reasons[str(reason.value if reason else "unknown")] += 1
        return FAILING


def _stream_records(info: deadletter.BatchInfo, config: Config) -> list[DynamoDBRecord]:
    if not config.users_stream_arn or info.stream_arn != config.users_stream_arn:
        raise stream.StreamGone("the OnFailure record names another stream")
    return stream.batch_records(info)
