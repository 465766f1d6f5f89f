"""Page cursors: a DynamoDB index key handed to a client as an opaque string, and read back only if it is one.

A cursor is the client's to tamper with, and DynamoDB refuses an ExclusiveStartKey that is not its index's key (the
wrong attributes or types, an empty string, another partition than the query's) with a ValidationException, which
would surface as "try again". So a cursor is checked here, attribute by attribute, before any query: what does not
fit is an InvalidInput naming `cursor`, never a call to DynamoDB. (moto checks none of this.)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from signup_hooks.digits import is_ascii_digits
from signup_hooks.errors import InvalidInput

MAX_CURSOR_CHARS = 2048  # an index key of ours encodes to a few hundred
MAX_KEY_BYTES = 1024  # DynamoDB's limit for a sort key's value (a partition key's is 2048)
MAX_NUMBER_DIGITS = 38  # DynamoDB's precision

Schema = Mapping[str, str]  # attribute name -> its DynamoDB type, "S" or "N": exactly the index's key


def encode(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(cursor: str, schema: Schema, partition: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The index key a cursor holds: exactly the attributes of `schema`, each of its type and a value DynamoDB takes
    as a key, and the string values `partition` names (the query's partition). InvalidInput for anything else."""
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_CHARS:
        raise _refused()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _refused() from None
    if not isinstance(key, dict) or set(key) != set(schema):
        raise _refused()
    for name, kind in schema.items():
        if not _is_key_value(key[name], kind):
            raise _refused()
    for name, expected in (partition or {}).items():
        if key[name] != {"S": expected}:
            raise _refused()
    return key


def number(key: Mapping[str, Any], name: str) -> int:
    """A number attribute of a key `decode` returned (its digits are checked there)."""
    return int(key[name]["N"])


def _is_key_value(value: object, kind: str) -> bool:
    """`{"S": "..."}` or `{"N": "123"}` of the expected type, a value DynamoDB accepts in a key."""
    if not isinstance(value, dict) or set(value) != {kind}:
        return False
    text = value[kind]
    if not isinstance(text, str) or not text:
        return False
    if kind == "N":
        return is_ascii_digits(text) and len(text) <= MAX_NUMBER_DIGITS
    try:
        size = len(text.encode("utf-8"))  # a lone surrogate from JSON's \ud800 is no UTF-8: boto3 could not send it
    except UnicodeEncodeError:
        return False
    return size <= MAX_KEY_BYTES


def _refused() -> InvalidInput:
    return InvalidInput("cursor", "cursor is not one this API returned")
