"""Keys on every log line one thread writes while it works on one notification."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.exceptions import OrphanedChildLoggerError

logger = Logger(child=True)


@contextlib.contextmanager
def log_keys(**keys: str) -> Iterator[None]:
    """Keys on every line this thread logs meanwhile (deeper modules' lines too), and on no other thread's lines.

    Powertools' `append_keys` and `append_context_keys` change one dict shared by every thread: from the delivery
    threads, one delivery's event id would land on another's lines. `thread_safe_append_keys` keeps them in a
    context variable, which each thread has its own of.
    """
    try:
        logger.thread_safe_append_keys(**keys)
    except OrphanedChildLoggerError:  # no handler's Logger yet (a library used on its own): lines carry `extra` only
        yield
        return
    try:
        yield
    finally:
        logger.thread_safe_remove_keys(keys)
