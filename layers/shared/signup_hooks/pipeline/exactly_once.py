"""Delivering a prepared notification exactly once: a round of attempts (attempts.py) inside the notification's
idempotency record (storage/idempotency.py). The one path (dispatch.py) then settles it (settle.py).

A notification delivered already (its record is COMPLETED) is not sent again: the outcome says `already_delivered`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from signup_hooks.config import Config
from signup_hooks.errors import NotDelivered, OutOfTime
from signup_hooks.model.delivery_log import Attempt, Trigger
from signup_hooks.model.results import DeliveryResult
from signup_hooks.pipeline.attempts import Round, post_round
from signup_hooks.pipeline.outcome import Outcome
from signup_hooks.pipeline.prepare import Prepared
from signup_hooks.sending import backoff
from signup_hooks.storage.ports import ALREADY_DELIVERED, Stores


def deliver_exactly_once(
    prepared: Prepared,
    config: Config,
    stores: Stores,
    deadline: backoff.Deadline,
    context: LambdaContext,
    trigger: Trigger = Trigger.STREAM,
    policy: backoff.RetryPolicy | None = None,
) -> tuple[Outcome, list[Attempt]]:
    """Post with retries, at most once per delivery key: the outcome, and this round's attempts for the log.

    Raises OutOfTime when no attempt could start before the deadline, InProgress when another invocation is
    delivering the same notification now.
    """
    rounds: list[Round] = []
    if prepared.failure is not None:  # a refused or invalid target: nothing was sent, nothing to remember
        outcome = Outcome(False, result=prepared.failure)
    else:
        outcome = _within_record(prepared, config, stores, deadline, context, policy, trigger, rounds)
    return outcome, rounds[0].attempts if rounds else []


def _within_record(
    prepared: Prepared,
    config: Config,
    stores: Stores,
    deadline: backoff.Deadline,
    context: LambdaContext,
    policy: backoff.RetryPolicy | None,
    trigger: Trigger,
    rounds: list[Round],
) -> Outcome:
    def attempt() -> dict[str, Any]:
        made = post_round(prepared, config, deadline, policy, trigger)
        rounds.append(made)
        if made.count == 0:
            raise OutOfTime("no time left for an attempt before the invocation's deadline")
        if not made.result.delivered:
            raise NotDelivered(Outcome(False, result=made.result, attempts=made.count))
        result = made.result
        return {"delivered": True, "status": result.status, "attempts": made.count, "latency_ms": result.latency_ms}

    try:
        done = stores.idempotency.once(prepared.event_id, attempt, context)
    except NotDelivered as failed:
        return failed.outcome  # type: ignore[return-value]
    result = DeliveryResult(True, done.get("status"), None, int(done.get("latency_ms", 0)))
    return Outcome(True, bool(done.get(ALREADY_DELIVERED)), result, int(done.get("attempts", 0)))
