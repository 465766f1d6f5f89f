"""An administrator's resend of one notification of the delivery log: sent again now, to the URL its endpoint has
now, with the same webhook-id, as an attempt of its own (trigger `resend`). Delivery code: the admin function loads
it for this route only.

A notification not delivered yet goes through its idempotency record (a retry waiting in the schedule then finds it
delivered); one delivered already is sent again outside it, because the administrator asked for it. A failed resend
leaves the notification where it was: still retrying, or failed.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from signup_hooks import deliveries, endpoints, retry, settle
from signup_hooks.attempts import post_round
from signup_hooks.config import Config
from signup_hooks.deliveries import Status
from signup_hooks.delivery_log_admin import DEADLINE_MARGIN_SECONDS, record_of
from signup_hooks.errors import Conflict, InProgress, InvalidInput, OutOfTime, StorageUnavailable
from signup_hooks.exactly_once import deliver_exactly_once
from signup_hooks.log_context import log_keys
from signup_hooks.prepare import Prepared, prepare
from signup_hooks.retries import ONE_ATTEMPT
from signup_hooks.settle import Outcome
from signup_hooks.storage.deliveries_table import DeliveriesTable
from signup_hooks.storage.wiring import fresh_endpoints, stores_for
from signup_hooks.stores import Stores
from signup_hooks.users import User

logger = Logger(child=True)


def resend(config: Config, delivery_id: str, context: LambdaContext) -> dict[str, Any]:
    """Resend the notification of a delivery log record; answers with the record as it is after the attempt."""
    log = DeliveriesTable(config.deliveries_table)
    stores = stores_for(config)
    record = record_of(log, delivery_id)
    if record.subject.event != deliveries.USER_CREATED:
        raise InvalidInput("id", "only signup notifications (user.created) can be resent", code="not_resendable")
    endpoint = endpoints.find(fresh_endpoints(config), record.subject.endpoint)
    if endpoint is None:
        raise InvalidInput("id", "the endpoint of this notification was deleted", code="endpoint_deleted")
    if endpoint.problem is not None:
        raise endpoint.unavailable()
    current = endpoint.effective()
    target = current.target
    if target.url is None:
        raise InvalidInput("url", "no webhook URL is set: set one before a resend", code="not_configured")
    user = stores.users.get(record.subject.user_id) or _user_of(record)
    deadline = retry.Deadline(context.get_remaining_time_in_millis() / 1000, DEADLINE_MARGIN_SECONDS)
    # The credentials come only for the origin they were saved for.
    prepared = prepare(
        target.url, user, record.subject.event_id, config, current.options, deadline, endpoint=endpoint.id
    )
    keep = record.status if record.status is Status.RETRYING else Status.FAILED
    after = settle.Next(schedule_failures=False, trigger=deliveries.Trigger.RESEND, failure_status=keep)
    with log_keys(event_id=record.subject.event_id, user_id=record.subject.user_id):
        if record.status is Status.DELIVERED:
            outcome = _send_again(prepared, config, stores, deadline, after)
        else:
            try:
                outcome = deliver_exactly_once(prepared, config, stores, deadline, context, after, ONE_ATTEMPT)
            except InProgress:
                raise Conflict("this notification is being delivered right now; try again in a minute") from None
            except OutOfTime:
                raise StorageUnavailable("no time was left for the attempt") from None
    logger.info("notification resent", extra={"delivery_id": record.id, "delivered": outcome.delivered})
    return record_of(log, delivery_id).to_dict()


def _send_again(
    prepared: Prepared, config: Config, stores: Stores, deadline: retry.Deadline, after: settle.Next
) -> Outcome:
    """One attempt outside the idempotency record (the notification was delivered already), settled as any other."""
    attempts: list[deliveries.Attempt] = []
    if prepared.failure is not None:
        outcome = Outcome(False, result=prepared.failure)
    else:
        made = post_round(prepared, config, deadline, ONE_ATTEMPT, after.trigger)
        attempts = made.attempts
        if made.count == 0:
            raise OutOfTime("no time left for an attempt before the invocation's deadline")
        outcome = Outcome(made.result.delivered, result=made.result, attempts=made.count)
    settle.settle(prepared, outcome, attempts, config, stores, after)
    return outcome


def _user_of(record: deliveries.Record) -> User:
    return User(record.subject.user_id, record.subject.user_name, "", "", 0, "")
