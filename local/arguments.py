"""Parsing of `python -m local` arguments that needs none of the stack, so that tests/unit (which never imports
moto, as local/stack.py does) can check it."""

from __future__ import annotations

import argparse


def environments_of(parser: argparse.ArgumentParser, given: list[str]) -> dict[str, int]:
    """`--environments FUNCTION=N` values as {function: N}; N is 1 to 64, in ASCII digits."""
    sizes = {}
    for item in given:
        function, _, count = item.partition("=")
        if not function or not (count.isascii() and count.isdigit()) or not 1 <= int(count) <= 64:
            parser.error(f"--environments takes FUNCTION=N with N from 1 to 64, not {item!r}")
        sizes[function] = int(count)
    return sizes
