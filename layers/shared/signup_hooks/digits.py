"""Numbers written by someone else (a receiver's header, a query parameter, an environment variable, a cursor):
ASCII digits only. `str.isdigit()` also accepts '²' or '¹', which `int()` and `float()` then refuse with a
ValueError, and `int()` itself accepts other scripts' digits ('٣' is 3): neither is a number we were meant to get.
"""

from __future__ import annotations

import re

_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)


def is_ascii_digits(text: str) -> bool:
    """One or more of 0-9, nothing else (no sign, no spaces, no '_')."""
    return text.isascii() and text.isdigit()


def is_ascii_decimal(text: str) -> bool:
    """ASCII digits with an optional fraction (`12`, `0.5`): no sign, exponent, '_', 'inf' or 'nan'."""
    return _DECIMAL.fullmatch(text) is not None
