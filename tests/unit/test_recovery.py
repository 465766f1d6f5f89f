"""Recovering an OnFailure record (recovery.recover_batch) with plain fakes: the batch's new users are queued for
every endpoint receiving signups under the notification's identity; what the stream no longer has goes to the
dead-letter queue as it came; a short read is left for SQS to bring back."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from signup_hooks.config import Config
from signup_hooks.endpoints import registry
from signup_hooks.errors import ShortRead, StreamGone
from signup_hooks.model import dead_letter, events
from signup_hooks.model.names import USER_CREATED
from signup_hooks.pipeline import recovery

from tests.unit.fakes import Fakes, endpoint

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/2026-01-31T09:00:00.000"
CONFIG = Config(users_stream_arn=STREAM_ARN)
INFO = dead_letter.BatchInfo(STREAM_ARN, "shardId-1", "100", "300", 3)
BODY = json.dumps({"DDBStreamBatchInfo": {"streamArn": STREAM_ARN, "shardId": "shardId-1"}})
NOW = 1_800_000_000.0


def record(sequence: int, image: dict[str, Any], event_name: str = "INSERT") -> DynamoDBRecord:
    attributes = {name: {"S": value} for name, value in image.items()}
    return DynamoDBRecord(
        {
            "eventID": f"evt-{sequence}",
            "eventName": event_name,
            "eventSourceARN": STREAM_ARN,
            "dynamodb": {"SequenceNumber": str(sequence), "NewImage": attributes},
        }
    )


def profile(user_id: str, name: str) -> dict[str, Any]:
    return {"pk": f"USER#{user_id}", "entity": "user", "id": user_id, "name": name, "role": "pending"}


def reading(*records: DynamoDBRecord) -> recovery.ReadBatch:
    return lambda info: list(records)


def failing(error: Exception) -> recovery.ReadBatch:
    def read(info: dead_letter.BatchInfo) -> list[DynamoDBRecord]:
        raise error

    return read


def test_each_new_user_is_queued_for_each_endpoint_receiving_signups_under_its_notification_key() -> None:
    # Given two endpoints receiving signups, one that does not, and a batch of two signups
    fakes = Fakes(endpoints=[endpoint("default"), endpoint("crm"), endpoint("ops", events=[events.ENDPOINT_FAILING])])
    read = reading(record(100, profile("u-1", "Ada")), record(200, profile("u-2", "Linus")))
    # When the OnFailure record is recovered
    queued = recovery.recover_batch(INFO, BODY, CONFIG, fakes.stores(), read, now=NOW)
    # Then each user is queued, due now, once per receiving endpoint, keyed as the first try keys it; no e-mail
    assert queued == 4
    assert {(m.user_id, m.endpoint, m.event_id) for m in fakes.queue.now} == {
        (user, ep, registry.notification_key(USER_CREATED, user, ep))
        for user in ("u-1", "u-2")
        for ep in ("default", "crm")
    }
    assert {m.due_at for m in fakes.queue.now} == {NOW}
    assert {m.user_name for m in fakes.queue.now} == {"Ada", "Linus"}
    assert fakes.dead_letters.raw == []


def test_updates_deletes_credentials_and_profiles_without_an_id_are_not_new_users() -> None:
    # Given a batch with a signup, an update, a credential item and a profile written by hand without an id
    fakes = Fakes()
    read = reading(
        record(100, profile("u-1", "Ada")),
        record(110, profile("u-1", "Ada L."), event_name="MODIFY"),
        record(120, {"pk": "AUTH#ada@example.com", "entity": "auth", "user_id": "u-1"}),
        record(130, {"pk": "USER#imported", "entity": "user", "name": "Imported"}),
    )
    # When it is recovered, then only the signup is queued
    assert recovery.recover_batch(INFO, BODY, CONFIG, fakes.stores(), read, now=NOW) == 1
    assert [m.user_id for m in fakes.queue.now] == ["u-1"]


@pytest.mark.parametrize(
    ("config", "read"),
    [
        (CONFIG, failing(StreamGone("TrimmedDataAccessException"))),
        (dataclasses.replace(CONFIG, users_stream_arn=STREAM_ARN + "-other"), reading()),
        (dataclasses.replace(CONFIG, users_stream_arn=""), reading()),
    ],
    ids=["trimmed", "another-stream", "no-stream-configured"],
)
def test_a_batch_that_cannot_be_read_back_goes_to_the_dead_letter_queue_as_it_came(
    config: Config, read: recovery.ReadBatch
) -> None:
    fakes = Fakes()
    assert recovery.recover_batch(INFO, BODY, config, fakes.stores(), read, now=NOW) == 0
    assert fakes.dead_letters.raw == [BODY]
    assert fakes.queue.now == []


def test_a_short_read_is_raised_for_sqs_to_bring_the_record_back() -> None:
    fakes = Fakes()
    with pytest.raises(ShortRead):
        recovery.recover_batch(INFO, BODY, CONFIG, fakes.stores(), failing(ShortRead("3 of 5")), now=NOW)
    assert (fakes.queue.now, fakes.dead_letters.raw) == ([], [])
