"""Lambda's event source mapping for a DynamoDB stream, as a pure unit: records in, invocations out.

No clock, no AWS: give it the records read from one shard (in order), a function that invokes the target, and a
function that sends to the OnFailure destination. The stream poller feeds it; the contract tests drive it directly.

What it does, as Lambda documents it for DynamoDB streams:
- FilterCriteria: records that match no filter are dropped (counted as processed) and never reach the function.
- BatchSize: at most that many records per invocation, in shard order.
- ReportBatchItemFailures: a response `{"batchItemFailures": [{"itemIdentifier": <sequence number>}]}` checkpoints
  before the first failed record; only that record and the ones after it are retried. A malformed response
  (identifier missing, empty or not in the batch) fails the whole batch.
- BisectBatchOnFunctionError: a batch whose invocation raised is split in two halves, each retried in order.
  Splitting does not count as a retry attempt (as AWS documents); a failing batch of one record does.
- MaximumRetryAttempts: after that many retries of a batch (-1: no limit), its records go to the OnFailure
  destination as a batch-info message (AWS's shape, condition RetryAttemptsExhausted) and the shard moves on.
- ParallelizationFactor: up to that many batches of one shard run at once. Each record goes to one of that many
  lanes by a hash of its partition key (the item's key), so records of one key stay in order while records of
  different keys need not wait for each other; `lanes` splits a shard's records that way. Within a lane, a batch is
  finished (delivered or sent to the destination) before the next one starts: order per key holds.
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local import filters
from local.resolve import Resolver
from local.template import resource

Record = dict[str, Any]


@dataclass(frozen=True)
class Invocation:
    """The result of invoking the function: its payload, or `error` ("Unhandled") when it raised or timed out."""

    payload: Any = None
    error: str | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass(frozen=True)
class MappingSettings:
    function_arn: str
    stream_arn: str
    function_id: str = ""  # the function's logical id in the template
    batch_size: int = 100
    batching_window: float = 0.0
    parallelization_factor: int = 1  # concurrent batches per shard (1 to 10 on AWS)
    report_batch_item_failures: bool = False
    bisect_on_error: bool = False
    maximum_retry_attempts: int = -1
    filters: list[dict[str, Any]] = field(default_factory=list)
    on_failure: str | None = None  # destination ARN

    @classmethod
    def from_template(cls, template: dict[str, Any], mapping_id: str, resolver: Resolver) -> MappingSettings:
        raw = resource(template, mapping_id)["Properties"]
        function_id = raw["FunctionName"]["Ref"]  # the template names its own function with !Ref
        props = resolver.resolve(raw)
        return cls(
            function_id=function_id,
            function_arn=resolver.get_att(function_id, "Arn"),
            stream_arn=props["EventSourceArn"],
            batch_size=int(props.get("BatchSize", 100)),
            batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
            parallelization_factor=int(props.get("ParallelizationFactor", 1)),
            report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
            bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
            maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
            filters=[json.loads(f["Pattern"]) for f in props.get("FilterCriteria", {}).get("Filters", [])],
            on_failure=props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"),
        )


@dataclass
class _Work:
    records: list[Record]
    retries: int = 0
    invokes: int = 0


@dataclass
class EventSourceMapping:
    settings: MappingSettings
    invoke: Callable[[dict[str, Any]], Invocation]
    on_failure: Callable[[dict[str, Any]], None]
    shard_id: str = "shardId-local"
    sleep: Callable[[float], None] = lambda _seconds: None  # the poller passes a real backoff
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def process(self, records: list[Record]) -> None:
        """Deliver `records` (one shard, in order) to the function, batch by batch, until each is done."""
        passing = [r for r in records if filters.passes(self.settings.filters, r)]
        size = max(1, self.settings.batch_size)
        for start in range(0, len(passing), size):
            self._deliver(passing[start : start + size])

    def _deliver(self, batch: list[Record]) -> None:
        queue = [_Work(batch)]
        while queue:
            work = queue.pop(0)
            work.invokes += 1
            result = self.invoke({"Records": work.records})
            if result.error and self.settings.bisect_on_error and len(work.records) > 1:
                middle = len(work.records) // 2
                halves = [work.records[:middle], work.records[middle:]]
                queue[0:0] = [_Work(half, work.retries, work.invokes) for half in halves]
                continue
            failed_from = 0 if result.error else self._first_failure(work.records, result.payload)
            if failed_from is None:
                continue
            remaining = work.records[failed_from:]
            limit = self.settings.maximum_retry_attempts
            if 0 <= limit <= work.retries:
                self._give_up(remaining, work.invokes, result)
                continue
            self.sleep(_backoff(work.retries))
            queue.insert(0, _Work(remaining, work.retries + 1, work.invokes))

    def _first_failure(self, records: list[Record], payload: Any) -> int | None:
        """Index of the first record to retry, or None when the batch succeeded."""
        if not self.settings.report_batch_item_failures or not isinstance(payload, dict):
            return None
        failures = payload.get("batchItemFailures")
        if not failures:
            return None
        positions = {_sequence(r): i for i, r in enumerate(records)}
        indexes = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not isinstance(identifier, str) or identifier not in positions:
                return 0  # a malformed answer fails the whole batch, as on AWS
            indexes.append(positions[identifier])
        return min(indexes)

    def _give_up(self, records: list[Record], invokes: int, result: Invocation) -> None:
        if self.settings.on_failure:
            self.on_failure(self.failure_message(records, invokes, result))

    def failure_message(self, records: list[Record], invokes: int, result: Invocation) -> dict[str, Any]:
        """The record Lambda sends to an OnFailure destination for a DynamoDB stream batch."""
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if result.error:
            response["functionError"] = result.error
        return {
            "requestContext": {
                "requestId": result.request_id,
                "functionArn": self.settings.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": invokes,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": self.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": self.shard_id,
                "startSequenceNumber": _sequence(records[0]),
                "endSequenceNumber": _sequence(records[-1]),
                "approximateArrivalOfFirstRecord": _arrival(records[0]),
                "approximateArrivalOfLastRecord": _arrival(records[-1]),
                "batchSize": len(records),
                "streamArn": self.settings.stream_arn,
            },
        }


def partition_key(record: Record) -> str:
    """The record's item key (partition and sort key), canonically written: what orders records in a shard."""
    return json.dumps(record.get("dynamodb", {}).get("Keys", {}), sort_keys=True, separators=(",", ":"))


def lane_of(record: Record, factor: int) -> int:
    """Which of `factor` concurrent batches of its shard a record joins: a stable hash of its partition key, so that
    every record of one key lands in the same lane (and so stays in order) on every run."""
    return zlib.crc32(partition_key(record).encode()) % max(1, factor)


def lanes(records: list[Record], factor: int) -> list[list[Record]]:
    """A shard's records split into `factor` lanes, each keeping the shard's order."""
    split: list[list[Record]] = [[] for _ in range(max(1, factor))]
    for record in records:
        split[lane_of(record, factor)].append(record)
    return split


def _sequence(record: Record) -> str:
    return str(record.get("dynamodb", {}).get("SequenceNumber", ""))


def _arrival(record: Record) -> str:
    created = record.get("dynamodb", {}).get("ApproximateCreationDateTime", 0)
    return datetime.fromtimestamp(float(created), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _backoff(retries: int) -> float:
    """Seconds before retry number `retries + 1`: 0.5, 1, 2, then 2 (short: this is a local stack)."""
    return float(min(0.5 * 2**retries, 2.0))
