"""The idempotency table: a record per delivery key (Powertools idempotency), what makes a delivery happen exactly once
as the receiver sees it (exactly_once.py).

The key is the notification's identity (endpoints.notification_key: the event, its subject, the endpoint), the same
for every way it is sent: a stream retry, a bisected batch, a re-invoked function, a scheduled retry, a replay, a
resend and a redrive all find the same record. Every function shares it through one key prefix (Powertools would
otherwise prefix the key with the function's name).

- Delivered: the record is COMPLETED and kept `EXPIRES_AFTER_SECONDS`, longer than a dead letter can wait for a
  replay, so that neither a late stream retry nor a second redrive sends it again.
- Not delivered: the action raises `NotDelivered`, Powertools deletes the record, and the caller dead-letters the
  notification. A replay may then try again.
- Being delivered right now (or by an invocation that died mid-delivery, until that invocation's timeout has
  passed): `InProgress`. The caller leaves the record for a later retry.

What remains is the window between the receiver's answer and the COMPLETED write: if the function dies exactly
there, the retry sends again. The `webhook-id` header is the same on every attempt, so a receiver can drop that copy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from signup_hooks.errors import InProgress, StorageUnavailable
from signup_hooks.storage import aws
from signup_hooks.storage.ports import ALREADY_DELIVERED

KEY_PREFIX = "signup-notification"
# The dead-letter queue keeps messages 14 days; a delivered notification is remembered one day longer.
EXPIRES_AFTER_SECONDS = 15 * 24 * 3600


@functools.cache
def _store(table: str) -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=table, boto3_client=aws.client("dynamodb"))


def _mark_replay(response: Any, _record: DataRecord) -> Any:
    return {**response, ALREADY_DELIVERED: True} if isinstance(response, dict) else response


class IdempotencyTable:
    def __init__(self, table: str) -> None:
        self.table = table

    def once(self, event_id: str, action: Callable[[], dict[str, Any]], context: LambdaContext) -> dict[str, Any]:
        """Run `action` (a delivery) unless the event was delivered already.

        Returns what the delivering run returned; a replay of it carries `already_delivered: True` and sends nothing.
        `action` raises `NotDelivered` when it failed. The lambda context bounds how long an unfinished record blocks
        others: until this invocation's own timeout.
        """
        return _once(self.table, event_id, action, context)


def _once(table: str, event_id: str, action: Callable[[], dict[str, Any]], context: LambdaContext) -> dict[str, Any]:
    config = IdempotencyConfig(
        event_key_jmespath="event_id",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=EXPIRES_AFTER_SECONDS,
        response_hook=_mark_replay,  # type: ignore[arg-type]  # a plain function fits Powertools' hook protocol
    )
    config.register_lambda_context(context)

    def run(event: dict[str, str]) -> dict[str, Any]:
        return action()

    guarded = idempotent_function(
        run, data_keyword_argument="event", persistence_store=_store(table), config=config, key_prefix=KEY_PREFIX
    )
    try:
        return dict(guarded(event={"event_id": event_id}))
    except IdempotencyAlreadyInProgressError as exc:
        raise InProgress(f"event {event_id} is being delivered by another invocation") from exc
    except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as exc:
        raise StorageUnavailable(f"the idempotency table could not be used: {type(exc).__name__}") from exc
