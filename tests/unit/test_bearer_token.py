"""Reading the bearer token from an Authorization header."""

from __future__ import annotations

from signup_hooks.api.auth import bearer_token


def test_bearer_token_parsing():
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("  Bearer   abc  ") == "abc"
    assert bearer_token("Token abc") is None
    assert bearer_token(None) is None
