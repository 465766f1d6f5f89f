"""What follows a round of attempts (settle.py), with plain fakes for the queues, the log and the health: a failure
the receiver may get over is scheduled, one for good is dead-lettered and announced to the endpoints subscribed to
`delivery.failed` (and to no other), a health transition is announced once, an announcement that fails for good
is never dead-lettered, and announcements and their retries go to the announcement queue when there is one."""

from __future__ import annotations

from signup_hooks.config import Config
from signup_hooks.model import events
from signup_hooks.model.delivery_log import Attempt, Status, Trigger
from signup_hooks.model.names import USER_CREATED, Shape
from signup_hooks.model.results import DeliveryResult, Reason
from signup_hooks.model.user import User
from signup_hooks.pipeline import operational, settle
from signup_hooks.pipeline.outcome import Next, Outcome
from signup_hooks.pipeline.prepare import Prepared
from signup_hooks.storage.ports import Stores

from tests.unit.fakes import Fakes, endpoint

CONFIG = Config()
USER = User("user-1", "Ann", "ann@example.com", "pending", 1_700_000_000, "/user.png")


def prepared(endpoint_id: str = "default", operational: events.OperationalEvent | None = None) -> Prepared:
    return Prepared(
        url="https://hooks.example.com/x",
        message="Ann signed up",
        shape=Shape.TEXT,
        event_id="evt-1",
        user=USER,
        endpoint=endpoint_id,
        operational=operational,
    )


def settle_round(
    prepared: Prepared, outcome: Outcome, attempts: list[Attempt], config: Config, stores: Stores, after: Next
) -> Status:
    """Settle a round and announce what it came to, as the one path (dispatch.py) does."""
    settled = settle.settle(prepared, outcome, attempts, config, stores, after)
    operational.announce_settled(stores, prepared, settled)
    return settled.status


def failed(status: int, reason: Reason) -> tuple[Outcome, list[Attempt]]:
    result = DeliveryResult(False, status, reason, 12)
    attempt = Attempt("2026-01-31T09:00:00.000+00:00", status, str(reason), 12, Trigger.STREAM)
    return Outcome(False, result=result, attempts=1), [attempt]


def delivered() -> tuple[Outcome, list[Attempt]]:
    attempt = Attempt("2026-01-31T09:00:00.000+00:00", 200, None, 12, Trigger.STREAM)
    return Outcome(True, result=DeliveryResult(True, 200, None, 12), attempts=1), [attempt]


def test_a_failure_the_receiver_may_get_over_is_scheduled_not_dead_lettered() -> None:
    fakes = Fakes()
    outcome, attempts = failed(503, Reason.SERVER_ERROR)

    status = settle_round(prepared(), outcome, attempts, CONFIG, fakes.stores(), Next())

    assert status is Status.RETRYING
    assert [message.event_id for message in fakes.queue.scheduled] == ["evt-1"]
    assert fakes.queue.scheduled[0].retries_done == 0 and fakes.queue.scheduled[0].endpoint == "default"
    assert fakes.dead_letters.letters == []
    assert fakes.log.statuses() == [Status.RETRYING]


def test_without_a_retry_queue_a_retryable_failure_is_dead_lettered() -> None:
    fakes = Fakes()
    outcome, attempts = failed(503, Reason.SERVER_ERROR)

    status = settle_round(prepared(), outcome, attempts, CONFIG, fakes.stores(retry_queue=False), Next())

    assert status is Status.FAILED
    assert len(fakes.dead_letters.letters) == 1


def test_a_failure_for_good_is_dead_lettered_and_announced_to_subscribed_endpoints_only() -> None:
    fakes = Fakes(
        endpoints=[
            endpoint("default"),  # the failing one: never told about itself
            endpoint("ops", events=[events.DELIVERY_FAILED]),
            endpoint("crm", events=[USER_CREATED]),
            endpoint("off", events=[events.DELIVERY_FAILED], enabled=False),
        ]
    )
    outcome, attempts = failed(404, Reason.NOT_FOUND)

    status = settle_round(prepared(), outcome, attempts, CONFIG, fakes.stores(), Next())

    assert status is Status.FAILED
    assert [letter.event_id for letter in fakes.dead_letters.letters] == ["evt-1"]
    assert fakes.queue.scheduled == []
    announced = [(message.endpoint, message.event) for message in fakes.queue.now]
    assert announced == [("ops", events.DELIVERY_FAILED)]
    assert fakes.queue.now[0].details is not None and fakes.queue.now[0].details["user_id"] == "user-1"


def test_a_replay_that_fails_stays_where_it_was() -> None:
    fakes = Fakes()
    outcome, attempts = failed(404, Reason.NOT_FOUND)
    after = Next(schedule_failures=False, trigger=Trigger.REDRIVE)

    status = settle_round(prepared(), outcome, attempts, CONFIG, fakes.stores(), after)

    assert status is Status.FAILED
    assert fakes.dead_letters.letters == [] and fakes.queue.scheduled == [] and fakes.queue.now == []


def test_a_health_transition_is_announced_once() -> None:
    fakes = Fakes(endpoints=[endpoint("default"), endpoint("ops", events=[events.ENDPOINT_FAILING])])
    stores = fakes.stores()
    for _ in range(3):  # three failing rounds in a row: the endpoint starts failing once
        outcome, attempts = failed(503, Reason.SERVER_ERROR)
        settle_round(prepared(), outcome, attempts, CONFIG, stores, Next())

    assert [(message.endpoint, message.event) for message in fakes.queue.now] == [("ops", events.ENDPOINT_FAILING)]
    assert fakes.health.state["default"].consecutive_failures == 3


def test_a_recovery_is_announced_once_to_those_subscribed_to_it() -> None:
    fakes = Fakes(
        endpoints=[endpoint("default"), endpoint("ops", events=[events.ENDPOINT_RECOVERED, events.ENDPOINT_FAILING])]
    )
    stores = fakes.stores()
    outcome, attempts = failed(503, Reason.SERVER_ERROR)
    settle_round(prepared(), outcome, attempts, CONFIG, stores, Next())
    for _ in range(2):
        outcome, attempts = delivered()
        settle_round(prepared(), outcome, attempts, CONFIG, stores, Next())

    assert [message.event for message in fakes.queue.now] == [events.ENDPOINT_FAILING, events.ENDPOINT_RECOVERED]
    assert fakes.log.statuses() == [Status.RETRYING, Status.DELIVERED, Status.DELIVERED]


ABOUT_CRM = events.OperationalEvent(
    type=events.DELIVERY_FAILED,
    endpoint_id="crm",
    endpoint_name="CRM",
    target_host="crm.example.com",
    occurred_at=1_700_000_000,
    user_id="user-1",
    user_name="Ann",
    webhook_id="msg_1",
)


def test_an_operational_event_that_fails_for_good_is_not_dead_lettered_nor_announced() -> None:
    fakes = Fakes(endpoints=[endpoint("default"), endpoint("ops", events=["*"])])
    event = ABOUT_CRM
    outcome, attempts = failed(404, Reason.NOT_FOUND)

    status = settle_round(prepared("ops", operational=event), outcome, attempts, CONFIG, fakes.stores(), Next())

    assert status is Status.FAILED
    assert fakes.dead_letters.letters == []
    assert all(message.event != events.DELIVERY_FAILED for message in fakes.queue.now)


def test_with_an_announcement_queue_announcements_and_their_retries_go_there_and_signup_retries_do_not() -> None:
    fakes = Fakes(endpoints=[endpoint("default"), endpoint("ops", events=[events.ENDPOINT_FAILING])])
    stores = fakes.stores(announcements=True)

    # A signup's notification fails: its retry is on the retry queue, the endpoint.failing it causes is not
    outcome, attempts = failed(503, Reason.SERVER_ERROR)
    settle_round(prepared(), outcome, attempts, CONFIG, stores, Next())
    assert [message.event for message in fakes.queue.scheduled] == [USER_CREATED]
    assert fakes.queue.now == []
    assert [(message.endpoint, message.event) for message in fakes.announcements.now] == [
        ("ops", events.ENDPOINT_FAILING)
    ]

    # The announcement fails too: its retry stays on the announcement queue
    outcome, attempts = failed(503, Reason.SERVER_ERROR)
    settle_round(prepared("ops", operational=ABOUT_CRM), outcome, attempts, CONFIG, stores, Next())
    assert [message.event for message in fakes.announcements.scheduled] == [events.DELIVERY_FAILED]
    assert [message.event for message in fakes.queue.scheduled] == [USER_CREATED]
