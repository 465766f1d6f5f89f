"""The stream side of the event source mapping: reads a DynamoDB stream and hands batches to `esm.EventSourceMapping`.

It waits for a batch to fill (BatchSize) or for the batching window to pass, whichever comes first, and makes each
record look like the ones Lambda passes (eventSourceARN added, dates as epoch seconds, binary as base64).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from local.esm import EventSourceMapping, MappingSettings

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


class StreamPoller:
    """Polls every shard of the stream from TRIM_HORIZON, in order, on a background thread."""

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
        self._thread = threading.Thread(target=self._run, name="stream-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)  # a batch still being delivered is left to its (daemon) thread

    def _run(self) -> None:
        iterators: dict[str, str] = {}
        buffers: dict[str, list[dict[str, Any]]] = {}
        first_seen: dict[str, float] = {}
        while not self._stop.is_set():
            try:
                self._discover(iterators)
                for shard_id in list(iterators):
                    response = self._streams.get_records(
                        ShardIterator=iterators[shard_id], Limit=self._settings.batch_size
                    )
                    iterators[shard_id] = response["NextShardIterator"]
                    records = [lambda_record(r, self._settings.stream_arn) for r in response["Records"]]
                    if records:
                        buffers.setdefault(shard_id, []).extend(records)
                        first_seen.setdefault(shard_id, time.monotonic())
                    buffer = buffers.get(shard_id, [])
                    waited = time.monotonic() - first_seen.get(shard_id, time.monotonic())
                    full = len(buffer) >= self._settings.batch_size
                    if buffer and (full or waited >= self._settings.batching_window):
                        buffers[shard_id], _ = [], first_seen.pop(shard_id, None)
                        self._mapping_for(shard_id).process(buffer)
            except Exception as exc:  # a poller that dies silently would lose notifications: say it, retry
                if self._stop.is_set():
                    return
                self._log(f"stream read failed, retrying: {type(exc).__name__}: {exc}")
                time.sleep(1)
            self._stop.wait(POLL_SECONDS)

    def _discover(self, iterators: dict[str, str]) -> None:
        if iterators:
            return
        stream = self._streams.describe_stream(StreamArn=self._settings.stream_arn)["StreamDescription"]
        for shard in stream["Shards"]:
            iterators[shard["ShardId"]] = self._streams.get_shard_iterator(
                StreamArn=self._settings.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
