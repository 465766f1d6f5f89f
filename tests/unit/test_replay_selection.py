"""Which notifications an administrator's replay queues (delivery_routes.queue_replay), with plain fakes: per
endpoint that receives signups, only the users whose notification was not delivered and is not already waiting in
the retry schedule."""

from __future__ import annotations

from signup_hooks.admin import delivery_routes
from signup_hooks.admin.delivery_routes import ReplayWindow
from signup_hooks.model.delivery_log import Record, Status, Subject, record_id
from signup_hooks.model.user import User

from tests.unit.fakes import Fakes, endpoint

USERS = [User(name, name.title(), "", "pending", 1_700_000_000 + index, "") for index, name in enumerate("abc")]


def logged(endpoint_id: str, user: User, status: Status) -> Record:
    subject = Subject(user.id, user.name, f"evt-{user.id}", f"msg_{user.id}", endpoint=endpoint_id)
    return Record(record_id(endpoint_id, "user.created", user.id), subject, status, "h", "text", "t", "t")


def test_a_replay_queues_only_undelivered_users_per_endpoint() -> None:
    a, b, _ = USERS
    fakes = Fakes(endpoints=[endpoint("default"), endpoint("crm"), endpoint("off", enabled=False)])
    fakes.users.users = {user.id: user for user in USERS}
    for record in (logged("default", a, Status.DELIVERED), logged("crm", b, Status.RETRYING)):
        fakes.log.records[record.id] = record
    fakes.log.records[logged("default", b, Status.FAILED).id] = logged("default", b, Status.FAILED)

    answer = delivery_routes.queue_replay(
        ReplayWindow(since=0, until=2_000_000_000), fakes.endpoints, fakes.users, fakes.log, fakes.queue
    )

    queued = sorted((message.endpoint, message.user_id, message.event_id) for message in fakes.queue.now)
    assert queued == [
        ("crm", "a", "user.created:a#crm"),  # no record: the notification's identity, as its first try has
        ("crm", "c", "user.created:c#crm"),
        ("default", "b", "evt-b"),  # a failed record: replayed under the key it holds, the same webhook-id
        ("default", "c", "user.created:c"),
    ]
    assert all(message.replay for message in fakes.queue.now)
    assert (answer["queued"], answer["already_delivered"], answer["skipped"]) == (4, 1, 1)


def test_a_replay_for_one_endpoint_queues_for_that_one_only() -> None:
    fakes = Fakes(endpoints=[endpoint("default"), endpoint("crm")])
    fakes.users.users = {user.id: user for user in USERS}

    delivery_routes.queue_replay(
        ReplayWindow(since=0, until=2_000_000_000, endpoint="crm"), fakes.endpoints, fakes.users, fakes.log, fakes.queue
    )

    assert {message.endpoint for message in fakes.queue.now} == {"crm"}


class Clock:
    """A deadline whose time runs out after `pages` pages."""

    def __init__(self, pages: int) -> None:
        self.left = pages

    def remaining(self) -> float:
        self.left -= 1
        return 60.0 if self.left > 0 else 1.0


def test_a_replay_stops_before_its_deadline_with_a_cursor_and_the_cursor_goes_on_from_there() -> None:
    many = [User(f"u{index:03d}", f"U{index}", "", "pending", 1_700_000_000 + index, "") for index in range(120)]
    fakes = Fakes(endpoints=[endpoint("default")] + [endpoint(f"ep{index}") for index in range(9)])
    fakes.users.users = {user.id: user for user in many}
    window = ReplayWindow(since=0, until=2_000_000_000)

    first = delivery_routes.queue_replay(
        window,
        fakes.endpoints,
        fakes.users,
        fakes.log,
        fakes.queue,
        Clock(pages=1),  # type: ignore[arg-type]
    )

    per_page = delivery_routes.REPLAY_MESSAGES_PER_PAGE // 10
    assert (first["users"], first["queued"]) == (per_page, per_page * 10)
    assert first["cursor"] is not None
    rest = delivery_routes.queue_replay(
        ReplayWindow(since=0, until=2_000_000_000, cursor=first["cursor"]),
        fakes.endpoints,
        fakes.users,
        fakes.log,
        fakes.queue,
    )
    assert (rest["users"], rest["cursor"]) == (120 - per_page, None)
    assert len({(m.endpoint, m.user_id) for m in fakes.queue.now}) == 1200  # every one once
