"""The local event source mapping against Lambda's contract for DynamoDB streams: no clock, no AWS, a fake function."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from local.esm import EventSourceMapping, Invocation, MappingSettings, lane_of, lanes
from local.resolve import Resolver
from local.template import load_template

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/2026-01-01T00:00:00.000"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:notifier"
USER_FILTER = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"entity": {"S": ["user"]}}}}


def record(seq: int, entity: str = "user") -> dict[str, Any]:
    return {
        "eventID": f"event-{seq}",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "eventSourceARN": STREAM_ARN,
        "dynamodb": {
            "ApproximateCreationDateTime": 1_767_225_600 + seq,
            "SequenceNumber": str(seq),
            "NewImage": {"entity": {"S": entity}, "name": {"S": f"user {seq}"}},
        },
    }


def settings(**changes: Any) -> MappingSettings:
    values: dict[str, Any] = {
        "function_arn": FUNCTION_ARN,
        "stream_arn": STREAM_ARN,
        "batch_size": 10,
        "report_batch_item_failures": True,
        "bisect_on_error": True,
        "maximum_retry_attempts": 5,
        "filters": [USER_FILTER],
        "on_failure": "arn:aws:sqs:us-east-1:123456789012:dead-letters",
    }
    return MappingSettings(**{**values, **changes})


class FakeFunction:
    """Records each invocation's sequence numbers; `behaviour` decides the result from them."""

    def __init__(self, behaviour: Callable[[list[int], int], Invocation] | None = None) -> None:
        self.calls: list[list[int]] = []
        self._behaviour = behaviour or (lambda _seqs, _n: Invocation(payload={"batchItemFailures": []}))

    def __call__(self, event: dict[str, Any]) -> Invocation:
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in event["Records"]]
        self.calls.append(seqs)
        return self._behaviour(seqs, len(self.calls))


def failing_at(seq: int) -> Invocation:
    return Invocation(payload={"batchItemFailures": [{"itemIdentifier": str(seq)}]})


def mapping(function: FakeFunction, sent: list[dict[str, Any]], **changes: Any) -> EventSourceMapping:
    clock = datetime(2026, 1, 1, 12, 0, 0, 123000, tzinfo=UTC)
    return EventSourceMapping(settings(**changes), function, sent.append, "shardId-1", now=lambda: clock)


def test_partial_batch_failure_retries_only_from_the_first_failed_record() -> None:
    # Given a function that reports record 3 as failed the first time it sees it
    function = FakeFunction(lambda seqs, n: failing_at(3) if n == 1 else Invocation(payload={}))
    sent: list[dict[str, Any]] = []

    # When a batch of five is delivered
    mapping(function, sent).process([record(i) for i in range(1, 6)])

    # Then only records 3, 4 and 5 are retried, and nothing goes to the destination
    assert function.calls == [[1, 2, 3, 4, 5], [3, 4, 5]]
    assert sent == []


def test_several_reported_failures_retry_from_the_lowest_sequence_number() -> None:
    function = FakeFunction(
        lambda seqs, n: (
            Invocation(payload={"batchItemFailures": [{"itemIdentifier": "4"}, {"itemIdentifier": "2"}]})
            if n == 1
            else Invocation(payload=None)
        )
    )
    mapping(function, []).process([record(i) for i in range(1, 6)])
    assert function.calls == [[1, 2, 3, 4, 5], [2, 3, 4, 5]]


def test_a_malformed_failure_report_retries_the_whole_batch() -> None:
    function = FakeFunction(
        lambda seqs, n: (
            Invocation(payload={"batchItemFailures": [{"itemIdentifier": "99"}]}) if n == 1 else Invocation(payload={})
        )
    )
    mapping(function, []).process([record(i) for i in range(1, 4)])
    assert function.calls == [[1, 2, 3], [1, 2, 3]]


def test_bisect_splits_a_failing_batch_until_the_poisoned_record_is_alone() -> None:
    # Given a function that raises whenever record 3 is in its batch
    function = FakeFunction(lambda seqs, n: Invocation(error="Unhandled") if 3 in seqs else Invocation(payload={}))
    sent: list[dict[str, Any]] = []

    # When a batch of four is delivered with two retries allowed
    mapping(function, sent, maximum_retry_attempts=2).process([record(i) for i in range(1, 5)])

    # Then the batch is halved, the good half delivered, record 3 retried alone and given up on, then 4 delivered
    assert function.calls == [[1, 2, 3, 4], [1, 2], [3, 4], [3], [3], [3], [4]]
    assert len(sent) == 1
    info = sent[0]["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == ("3", "3", 1)


def test_without_bisect_a_failing_batch_is_retried_whole() -> None:
    function = FakeFunction(lambda seqs, n: Invocation(error="Unhandled") if n == 1 else Invocation(payload={}))
    mapping(function, [], bisect_on_error=False).process([record(i) for i in range(1, 5)])
    assert function.calls == [[1, 2, 3, 4], [1, 2, 3, 4]]


def test_after_maximum_retry_attempts_the_on_failure_message_is_sent() -> None:
    # Given a function that always fails, two retries allowed, no bisect
    function = FakeFunction(lambda seqs, n: Invocation(error="Unhandled", request_id=f"request-{n}"))
    sent: list[dict[str, Any]] = []

    # When a batch of two is delivered
    mapping(function, sent, bisect_on_error=False, maximum_retry_attempts=2).process([record(7), record(8)])

    # Then it is invoked three times, then AWS's OnFailure record for a DynamoDB stream batch is sent, once
    assert function.calls == [[7, 8]] * 3
    assert sent == [
        {
            "requestContext": {
                "requestId": "request-3",
                "functionArn": FUNCTION_ARN,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": 3,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": "2026-01-01T12:00:00.123Z",
            "DDBStreamBatchInfo": {
                "shardId": "shardId-1",
                "startSequenceNumber": "7",
                "endSequenceNumber": "8",
                "approximateArrivalOfFirstRecord": "2026-01-01T00:00:07Z",
                "approximateArrivalOfLastRecord": "2026-01-01T00:00:08Z",
                "batchSize": 2,
                "streamArn": STREAM_ARN,
            },
        }
    ]


def test_partial_failures_exhausting_retries_send_only_the_unprocessed_records() -> None:
    function = FakeFunction(lambda seqs, n: failing_at(2))
    sent: list[dict[str, Any]] = []
    mapping(function, sent, maximum_retry_attempts=1).process([record(1), record(2), record(3)])
    assert function.calls == [[1, 2, 3], [2, 3]]
    info = sent[0]["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["batchSize"]) == ("2", 2)
    assert "functionError" not in sent[0]["responseContext"]


def test_order_within_a_shard_is_kept_through_batches_and_retries() -> None:
    # Given a function that handles records in order and fails each multiple of 4 the first time it meets it
    processed: list[int] = []
    failed_once: set[int] = set()

    def behaviour(seqs: list[int], _n: int) -> Invocation:
        for seq in seqs:
            if seq % 4 == 0 and seq not in failed_once:
                failed_once.add(seq)
                return failing_at(seq)
            processed.append(seq)
        return Invocation(payload={"batchItemFailures": []})

    function = FakeFunction(behaviour)

    # When 25 records go through batches of 10
    mapping(function, []).process([record(i) for i in range(1, 26)])

    # Then every record is processed exactly once, in shard order, and no batch holds more than 10
    assert processed == list(range(1, 26))
    assert max(len(call) for call in function.calls) <= 10


def test_a_record_the_filter_drops_never_reaches_the_function() -> None:
    function = FakeFunction()
    mapping(function, []).process([record(1, entity="auth"), record(2), record(3, entity="auth")])
    assert function.calls == [[2]]


def test_the_settings_come_from_the_templates_mapping() -> None:
    template = load_template()
    resolver = Resolver(template, "stack")
    resolver.attributes["UsersTable"] = {"StreamArn": STREAM_ARN}
    resolver.attributes["RetryQueue"] = {"Arn": "arn:aws:sqs:us-east-1:123456789012:stack-RetryQueue"}

    found = MappingSettings.from_template(template, "NotifierStreamMapping", resolver)

    props = template["Resources"]["NotifierStreamMapping"]["Properties"]
    assert found.function_id == "NotifierFunction"
    assert found.function_arn == "arn:aws:lambda:us-east-1:123456789012:function:stack-NotifierFunction"
    assert found.stream_arn == STREAM_ARN
    assert found.batch_size == props["BatchSize"]
    parameters = template["Parameters"]
    assert props["MaximumBatchingWindowInSeconds"] == {"Ref": "NotifierBatchingWindowSeconds"}
    assert found.batching_window == parameters["NotifierBatchingWindowSeconds"]["Default"]
    assert props["ParallelizationFactor"] == {"Ref": "NotifierParallelizationFactor"}
    assert found.parallelization_factor == parameters["NotifierParallelizationFactor"]["Default"]
    assert found.maximum_retry_attempts == props["MaximumRetryAttempts"]
    assert found.bisect_on_error is props["BisectBatchOnFunctionError"]
    assert found.report_batch_item_failures is True
    assert found.filters == [USER_FILTER]
    assert found.on_failure == "arn:aws:sqs:us-east-1:123456789012:stack-RetryQueue"


# ---- ParallelizationFactor: lanes by partition key -------------------------------------------------------------------


def keyed(seq: int, key: str) -> dict[str, Any]:
    item = record(seq)
    item["dynamodb"]["Keys"] = {"pk": {"S": key}}
    return item


def test_records_of_one_partition_key_share_a_lane_in_shard_order() -> None:
    records = [keyed(seq, f"USER#{seq % 7}") for seq in range(1, 50)]

    split = lanes(records, 10)

    for lane in split:
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in lane]
        assert seqs == sorted(seqs)
        keys = {r["dynamodb"]["Keys"]["pk"]["S"] for r in lane}
        assert all(lane_of(keyed(0, key), 10) == split.index(lane) for key in keys)
    assert sorted(r["eventID"] for lane in split for r in lane) == sorted(r["eventID"] for r in records)


def test_records_of_different_partition_keys_spread_over_the_lanes() -> None:
    records = [keyed(seq, f"USER#{seq}") for seq in range(100)]

    used = [lane for lane in lanes(records, 10) if lane]

    assert len(used) > 5


def test_a_factor_of_one_keeps_the_whole_shard_in_one_lane_in_order() -> None:
    records = [keyed(seq, f"USER#{seq}") for seq in range(20)]

    assert lanes(records, 1) == [records]


def test_a_records_lane_depends_on_its_partition_key_only() -> None:
    first, later = keyed(1, "USER#a"), keyed(99, "USER#a")
    later["eventID"], later["dynamodb"]["NewImage"] = "other", {"entity": {"S": "user"}}

    assert lane_of(first, 10) == lane_of(later, 10)
