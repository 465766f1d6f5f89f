"""Reading the dead-letter queue's messages back (dead_letter.parse), without AWS: a message edited by hand never
makes the redrive fail."""

from __future__ import annotations

import json

import pytest
from signup_hooks.model import dead_letter


@pytest.mark.parametrize("created_at", ["yesterday", "1e9", "²", None, [1], True])
def test_a_letter_whose_user_time_is_not_a_whole_number_reads_as_time_zero(created_at: object) -> None:
    body = {
        "kind": "signup-notification",
        "event_id": "user.created:u1",
        "user": {"id": "u1", "name": "Ann", "role": "pending", "created_at": created_at},
        "message": "New user signed up: Ann",
    }
    letter = dead_letter.parse(json.dumps(body))
    assert isinstance(letter, dead_letter.Notification)
    assert (letter.user.id, letter.user.created_at) == ("u1", 0)


def test_an_on_failure_record_with_a_broken_batch_size_is_still_read() -> None:
    info = {"streamArn": "arn:stream", "shardId": "s", "startSequenceNumber": "1", "batchSize": "ten"}
    found = dead_letter.parse(json.dumps({"DDBStreamBatchInfo": info}))
    assert isinstance(found, dead_letter.BatchInfo)
    assert (found.start_sequence, found.end_sequence, found.size) == ("1", "1", 0)
