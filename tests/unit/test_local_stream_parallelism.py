"""The local stream mapping's ParallelizationFactor: concurrent batches per shard, order kept per partition key, and
as many execution environments of the function as batches in flight. Fakes only: no moto, no worker processes.

Waits are bounded and wait for events, never for a length of time: these tests assert what happens, not how fast.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from local import functions
from local.esm import Invocation, MappingSettings, lane_of
from local.functions import FunctionPool, FunctionSpec
from local.poller import StreamPoller

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/local"
WAIT = 10.0  # seconds: an upper bound for something that should happen at once


def stream_record(seq: int, key: str) -> dict[str, Any]:
    return {
        "eventID": f"event-{seq}",
        "eventName": "INSERT",
        "dynamodb": {"Keys": {"pk": {"S": key}}, "SequenceNumber": str(seq), "NewImage": {"entity": {"S": "user"}}},
    }


class FakeStreams:
    """One shard whose records are handed out on the first read, then `later` on the following ones."""

    def __init__(self, records: list[dict[str, Any]], later: list[dict[str, Any]] | None = None) -> None:
        self._pending = list(records)
        self._later = list(later or [])
        self.reads = 0
        self.read = threading.Condition()

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-0"}]}}

    def get_shard_iterator(self, **_: Any) -> dict[str, Any]:
        return {"ShardIterator": "it"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        with self.read:
            if self.reads and not self._pending:
                self._pending, self._later = self._later, []
            taken, self._pending = self._pending[:Limit], self._pending[Limit:]
            self.reads += 1
            self.read.notify_all()
        return {"Records": taken, "NextShardIterator": ShardIterator}

    def wait_for_reads(self, count: int) -> bool:
        with self.read:
            return self.read.wait_for(lambda: self.reads >= count, timeout=WAIT)


class HeldMapping:
    """Stands in for the event source mapping: notes each batch, and holds it until the test lets it go."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: list[list[str]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.release = threading.Event()
        self.changed = threading.Condition(self.lock)

    def process(self, records: list[dict[str, Any]]) -> None:
        with self.changed:
            self.started.append([r["dynamodb"]["Keys"]["pk"]["S"] for r in records])
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.changed.notify_all()
        self.release.wait(WAIT)
        with self.changed:
            self.in_flight -= 1
            self.changed.notify_all()

    def wait_until(self, predicate: Any) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, timeout=WAIT)


@pytest.fixture
def run_poller() -> Iterator[Any]:
    pollers: list[StreamPoller] = []

    def run(streams: FakeStreams, factor: int, mapping: HeldMapping) -> StreamPoller:
        settings = MappingSettings(
            function_arn="arn:fn", stream_arn=STREAM_ARN, batch_size=10, parallelization_factor=factor
        )
        poller = StreamPoller(streams, settings, lambda _shard: mapping, lambda _line: None)  # type: ignore[arg-type,return-value]
        pollers.append(poller)
        poller.start()
        return poller

    yield run
    for poller in pollers:
        poller.stop()


def test_batches_of_different_keys_run_at_once_up_to_the_parallelization_factor(run_poller: Any) -> None:
    mapping = HeldMapping()
    records = [stream_record(seq, f"USER#{seq}") for seq in range(40)]

    run_poller(FakeStreams(records), 4, mapping)

    assert mapping.wait_until(lambda: mapping.in_flight == 4)
    mapping.release.set()
    assert mapping.wait_until(lambda: sum(len(batch) for batch in mapping.started) == 40)
    assert mapping.most_in_flight == 4


def test_with_a_factor_of_one_a_shard_has_one_batch_in_flight(run_poller: Any) -> None:
    mapping = HeldMapping()
    records = [stream_record(seq, f"USER#{seq}") for seq in range(25)]

    run_poller(FakeStreams(records), 1, mapping)
    assert mapping.wait_until(lambda: mapping.in_flight == 1)
    mapping.release.set()

    assert mapping.wait_until(lambda: sum(len(batch) for batch in mapping.started) == 25)
    assert mapping.most_in_flight == 1


def test_a_later_record_of_a_key_waits_for_the_batch_holding_its_earlier_one(run_poller: Any) -> None:
    mapping = HeldMapping()
    streams = FakeStreams([stream_record(1, "USER#same")], later=[stream_record(2, "USER#same")])

    run_poller(streams, 10, mapping)
    assert mapping.wait_until(lambda: mapping.in_flight == 1)
    assert streams.wait_for_reads(4)  # the later record has been read meanwhile

    with mapping.lock:
        assert mapping.started == [["USER#same"]]
    mapping.release.set()
    assert mapping.wait_until(lambda: len(mapping.started) == 2)
    assert mapping.most_in_flight == 1


def test_a_record_of_another_key_does_not_wait_for_a_held_batch(run_poller: Any) -> None:
    mapping = HeldMapping()
    held = stream_record(1, "USER#held")
    other = next(  # a key in another lane than the held one's
        stream_record(2, f"USER#{n}")
        for n in range(100)
        if lane_of(stream_record(0, f"USER#{n}"), 10) != lane_of(held, 10)
    )
    streams = FakeStreams([held], later=[other])

    run_poller(streams, 10, mapping)

    assert mapping.wait_until(lambda: mapping.in_flight == 2)
    mapping.release.set()


# ---- execution environments ------------------------------------------------------------------------------------------


class FakeEnvironment:
    """Stands in for a worker process: each invocation waits until the test lets it finish."""

    made: ClassVar[list[FakeEnvironment]] = []
    release = threading.Event()

    def __init__(self, *_: Any) -> None:
        self.invocations = 0
        FakeEnvironment.made.append(self)

    def start(self) -> None: ...

    def wait_ready(self, timeout: float = 10.0) -> None: ...

    def stop(self) -> None: ...

    def invoke(self, event: dict[str, Any]) -> Invocation:
        self.invocations += 1
        FakeEnvironment.release.wait(WAIT)
        return Invocation(payload={"ok": event["n"]})


@pytest.fixture
def fake_environments(monkeypatch: pytest.MonkeyPatch) -> type[FakeEnvironment]:
    FakeEnvironment.made = []
    FakeEnvironment.release = threading.Event()
    monkeypatch.setattr(functions, "LocalFunction", FakeEnvironment)
    return FakeEnvironment


def pool(size: int) -> FunctionPool:
    spec = FunctionSpec(
        "NotifierFunction", "notifier", "arn:fn", functions.ROOT, [], "app.lambda_handler", 3, 128, "", {}
    )
    made = FunctionPool(spec, {}, lambda _label, _line: None, size)
    made.start()
    made.wait_ready()
    return made


def test_a_function_starts_with_one_environment_and_reuses_it_while_it_is_free(
    fake_environments: type[FakeEnvironment],
) -> None:
    fake_environments.release.set()
    functions_pool = pool(5)

    answers = [functions_pool.invoke({"n": n}).payload for n in range(3)]

    assert answers == [{"ok": 0}, {"ok": 1}, {"ok": 2}]
    assert functions_pool.started == 1


def test_concurrent_invocations_start_more_environments_up_to_the_pools_size(
    fake_environments: type[FakeEnvironment],
) -> None:
    functions_pool = pool(3)
    threads = [threading.Thread(target=functions_pool.invoke, args=({"n": n},)) for n in range(5)]
    for thread in threads:
        thread.start()

    busy = threading.Event()
    for _ in range(200):  # bounded: until three invocations hold the three environments
        if sum(e.invocations for e in fake_environments.made) >= 3:
            busy.set()
            break
        busy.wait(0.05)
    assert busy.is_set()
    assert functions_pool.started == 3
    fake_environments.release.set()
    for thread in threads:
        thread.join(WAIT)

    assert functions_pool.started == 3
    assert sum(e.invocations for e in fake_environments.made) == 5


def test_environments_are_asked_per_function_in_ascii_digits() -> None:
    import argparse

    from local.arguments import environments_of

    parser = argparse.ArgumentParser()
    assert environments_of(parser, ["AdminFunction=4", "AuthorizerFunction=2"]) == {
        "AdminFunction": 4,
        "AuthorizerFunction": 2,
    }
    for wrong in ("AdminFunction", "AdminFunction=0", "AdminFunction=²", "=3", "AdminFunction=65"):
        with pytest.raises(SystemExit):
            environments_of(parser, [wrong])
