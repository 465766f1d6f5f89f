"""Figures 1-4: signup latency by receiver, end-to-end latency, batch drain, burst. Each on a fresh local stack."""

from __future__ import annotations

import copy
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.stack import (
    RunningStack,
    Signup,
    TimedReceiver,
    closed_port_url,
    local_stack,
    percentiles,
    sign_up,
)
from local.template import ROOT

WARM_UP = 3  # signups before the measured ones: the first boto3 clients and connections are made there
SETTLE_SECONDS = 2.0  # after the last delivery, how long to keep listening for duplicates


def run_signups(api: str, names: list[str], concurrency: int) -> list[Signup]:
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(lambda name: sign_up(api, name), names))


def signup_latency(receiver_kind: str, delay: float | None, signups: int, concurrency: int) -> dict[str, Any]:
    """Signup latency with a receiver answering after `delay` seconds, or down (None: nothing listens on its port).
    With the instant receiver, also the latency from the signup's response to the webhook's arrival."""
    receiver = TimedReceiver().start(delay) if delay is not None else None
    try:
        with local_stack(receiver.url if receiver else closed_port_url()) as stack:
            run_signups(stack.api, [f"warm-{i}" for i in range(WARM_UP)], 1)
            results = run_signups(stack.api, [f"{receiver_kind}-{i}" for i in range(signups)], concurrency)
            ok = [r for r in results if r.status == 200]
            figure: dict[str, Any] = {
                "receiver": receiver_kind,
                "concurrency": concurrency,
                "latency_ms": percentiles([r.seconds for r in ok]),
                "failed_signups": len(results) - len(ok),
                "signups_per_second": round(len(results) / (results[-1].answered - results[0].started), 1),
            }
            if delay == 0.0 and receiver:
                figure["end_to_end"] = _end_to_end(receiver, ok)
                figure["lambda"] = _lambda_usage(stack, signups=len(ok) + WARM_UP)
            return figure
    finally:
        if receiver:
            receiver.stop()


def _end_to_end(receiver: TimedReceiver, ok: list[Signup]) -> dict[str, Any]:
    names = {r.name for r in ok}
    receiver.wait_for(names, timeout=30 + len(ok) * 0.05)
    delays = [receiver.arrivals[r.name][0] - r.answered for r in ok if r.name in receiver.arrivals]
    return {"latency_ms": percentiles(delays), "not_delivered": len(names - receiver.arrivals.keys())}


def _lambda_usage(stack: RunningStack, signups: int) -> dict[str, Any]:
    """What Lambda would bill and CloudWatch would ingest, measured from the stack's own REPORT and log lines."""
    signup_ms, notifier_ms = stack.durations_ms("SignupFunction"), stack.durations_ms("NotifierFunction")
    batches = stack.notifier_batch_sizes()
    return {
        "signup_duration_ms": percentiles(signup_ms, scale=1.0),
        "signup_mean_ms": round(sum(signup_ms) / max(len(signup_ms), 1), 1),
        "notifier_invocations": len(notifier_ms),
        "notifier_records": sum(batches),
        "notifier_ms_per_record": round(sum(notifier_ms) / max(sum(batches), 1), 2),
        "notifier_mean_batch": round(sum(batches) / max(len(batches), 1), 2),
        "log_bytes_per_signup": round(
            (stack.log_bytes("SignupFunction") + stack.log_bytes("NotifierFunction")) / max(signups, 1)
        ),
    }


def _profile_item(name: str, index: int) -> dict[str, Any]:
    """The profile item a signup writes (the shape of events/notifier_new_user.json's new image), for `name`."""
    event = json.loads((ROOT / "events" / "notifier_new_user.json").read_text(encoding="utf-8"))
    item = copy.deepcopy(event["Records"][0]["dynamodb"]["NewImage"])
    user_id = f"00000000-0000-4000-8000-{index:012d}"
    item.update(
        pk={"S": f"USER#{user_id}"},
        id={"S": user_id},
        name={"S": name},
        email={"S": f"{name}@example.com"},
        created_at={"N": str(int(time.time()))},
    )
    return item


def batch_drain(users: int, receiver_delay: float) -> dict[str, Any]:
    """`users` profiles written at once (queued on the stream), a receiver taking `receiver_delay` per request."""
    receiver = TimedReceiver().start(receiver_delay)
    try:
        with local_stack(receiver.url) as stack:
            run_signups(stack.api, ["warm-0"], 1)
            receiver.wait_for({"warm-0"}, timeout=30)
            warm_batches = len(stack.notifier_batch_sizes())
            names = [f"batch-{i}" for i in range(users)]
            dynamodb, table = stack.client("dynamodb"), stack.info["resources"]["UsersTable"]
            started = time.monotonic()
            for index, name in enumerate(names):
                dynamodb.put_item(TableName=table, Item=_profile_item(name, index))
            written = time.monotonic() - started
            bound = users * receiver_delay
            receiver.wait_for(set(names), timeout=bound * 3 + 60)
            arrived = [receiver.arrivals[n][0] for n in names if n in receiver.arrivals]
            drain = (max(arrived) - started) if arrived else None
            batches = stack.notifier_batch_sizes()[warm_batches:]
            return {
                "users": users,
                "receiver_delay_ms": round(receiver_delay * 1000),
                "write_seconds": round(written, 2),
                "drain_seconds": round(drain, 2) if drain else None,
                "sequential_bound_seconds": round(bound, 2),
                "ratio_to_sequential": round(drain / bound, 3) if drain and bound else None,
                "not_delivered": users - len(arrived),
                "invocations": len(batches),
                "records_per_invocation": batches,
            }
    finally:
        receiver.stop()


def burst(signups: int, concurrency: int) -> dict[str, Any]:
    """`signups` as fast as the API takes them; until when every one is delivered; duplicates and losses."""
    receiver = TimedReceiver().start(0.0)
    try:
        with local_stack(receiver.url) as stack:
            run_signups(stack.api, [f"warm-{i}" for i in range(WARM_UP)], 1)
            started = time.monotonic()
            results = run_signups(stack.api, [f"burst-{i}" for i in range(signups)], concurrency)
            accepted = time.monotonic() - started
            ok = {r.name for r in results if r.status == 200}
            receiver.wait_for(ok, timeout=60 + signups * 0.1)
            time.sleep(SETTLE_SECONDS)
            firsts = [receiver.arrivals[name][0] for name in ok if name in receiver.arrivals]
            last = max(firsts) - started if firsts else None
            burst_names = {n for n in receiver.arrivals if n.startswith("burst-")}
            return {
                "signups": signups,
                "concurrency": concurrency,
                "accepted": len(ok),
                "refused": len(results) - len(ok),
                "accept_seconds": round(accepted, 2),
                "signups_per_second": round(len(results) / accepted, 1),
                "all_delivered_seconds": round(last, 2) if last else None,
                "lag_after_last_signup_seconds": round(max(firsts) - started - accepted, 2) if firsts else None,
                "duplicates": sum(len(receiver.arrivals[n]) - 1 for n in burst_names),
                "lost": len(ok - receiver.arrivals.keys()),
                "delivered_without_a_successful_signup": len(burst_names - ok),
                "dead_letters": stack.dead_letters(),
            }
    finally:
        receiver.stop()
