"""The retry schedule on the local stack (`python -m local run`, RETRY_SCHEDULE compressed to seconds): a receiver
that is down for several scheduled retries gets everything once it is back with no admin action; what outlasts the
schedule waits in the dead-letter queue with its attempts; a failing receiver never delays a later signup to a working
one."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from local.receiver import Receiver
from tests.helpers import (
    LIGHT_SIGNUPS,
    SHORT_SCHEDULE,
    RunningStack,
    auth,
    call,
    delivered,
    free_port,
    queue_size,
    redrive,
    set_url,
    sign_up,
    wait_until,
)

OUTAGE_SECONDS = 15
# Waits after the quick first try (5 signups 2 s apart from the outage's start): the first signup's retries at 2 and 6 s
# fall well inside the outage, and every signup's last one, 30 s after its first try, well after it (twice the outage):
# the last retry finds it over.
OUTAGE_SCHEDULE = "2s,4s,8s,16s"


@pytest.fixture(scope="module")
def short_stack(stack_receiver, start_stack) -> RunningStack:
    return start_stack("short-schedule", stack_receiver.url, LIGHT_SIGNUPS, retry_schedule=SHORT_SCHEDULE)


def log_of(stack: RunningStack, status: str = "") -> list[dict[str, Any]]:
    query = f"?status={status}" if status else ""
    code, body = call("GET", f"{stack.api}/api/v1/admin/webhook/deliveries{query}", None, auth(stack))
    assert code == 200, body
    return list(body["items"])


def health(stack: RunningStack) -> dict[str, Any]:
    code, body = call("GET", f"{stack.api}/api/v1/admin/webhook", None, auth(stack))
    assert code == 200, body
    return dict(body["health"])


def record_of(stack: RunningStack, name: str) -> dict[str, Any] | None:
    return next((item for item in log_of(stack) if item["user"]["name"] == name), None)


def test_a_receiver_down_for_several_retries_gets_every_notification_once_with_no_admin_action(
    stack_receiver, start_stack
):
    stack = start_stack("outage-schedule", stack_receiver.url, LIGHT_SIGNUPS, retry_schedule=OUTAGE_SCHEDULE)
    # Given a receiver that answers 503 for 15 s, while 5 users sign up 2 s apart
    set_url(stack, stack_receiver.url)
    stack_receiver.respond_with(503)
    back_at = time.monotonic() + OUTAGE_SECONDS
    names = [f"Outage {index}" for index in range(5)]
    for name in names:
        sign_up(stack, name)
        time.sleep(2)
    assert health(stack)["status"] == "failing"
    # When it comes back after the outage
    time.sleep(max(0.0, back_at - time.monotonic()))
    stack_receiver.respond_with(200)
    # Then every notification arrives once, with nobody replaying anything
    expected = {f"New user signed up: {name}": 1 for name in names}
    assert wait_until(lambda: delivered(stack_receiver, "New user signed up: Outage") == expected, 60), (
        delivered(stack_receiver, "New user signed up: Outage"),
        stack.log()[-4000:],
    )
    time.sleep(1)
    assert delivered(stack_receiver, "New user signed up: Outage") == expected
    assert queue_size(stack) == 0
    assert health(stack)["status"] == "healthy"
    statuses = {item["user"]["name"]: item["status"] for item in log_of(stack)}
    assert all(statuses[name] == "delivered" for name in names)


def test_a_receiver_down_longer_than_the_schedule_waits_in_the_queue_with_its_attempts(short_stack, stack_receiver):
    # Given a receiver that never answers during the whole (short) schedule
    set_url(short_stack, f"http://127.0.0.1:{free_port()}/hook")
    sign_up(short_stack, "Long Outage")
    assert wait_until(lambda: queue_size(short_stack) == 1, 30), short_stack.log()[-3000:]
    # Then the dead letter holds every attempt: the quick ones and one per scheduled retry
    letter = json.loads(
        short_stack.client("sqs").receive_message(
            QueueUrl=short_stack.info["resources"]["DeadLetterQueue"], VisibilityTimeout=0
        )["Messages"][0]["Body"]
    )
    assert [a["trigger"] for a in letter["attempt_history"]] == ["stream"] * 3 + ["schedule"] * 2
    assert {a["reason"] for a in letter["attempt_history"]} == {"connection_refused"}
    assert wait_until(lambda: (record_of(short_stack, "Long Outage") or {}).get("status") == "failed", 5)
    # When the receiver is back and the admin replays the dead letters
    set_url(short_stack, stack_receiver.url)
    report = redrive(short_stack)
    # Then it is delivered once
    assert (report["delivered"], report["still_failing"]) == (1, 0)
    assert delivered(stack_receiver, "New user signed up: Long Outage") == {"New user signed up: Long Outage": 1}


def test_a_permanent_failure_is_dead_lettered_at_once(short_stack, stack_receiver):
    set_url(short_stack, stack_receiver.url)
    stack_receiver.respond_with(404, times=3)
    before = queue_size(short_stack)
    sign_up(short_stack, "Gone Receiver")
    assert wait_until(lambda: queue_size(short_stack) == before + 1, 15)
    assert wait_until(lambda: (record_of(short_stack, "Gone Receiver") or {}).get("status") == "failed", 5)
    record = record_of(short_stack, "Gone Receiver")
    assert record is not None and record["status"] == "failed" and record["attempt_count"] == 1, json.dumps(record)
    stack_receiver.respond_with(200)
    redrive(short_stack)


def test_fixing_the_url_mid_schedule_sends_the_next_retry_to_the_new_url(short_stack, stack_receiver):
    set_url(short_stack, f"http://127.0.0.1:{free_port()}/hook")
    sign_up(short_stack, "Fixed Url")
    assert wait_until(lambda: (record_of(short_stack, "Fixed Url") or {}).get("status") == "retrying", 15)
    set_url(short_stack, stack_receiver.url)
    assert wait_until(lambda: delivered(stack_receiver, "New user signed up: Fixed Url"), 15), short_stack.log()[-3000:]
    # The log is written right after the receiver's answer
    assert wait_until(lambda: (record_of(short_stack, "Fixed Url") or {}).get("status") == "delivered", 5)


def test_a_failing_receiver_does_not_delay_a_later_signup_to_a_working_url(short_stack, stack_receiver):
    # Given a receiver that keeps failing for a first signup
    failing = Receiver().start()
    try:
        failing.respond_with(500)
        set_url(short_stack, failing.url)
        sign_up(short_stack, "Stuck First")
        assert wait_until(lambda: len(failing.received) >= 1, 10)
        # When the admin points the webhook at a working receiver and someone else signs up
        set_url(short_stack, stack_receiver.url)
        started = time.monotonic()
        sign_up(short_stack, "Quick Second")
        # Then that notification arrives within seconds, not after the first one's schedule
        assert wait_until(lambda: delivered(stack_receiver, "New user signed up: Quick Second"), 10)
        assert time.monotonic() - started < 6
    finally:
        failing.stop()


def test_resend_from_the_log_sends_again_with_the_same_webhook_id(short_stack, stack_receiver):
    set_url(short_stack, stack_receiver.url)
    sign_up(short_stack, "Resend Me")
    assert wait_until(lambda: delivered(stack_receiver, "New user signed up: Resend Me"), 15)
    record = record_of(short_stack, "Resend Me")
    assert record is not None
    code, body = call(
        "POST", f"{short_stack.api}/api/v1/admin/webhook/deliveries/{record['id']}/resend", {}, auth(short_stack)
    )
    assert code == 200, body
    assert [a["trigger"] for a in body["attempts"]][-1] == "resend"
    assert delivered(stack_receiver, "New user signed up: Resend Me") == {"New user signed up: Resend Me": 2}


def test_replay_since_notifies_the_users_a_wrong_url_lost(short_stack, stack_receiver):
    # Given a period when the URL pointed at a receiver that refused everything for good (404)
    gone = Receiver().start()
    try:
        gone.respond_with(404)
        set_url(short_stack, gone.url)
        # The window is whole seconds: start it in a second later than every earlier test's signup, so it holds
        # only this test's users (an earlier one still failing would otherwise be queued too).
        time.sleep(1.1)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        names = ["Unheard One", "Unheard Two"]
        for name in names:
            sign_up(short_stack, name)
        assert wait_until(lambda: all((record_of(short_stack, n) or {}).get("status") == "failed" for n in names), 15)
    finally:
        gone.stop()
    # When the admin sets the right URL and replays since then
    set_url(short_stack, stack_receiver.url)
    code, body = call("POST", f"{short_stack.api}/api/v1/admin/webhook/replay", {"since": since}, auth(short_stack))
    assert code == 200, body
    assert (body["users"], body["queued"]) == (2, 2), body
    # Then each lost user is notified once
    for name in names:
        text = f"New user signed up: {name}"
        assert wait_until(lambda text=text: delivered(stack_receiver, text) == {text: 1}, 15), short_stack.log()[-3000:]
    redrive(short_stack)  # their dead letters are found delivered and removed
    assert queue_size(short_stack) == 0
