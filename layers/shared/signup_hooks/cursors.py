"""Page cursors: a DynamoDB index key handed to a client as an opaque string, and read back only if it is one."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from signup_hooks.errors import InvalidInput


def encode(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(cursor: str, allowed: frozenset[str]) -> dict[str, Any]:
    """The index key a cursor holds; InvalidInput for anything this API did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidInput("cursor", "cursor is not one this API returned") from None
    if (
        not isinstance(key, dict)
        or not key
        or not set(key) <= allowed
        or not all(_is_key_value(value) for value in key.values())
    ):
        raise InvalidInput("cursor", "cursor is not one this API returned")
    return key


def _is_key_value(value: object) -> bool:
    """`{"S": "..."}` or `{"N": "123"}`: what a DynamoDB key attribute looks like, and nothing else."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    kind, text = next(iter(value.items()))
    return isinstance(text, str) and (kind == "S" or (kind == "N" and text.lstrip("-").isdigit()))
