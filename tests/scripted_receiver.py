"""A raw TCP receiver on loopback whose answers are scripted byte by byte: for what a well-behaved HTTP server never
does (trickling its answer, promising more body than it sends, resetting mid-answer)."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable

Script = Callable[[socket.socket, threading.Event], None]


class ScriptedReceiver:
    """Each accepted connection runs `script(connection, stopping)` on its own thread; `close()` sets `stopping`."""

    def __init__(self, script: Script, host: str = "127.0.0.1") -> None:
        self._script = script
        self._server = socket.create_server((host, 0))
        self._server.settimeout(0.2)
        self.port: int = self._server.getsockname()[1]
        self.connections = 0
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="scripted-receiver", daemon=True)
        self._thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.stopping.set()
        self._thread.join(5)
        self._server.close()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):  # the client went away: the script is over
            self._script(connection, self.stopping)


def read_request(connection: socket.socket) -> bytes:
    """The request's head and whatever body came with it (a notification is small: one read after the head)."""
    connection.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def trickle(connection: socket.socket, stopping: threading.Event, data: bytes, every: float) -> None:
    """Send `data` one byte every `every` seconds, until it is all sent or the receiver is closed."""
    for index in range(len(data)):
        if stopping.wait(every):
            return
        connection.sendall(data[index : index + 1])


def reset(connection: socket.socket) -> None:
    """Close with a TCP reset rather than an orderly end."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


def answer_ok(connection: socket.socket, stopping: threading.Event) -> None:
    """A well-behaved receiver: 200 to every request of a keep-alive connection."""
    while not stopping.is_set() and read_request(connection):
        connection.sendall(OK)
