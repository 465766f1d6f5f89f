"""A replay of a large window: how long each `POST /api/v1/admin/webhook/replay` call takes and how many it takes, with
`--users` users created while nothing was configured and `--endpoints` endpoints receiving signups.

`python -m bench.replay --users 1000 --endpoints 10` (about 2 minutes on 2 cores). The users are written straight to the
local stack's users table (the profile items a signup writes, without Argon2id), so the notifier logs them as not
configured; then the endpoints are made through the admin API, each to a loopback receiver, and the window is replayed
until its cursor ends. Each call must answer well within the admin function's 29 s; what it queues, the retry function
delivers afterwards (not measured here: figures 8 and 10 measure delivery).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.flow import _profile_item
from bench.stack import closed_port_url, local_stack
from local.receiver import Receiver

ADMIN_TIMEOUT_SECONDS = 29  # API Gateway's limit, the admin function's Timeout


def replay_window(users: int, endpoint_count: int) -> dict[str, Any]:
    receivers = [Receiver().start() for _ in range(endpoint_count)]
    try:
        with local_stack(closed_port_url()) as stack:
            since = (datetime.now(UTC) - timedelta(seconds=2)).isoformat()
            dynamodb, table = stack.client("dynamodb"), stack.info["resources"]["UsersTable"]
            for index in range(users):
                dynamodb.put_item(TableName=table, Item=_profile_item(f"replay-{index}", index))
            time.sleep(2)  # the window ends after the last user, to the second
            stack.admin("PUT", "/api/v1/admin/webhook", {"url": receivers[0].url, "format": "json"})
            for index, receiver in enumerate(receivers[1:], start=1):
                stack.admin("POST", "/api/v1/admin/webhooks", {"name": f"replay {index}", "url": receiver.url})
            calls: list[dict[str, Any]] = []
            cursor = None
            while len(calls) < 100:  # bounded: 1,000 users a call at most
                body = {"since": since} | ({"cursor": cursor} if cursor else {})
                started = time.monotonic()
                answer = stack.admin("POST", "/api/v1/admin/webhook/replay", body)
                calls.append({"seconds": round(time.monotonic() - started, 2), **answer})
                cursor = answer.get("cursor")
                if not cursor:
                    break
    finally:
        for receiver in receivers:
            receiver.stop()
    longest = max(call["seconds"] for call in calls)
    return {
        "users": users,
        "endpoints": endpoint_count,
        "calls": len(calls),
        "queued": sum(call["queued"] for call in calls),
        "longest_call_seconds": longest,
        "admin_timeout_seconds": ADMIN_TIMEOUT_SECONDS,
        "within_timeout": longest < ADMIN_TIMEOUT_SECONDS,
        "per_call": [{k: call[k] for k in ("seconds", "users", "queued", "already_delivered")} for call in calls],
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1000, help="users in the window (1000)")
    parser.add_argument("--endpoints", type=int, default=10, help="endpoints receiving signups (10, the most)")
    args = parser.parse_args()
    print(json.dumps(replay_window(args.users, args.endpoints), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
