"""Nothing is lost under chaos, and no one has to step in: 300 signups on the local stack while the receiver fails a
fifth of its requests, SSM fails a fifth of the functions' calls for the first half, and the notifier's worker is
killed (SIGKILL) every 1.5 s for the whole run. Every user is delivered with no admin redrive: a batch the stream
mapping gives up on reaches the retry queue as its OnFailure record, and the retry function reads it back from the
stream. A copy sent twice carries the first copy's `webhook-id`, so a receiver can drop it."""

from __future__ import annotations

import base64
import collections
import concurrent.futures
import os
import secrets
import signal
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from local.process import StackProcess
from local.receiver import ReceivedRequest, Receiver
from local.template import ROOT
from tests.helpers import SETTINGS_IN_SSM_ONLY, call, queue_size

SIGNUPS = 300
THREADS = 8
RECEIVER_FAILURES = 0.2
SSM_FAILURES = 0.2
# Seconds between two kills of the notifier's worker, from the first signup to the last delivery: MIN_KILLS must fit
# in the quickest run (about 19 s on a quiet 2-core machine, where 2 s between kills made only 9).
KILL_INTERVAL = 1.5
MIN_KILLS = 10  # one every second or two for the whole run (20 s to a minute on 2 cores)
# Six quick retries: a receiver failing a fifth of its requests at random empties a shorter schedule now and then,
# which is a dead letter for an administrator by design, not a crash to recover from.
RETRY_SCHEDULE = "1s,2s,3s,4s,4s,4s"
# Seconds after the last signup for every notification to arrive, through the stream, the retry queue or a recovered
# batch. A killed invocation's events stay in progress for up to the notifier's timeout (60 s) before a retry can
# deliver them.
DELIVERY_DEADLINE = 240.0
POLL_INTERVAL = 1.0
PREFIX = "New user signed up: Chaos "


@pytest.fixture(scope="module")
def stack(stack_receiver: Receiver, start_stack: Callable[..., StackProcess]) -> StackProcess:
    return start_stack("chaos-stack", stack_receiver.url, SETTINGS_IN_SSM_ONLY, retry_schedule=RETRY_SCHEDULE)


def admin(stack: StackProcess, method: str, path: str, body: Any = None) -> Any:
    auth = {"Authorization": f"Bearer {stack.token}"}
    status, answer = call(method, f"{stack.api}/api/v1/admin/webhook{path}", body, auth)
    assert status == 200, answer
    return answer


def set_faults(stack: StackProcess, shares: dict[str, float] | None) -> None:
    method = "POST" if shares else "DELETE"
    status, answer = call(method, f"{stack.api}/_local/faults", shares)
    assert status == 200, answer


def sign_up(stack: StackProcess, n: int) -> None:
    form = {"name": f"Chaos {n}", "email": f"{uuid.uuid4().hex[:16]}@example.com", "password": "correct horse battery"}
    for _ in range(3):  # a signup that failed is not a user: the client tries again, as a person would
        status, body = call("POST", f"{stack.api}/api/v1/auths/signup", form)
        if status == 200:
            return
        assert status == 503, body
    raise AssertionError(f"signup {n} kept failing: {body}")


def header(request: ReceivedRequest, name: str) -> str:
    return next((value for key, value in request.headers.items() if key.lower() == name), "")


def deliveries(stack_receiver: Receiver) -> dict[str, list[str]]:
    """The webhook-id of every copy each user's notification was delivered with (answered 2xx)."""
    found: dict[str, list[str]] = collections.defaultdict(list)
    for request in list(stack_receiver.received):
        if request.status < 300 and request.text.startswith(PREFIX):
            found[request.text].append(header(request, "webhook-id"))
    return found


def log_lines(stack: StackProcess, marker: str) -> int:
    return sum(marker in line for line in stack.log().splitlines())


class Killer(threading.Thread):
    """Kills the notifier's worker (SIGKILL) every KILL_INTERVAL seconds until stopped, so that the kills fall while
    it works. Waits for a live worker each time: the stack starts a new one at the next invocation."""

    def __init__(self, stack: StackProcess, stop: threading.Event) -> None:
        super().__init__(name="chaos-killer", daemon=True)
        self._stack, self._stop = stack, stop
        self.kills: list[int] = []

    def run(self) -> None:
        while not self._stop.wait(KILL_INTERVAL):
            pid = self._stack.worker_pid("NotifierFunction")
            while not self._stop.is_set() and pid in (None, *self.kills):
                time.sleep(0.05)
                pid = self._stack.worker_pid("NotifierFunction")
            if self._stop.is_set() or pid is None:
                return
            os.kill(pid, signal.SIGKILL)
            self.kills.append(pid)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def report(figures: dict[str, Any]) -> None:
    line = "[load] chaos: " + ", ".join(f"{key}={value}" for key, value in figures.items())
    print(line)
    Path(ROOT / ".pytest_cache").mkdir(exist_ok=True)
    with (ROOT / ".pytest_cache" / "load-figures.txt").open("a", encoding="utf-8") as out:
        out.write(line + "\n")


@pytest.mark.load
def test_every_user_is_delivered_despite_receiver_failures_ssm_throttling_and_killed_workers(
    stack: StackProcess, stack_receiver: Receiver
) -> None:
    # Given the URL in SSM (signed: every copy carries its webhook-id), a receiver failing a fifth of its requests,
    # SSM failing a fifth of the functions' calls
    signing_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    admin(stack, "PUT", "", {"url": stack_receiver.url, "signing_secret": signing_secret})
    stack_receiver.fail_randomly(RECEIVER_FAILURES, seed=11)
    set_faults(stack, {"ssm": SSM_FAILURES})
    stop = threading.Event()
    killer = Killer(stack, stop)
    started = time.monotonic()
    killer.start()

    # When 300 users sign up, SSM recovering halfway through
    done, lock = 0, threading.Lock()

    def one(n: int) -> None:
        nonlocal done
        sign_up(stack, n)
        with lock:
            done += 1
            if done == SIGNUPS // 2:
                set_faults(stack, None)

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=THREADS) as pool:
            list(pool.map(one, range(SIGNUPS)))
        signup_seconds = time.monotonic() - started

        # Then every notification arrives, the workers still being killed, with no admin call: through the stream's
        # retries, the retry queue, or a batch the stream gave up on read back by the retry function
        deadline = time.monotonic() + DELIVERY_DEADLINE
        while len(deliveries(stack_receiver)) < SIGNUPS and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL)
    finally:
        stop.set()
        set_faults(stack, None)
    killer.join(timeout=5)

    copies = deliveries(stack_receiver)
    figures = {
        "signups": SIGNUPS,
        "delivered": len(copies),
        "duplicates_same_id": sum(len(ids) - len(set(ids)) for ids in copies.values()),
        "duplicates_new_id": sum(len(set(ids)) - 1 for ids in copies.values()),
        "failed_batches": log_lines(stack, "[stream] gave up"),  # OnFailure records sent to the retry queue
        "recovered_batches": log_lines(stack, '"message":"a failed stream batch was read back'),
        "dead_letters": log_lines(stack, '"message":"notification dead-lettered"'),
        "dead_letter_queue": queue_size(stack),
        "kills": len(killer.kills),
        "receiver_requests": sum(1 for r in list(stack_receiver.received) if r.text.startswith(PREFIX)),
        "signup_s": round(signup_seconds, 1),
        "wall_s": round(time.monotonic() - started, 1),
    }
    report(figures)
    lost = sorted(set(f"{PREFIX}{n}" for n in range(SIGNUPS)) - set(copies))[:10]
    assert figures["delivered"] == SIGNUPS, f"not delivered (first 10): {lost}"
    assert figures["duplicates_new_id"] == 0
    assert all(ids[0] for ids in copies.values())  # every copy carried a webhook-id
    assert figures["dead_letter_queue"] == 0  # nothing left for an administrator
    assert figures["kills"] >= MIN_KILLS
