"""Delivery under faults on the local stack (`python -m local run` in a subprocess), faults injected at a loopback
receiver: retries, a dead receiver then a redrive (route and `make redrive`), and the load tests (500 signups,
twice)."""

from __future__ import annotations

import concurrent.futures
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from local.receiver import Receiver
from local.template import ROOT
from tests.helpers import RunningStack, delivered, free_port, queue_size, redrive, set_url, sign_up, wait_until

# Enough to show no loss and no duplicate under concurrency, small enough for make test's time budget (the bench's
# burst scenario goes larger: `make bench ARGS="--burst 1000"`).
LOAD_SIGNUPS = 500
LOAD_THREADS = 8
LOAD_DEADLINE = 150.0  # seconds for one load run's notifications to arrive
# The load runs sign users up with OWASP's minimum Argon2id cost (a setting of the template, Argon2Profile): the
# pipeline under test starts after the hash, and the default cost would make each run several minutes on 2 cores.


@pytest.fixture(scope="module")
def stack(stack_receiver: Receiver, start_stack: Callable[..., RunningStack]) -> RunningStack:
    env_vars = {
        "NotifierFunction": {"SETTINGS_CACHE_SECONDS": "0"},
        "SignupFunction": {"PASSWORD_HASH_PROFILE": "owasp-minimum"},
    }
    return start_stack("reliability-stack", stack_receiver.url, env_vars)


def test_stack_500_twice_then_200_is_delivered_once(stack: RunningStack, stack_receiver: Receiver) -> None:
    set_url(stack, stack_receiver.url)
    stack_receiver.respond_with(500, times=2)
    sign_up(stack, "Retry Tim")
    assert wait_until(lambda: delivered(stack_receiver, "New user signed up: Retry Tim"), 20)
    time.sleep(1)
    assert delivered(stack_receiver, "New user signed up: Retry Tim") == {"New user signed up: Retry Tim": 1}
    assert sum(1 for r in stack_receiver.received if r.text == "New user signed up: Retry Tim") == 3
    assert queue_size(stack) == 0


def test_stack_receiver_down_then_redrive_delivers_once(stack: RunningStack, stack_receiver: Receiver) -> None:
    # Given a receiver that is down: the notification ends in the dead-letter queue after its retries
    set_url(stack, f"http://127.0.0.1:{free_port()}/hook")
    sign_up(stack, "Down Grace")
    assert wait_until(lambda: queue_size(stack) == 1, 30), stack.log()[-3000:]
    # When the receiver is back and the admin redrives through the API
    set_url(stack, stack_receiver.url)
    report = redrive(stack)
    # Then it is delivered once and the queue is empty
    assert (report["delivered"], report["still_failing"]) == (1, 0)
    assert queue_size(stack) == 0
    # And `make redrive` (the same route, found through the ready file) sends nothing twice
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "local", "redrive", "--ready-file", stack.info["ready_file"]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 delivered, 0 skipped as already delivered, 0 still failing" in result.stdout
    assert delivered(stack_receiver, "New user signed up: Down Grace") == {"New user signed up: Down Grace": 1}


def load(stack: RunningStack, prefix: str) -> float:
    """Sign up LOAD_SIGNUPS users named `<prefix> <n>` from a small thread pool; return the seconds it took."""
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=LOAD_THREADS) as pool:
        list(pool.map(lambda n: sign_up(stack, f"{prefix} {n}"), range(LOAD_SIGNUPS)))
    return time.monotonic() - started


def report(name: str, figures: dict[str, Any]) -> None:
    line = f"[load] {name}: " + ", ".join(f"{key}={value}" for key, value in figures.items())
    print(line)
    Path(ROOT / ".pytest_cache").mkdir(exist_ok=True)
    with (ROOT / ".pytest_cache" / "load-figures.txt").open("a", encoding="utf-8") as out:
        out.write(line + "\n")


@pytest.mark.load
def test_load_of_signups_reaches_the_receiver_once_each(stack: RunningStack) -> None:
    healthy = Receiver().start()
    try:
        set_url(stack, healthy.url)
        started = time.monotonic()
        signup_seconds = load(stack, "Load")
        prefix = "New user signed up: Load "
        wait_until(lambda: len(delivered(healthy, prefix)) >= LOAD_SIGNUPS, LOAD_DEADLINE, interval=0.5)
        counts = delivered(healthy, prefix)
        figures = {
            "signups": LOAD_SIGNUPS,
            "delivered": len(counts),
            "duplicates": sum(n - 1 for n in counts.values()),
            "dead_lettered": queue_size(stack),
            "signup_s": round(signup_seconds, 1),
            "wall_s": round(time.monotonic() - started, 1),
        }
        report("healthy receiver", figures)
        assert figures["delivered"] == LOAD_SIGNUPS
        assert figures["duplicates"] == 0
        assert figures["dead_lettered"] == 0
    finally:
        healthy.stop()


@pytest.mark.load
def test_load_of_signups_with_20_percent_failures_is_delivered_once_each(stack: RunningStack) -> None:
    flaky = Receiver().start()
    flaky.fail_randomly(0.2, seed=5)
    try:
        set_url(stack, flaky.url)
        started = time.monotonic()
        signup_seconds = load(stack, "Flaky")
        prefix = "New user signed up: Flaky "

        def settled() -> bool:
            return len(delivered(flaky, prefix)) + queue_size(stack) >= LOAD_SIGNUPS

        wait_until(settled, LOAD_DEADLINE, interval=0.5)
        time.sleep(1.0)
        dead_lettered = queue_size(stack)
        flaky.fail_randomly(0.0)  # the receiver has recovered by the time the admin redrives
        redriven = redrive(stack)
        counts = delivered(flaky, prefix)
        figures = {
            "signups": LOAD_SIGNUPS,
            "requests": sum(1 for r in list(flaky.received) if r.text.startswith(prefix)),
            "delivered": len(counts),
            "duplicates": sum(n - 1 for n in counts.values()),
            "dead_lettered": dead_lettered,
            "redrive": f"{redriven['delivered']}/{redriven['already_delivered']}/{redriven['still_failing']}",
            "left_in_queue": queue_size(stack),
            "signup_s": round(signup_seconds, 1),
            "wall_s": round(time.monotonic() - started, 1),
        }
        report("20% failing receiver", figures)
        assert figures["delivered"] == LOAD_SIGNUPS
        assert figures["duplicates"] == 0
    finally:
        flaky.stop()
