"""An endpoint's custom header (an API key a receiver expects, for example): a whole HTTP token as its name, printable
ASCII as its value, never one of the headers the request itself needs. Checked when an administrator sets it and
again when a stored one is read."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from signup_hooks.errors import InvalidInput

MAX_HEADER_NAME_LENGTH = 64
MAX_HEADER_VALUE_LENGTH = 1024
# Headers the request itself needs: a custom header may not replace them.
RESERVED_HEADERS = frozenset(
    {"host", "content-type", "content-length", "transfer-encoding", "connection", "user-agent", "expect", "te"}
)
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # a token (RFC 9110), the whole name: fullmatch


@dataclass(frozen=True)
class CustomHeader:
    name: str
    value: str

    def __repr__(self) -> str:  # never print the value, even by accident
        return f"CustomHeader(name={self.name!r}, value=<redacted>)"


def validate_custom_header(value: object) -> CustomHeader:
    if not isinstance(value, dict) or set(value) != {"name", "value"}:
        raise InvalidInput("custom_header", 'custom_header must be {"name": ..., "value": ...} (or null to clear it)')
    name, header_value = value["name"], value["value"]
    if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name) or len(name) > MAX_HEADER_NAME_LENGTH:
        raise InvalidInput("custom_header", "custom_header name must be an HTTP header name")
    if name.lower() in RESERVED_HEADERS or name.lower().startswith("webhook-"):
        raise InvalidInput("custom_header", f"custom_header cannot replace the {name} header")
    if (
        not isinstance(header_value, str)
        or not header_value
        or len(header_value) > MAX_HEADER_VALUE_LENGTH
        or any(unicodedata.category(ch) in ("Cc", "Cf") or ord(ch) > 0x7E for ch in header_value)
    ):
        raise InvalidInput(
            "custom_header", f"custom_header value must be 1 to {MAX_HEADER_VALUE_LENGTH} printable ASCII characters"
        )
    return CustomHeader(name, header_value)
