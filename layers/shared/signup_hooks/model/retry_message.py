"""The retry queue's messages: notifications waiting for their next scheduled attempt (storage/queues.py sends them).

A message says which notification to try (the user, the key that is its identity: its idempotency record's and
webhook-id's, the endpoint) and when: `due_at`. It holds no URL, no rendered text and no e-mail: each retry reads the
current settings and the user, so fixing the URL or the template fixes everything waiting.

SQS delays a new message by at most 15 minutes. A longer wait is made of that delay and then, when the message
arrives early, a visibility timeout until it is due (`RetryQueue.hold`, at most 12 hours): the consumer reports it as
not done and it comes back when due. A message therefore arrives at most twice per scheduled attempt, which the queue's
redrive policy (maxReceiveCount) allows for while still catching a message the consumer keeps crashing on.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from signup_hooks.model.names import DEFAULT_ENDPOINT, USER_CREATED

if TYPE_CHECKING:  # the user module brings the password hasher, which the delivering functions never need
    from signup_hooks.model.user import User

MESSAGE_KIND = "signup-retry"
MESSAGE_VERSION = 1


@dataclass(frozen=True)
class RetryMessage:
    event_id: str
    user_id: str
    user_name: str
    user_role: str
    user_created_at: int
    retries_done: int  # scheduled retries made before this one (0 for the first)
    due_at: float  # epoch seconds
    first_attempt_at: str | None = None
    endpoint: str = DEFAULT_ENDPOINT
    replay: bool = False  # queued by an administrator's replay rather than by the schedule
    event: str = USER_CREATED
    details: dict[str, Any] | None = None  # an operational event's (events.OperationalEvent.to_dict())

    @classmethod
    def of(
        cls,
        user: User,
        event_id: str,
        due_at: float,
        retries_done: int = 0,
        first_attempt_at: str | None = None,
        replay: bool = False,
        endpoint: str = DEFAULT_ENDPOINT,
        event: str = USER_CREATED,
        details: dict[str, Any] | None = None,
    ) -> RetryMessage:
        """The message for a user's notification: what the user record may hold in a queue (no e-mail)."""
        return cls(
            event_id=event_id,
            user_id=user.id,
            user_name=user.name,
            user_role=user.role,
            user_created_at=user.created_at,
            retries_done=retries_done,
            due_at=due_at,
            first_attempt_at=first_attempt_at,
            endpoint=endpoint,
            replay=replay,
            event=event,
            details=details,
        )

    def to_json(self) -> str:
        return json.dumps({"kind": MESSAGE_KIND, "version": MESSAGE_VERSION, **asdict(self)}, ensure_ascii=False)


def parse(body: str) -> RetryMessage | None:
    """A message of ours, or None (it then goes to the dead-letter queue through the redrive policy)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("kind") != MESSAGE_KIND:
        return None
    try:
        return RetryMessage(
            event_id=str(data["event_id"]),
            user_id=str(data["user_id"]),
            user_name=str(data.get("user_name", "")),
            user_role=str(data.get("user_role", "")),
            user_created_at=int(data.get("user_created_at") or 0),
            retries_done=int(data.get("retries_done") or 0),
            due_at=float(data["due_at"]),
            first_attempt_at=data.get("first_attempt_at"),
            endpoint=str(data.get("endpoint") or DEFAULT_ENDPOINT),
            replay=bool(data.get("replay", False)),
            event=str(data.get("event") or USER_CREATED),
            details=data["details"] if isinstance(data.get("details"), dict) else None,
        )
    except (KeyError, TypeError, ValueError):
        return None
