"""What the delivery logic needs from storage, as protocols, and `Stores`: the set of them one invocation uses.

storage/wiring.py builds a `Stores` from the environment's Config, once per invocation, in the handler or at the
entry of a pipeline; logic functions take it (or one of its members) as an argument, so that their unit tests pass
plain in-memory fakes and never need AWS or moto.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from signup_hooks.model.dead_letter import BatchInfo, DeadLetter
from signup_hooks.model.delivery_log import Attempt, Record, Status, Subject
from signup_hooks.model.health import Health
from signup_hooks.model.retry_message import RetryMessage
from signup_hooks.model.user import User

if TYPE_CHECKING:  # endpoints/registry.py imports the settings model; only its type is needed here
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from signup_hooks.endpoints.registry import Endpoint


class DeliveryLog(Protocol):
    """The delivery log: one record per notification and endpoint (storage/deliveries_table.py)."""

    def record(
        self,
        subject: Subject,
        status: Status,
        *,
        target_host: str,
        format: str,
        attempts: list[Attempt] | None = None,
        next_attempt_at: str | None = None,
        reason: str | None = None,
    ) -> None: ...

    def get(self, item_id: str) -> Record | None: ...

    def get_many(self, item_ids: list[str]) -> dict[str, Record]: ...


class HealthLog(Protocol):
    """Each endpoint's health (storage/health_table.py)."""

    def record_outcome(self, endpoint: str, delivered: bool) -> tuple[Health, Health]: ...


class RetryQueue(Protocol):
    """The retry queue (storage/queues.py)."""

    def send(self, message: RetryMessage) -> None: ...

    def send_now(self, messages: list[RetryMessage]) -> int: ...


class DeadLetters(Protocol):
    """The dead-letter queue, as the delivery writes to it (storage/queues.py)."""

    def send(self, letter: DeadLetter) -> None: ...

    def send_raw(self, body: str) -> None: ...  # a message kept as it came (an OnFailure record)


ALREADY_DELIVERED = "already_delivered"  # in what `Idempotency.once` returns when the action ran before


class Idempotency(Protocol):
    """Exactly once per delivery key (storage/idempotency.py): runs the action unless it delivered before, and then
    returns what it returned then, with ALREADY_DELIVERED true."""

    def once(self, event_id: str, action: Callable[[], dict[str, Any]], context: LambdaContext) -> dict[str, Any]: ...


class StreamReader(Protocol):
    """The users table's stream read back (storage/stream.py): the records of a batch Lambda gave up on. Raises
    errors.StreamGone, errors.ShortRead or StorageUnavailable."""

    def __call__(self, info: BatchInfo) -> list[DynamoDBRecord]: ...


class Users(Protocol):
    """The users table, as a delivery reads it (storage/users_table.py)."""

    def get(self, user_id: str) -> User | None: ...


class EndpointSwitch(Protocol):
    """An endpoint switched off by what its receiver answered (storage/endpoint_switch.py)."""

    def disable(self, endpoint_id: str, reason: str) -> str | None: ...  # when, if this call disabled it


@dataclass(frozen=True)
class Stores:
    """The storage a delivery uses. `log`, `health` and `switch` are None when the function has no delivery log
    (DELIVERIES_TABLE empty), `retry_queue` when it has no retry queue (RETRY_QUEUE_URL empty), `announcements`
    when operational events share the retry queue (ANNOUNCEMENT_QUEUE_URL empty)."""

    endpoints: Callable[[], list[Endpoint]]  # every endpoint as the notifier reads them (cached, stale for a while)
    dead_letters: DeadLetters
    idempotency: Idempotency
    users: Users
    log: DeliveryLog | None = None
    health: HealthLog | None = None
    retry_queue: RetryQueue | None = None
    announcements: RetryQueue | None = None  # operational events and their retries, on a queue of their own
    stream: StreamReader | None = None  # the retry function's: OnFailure records are read back from it
    switch: EndpointSwitch | None = None  # None without a deliveries table (it holds the settings' lease)

    def queue_for(self, operational: bool) -> RetryQueue | None:
        """Where a notification waits for its next attempt: an operational event on the announcement queue (within
        that queue's own concurrency) when there is one, everything else on the retry queue."""
        return (self.announcements or self.retry_queue) if operational else self.retry_queue
