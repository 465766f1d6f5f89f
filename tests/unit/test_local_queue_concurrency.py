"""The local SQS mappings' ScalingConfig.MaximumConcurrency (local/sqs_poller.py), with an in-memory queue: a mapping
never runs more invocations at once than its bound, and the retry function's two mappings keep their bounds apart,
so a flood of announcements leaves the retry queue's mapping its whole concurrency."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.esm import Invocation
from local.resolve import Resolver
from local.sqs_poller import QueueMappingSettings, QueuePoller
from local.template import load_template

DEADLINE_SECONDS = 5.0  # every wait below is bounded by this


class MemoryQueues:
    """The few SQS calls the poller makes, on in-memory queues (a received message is gone until deleted)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.waiting: dict[str, list[dict[str, Any]]] = {}
        self.deleted: list[str] = []

    def fill(self, url: str, count: int) -> None:
        with self._lock:
            self.waiting.setdefault(url, []).extend(
                {"MessageId": f"{url}-{n}", "ReceiptHandle": f"{url}-{n}", "Body": "{}"} for n in range(count)
            )

    def receive_message(self, QueueUrl: str, MaxNumberOfMessages: int, WaitTimeSeconds: int, **_: Any) -> Any:
        with self._lock:
            queue = self.waiting.setdefault(QueueUrl, [])
            taken, queue[:] = queue[:MaxNumberOfMessages], queue[MaxNumberOfMessages:]
        if not taken and WaitTimeSeconds:
            time.sleep(0.01)  # long polling, shortened
        return {"Messages": taken}

    def delete_message(self, QueueUrl: str, ReceiptHandle: str) -> None:
        with self._lock:
            self.deleted.append(ReceiptHandle)


class Invocations:
    """A function whose invocations wait until released, counting how many of each mapping run at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.release = threading.Event()
        self.running: dict[str, int] = {}
        self.most: dict[str, int] = {}

    def of(self, mapping: str) -> Callable[[dict[str, Any]], Invocation]:
        def invoke(event: dict[str, Any]) -> Invocation:
            with self._lock:
                self.running[mapping] = self.running.get(mapping, 0) + 1
                self.most[mapping] = max(self.most.get(mapping, 0), self.running[mapping])
            self.release.wait(DEADLINE_SECONDS)
            with self._lock:
                self.running[mapping] -= 1
            return Invocation(payload={"batchItemFailures": []})

        return invoke

    def wait_for(self, mapping: str, count: int) -> int:
        """How many of `mapping` run now, once `count` do or the deadline passes."""
        ends = time.monotonic() + DEADLINE_SECONDS
        while self.running.get(mapping, 0) < count and time.monotonic() < ends:
            time.sleep(0.01)
        time.sleep(0.2)  # long enough for one more to start, were the bound not kept
        return self.running.get(mapping, 0)


def template_mapping(mapping_id: str) -> QueueMappingSettings:
    """The template's own mapping, with in-memory queue names."""
    resolver = Resolver(load_template(), "signup-webhooks-local", {})
    for queue in ("RetryQueue", "AnnouncementQueue"):
        resolver.refs[queue] = queue
        resolver.attributes[queue] = {"Arn": f"arn:aws:sqs:us-east-1:123456789012:{queue}"}
    resolver.attributes["RetryFunction"] = {"Arn": "arn:aws:lambda:us-east-1:123456789012:function:retry"}
    settings = QueueMappingSettings.from_template(load_template(), mapping_id, resolver)
    return QueueMappingSettings(**{**settings.__dict__, "batch_size": 1})  # one message per invocation: a flood


@pytest.fixture
def pollers() -> Iterator[Callable[[QueueMappingSettings, MemoryQueues, Invocations], QueuePoller]]:
    started: list[tuple[QueuePoller, Invocations]] = []

    def start(settings: QueueMappingSettings, queues: MemoryQueues, invocations: Invocations) -> QueuePoller:
        poller = QueuePoller(queues, settings, invocations.of(settings.queue_url), lambda line: None)
        started.append((poller, invocations))
        poller.start()
        return poller

    yield start
    for poller, invocations in started:
        invocations.release.set()
        poller.stop()


def test_the_mappings_bounds_come_from_the_templates_scaling_config() -> None:
    assert template_mapping("RetryQueueMapping").maximum_concurrency == 5
    announcements = template_mapping("AnnouncementQueueMapping")
    assert (announcements.maximum_concurrency, announcements.queue_url) == (2, "AnnouncementQueue")
    assert announcements.function_id == "RetryFunction" and announcements.report_batch_item_failures


def test_a_mapping_never_runs_more_invocations_at_once_than_its_maximum_concurrency(pollers: Any) -> None:
    queues, invocations = MemoryQueues(), Invocations()
    queues.fill("AnnouncementQueue", 20)

    pollers(template_mapping("AnnouncementQueueMapping"), queues, invocations)

    assert invocations.wait_for("AnnouncementQueue", 2) == 2
    assert invocations.most["AnnouncementQueue"] == 2
    invocations.release.set()  # then the rest drain, two at a time
    ends = time.monotonic() + DEADLINE_SECONDS
    while len(queues.deleted) < 20 and time.monotonic() < ends:
        time.sleep(0.01)
    assert len(queues.deleted) == 20 and invocations.most["AnnouncementQueue"] == 2


def test_a_flood_of_announcements_leaves_the_retry_queues_mapping_its_whole_concurrency(pollers: Any) -> None:
    # Given a flood of announcements, every invocation of theirs still running
    queues, invocations = MemoryQueues(), Invocations()
    queues.fill("AnnouncementQueue", 50)
    pollers(template_mapping("AnnouncementQueueMapping"), queues, invocations)
    assert invocations.wait_for("AnnouncementQueue", 2) == 2

    # When signup retries come due
    queues.fill("RetryQueue", 10)
    pollers(template_mapping("RetryQueueMapping"), queues, invocations)

    # Then they run five at once, as if no announcement were waiting; the announcements stay at two
    assert invocations.wait_for("RetryQueue", 5) == 5
    assert invocations.most == {"AnnouncementQueue": 2, "RetryQueue": 5}
