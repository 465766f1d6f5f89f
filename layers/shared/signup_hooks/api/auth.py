"""The admin token check: a bearer token compared in constant time with the one generated at deploy time (read by
the caller's `expected_token`, storage/secrets.py in the authorizer)."""

from __future__ import annotations

import hmac
from collections.abc import Callable


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def is_admin(authorization: str | None, expected_token: Callable[[], str | None]) -> bool:
    """Whether the header carries the admin token. The token is read only for a request that carries one."""
    token = bearer_token(authorization)
    if token is None:
        return False
    expected = expected_token()
    if not expected:
        return False
    return hmac.compare_digest(token.encode("utf-8"), expected.encode("utf-8"))
