"""The stream side of the event source mapping: reads a DynamoDB stream and hands batches to `esm.EventSourceMapping`.

It waits for a batch to fill (BatchSize) or for the batching window to pass, whichever comes first, runs up to
ParallelizationFactor batches of a shard at once (one per lane of partition keys), and makes each record look like
the ones Lambda passes (eventSourceARN added, dates as epoch seconds, binary as base64).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from local.esm import EventSourceMapping, MappingSettings, lanes

POLL_SECONDS = 0.1


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A stream record as boto3 returns it, turned into the record Lambda puts in the event."""
    return {**_plain(record), "eventVersion": "1.1", "eventSourceARN": stream_arn}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    return value


@dataclass
class _Lane:
    """One of a shard's ParallelizationFactor lanes: records waiting for their batch, and whether a batch is out."""

    buffer: list[dict[str, Any]] = field(default_factory=list)
    first_seen: float | None = None
    busy: bool = False


class StreamPoller:
    """Polls every shard of the stream from TRIM_HORIZON, in order, on a background thread.

    Each shard has ParallelizationFactor lanes (records split by partition key, `esm.lane_of`). A lane whose batch is
    ready (full, or its batching window passed) and that has no batch out hands it to a thread of its own, so up to
    that many batches of a shard run at once while records of one key stay in order, as on AWS. The function's
    execution environments (local/functions.py) bound how many of them really run at once.
    """

    def __init__(
        self,
        streams: Any,
        settings: MappingSettings,
        mapping_for: Callable[[str], EventSourceMapping],
        log: Callable[[str], None],
    ) -> None:
        self._streams = streams
        self._settings = settings
        self._mapping_for = mapping_for  # shard id -> the mapping that delivers its records
        self._log = log
        self._stop = threading.Event()
        self._lock = threading.Lock()  # lanes are read by the poller and released by their batch threads
        self._thread = threading.Thread(target=self._run, name="stream-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)  # a batch still being delivered is left to its (daemon) thread

    def _run(self) -> None:
        iterators: dict[str, str] = {}
        shards: dict[str, list[_Lane]] = {}
        factor = max(1, self._settings.parallelization_factor)
        # Enough per read for every lane to fill a batch; GetRecords returns at most 1,000.
        limit = min(1000, self._settings.batch_size * factor)
        while not self._stop.is_set():
            try:
                self._discover(iterators)
                for shard_id in list(iterators):
                    response = self._streams.get_records(ShardIterator=iterators[shard_id], Limit=limit)
                    iterators[shard_id] = response["NextShardIterator"]
                    records = [lambda_record(r, self._settings.stream_arn) for r in response["Records"]]
                    shard = shards.setdefault(shard_id, [_Lane() for _ in range(factor)])
                    now = time.monotonic()
                    with self._lock:
                        for lane, arrived in zip(shard, lanes(records, factor), strict=True):
                            if arrived:
                                lane.buffer.extend(arrived)
                                lane.first_seen = lane.first_seen or now
                    for lane in shard:
                        self._dispatch(shard_id, lane, now)
            except Exception as exc:  # a poller that dies silently would lose notifications: say it, retry
                if self._stop.is_set():
                    return
                self._log(f"stream read failed, retrying: {type(exc).__name__}: {exc}")
                time.sleep(1)
            self._stop.wait(POLL_SECONDS)

    def _dispatch(self, shard_id: str, lane: _Lane, now: float) -> None:
        """Start the lane's batch on a thread of its own if it is ready and the lane has none out."""
        with self._lock:
            waited = now - (lane.first_seen or now)
            full = len(lane.buffer) >= self._settings.batch_size
            if lane.busy or not lane.buffer or not (full or waited >= self._settings.batching_window):
                return
            batch, lane.buffer, lane.first_seen, lane.busy = lane.buffer, [], None, True
        threading.Thread(
            target=self._deliver, args=(shard_id, lane, batch), name=f"stream-batch-{shard_id}", daemon=True
        ).start()

    def _deliver(self, shard_id: str, lane: _Lane, batch: list[dict[str, Any]]) -> None:
        try:
            self._mapping_for(shard_id).process(batch)
        except Exception as exc:  # e.g. the OnFailure queue unreachable: the records go back first in their lane
            if not self._stop.is_set():
                self._log(f"stream batch failed, retrying: {type(exc).__name__}: {exc}")
                self._stop.wait(1)
            with self._lock:
                lane.buffer[0:0] = batch
                lane.first_seen = lane.first_seen or time.monotonic()
        finally:
            with self._lock:
                lane.busy = False

    def _discover(self, iterators: dict[str, str]) -> None:
        if iterators:
            return
        stream = self._streams.describe_stream(StreamArn=self._settings.stream_arn)["StreamDescription"]
        for shard in stream["Shards"]:
            iterators[shard["ShardId"]] = self._streams.get_shard_iterator(
                StreamArn=self._settings.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
