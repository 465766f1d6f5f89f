"""The events a receiver can be sent: a signup (`user.created`), and operational events about deliveries that tell an
administrator an endpoint started failing, recovered, was disabled (its receiver answered 410 Gone), or that a signup
notification failed for good.

An operational event travels in an SQS message as to_dict()'s JSON and is read back with from_dict(). It holds only
what a receiver may see: the endpoint's host, never its URL (a Slack or Discord URL's path is a secret), and of the
user the id and name, never the e-mail address. formats.build_event() turns it into each receiver's payload.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from signup_hooks.model.names import USER_CREATED

ENDPOINT_FAILING = "endpoint.failing"
ENDPOINT_RECOVERED = "endpoint.recovered"
DELIVERY_FAILED = "delivery.failed"
ENDPOINT_DISABLED = "endpoint.disabled"  # its receiver answered 410 Gone: nothing goes to it until it is enabled again
OPERATIONAL = (ENDPOINT_FAILING, ENDPOINT_RECOVERED, DELIVERY_FAILED, ENDPOINT_DISABLED)
ALL = (USER_CREATED, *OPERATIONAL)
EVERY_EVENT = "*"  # alone in an endpoint's subscription: every event, including those added later
# An admin's test send, in the JSON envelope: a receiver that acts on `user.created` records no fake signup. Not in
# ALL: no endpoint subscribes to it, a test goes to the URL it is given.
WEBHOOK_TEST = "webhook.test"

_TEXTS = ("type", "endpoint_id", "endpoint_name", "target_host", "user_id", "user_name", "webhook_id")
_OPTIONAL_TEXTS = ("reason", "failing_since")
_COUNTS = ("occurred_at", "attempts")
# A target_host with one of these is a URL given by mistake, and a URL's path or user part can be a secret.
_NOT_IN_A_HOST = frozenset("/?#@\\ ")


@dataclass(frozen=True)
class OperationalEvent:
    type: str  # one of OPERATIONAL
    endpoint_id: str  # the endpoint the event is about
    endpoint_name: str
    target_host: str  # host only, never a URL path
    occurred_at: int  # epoch seconds
    reason: str | None = None  # the last failure's reason (a results.Reason value such as "server_error")
    failing_since: str | None = None  # ISO 8601 with an offset, when the endpoint started failing
    attempts: int = 0  # delivery.failed: attempts made
    user_id: str = ""  # delivery.failed: whose signup notification failed
    user_name: str = ""
    webhook_id: str = ""  # delivery.failed: the failed notification's webhook-id

    def __post_init__(self) -> None:
        # Checked here rather than in from_dict only, so that no malformed event is ever built.
        for name in _TEXTS:
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string")
        for name in _OPTIONAL_TEXTS:
            if not isinstance(getattr(self, name), str | None):
                raise ValueError(f"{name} must be a string or null")
        for name in _COUNTS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number, 0 or more")
        if self.type not in OPERATIONAL:
            raise ValueError(f"type must be one of {', '.join(OPERATIONAL)}")
        if not self.endpoint_id or not self.target_host or _NOT_IN_A_HOST & set(self.target_host):
            raise ValueError("endpoint_id and target_host must be set, target_host to a host name only")
        if self.type == DELIVERY_FAILED and not (self.user_id and self.webhook_id):
            raise ValueError("a delivery.failed event needs user_id and webhook_id")
        self.failing_since_time()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> OperationalEvent:
        """The event of an SQS message's body, or ValueError naming what is wrong. Keys this version does not know are
        left out, so that a message written by a newer version still reads."""
        if not isinstance(data, dict):
            raise ValueError("an operational event must be a JSON object")
        fields = dataclasses.fields(cls)
        missing = [field.name for field in fields if field.default is dataclasses.MISSING and field.name not in data]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        return cls(**{field.name: data[field.name] for field in fields if field.name in data})

    def failing_since_time(self) -> datetime | None:
        if self.failing_since is None:
            return None
        try:
            since = datetime.fromisoformat(self.failing_since)
        except ValueError:
            raise ValueError("failing_since must be an ISO 8601 time") from None
        if since.tzinfo is None:
            raise ValueError("failing_since must give its offset from UTC")
        return since
