"""Posting a notification: one urllib3 pool reused across invocations, bounded timeouts, no redirects,
and every failure named by a reason from a fixed vocabulary (the seed's troubleshooting list)."""

from __future__ import annotations

import enum
import errno
import socket
import time
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    LocationParseError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

USER_AGENT = "signup-webhooks/0.1"
MAX_RESPONSE_BYTES = 1024  # what we read of a receiver's answer, at most
MAX_EXCERPT_CHARS = 200


class Reason(enum.StrEnum):
    """Why a delivery failed. The same codes appear in logs and dead-letter messages."""

    INVALID_URL = "invalid_url"
    DNS_FAILURE = "dns_failure"
    CONNECTION_REFUSED = "connection_refused"
    CONNECT_TIMEOUT = "connect_timeout"
    TLS_ERROR = "tls_error"
    READ_TIMEOUT = "read_timeout"
    NETWORK_ERROR = "network_error"
    REDIRECT = "redirect"
    AUTH_REJECTED = "auth_rejected"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    CLIENT_ERROR = "client_error"
    SERVER_ERROR = "server_error"


@dataclass(frozen=True)
class DeliveryResult:
    delivered: bool
    status: int | None
    reason: Reason | None
    latency_ms: int
    excerpt: str = ""  # a short, sanitized start of the receiver's answer, for failures only


# One pool for the life of the execution environment: warm invocations reuse its keep-alive connections.
_pool = urllib3.PoolManager(num_pools=8, maxsize=4, retries=False, headers={"User-Agent": USER_AGENT})


def post(url: str, body: bytes, content_type: str, connect_timeout: float, read_timeout: float) -> DeliveryResult:
    started = time.monotonic()
    try:
        response = _pool.request(
            "POST",
            url,
            body=body,
            headers={"Content-Type": content_type},
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            redirect=False,
            preload_content=False,
        )
    except Exception as exc:  # every transport failure becomes a reason; nothing here may crash a batch
        return DeliveryResult(False, None, classify_exception(exc), _elapsed_ms(started))
    try:
        head = response.read(MAX_RESPONSE_BYTES + 1)
        complete = len(head) <= MAX_RESPONSE_BYTES
    except HTTPError as exc:
        response.close()
        return DeliveryResult(False, response.status, classify_exception(exc), _elapsed_ms(started))
    if complete:
        response.release_conn()  # fully read: the connection can be reused
    else:
        response.close()  # an oversized answer: drop the connection rather than read the rest
    status = response.status
    latency = _elapsed_ms(started)
    if 200 <= status < 300:
        return DeliveryResult(True, status, None, latency)
    return DeliveryResult(False, status, classify_status(status), latency, _excerpt(head))


def classify_status(status: int) -> Reason:
    if 300 <= status < 400:
        return Reason.REDIRECT
    if status in (401, 403):
        return Reason.AUTH_REJECTED
    if status in (404, 410):
        return Reason.NOT_FOUND
    if status == 429:
        return Reason.RATE_LIMITED
    if status >= 500:
        return Reason.SERVER_ERROR
    return Reason.CLIENT_ERROR


def classify_exception(exc: BaseException) -> Reason:
    if isinstance(exc, LocationParseError | ValueError):
        return Reason.INVALID_URL
    if isinstance(exc, NameResolutionError):
        return Reason.DNS_FAILURE
    if isinstance(exc, ConnectTimeoutError):
        return Reason.CONNECT_TIMEOUT
    if isinstance(exc, ReadTimeoutError):
        return Reason.READ_TIMEOUT
    if isinstance(exc, SSLError):
        return Reason.TLS_ERROR
    if isinstance(exc, NewConnectionError):
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
            return Reason.CONNECTION_REFUSED
        if isinstance(cause, socket.gaierror):
            return Reason.DNS_FAILURE
        return Reason.NETWORK_ERROR
    if isinstance(exc, ProtocolError | HTTPError | OSError):
        return Reason.NETWORK_ERROR
    return Reason.NETWORK_ERROR


def _excerpt(raw: bytes) -> str:
    text = raw[:MAX_EXCERPT_CHARS].decode("utf-8", "replace")
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
