"""A short lease on one endpoint's settings document, so that admin changes to it run one after another.

SSM's PutParameter has no conditional write, and admin invocations run side by side: two read-modify-writes of the
same document would each build on what they read, and the later write would undo the earlier (a PATCH undoing a
rotated secret). DynamoDB has the conditional write SSM lacks: one item per endpoint in the deliveries table,
`lease#settings#<endpoint>` (in no index), taken by a conditional UpdateItem when it is free or its lease ended, and
given back by its holder after the write. A change that finds it held waits a moment, then answers 409.

A lease outlives any holder: it lasts longer than the admin function's timeout, and Lambda stops an invocation at
its timeout. So a holder that died leaves the endpoint unchangeable for at most LEASE_SECONDS, never two holders.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from signup_hooks.errors import Conflict, StorageUnavailable
from signup_hooks.storage import aws

logger = Logger(child=True)

LEASE_SECONDS = 45  # past the admin function's Timeout (29 s), with room for clocks a little apart
WAIT_SECONDS = 3.0  # how long a change waits for another one's lease: a change takes well under a second
POLL_SECONDS = 0.1


def key(endpoint_id: str) -> str:
    return f"lease#settings#{endpoint_id}"


@contextmanager
def held(
    table: str, endpoint_id: str, *, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep
) -> Iterator[None]:
    """Hold the lease on an endpoint's document for the block. Raises Conflict when another change holds it longer
    than WAIT_SECONDS, StorageUnavailable when DynamoDB fails."""
    owner = secrets.token_hex(8)
    deadline = clock() + WAIT_SECONDS
    while not _take(table, endpoint_id, owner, clock()):
        if clock() >= deadline:
            raise Conflict("another change to this endpoint is being saved; read it again and retry")
        sleep(POLL_SECONDS)
    try:
        yield
    finally:
        _give_back(table, endpoint_id, owner)


def _take(table: str, endpoint_id: str, owner: str, now: float) -> bool:
    try:
        aws.client("dynamodb").update_item(
            TableName=table,
            Key={"id": {"S": key(endpoint_id)}},
            UpdateExpression="SET lease_owner = :owner, lease_until = :until, expires_at = :expires",
            ConditionExpression="attribute_not_exists(id) OR lease_until < :now",
            ExpressionAttributeValues={
                ":owner": {"S": owner},
                ":until": {"N": repr(now + LEASE_SECONDS)},
                ":now": {"N": repr(now)},
                ":expires": {"N": str(int(now) + LEASE_SECONDS * 2)},  # the table's TTL removes it later
            },
        )
    except ClientError as exc:
        if aws.error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise StorageUnavailable(f"the endpoint's lease could not be taken: {aws.error_code(exc)}") from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(f"the endpoint's lease could not be taken: {aws.error_code(exc)}") from exc
    return True


def _give_back(table: str, endpoint_id: str, owner: str) -> None:
    """End the lease now, if it is still ours. Best effort: a lease not given back ends by itself."""
    try:
        aws.client("dynamodb").update_item(
            TableName=table,
            Key={"id": {"S": key(endpoint_id)}},
            UpdateExpression="SET lease_until = :zero",
            ConditionExpression="lease_owner = :owner",
            ExpressionAttributeValues={":owner": {"S": owner}, ":zero": {"N": "0"}},
        )
    except (ClientError, BotoCoreError) as exc:
        logger.warning(
            "an endpoint's settings lease could not be given back; it ends by itself",
            extra={"endpoint": endpoint_id, "error": aws.error_code(exc), "lease_seconds": LEASE_SECONDS},
        )
