"""Plain in-memory stand-ins for the storage a delivery uses (stores.py's protocols): no AWS, no moto, no sockets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from signup_hooks.endpoints import settings
from signup_hooks.endpoints.registry import Endpoint
from signup_hooks.model.dead_letter import DeadLetter
from signup_hooks.model.delivery_log import Record, Status, Subject
from signup_hooks.model.health import Health
from signup_hooks.model.retry_message import RetryMessage
from signup_hooks.model.user import User
from signup_hooks.storage.ports import Stores


def endpoint(endpoint_id: str, url: str = "https://hooks.example.com/x", *, events=("*",), enabled=True) -> Endpoint:
    stored = settings.StoredSettings(url=url, events=tuple(events), enabled=enabled, created_at=endpoint_id)
    return Endpoint(endpoint_id, settings.Snapshot(stored, settings.SettingsSource.DOCUMENT))


@dataclass
class FakeLog:
    written: list[tuple[Subject, Status, dict[str, Any]]] = field(default_factory=list)
    records: dict[str, Record] = field(default_factory=dict)

    def record(self, subject: Subject, status: Status, **fields: Any) -> None:
        self.written.append((subject, status, fields))

    def get(self, item_id: str) -> Record | None:
        return self.records.get(item_id)

    def get_many(self, item_ids: list[str]) -> dict[str, Record]:
        return {item_id: self.records[item_id] for item_id in item_ids if item_id in self.records}

    def statuses(self) -> list[Status]:
        return [status for _subject, status, _fields in self.written]


@dataclass
class FakeHealth:
    now: str = "2026-01-31T09:00:00.000+00:00"
    state: dict[str, Health] = field(default_factory=dict)

    def record_outcome(self, endpoint: str, delivered: bool) -> tuple[Health, Health]:
        before = self.state.get(endpoint, Health())
        self.state[endpoint] = before.after(delivered, self.now)
        return before, self.state[endpoint]


@dataclass
class FakeQueue:
    scheduled: list[RetryMessage] = field(default_factory=list)  # send: due later
    now: list[RetryMessage] = field(default_factory=list)  # send_now
    held: list[tuple[str, float]] = field(default_factory=list)

    def send(self, message: RetryMessage) -> None:
        self.scheduled.append(message)

    def send_now(self, messages: list[RetryMessage]) -> int:
        self.now.extend(messages)
        return len(messages)

    def hold(self, receipt: str, seconds: float) -> None:
        self.held.append((receipt, seconds))


@dataclass
class FakeDeadLetters:
    letters: list[DeadLetter] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)

    def send(self, letter: DeadLetter) -> None:
        self.letters.append(letter)

    def send_raw(self, body: str) -> None:
        self.raw.append(body)


@dataclass
class FakeIdempotency:
    done: dict[str, dict[str, Any]] = field(default_factory=dict)

    def once(self, event_id: str, action: Callable[[], dict[str, Any]], context: Any) -> dict[str, Any]:
        if event_id in self.done:
            return {**self.done[event_id], "already_delivered": True}
        self.done[event_id] = action()
        return self.done[event_id]


@dataclass
class FakeUsers:
    users: dict[str, User] = field(default_factory=dict)

    def get(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def created_between(
        self, since: int, until: int, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[User], dict[str, Any] | None]:
        """Oldest first, a page at a time, continued from the index key of the last user of the page before."""
        found = sorted(
            (user for user in self.users.values() if since <= user.created_at <= until), key=lambda u: u.created_at
        )
        first = next((i + 1 for i, user in enumerate(found) if start and start["pk"]["S"] == f"USER#{user.id}"), 0)
        page = found[first : first + limit]
        more = first + limit < len(found)
        last = page[-1] if page else None
        key = None  # the index's key, typed as DynamoDB answers it
        if last is not None:
            key = {"pk": {"S": f"USER#{last.id}"}, "entity": {"S": "user"}, "created_at": {"N": str(last.created_at)}}
        return page, key if more else None


@dataclass
class Fakes:
    """A Stores made of fakes, with the fakes at hand for the assertions."""

    endpoints: list[Endpoint] = field(default_factory=lambda: [endpoint("default")])
    log: FakeLog = field(default_factory=FakeLog)
    health: FakeHealth = field(default_factory=FakeHealth)
    queue: FakeQueue = field(default_factory=FakeQueue)
    announcements: FakeQueue = field(default_factory=FakeQueue)
    dead_letters: FakeDeadLetters = field(default_factory=FakeDeadLetters)
    idempotency: FakeIdempotency = field(default_factory=FakeIdempotency)
    users: FakeUsers = field(default_factory=FakeUsers)

    def stores(self, *, retry_queue: bool = True, announcements: bool = False) -> Stores:
        return Stores(
            endpoints=lambda: self.endpoints,
            dead_letters=self.dead_letters,
            idempotency=self.idempotency,
            users=self.users,
            log=self.log,
            health=self.health,
            retry_queue=self.queue if retry_queue else None,
            announcements=self.announcements if announcements else None,
        )
