"""Posting a notification to a checked address (see targets.py): pooled connections, bounded timeouts, no redirects,
and every failure named by a reason from a fixed vocabulary (results.Reason).

An attempt has a wall-clock limit of connect timeout + read timeout (time_limit.py), not only urllib3's timeouts per
socket operation; a connection cut short by it is closed, never put back in the pool.

A 2xx status is a delivery even if reading the rest of the answer then fails: the receiver has accepted the
notification, and sending it again would deliver it twice.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections import OrderedDict

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

from signup_hooks.model.results import DeliveryResult, Reason
from signup_hooks.sending import redaction
from signup_hooks.sending.targets import CheckedTarget
from signup_hooks.sending.time_limit import TimeLimit, WatchedConnection, WatchedHTTPSConnection

__all__ = ["DeliveryResult", "Reason", "send"]  # the results are results.py's; imported from here too

USER_AGENT = "signup-webhooks/0.1"
MAX_RESPONSE_BYTES = 1024  # what we read of a receiver's answer, at most
MAX_EXCERPT_CHARS = 200


# Pools per checked address, for the life of the execution environment: warm invocations reuse keep-alive
# connections. Each pool connects to the IP that was checked, never to a name resolved again.
MAX_POOLS = 8
# Connections kept per address: as many as the notifier's delivery threads, so that none waits for a connection.
POOL_CONNECTIONS = 10
_pools: OrderedDict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = OrderedDict()
_pools_lock = threading.Lock()


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = WatchedConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


def send(
    target: CheckedTarget,
    body: bytes,
    headers: dict[str, str],
    connect_timeout: float,
    read_timeout: float,
    credentials: tuple[str, ...] = (),
) -> DeliveryResult:
    """POST to the checked addresses of `target`, in order, the next one only when one cannot be connected to:
    Host header and TLS name from the URL, no redirects, no retries, at most connect + read timeout in all.
    `credentials` are replaced in the excerpt of the answer (redaction.py), should the receiver quote them."""
    started = time.monotonic()
    limit = TimeLimit(connect_timeout + read_timeout)
    limit.start()
    timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
    try:
        return _post(target, body, headers, timeout, limit, started, credentials)
    finally:
        limit.stop()


def _post(
    target: CheckedTarget,
    body: bytes,
    headers: dict[str, str],
    timeout: urllib3.Timeout,
    limit: TimeLimit,
    started: float,
    credentials: tuple[str, ...],
) -> DeliveryResult:
    for index, address in enumerate(target.addresses):
        try:
            pool = _pool_for(target, address)
            response = pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers={"User-Agent": USER_AGENT, **headers, "Host": target.host_header},
                timeout=timeout,
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
        except Exception as exc:  # every transport failure becomes a reason; nothing here may crash a batch
            if isinstance(exc, NewConnectionError) and index + 1 < len(target.addresses) and not limit.expired:
                continue  # refused or unreachable: nothing was sent there, the next checked address may answer
            reason = Reason.READ_TIMEOUT if limit.expired else classify_exception(exc)
            return DeliveryResult(False, None, reason, _elapsed_ms(started))
        return _finish(response, limit, started, credentials)
    return DeliveryResult(False, None, Reason.INVALID_URL, _elapsed_ms(started), detail="url has no checked address")


def _pool_for(target: CheckedTarget, address: str) -> urllib3.HTTPConnectionPool:
    key = (target.scheme, address, target.port, target.host)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is not None:
            _pools.move_to_end(key)
            return pool
        if target.scheme == "https":
            pool = _HTTPSPool(
                address,
                target.port,
                maxsize=POOL_CONNECTIONS,
                retries=False,
                cert_reqs="CERT_REQUIRED",
                server_hostname=target.host,
                assert_hostname=target.host,
            )
        else:
            pool = _HTTPPool(address, target.port, maxsize=POOL_CONNECTIONS, retries=False)
        _pools[key] = pool
        while len(_pools) > MAX_POOLS:
            _pools.popitem(last=False)[1].close()
        return pool


def _finish(
    response: urllib3.BaseHTTPResponse, limit: TimeLimit, started: float, credentials: tuple[str, ...]
) -> DeliveryResult:
    status = response.status
    head, failure = b"", None
    try:
        head = response.read(MAX_RESPONSE_BYTES + 1)
    except Exception as exc:  # a broken answer: what its status says still stands
        failure = exc
    expired = limit.stop()  # from here on the watchdog leaves the connection alone
    if failure is None and not expired and len(head) <= MAX_RESPONSE_BYTES:
        response.release_conn()  # fully read in time: the connection can be reused
    else:
        response.close()  # broken, interrupted or oversized: never reuse it
    latency = _elapsed_ms(started)
    if 200 <= status < 300:
        return DeliveryResult(True, status, None, latency)  # accepted, even if the rest of its answer was lost
    if failure is not None:
        reason = Reason.READ_TIMEOUT if expired else classify_exception(failure)
        return DeliveryResult(False, status, reason, latency)
    retry_after = response.headers.get("Retry-After")
    excerpt = _excerpt(head, credentials)
    return DeliveryResult(False, status, classify_status(status), latency, excerpt, retry_after=retry_after)


def classify_status(status: int) -> Reason:
    if 300 <= status < 400:
        return Reason.REDIRECT
    if status in (401, 403):
        return Reason.AUTH_REJECTED
    if status == 404:
        return Reason.NOT_FOUND
    if status == 410:
        return Reason.GONE
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
    if isinstance(exc, ConnectTimeoutError):  # after NewConnectionError, which subclasses it
        return Reason.CONNECT_TIMEOUT
    if isinstance(exc, ProtocolError | HTTPError | OSError):
        return Reason.NETWORK_ERROR
    return Reason.NETWORK_ERROR


def _excerpt(raw: bytes, credentials: tuple[str, ...]) -> str:
    """The start of an answer, printable, without our credentials: they are replaced in all that was read before it
    is cut, so that none straddles the cut half shown."""
    text = redaction.redact(raw.decode("utf-8", "replace"), credentials)[:MAX_EXCERPT_CHARS]
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
