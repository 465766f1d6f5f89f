"""A wall-clock limit for one delivery attempt.

urllib3's timeouts apply to each socket operation: a receiver that trickles its answer one byte at a time, each just
inside the read timeout, could hold an attempt (and the invocation, and its batch) for as long as it liked. A
TimeLimit is a watchdog timer: when it runs out it shuts down the socket of the connection the attempt is using, so
that whatever is blocked on it (connect, TLS handshake, send, status line, headers, body) returns at once. The
connections of http.py's pools are WatchedConnections, which tell the current thread's TimeLimit which socket
that is.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from urllib3.connection import HTTPConnection, HTTPSConnection


class TimeLimit:
    """The wall-clock limit of one attempt, on the thread that makes it. When it is up, the connection the attempt
    is using is interrupted; once `stop` has returned, nothing is interrupted any more."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._connection: WatchedConnection | None = None
        self._expired = False
        self._stopped = False
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True

    def start(self) -> None:
        _current.limit = self
        self._timer.start()

    def watch(self, connection: WatchedConnection) -> None:
        """The connection the attempt uses now (the next one replaces it when an address refuses)."""
        with self._lock:
            if self._stopped:
                return
            self._connection = connection
            if self._expired:
                connection.interrupt()

    def stop(self) -> bool:
        """End the watch; True when the limit was reached (the connection must then be closed, not reused)."""
        with self._lock:
            self._stopped = True
            self._connection = None
        self._timer.cancel()
        if getattr(_current, "limit", None) is self:
            _current.limit = None
        return self._expired

    @property
    def expired(self) -> bool:
        with self._lock:
            return self._expired

    def _expire(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._expired = True
            if self._connection is not None:
                self._connection.interrupt()


_current = threading.local()  # the TimeLimit of the attempt this thread is making, if any


def _watch_current(connection: WatchedConnection) -> None:
    limit: TimeLimit | None = getattr(_current, "limit", None)
    if limit is not None:
        limit.watch(connection)


class WatchedConnection(HTTPConnection):
    """A connection its attempt's TimeLimit can interrupt from another thread. It keeps a duplicate of its socket's
    descriptor: shutting that down ends every blocked operation on the socket, whether it is still plain TCP, in the
    middle of a TLS handshake (when urllib3 no longer holds the plain socket) or wrapped in TLS."""

    _watch: socket.socket | None = None

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self._close_watch()
        self._watch = sock.dup()
        _watch_current(self)
        return sock

    def request(self, *args: object, **kwargs: object) -> None:
        _watch_current(self)  # a pooled connection is reused without a new socket: watch it from its request on
        super().request(*args, **kwargs)  # type: ignore[arg-type]

    def interrupt(self) -> None:
        watch = self._watch
        if watch is None:
            return
        with contextlib.suppress(OSError):  # closed meanwhile: nothing is blocked on it any more
            watch.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._close_watch()

    def _close_watch(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.close()


class WatchedHTTPSConnection(WatchedConnection, HTTPSConnection):
    pass
