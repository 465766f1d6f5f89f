"""Dead-letter messages: what could not be delivered, self-contained so that it can be replayed later.

The queue also receives the OnFailure records that Lambda itself sends for a stream batch it gave up on
(batch metadata only); `kind` tells our messages apart from those.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from signup_hooks import aws
from signup_hooks.delivery import DeliveryResult
from signup_hooks.errors import StorageUnavailable
from signup_hooks.users import User

MESSAGE_KIND = "signup-notification"
MESSAGE_VERSION = 1


@dataclass(frozen=True)
class DeadLetter:
    event_id: str
    user: User
    message: str
    url: str
    result: DeliveryResult

    def to_json(self) -> str:
        parts = urlsplit(self.url)
        body: dict[str, Any] = {
            "kind": MESSAGE_KIND,
            "version": MESSAGE_VERSION,
            "event_id": self.event_id,
            # Enough to replay without the table; no email, no credential.
            "user": {"id": self.user.id, "name": self.user.name, "created_at": self.user.created_at},
            "message": self.message,
            # Scheme and host only: the path of a chat webhook URL is its credential.
            "target": {"scheme": parts.scheme, "host": parts.hostname or ""},
            "reason": self.result.reason.value if self.result.reason else None,
            "http_status": self.result.status,
            "latency_ms": self.result.latency_ms,
            "response_excerpt": self.result.excerpt,
            "detail": self.result.detail,
            "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return json.dumps(body, ensure_ascii=False)


def send(queue_url: str, letter: DeadLetter) -> None:
    try:
        aws.client("sqs").send_message(
            QueueUrl=queue_url,
            MessageBody=letter.to_json(),
            MessageAttributes={"kind": {"DataType": "String", "StringValue": MESSAGE_KIND}},
        )
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailable(f"the dead-letter queue refused the message: {type(exc).__name__}") from exc
