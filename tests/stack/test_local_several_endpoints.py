"""Several endpoints on the local stack (`python -m local run`, RETRY_SCHEDULE compressed to seconds), managed through
the admin API over HTTP: each endpoint gets every signup once in its own format, a failing one goes through its
schedule to the dead-letter queue while the others keep their pace, an operations endpoint hears of it, and an
endpoint switched off receives nothing from then on. tests/integration/test_several_endpoints.py covers the same
in process."""

from __future__ import annotations

import collections
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from local.receiver import ReceivedRequest, Receiver
from tests.helpers import (
    LIGHT_SIGNUPS,
    SHORT_SCHEDULE,
    RunningStack,
    auth,
    call,
    free_port,
    queue_size,
    sign_up,
    wait_until,
)

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # 24 bytes of base64, a test value
TEXT_TEMPLATE = "Chat: {name} joined"
SIGNUPS = 3
# "About a second" from the signup's answer to the healthy receiver, with room for 2 busy shared cores.
HEALTHY_LANE_SECONDS = 1.5
# The quick first try's attempts, then one per step of SHORT_SCHEDULE, then the dead-letter queue.
ATTEMPTS_PER_DEAD_LETTER = 3 + len(SHORT_SCHEDULE.split(","))
SETTLE_SECONDS = 0.5  # after the expected requests, how long to listen for one too many


@pytest.fixture(scope="module")
def stack(start_stack: Callable[..., RunningStack]) -> RunningStack:
    # The default endpoint (WEBHOOK_URL, nothing listening) is switched off: these tests create their own endpoints.
    running = start_stack(
        "several-endpoints", f"http://127.0.0.1:{free_port()}/hook", LIGHT_SIGNUPS, retry_schedule=SHORT_SCHEDULE
    )
    status, body = call("PATCH", f"{running.api}/api/v1/admin/webhooks/default", {"enabled": False}, auth(running))
    assert status == 200, body
    return running


@pytest.fixture
def receivers() -> Iterator[Callable[[], Receiver]]:
    started: list[Receiver] = []

    def start() -> Receiver:
        started.append(Receiver().start())
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def create_endpoint(stack: RunningStack) -> Iterator[Callable[..., dict[str, Any]]]:
    """POST /api/v1/admin/webhooks; each endpoint made is deleted after the test, so that tests share no endpoint."""
    made: list[str] = []

    def create(**fields: Any) -> dict[str, Any]:
        status, body = call("POST", f"{stack.api}/api/v1/admin/webhooks", fields, auth(stack))
        assert status == 201, body
        made.append(body["id"])
        return dict(body)

    yield create
    for endpoint_id in made:
        status, body = call("DELETE", f"{stack.api}/api/v1/admin/webhooks/{endpoint_id}", None, auth(stack))
        assert status == 200, body


def user_names(receiver: Receiver, prefix: str) -> collections.Counter[str]:
    """Signups a receiver answered 2xx, by user name, whether it was sent text or a JSON envelope."""
    names: collections.Counter[str] = collections.Counter()
    for request in list(receiver.received):
        if request.status < 300 and (name := _user_name(request)) and name.startswith(prefix):
            names[name] += 1
    return names


def _user_name(request: ReceivedRequest) -> str:
    if request.text.startswith("{"):
        envelope = json.loads(request.body)
        return str(envelope["data"]["user"]["name"]) if envelope["event"] == "user.created" else ""
    return request.text.removeprefix("Chat: ").removesuffix(" joined")


def envelopes(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(request.body) for request in list(receiver.received)]


def sign_up_all(stack: RunningStack, names: list[str]) -> dict[str, float]:
    """Sign each up in turn; when each signup was answered (monotonic clock, as the receivers note arrivals)."""
    answered = {}
    for name in names:
        sign_up(stack, name)
        answered[name] = time.monotonic()
    return answered


def test_each_endpoint_gets_its_own_format_and_a_failing_one_is_dead_lettered_and_reported(
    stack: RunningStack, receivers: Callable[[], Receiver], create_endpoint: Callable[..., dict[str, Any]]
) -> None:
    chat, crm, operations = receivers(), receivers(), receivers()
    create_endpoint(name="Chat", url=chat.url, format="text", message_template=TEXT_TEMPLATE)
    failing = create_endpoint(name="CRM", url=crm.url, format="json", signing_secret=SECRET)
    create_endpoint(name="Ops", url=operations.url, format="json", events=["delivery.failed", "endpoint.failing"])

    # Every signup reaches both signup endpoints once, each in its own format; none reaches the operations one
    healthy_names = [f"Fanout {index}" for index in range(SIGNUPS)]
    sign_up_all(stack, healthy_names)
    expected = dict.fromkeys(healthy_names, 1)
    assert wait_until(lambda: user_names(chat, "Fanout") == user_names(crm, "Fanout") == expected, 15), (
        user_names(chat, "Fanout"),
        user_names(crm, "Fanout"),
        stack.log()[-3000:],
    )
    time.sleep(SETTLE_SECONDS)
    assert user_names(chat, "Fanout") == user_names(crm, "Fanout") == expected
    assert sorted(r.text for r in chat.received) == sorted(TEXT_TEMPLATE.format(name=n) for n in healthy_names)
    assert not any("webhook-signature" in r.headers for r in chat.received)
    assert {envelope["event"] for envelope in envelopes(crm)} == {"user.created"}
    for request in crm.received:
        Webhook(SECRET).verify(request.body, request.headers)
    assert operations.received == []

    # When the CRM answers 500 for good
    crm.respond_with(500)
    failing_names = [f"Stuck {index}" for index in range(SIGNUPS)]
    answered = sign_up_all(stack, failing_names)

    # Then the chat still gets each new signup within about a second of its answer
    assert wait_until(lambda: user_names(chat, "Stuck") == dict.fromkeys(failing_names, 1), 10), stack.log()[-3000:]
    arrived = {_user_name(r): r.received_at for r in chat.received}
    lags = {name: round(arrived[name] - answered[name], 2) for name in failing_names}
    assert max(lags.values()) < HEALTHY_LANE_SECONDS, lags
    # and the CRM's notifications go through the schedule to the dead-letter queue
    assert wait_until(lambda: queue_size(stack) == SIGNUPS, 30), stack.log()[-3000:]
    tried = collections.Counter(envelope["data"]["user"]["name"] for envelope in envelopes(crm))
    assert {name: tried[name] for name in failing_names} == dict.fromkeys(failing_names, ATTEMPTS_PER_DEAD_LETTER)

    # And the operations endpoint is told once that the CRM is failing, and of each dead letter, without an e-mail
    assert wait_until(lambda: len(operations.received) >= 1 + SIGNUPS, 15), stack.log()[-3000:]
    time.sleep(SETTLE_SECONDS)
    told = envelopes(operations)
    assert collections.Counter(envelope["event"] for envelope in told) == {
        "endpoint.failing": 1,
        "delivery.failed": SIGNUPS,
    }
    about = {(e["data"]["endpoint"]["id"], e["data"]["endpoint"]["name"]) for e in told}
    assert about == {(failing["id"], "CRM")}
    failed = sorted(e["data"]["user"]["name"] for e in told if e["event"] == "delivery.failed")
    assert failed == failing_names
    assert not any("@" in request.text for request in operations.received)
    assert user_names(chat, "") == dict.fromkeys(healthy_names + failing_names, 1)  # and no more


def test_an_endpoint_switched_off_with_patch_gets_nothing_from_then_on(
    stack: RunningStack, receivers: Callable[[], Receiver], create_endpoint: Callable[..., dict[str, Any]]
) -> None:
    kept, switched = receivers(), receivers()
    create_endpoint(name="Kept", url=kept.url)
    endpoint = create_endpoint(name="Switched", url=switched.url)
    sign_up(stack, "Before Switch")
    assert wait_until(lambda: len(kept.received) == len(switched.received) == 1, 10), stack.log()[-3000:]

    status, body = call("PATCH", f"{stack.api}/api/v1/admin/webhooks/{endpoint['id']}", {"enabled": False}, auth(stack))
    assert status == 200 and body["enabled"] is False, body
    sign_up(stack, "After Switch")

    assert wait_until(lambda: len(kept.received) == 2, 10), stack.log()[-3000:]
    time.sleep(SETTLE_SECONDS)
    assert [r.text for r in switched.received] == ["New user signed up: Before Switch"]
