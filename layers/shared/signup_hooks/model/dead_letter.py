"""Dead-letter messages: what could not be delivered, self-contained so that it can be replayed later
(storage/queues.py sends and receives them).

The queue also receives the OnFailure records that Lambda itself sends for a stream batch it gave up on
(batch metadata only); `kind` tells our messages apart from those.

A dead letter never holds an e-mail address: when the rendered message holds one (an `{email}` template, or a
name or template text that is an address) it keeps no message at all (`"message": null`), and a redrive renders
the current template anew.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from signup_hooks.digits import is_ascii_digits
from signup_hooks.model import clock
from signup_hooks.model.names import DEFAULT_ENDPOINT
from signup_hooks.model.results import DeliveryResult
from signup_hooks.model.user import User

MESSAGE_KIND = "signup-notification"
MESSAGE_VERSION = 1
_ADDRESS_LIKE = re.compile(r"\S@\S")  # what every e-mail address has (and "@here" after a space has not)


@dataclass(frozen=True)
class DeadLetter:
    event_id: str
    user: User  # its e-mail is never written (to_json), only checked for in the message
    message: str | None
    url: str
    result: DeliveryResult
    format: str = ""  # the payload shape it was sent as (formats.Shape)
    attempts: int = 0
    first_attempt_at: str | None = None
    last_attempt_at: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)  # every attempt: time, status, reason, latency
    endpoint: str = DEFAULT_ENDPOINT  # the endpoint it was for: a redrive sends it to that endpoint's URL now

    def to_json(self) -> str:
        parts = urlsplit(self.url)
        body: dict[str, Any] = {
            "kind": MESSAGE_KIND,
            "version": MESSAGE_VERSION,
            "event_id": self.event_id,
            "endpoint": self.endpoint,
            # Enough to replay without the table; no email, no credential.
            "user": {
                "id": self.user.id,
                "name": self.user.name,
                "role": self.user.role,
                "created_at": self.user.created_at,
            },
            "message": kept_message(self.message, self.user.email),
            "format": self.format,
            # Scheme and host only: the path of a chat webhook URL is its credential.
            "target": {"scheme": parts.scheme, "host": parts.hostname or ""},
            "reason": self.result.reason.value if self.result.reason else None,
            "http_status": self.result.status,  # the last attempt's status
            "attempts": self.attempts,
            "first_attempt_at": self.first_attempt_at,
            "last_attempt_at": self.last_attempt_at,
            "attempt_history": self.history,
            "latency_ms": self.result.latency_ms,
            "response_excerpt": self.result.excerpt,
            "detail": self.result.detail,
            "failed_at": clock.to_the_second(),
        }
        return json.dumps(body, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------------------------------
# Reading the queue back (the admin redrive, redrive.py)
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notification:
    """One of our dead letters: everything a replay needs."""

    event_id: str
    user: User
    message: str | None  # None: the letter kept no text (it held an e-mail); render the template again
    endpoint: str = DEFAULT_ENDPOINT


def kept_message(message: str | None, email: str) -> str | None:
    """The message a dead letter may keep: none when it holds the user's e-mail or anything like an address."""
    if message is None or (email and email.lower() in message.lower()) or _ADDRESS_LIKE.search(message):
        return None
    return message


@dataclass(frozen=True)
class BatchInfo:
    """An OnFailure record Lambda sent for a stream batch it gave up on: which records, not what they held."""

    stream_arn: str
    shard_id: str
    start_sequence: str
    end_sequence: str
    size: int


def parse(body: str) -> Notification | BatchInfo | None:
    """What a queued message is, or None when it is neither of ours nor Lambda's (it is then left in the queue)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if data.get("kind") == MESSAGE_KIND and isinstance(data.get("user"), dict) and data.get("event_id"):
        user = data["user"]
        return Notification(
            event_id=str(data["event_id"]),
            user=User(
                id=str(user.get("id", "")),
                name=str(user.get("name", "")),
                email="",  # never in a dead letter
                role=str(user.get("role", "")),
                created_at=_whole(user.get("created_at")),
                profile_image_url="",
            ),
            message=_message_of(data.get("message")),
            endpoint=str(data.get("endpoint") or DEFAULT_ENDPOINT),
        )
    info = data.get("DDBStreamBatchInfo")
    if isinstance(info, dict) and info.get("streamArn") and info.get("startSequenceNumber"):
        return BatchInfo(
            stream_arn=str(info["streamArn"]),
            shard_id=str(info.get("shardId", "")),
            start_sequence=str(info["startSequenceNumber"]),
            end_sequence=str(info.get("endSequenceNumber") or info["startSequenceNumber"]),
            size=_whole(info.get("batchSize")),
        )
    return None


def _whole(value: object) -> int:
    """A count or a time a message holds, 0 when it is not a whole number (a message edited by hand must not make
    the redrive fail for every other message of the call)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and is_ascii_digits(value):
        return int(value)
    return 0


def _message_of(value: object) -> str | None:
    """The text a letter kept, or None (none kept, or an older letter's text that holds an address)."""
    return kept_message(value, "") if isinstance(value, str) else None
