"""boto3 clients, made on first use and reused by every invocation of a warm function.

Made lazily so that importing a handler creates no client: tests and the local stack point boto3 at moto
through AWS_ENDPOINT_URL before the first call.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config

# Short timeouts and standard retries: an AWS call that hangs must not eat a signup's or a batch's time.
_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})


@functools.cache
def client(service: str) -> Any:
    return boto3.client(service, config=_CLIENT_CONFIG)
