"""A threaded HTTP server that says nothing when a client goes away early.

A client that closes or resets the connection before its answer is written (a caller that timed out, a function
worker killed mid-request) is not an error of the server: socketserver would print a traceback for it. Any other
error is still reported as usual.
"""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer
from typing import Any


class QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)
