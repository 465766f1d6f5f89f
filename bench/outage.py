"""Figure 8: a receiver that is down for a while, then comes back, with the retry schedule compressed to seconds.

Signups arrive at a steady rate while the receiver answers 503 to everything; then it answers 200 again. The retry
schedule alone must deliver every notification made meanwhile (no redrive, no admin call), each once. Measured:
how long after the receiver's return the last of them arrives (full recovery), what was lost or duplicated, what
reached the dead-letter queue, and each outage user's signup -> delivered latency.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import defaultdict
from typing import Any

from bench.flow import SETTLE_SECONDS, WARM_UP, run_signups
from bench.stack import MESSAGE, RunningStack, Signup, local_stack, sign_up
from local.receiver import ReceivedRequest, Receiver

# The default schedule (1m, 5m, 30m, 2h, 5h, 10h, 10h) would make this run last hours, so the benchmark uses one of
# the same shape in seconds: each wait longer than the one before. Its sum (135 s) is more than twice a 60 s outage,
# so a notification made as the receiver goes down still has retries left when it comes back, as a day-long schedule
# has for any outage shorter than a day; a shorter schedule would measure the dead-letter queue instead. Recovery is
# bounded by the wait that straddles the receiver's return (here at most 40 s): the figure is the schedule's shape
# plus the stack's own delays, not a speed of the product.
OUTAGE_SCHEDULE = "5s,10s,20s,40s,60s"
RECOVERY_MARGIN_SECONDS = 30.0  # beyond the schedule's longest wait: the queue's polling and a busy machine
WARM_TIMEOUT_SECONDS = 30.0
DOWN_STATUS = 503
_STEP = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def schedule_seconds(text: str) -> list[float]:
    """`5s,10s,1m` as seconds, to size the wait. The stack itself parses and checks RETRY_SCHEDULE (and refuses a
    bad one at start); this only has to read one it accepts."""
    steps = []
    for raw in text.split(","):
        match = _STEP.match(raw.lower())
        if not match:
            raise ValueError(f"--outage-schedule: {raw.strip()!r} is not a duration such as 5s, 2m or 1h")
        steps.append(float(match[1]) * _UNIT_SECONDS[match[2]])
    return steps


def outage(seconds: float, rate: float, retry_schedule: str) -> dict[str, Any]:
    """Signups at `rate` a second for `seconds` while the receiver answers 503, then it answers 200 again."""
    steps = schedule_seconds(retry_schedule)
    began = time.monotonic()
    receiver = Receiver().start()
    try:
        with local_stack(receiver.url, retry_schedule) as stack:
            _warm_up(stack, receiver)
            receiver.respond_with(DOWN_STATUS)
            went_down = time.monotonic()
            signups = _paced_signups(stack.api, went_down, seconds, rate)
            health_during = _health(stack)  # read before the return: the endpoint as an admin sees it failing
            time.sleep(max(0.0, went_down + seconds - time.monotonic()))
            receiver.respond_with(200)
            came_back = time.monotonic()
            accepted = [s for s in signups if s.status == 200]
            bound = max(steps) + RECOVERY_MARGIN_SECONDS
            _wait_delivered(receiver, {s.name for s in accepted}, came_back + bound)
            time.sleep(SETTLE_SECONDS)  # late duplicates would arrive now
            requests = list(receiver.received)
            figure = _figure(accepted, requests, went_down, came_back)
            figure.update(
                outage_seconds=seconds,
                retry_schedule=retry_schedule,
                schedule_total_seconds=round(sum(steps), 1),
                wait_bound_seconds=round(bound, 1),
                signup_rate_target=rate,
                signup_rate=round(len(signups) / seconds, 2) if seconds else None,
                refused_signups=len(signups) - len(accepted),
                dead_letters=stack.dead_letters(),
                health_during=health_during,
                health_after=_health(stack),
            )
    finally:
        receiver.stop()
    figure["scenario_seconds"] = round(time.monotonic() - began, 1)
    return figure


def _warm_up(stack: RunningStack, receiver: Receiver) -> None:
    """A few delivered signups first: the workers' first clients and connections are not part of the outage."""
    run_signups(stack.api, [f"warm-{i}" for i in range(WARM_UP)], 1)
    receiver.wait_for(WARM_UP, timeout=WARM_TIMEOUT_SECONDS)


def _paced_signups(api: str, start: float, seconds: float, rate: float) -> list[Signup]:
    """One signup every 1/rate seconds from `start`, from one client; one that falls behind starts at once."""
    made: list[Signup] = []
    for index in range(int(seconds * rate)):
        due = start + index / rate
        time.sleep(max(0.0, due - time.monotonic()))
        if time.monotonic() >= start + seconds:
            break
        made.append(sign_up(api, f"outage-{index}"))
    return made


def _wait_delivered(receiver: Receiver, names: set[str], deadline: float) -> None:
    while time.monotonic() < deadline:
        if names <= {name for name, request in _named(list(receiver.received)) if _succeeded(request)}:
            return
        time.sleep(0.2)


def _named(requests: list[ReceivedRequest]) -> list[tuple[str, ReceivedRequest]]:
    """Each notification the receiver got, with the user name its message carries."""
    found = []
    for request in requests:
        if match := MESSAGE.match(request.body.decode("utf-8", "replace")):
            found.append((match["name"], request))
    return found


def _succeeded(request: ReceivedRequest) -> bool:
    return 200 <= request.status < 300


def _webhook_id(request: ReceivedRequest) -> str:
    return next((value for name, value in request.headers.items() if name.lower() == "webhook-id"), "")


def _figure(
    accepted: list[Signup], requests: list[ReceivedRequest], went_down: float, came_back: float
) -> dict[str, Any]:
    answered = {s.name: s.answered for s in accepted}
    ours = [(name, request) for name, request in _named(requests) if name in answered]
    deliveries: dict[tuple[str, str], int] = defaultdict(int)  # (user, webhook-id) -> 2xx answers
    first: dict[str, float] = {}  # user -> first 2xx
    attempts: dict[str, int] = defaultdict(int)
    for name, request in ours:
        attempts[name] += 1
        if _succeeded(request):
            deliveries[(name, _webhook_id(request))] += 1
            first[name] = min(first.get(name, request.received_at), request.received_at)
    ids: dict[str, int] = defaultdict(int)  # user -> distinct webhook-ids delivered
    for name, _ in deliveries:
        ids[name] += 1
    return {
        "signups": len(accepted),
        "delivered": len(first),
        "lost": len(answered.keys() - first.keys()),
        "duplicates": sum(count - 1 for count in deliveries.values()),
        "duplicates_new_id": sum(count - 1 for count in ids.values()),
        "recovery_seconds": round(max(first.values()) - came_back, 2) if first else None,
        "first_after_return_seconds": round(min(first.values()) - came_back, 2) if first else None,
        "latency_seconds": _spread([first[name] - answered[name] for name in first]),
        "receiver_requests": len(ours),
        "refused_by_receiver": sum(1 for _, request in ours if request.status == DOWN_STATUS),
        "attempts_per_notification_max": max(attempts.values(), default=0),
        "outage_measured_seconds": round(came_back - went_down, 2),
    }


def _spread(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "max": None}
    return {"n": len(values), "p50": round(statistics.median(values), 2), "max": round(max(values), 2)}


def _health(stack: RunningStack) -> dict[str, Any]:
    """The `health` object of GET /api/v1/admin/webhook, as an administrator reads it (the parts that change)."""
    try:
        health = stack.admin("GET", "/api/v1/admin/webhook").get("health") or {}
    except (OSError, ValueError) as exc:
        return {"error": type(exc).__name__}
    keys = ("status", "consecutive_failures", "retrying", "dead_letters")
    return {key: health.get(key) for key in keys}
