"""Domain errors. Handlers map them to HTTP answers in one place; nothing here knows about HTTP."""

from __future__ import annotations


class SignupHooksError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidInput(SignupHooksError):
    """A request field is missing or wrong. `field` names it; the message is safe to show to the client."""

    def __init__(self, field: str, message: str, code: str = "invalid_field") -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


class InvalidJson(SignupHooksError):
    """The request body is not a JSON object."""


class BodyTooLarge(SignupHooksError):
    """The request body is larger than the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than {limit} bytes")
        self.limit = limit


class EmailTaken(SignupHooksError):
    """An account with this email already exists."""


class StorageUnavailable(SignupHooksError):
    """DynamoDB, SSM or SQS refused or failed a call that should have worked."""


class ConfigError(SignupHooksError):
    """The function's environment is incomplete or wrong: a deployment mistake, seen at cold start."""


class NotFound(SignupHooksError):
    """The resource a request names does not exist. The message is safe to show to the client."""


class Conflict(SignupHooksError):
    """The request cannot be done now (another invocation holds the same notification). Safe to show."""


class TooManyEndpoints(SignupHooksError):
    """A new webhook endpoint would pass the limit on endpoints. The message is safe to show to the client."""


class InProgress(SignupHooksError):
    """Another invocation is delivering this notification now, or died doing so less than its timeout ago."""


class NotDelivered(SignupHooksError):
    """An exactly-once delivery's action did not deliver; `outcome` says what happened. Its idempotency record is
    removed, so that a later attempt may deliver it."""

    def __init__(self, outcome: object) -> None:
        super().__init__("not delivered")
        self.outcome = outcome


class OutOfTime(SignupHooksError):
    """Too little of the invocation is left to attempt a delivery; whoever holds the notification tries it later."""


class StreamGone(SignupHooksError):
    """The stream no longer holds the records (trimmed after 24 hours) or is not this stack's."""


class ShortRead(SignupHooksError):
    """The read stopped before the batch's last record (pages ran out): the message must wait for another try."""
