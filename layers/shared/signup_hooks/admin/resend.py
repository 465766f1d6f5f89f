"""An administrator's resend of one notification of the delivery log: sent again now, to the URL its endpoint has
now, with the same webhook-id, as an attempt of its own (dispatch.py, trigger `resend`). Delivery code: the admin
function loads it for this route only.

A notification not delivered yet goes through its idempotency record (a retry waiting in the schedule then finds it
delivered); one delivered already is sent again outside it, because the administrator asked for it. A failed resend
leaves the notification where it was: delivered, still retrying, or failed.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from signup_hooks.admin.delivery_routes import record_of
from signup_hooks.config import Config
from signup_hooks.errors import Conflict, InProgress, InvalidInput, OutOfTime, StorageUnavailable
from signup_hooks.log_context import log_keys
from signup_hooks.model import delivery_log
from signup_hooks.model.names import USER_CREATED
from signup_hooks.model.user import User
from signup_hooks.pipeline import dispatch
from signup_hooks.pipeline.dispatch import Skipped
from signup_hooks.pipeline.limits import ADMIN_DEADLINE_MARGIN_SECONDS
from signup_hooks.sending import backoff
from signup_hooks.storage.deliveries_table import DeliveriesTable
from signup_hooks.storage.wiring import fresh_endpoints, stores_for

logger = Logger(child=True)

# What an administrator is told when the endpoint does not take the notification now.
REFUSALS = {
    dispatch.ENDPOINT_DELETED: ("id", "the endpoint of this notification was deleted"),
    dispatch.ENDPOINT_DISABLED: ("id", "the endpoint of this notification is disabled: enable it before a resend"),
    dispatch.ENDPOINT_UNSUBSCRIBED: ("id", "the endpoint of this notification no longer receives its event"),
}


def resend(config: Config, delivery_id: str, context: LambdaContext) -> dict[str, Any]:
    """Resend the notification of a delivery log record; answers with the record as it is after the attempt."""
    log = DeliveriesTable(config.deliveries_table)
    stores = stores_for(config)
    record = record_of(log, delivery_id)
    if record.subject.event != USER_CREATED:
        raise InvalidInput("id", "only signup notifications (user.created) can be resent", code="not_resendable")
    user = User(record.subject.user_id, record.subject.user_name, "", "", 0, "")  # dispatch reads the profile
    notification = dispatch.Notification(user, record.subject.endpoint, record.subject.event_id)
    deadline = backoff.Deadline(context.get_remaining_time_in_millis() / 1000, ADMIN_DEADLINE_MARGIN_SECONDS)
    request = dispatch.Request(notification, delivery_log.Trigger.RESEND)
    try:
        with log_keys(event_id=record.subject.event_id):
            outcome = dispatch.dispatch(request, config, stores, deadline, context, fresh_endpoints(config))
    except InProgress:
        raise Conflict("this notification is being delivered right now; try again in a minute") from None
    except OutOfTime:
        raise StorageUnavailable("no time was left for the attempt") from None
    if isinstance(outcome, Skipped):
        field, text = REFUSALS.get(outcome.why, ("url", "no webhook URL is set: set one before a resend"))
        raise InvalidInput(field, text, code=outcome.why)
    logger.info("notification resent", extra={"delivery_id": record.id, "delivered": outcome.delivered})
    return record_of(log, delivery_id).to_dict()
