"""Request bodies: bounded in size, a JSON object or a clear error."""

from __future__ import annotations

import json
from typing import Any

from signup_hooks.errors import BodyTooLarge, InvalidJson


def json_object(raw: str | None, max_bytes: int) -> dict[str, Any]:
    text = raw or ""
    if len(text.encode("utf-8")) > max_bytes:
        raise BodyTooLarge(max_bytes)
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidJson("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidJson("the request body must be a JSON object")
    return data
