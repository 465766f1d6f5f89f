"""boto3 clients, made on first use and reused by every invocation of a warm function.

Made lazily so that importing a handler creates no client: tests and the local stack point boto3 at moto
through AWS_ENDPOINT_URL before the first call. Made under a lock and from one session: boto3's default
session is not thread-safe, and the notifier delivers from several threads at once.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# Short timeouts and standard retries: an AWS call that hangs must not eat a signup's or a batch's time.
_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})

_lock = threading.Lock()
_session: boto3.session.Session | None = None
_clients: dict[str, Any] = {}


def session() -> boto3.session.Session:
    """The one session every client of this process comes from (Powertools' providers are handed it too)."""
    global _session
    with _lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session


def client(service: str) -> Any:
    existing = _clients.get(service)
    if existing is not None:
        return existing
    shared = session()
    with _lock:
        if service not in _clients:
            _clients[service] = shared.client(service, config=_CLIENT_CONFIG)
        return _clients[service]


def error_code(exc: Exception) -> str:
    """The AWS error code of a failed call (`ThrottlingException`), or the exception's type when no answer came."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__
