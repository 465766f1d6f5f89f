"""What became of one attempt to post a notification: delivered or not, and why not, in a fixed vocabulary of
reasons (the same codes appear in logs, the delivery log and dead-letter messages)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Reason(enum.StrEnum):
    """Why a delivery failed. The same codes appear in logs and dead-letter messages."""

    NOT_CONFIGURED = "not_configured"
    INVALID_URL = "invalid_url"
    BLOCKED_TARGET = "blocked_target"
    DNS_FAILURE = "dns_failure"
    CONNECTION_REFUSED = "connection_refused"
    CONNECT_TIMEOUT = "connect_timeout"
    TLS_ERROR = "tls_error"
    READ_TIMEOUT = "read_timeout"
    NETWORK_ERROR = "network_error"
    REDIRECT = "redirect"
    AUTH_REJECTED = "auth_rejected"
    NOT_FOUND = "not_found"
    GONE = "gone"  # 410: the receiver says the webhook is gone for good, and its endpoint is disabled
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
    detail: str = ""  # why a target was refused before sending (never the URL itself)
    retry_after: str | None = None  # the receiver's Retry-After header, raw (seconds or an HTTP date), if any
