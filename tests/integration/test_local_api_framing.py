"""The local API Gateway reads a request's length as HTTP writes it: ASCII digits (hex for a chunk's size). A length
int() would also read ('+5', '1_0', '²' as its byte, '0x5') gets API Gateway's 400, over a real loopback socket."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from local.api import ApiServer

HEAD = b"POST /api/v1/anything HTTP/1.1\r\nHost: x\r\n"


@pytest.fixture
def api() -> Iterator[ApiServer]:
    server = ApiServer(None, port=0)  # no gateway: a request read whole is answered 503
    server.start()
    yield server
    server.stop()


def status_of(server: ApiServer, request: bytes) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=5) as client:
        client.sendall(request)
        return client.recv(64).split(b"\r\n", 1)[0]


def test_a_content_length_that_is_not_ascii_digits_is_400(api):
    for length in (b"+5", b"1_0", b"\xb9", b"-0", b"5 5"):
        answer = status_of(api, HEAD + b"Content-Length: " + length + b"\r\n\r\nhello")
        assert answer.startswith(b"HTTP/1.1 400 "), length


def test_a_chunk_size_that_is_not_hex_digits_is_400(api):
    for size in (b"0x5", b"+5", b"5_0", b"\xb9"):
        body = size + b"\r\nhello\r\n0\r\n\r\n"
        answer = status_of(api, HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + body)
        assert answer.startswith(b"HTTP/1.1 400 "), size


def test_well_formed_lengths_are_read_whole(api):
    assert status_of(api, HEAD + b"Content-Length: 5\r\n\r\nhello").startswith(b"HTTP/1.1 503 ")
    chunked = HEAD + b"Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n"
    assert status_of(api, chunked).startswith(b"HTTP/1.1 503 ")
