"""Figure 9: a slow receiver under a sustained signup rate. Does a backlog build up behind it?

Users sign up at a steady rate (6 a second by default, for 40 s) while the receiver takes 2 s to answer each
notification. Each notification's latency runs from the signup's response to the receiver's answer, so it includes
the receiver's own 2 s: the goal is a p50 of at most 1.5 times that, and no growth over the run (the last quarter's
p50 against the first quarter's). Before the stream mapping ran batches of a shard in parallel, every batch waited
for the one before, so the latency grew with every second of the run.

`--before-from DIR` runs the same scenario against the stack of another checkout (e.g. a worktree at an earlier
commit), for the plot's "before" line: this benchmark drives both, only the stack's code differs.
"""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.flow import WARM_UP
from bench.stack import Signup, TimedReceiver, local_stack, percentiles, sign_up
from local.template import ROOT

CLIENT_THREADS = 8  # enough that a slow signup does not hold back the next one due
GOAL_P50_TO_RECEIVER = 1.5
GOAL_GROWTH = 1.2  # last quarter's p50 over the first's: 1.0 is no growth; the margin is the machine's noise
# The lighter of the template's two Argon2id profiles. With the default one, a signup costs about 0.2 s of CPU and
# the local stack's one signup environment cannot take 6 a second on 2 shared cores: signups would queue at the API
# and reach the stream slower than the rate asked for, which would measure the signup's CPU instead of the stream.
# On Lambda every signup has an environment of its own; the notification path is the same with either profile.
STACK_PARAMETERS = {"Argon2Profile": "owasp-minimum"}


def slow_receiver(rate: float, seconds: float, receiver_seconds: float, root: Path = ROOT) -> dict[str, Any]:
    """Signups at `rate` a second for `seconds` against a receiver answering after `receiver_seconds`, on the stack
    of the checkout at `root`."""
    began = time.monotonic()
    receiver = TimedReceiver().start(receiver_seconds)
    try:
        with local_stack(receiver.url, root=root, env_vars={"Parameters": STACK_PARAMETERS}) as stack:
            warm = [sign_up(stack.api, f"warm-{i}") for i in range(WARM_UP)]
            receiver.wait_for({s.name for s in warm}, timeout=30 + receiver_seconds)
            signups = _paced(stack.api, rate, seconds)
            ok = [s for s in signups if s.status == 200]
            receiver.wait_for({s.name for s in ok}, timeout=60 + seconds * 2)
            environments = stack.log().count("[NotifierFunction] START RequestId")
    finally:
        receiver.stop()
    start = ok[0].answered if ok else 0.0
    series = [
        (round(s.answered - start, 3), round(receiver.arrivals[s.name][0] - s.answered, 3))
        for s in ok
        if s.name in receiver.arrivals
    ]
    quarter = max(1, len(series) // 4)
    first, last = percentiles([lat for _, lat in series[:quarter]]), percentiles([lat for _, lat in series[-quarter:]])
    latency = percentiles([lat for _, lat in series])
    return {
        "rate": rate,
        "seconds": seconds,
        "receiver_seconds": receiver_seconds,
        "git": _git(root),
        "signups": len(signups),
        "failed_signups": len(signups) - len(ok),
        "signup_latency_ms": percentiles([s.seconds for s in ok]),
        "signups_per_second": round(len(ok) / (ok[-1].answered - ok[0].started), 2) if len(ok) > 1 else None,
        "argon2_profile": STACK_PARAMETERS["Argon2Profile"],
        "latency_ms": latency,
        "p50_to_receiver": _ratio(latency["p50"], receiver_seconds * 1000),
        "first_quarter_p50_ms": first["p50"],
        "last_quarter_p50_ms": last["p50"],
        "growth": _ratio(last["p50"], first["p50"]),
        "not_delivered": len(ok) - len(series),
        "notifier_invocations": environments,
        "series": series,  # (seconds since the first signup's response, latency in seconds), for the plot
        "scenario_seconds": round(time.monotonic() - began, 1),
    }


def _paced(api: str, rate: float, seconds: float) -> list[Signup]:
    """One signup due every 1/rate seconds (an open loop: a slow answer does not delay the next one)."""
    count = int(rate * seconds)
    futures: list[Future[Signup]] = []
    with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
        start = time.monotonic()
        for index in range(count):
            time.sleep(max(0.0, start + index / rate - time.monotonic()))
            futures.append(pool.submit(sign_up, api, f"steady-{index}"))
    return [f.result() for f in futures]


def _ratio(value: float | None, base: float | None) -> float | None:
    return round(value / base, 2) if value and base else None


def _git(root: Path) -> str:
    command = ["git", "rev-parse", "--short", "HEAD"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)  # noqa: S603
    return done.stdout.strip()
