"""Standard Webhooks signatures (https://www.standardwebhooks.com), with the standard library only.

Headers: `webhook-id` (derived from the notification's key, so the same on every way one notification is sent),
`webhook-timestamp` (seconds since the epoch) and `webhook-signature: v1,<base64 HMAC-SHA256>` of
`<id>.<timestamp>.<body>` keyed with the base64-decoded part of a `whsec_...` secret.

While a secret is rotated, a request is signed with the new and the old one (`v1,<new> v1,<old>`): the standard lets
a receiver accept it when any signature matches, so receivers keep working whichever secret they hold.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
import uuid
from collections.abc import Sequence
from secrets import token_bytes

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format prefix, not a secret
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
NEW_SECRET_BYTES = 32
# A fixed namespace: the same key gives the same webhook-id in every execution environment.
_ID_NAMESPACE = uuid.UUID("8a3c5e1e-4f7b-5d2a-9c61-0b7e2f4d9a13")


class InvalidSecret(ValueError):
    """A signing secret that is not `whsec_` followed by base64 of 24 to 64 bytes. The message never quotes it."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret, or InvalidSecret."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise InvalidSecret(f"the signing secret must start with {SECRET_PREFIX}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSecret(f"the signing secret must be {SECRET_PREFIX} followed by base64") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise InvalidSecret(f"the signing secret must hold {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} random bytes")
    return key


def webhook_id(event_id: str) -> str:
    """`msg_<uuid5>` of the notification's key: stable across retries, reveals nothing of the key itself."""
    return "msg_" + uuid.uuid5(_ID_NAMESPACE, event_id).hex


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = message_id.encode("utf-8") + b"." + str(timestamp).encode("ascii") + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def headers(secrets: str | Sequence[str], event_id: str, body: bytes, now: int | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for one request, signed with one secret or several (newest first)."""
    message_id = webhook_id(event_id)
    timestamp = int(time.time()) if now is None else now
    # A str is a sequence of characters too: one secret must not be read as many.
    distinct = [secrets] if isinstance(secrets, str) else list(dict.fromkeys(secrets))
    if not distinct:
        raise InvalidSecret("at least one signing secret is needed")
    signatures = [signature(secret_key(secret), message_id, timestamp, body) for secret in distinct]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }


def new_secret() -> str:
    """A fresh `whsec_` secret of NEW_SECRET_BYTES random bytes."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(NEW_SECRET_BYTES)).decode("ascii")
