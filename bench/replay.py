"""A replay of a large window: how long each replay call takes and how many calls it takes, with `--users` users and
`--endpoints` endpoints receiving signups (the most: 10).

`python -m bench.replay --users 1000 --endpoints 10` (about 2 minutes on 2 cores). The replay's own code
(`delivery_routes.queue_replay`, as the admin route runs it, with the admin function's 29 s) against a moto server
in this process, with the template's tables: the users are written straight to the users table, none has a delivery
log record, so every (user, endpoint) is queued. Only the replay runs, and each call queues into a queue of its own,
as if the retry function had emptied the one before: on the local stack the retry function would deliver the first
page at once, sharing one moto process with the replay, and moto's SendMessage slows with the queue's depth; neither
says anything of AWS. Each call must answer well within the admin function's 29 s and stop, with a cursor, when it
cannot.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

ADMIN_TIMEOUT_SECONDS = 29  # API Gateway's limit, the admin function's Timeout


def replay_window(users: int, endpoint_count: int) -> dict[str, Any]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto's dummy credentials
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_SERVICE_NAME="signup-webhooks",
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    try:
        return _measure(users, endpoint_count)
    finally:
        server.stop()


def _measure(users: int, endpoint_count: int) -> dict[str, Any]:
    import boto3
    from signup_hooks.admin import delivery_routes
    from signup_hooks.admin.delivery_routes import ReplayWindow
    from signup_hooks.endpoints import settings
    from signup_hooks.endpoints.registry import Endpoint
    from signup_hooks.pipeline.limits import ADMIN_DEADLINE_MARGIN_SECONDS
    from signup_hooks.sending import backoff
    from signup_hooks.storage.deliveries_table import DeliveriesTable
    from signup_hooks.storage.queues import RetryQueue
    from signup_hooks.storage.users_table import UsersTable

    from bench.flow import _profile_item
    from local.template import load_template, table_definition

    template = load_template()
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    dynamodb.create_table(TableName="users", **table_definition(template))
    dynamodb.create_table(TableName="deliveries", **table_definition(template, "DeliveriesTable"))
    for index in range(users):
        dynamodb.put_item(TableName="users", Item=_profile_item(f"replay-{index}", index))
    known = [
        Endpoint(
            "default" if index == 0 else f"ep_{index:012x}",
            settings.Snapshot(
                settings.StoredSettings(url=f"https://hooks{index}.example.com/x", created_at=str(index)),
                settings.SettingsSource.DOCUMENT,
            ),
        )
        for index in range(endpoint_count)
    ]
    since, until = int(time.time()) - 3600, int(time.time()) + 60
    calls: list[dict[str, Any]] = []
    cursor, queued = None, 0
    while len(calls) < 100:  # bounded: each call makes progress
        window = ReplayWindow(since, until, cursor)
        queue_url = sqs.create_queue(QueueName=f"retries-{len(calls)}")["QueueUrl"]  # see _taken
        deadline = backoff.Deadline(ADMIN_TIMEOUT_SECONDS, ADMIN_DEADLINE_MARGIN_SECONDS)
        started = time.monotonic()
        answer = delivery_routes.queue_replay(
            window, known, UsersTable("users"), DeliveriesTable("deliveries"), RetryQueue(queue_url), deadline
        )
        calls.append({"seconds": round(time.monotonic() - started, 2), **answer})
        cursor = answer["cursor"]
        queued += _taken(sqs, queue_url)
        if not cursor:
            break
    longest = max(call["seconds"] for call in calls)
    return {
        "users": users,
        "endpoints": endpoint_count,
        "calls": len(calls),
        "queued": sum(call["queued"] for call in calls),
        "in_queue": queued,  # what SQS held after each call, added up
        "longest_call_seconds": longest,
        "admin_timeout_seconds": ADMIN_TIMEOUT_SECONDS,
        "within_timeout": longest < ADMIN_TIMEOUT_SECONDS - ADMIN_DEADLINE_MARGIN_SECONDS,
        "per_call": [{k: call[k] for k in ("seconds", "users", "queued")} for call in calls],
    }


def _taken(sqs: Any, queue_url: str) -> int:
    """The messages a call queued. Each call has a queue of its own, as if the retry function had emptied the one
    before: moto's SendMessage slows with the depth of the queue (about 3 ms a message at 500 deep, 20 ms at 3,000),
    SQS's does not."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    sqs.delete_queue(QueueUrl=queue_url)
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1000, help="users in the window (1000)")
    parser.add_argument("--endpoints", type=int, default=10, help="endpoints receiving signups (10, the most)")
    args = parser.parse_args()
    print(json.dumps(replay_window(args.users, args.endpoints), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
