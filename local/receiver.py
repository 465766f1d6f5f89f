"""A webhook receiver on loopback: records every request, answers with a chosen status after a chosen delay.

The local stack prints what it receives; the tests read `received` and script failures with `respond_with`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from local.quiet_server import QuietHTTPServer

MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = 0.0  # time.monotonic() when it arrived
    status: int = 0  # what the receiver answered

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass
class Receiver:
    """Start with `start()`; `url` is where it listens; `stop()` closes it."""

    host: str = "127.0.0.1"
    port: int = 0
    on_request: Callable[[ReceivedRequest], None] | None = None
    received: list[ReceivedRequest] = field(default_factory=list)
    _responses: list[tuple[int, float, dict[str, str]]] = field(default_factory=list)
    _default: tuple[int, float, dict[str, str]] = (200, 0.0, {})
    _failure_ratio: float = 0.0  # fault injection: this share of requests answers 500, at random
    _random: random.Random = field(default_factory=random.Random)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _arrived: threading.Condition = field(init=False)
    _server: QuietHTTPServer | None = None

    def __post_init__(self) -> None:
        self._arrived = threading.Condition(self._lock)

    @property
    def url(self) -> str:
        assert self._server is not None, "receiver not started"
        return f"http://{self.host}:{self._server.server_address[1]}/hook"

    def respond_with(
        self, status: int, delay: float = 0.0, times: int | None = None, headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next `times` requests (every request when None) with `status` after `delay` seconds."""
        with self._lock:
            answer = (status, delay, dict(headers or {}))
            if times is None:
                self._default = answer
                self._responses.clear()
            else:
                self._responses.extend([answer] * times)

    def fail_randomly(self, ratio: float, seed: int | None = None) -> None:
        """Answer 500 to about `ratio` of the requests, at random (reproducibly with `seed`)."""
        with self._lock:
            self._failure_ratio = ratio
            self._random = random.Random(seed)  # noqa: S311 - fault injection, not a secret

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        """Block until `count` requests have arrived or `timeout` passes; return what arrived."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count and (left := deadline - time.monotonic()) > 0:
                self._arrived.wait(left)
            return list(self.received)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY_BYTES)
                body, arrived = self.rfile.read(length), time.monotonic()
                with receiver._lock:
                    status, delay, headers = receiver._responses.pop(0) if receiver._responses else receiver._default
                    if status < 400 and receiver._random.random() < receiver._failure_ratio:
                        status, headers = 500, {}
                request = ReceivedRequest("POST", self.path, dict(self.headers.items()), body, arrived, status)
                if delay:
                    time.sleep(delay)
                with receiver._arrived:
                    receiver.received.append(request)
                    receiver._arrived.notify_all()
                if receiver.on_request:
                    receiver.on_request(request)
                body = b"ok" if status < 400 else b"receiver error"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # quiet: the stack prints its own lines
                pass

        self._server = QuietHTTPServer((self.host, self.port), Handler)  # a sender that hangs up is no error here
        threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
