"""The retry consumer's decision for one due message (retries.retry_one), with plain fakes: a retry for an endpoint
that was disabled, deleted or unsubscribed meanwhile sends nothing and is logged as skipped; one for an enabled
endpoint is delivered exactly once."""

from __future__ import annotations

import time
from typing import Any

import pytest
from signup_hooks.config import Config
from signup_hooks.model import events
from signup_hooks.model.delivery_log import Status
from signup_hooks.model.names import USER_CREATED
from signup_hooks.model.results import DeliveryResult
from signup_hooks.model.retry_message import RetryMessage
from signup_hooks.model.user import User
from signup_hooks.pipeline import dispatch, retries
from signup_hooks.pipeline.outcome import Outcome
from signup_hooks.sending import backoff

from tests.unit.fakes import Fakes, endpoint

CONFIG = Config()
USER = User("user-1", "Ann", "ann@example.com", "pending", 1_700_000_000, "/user.png")


def due(endpoint_id: str = "crm", event: str = USER_CREATED) -> RetryMessage:
    return RetryMessage.of(USER, "evt-1#crm", due_at=time.time(), endpoint=endpoint_id, event=event)


def retry_one(fakes: Fakes, message: RetryMessage) -> Outcome | None:
    return retries.retry_one(message, CONFIG, fakes.stores(), backoff.Deadline(10.0, 0.0), context=None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("known", "why"),
    [
        ([endpoint("default"), endpoint("crm", enabled=False)], dispatch.ENDPOINT_DISABLED),
        ([endpoint("default")], dispatch.ENDPOINT_DELETED),
        ([endpoint("default"), endpoint("crm", events=[events.ENDPOINT_FAILING])], dispatch.ENDPOINT_UNSUBSCRIBED),
    ],
)
def test_a_retry_for_an_endpoint_that_changed_is_skipped_and_logged(known: list[Any], why: str) -> None:
    fakes = Fakes(endpoints=known)

    assert retry_one(fakes, due()) is None

    [(subject, status, fields)] = fakes.log.written
    assert (subject.endpoint, status, fields["reason"]) == ("crm", Status.SKIPPED, why)
    assert fakes.idempotency.done == {} and fakes.queue.scheduled == [] and fakes.dead_letters.letters == []


def test_a_retry_for_an_enabled_endpoint_is_delivered_exactly_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fakes = Fakes(endpoints=[endpoint("default"), endpoint("crm", "https://93.184.216.34/hook")])
    fakes.users.users[USER.id] = USER
    sent: list[str] = []

    def post(prepared: Any, connect_timeout: float, read_timeout: float) -> DeliveryResult:
        sent.append(prepared.event_id)
        return DeliveryResult(True, 200, None, 5)

    monkeypatch.setattr("signup_hooks.pipeline.attempts.post_attempt", post)

    first = retry_one(fakes, due())
    again = retry_one(fakes, due())

    assert first is not None and first.delivered and not first.already_delivered
    assert again is not None and again.already_delivered
    assert sent == ["evt-1#crm"]
    assert fakes.log.statuses() == [Status.DELIVERED]
