"""Pure tests: no moto, no receiver, no local stack. A connection attempted from a unit test fails it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest


class NetworkUsed(AssertionError):
    """A unit test tried to open a connection: it belongs in tests/integration/ or tests/stack/."""


def _refuse(sock: socket.socket, address: Any, *args: Any) -> Any:
    raise NetworkUsed(f"a unit test connected a socket to {address!r}: move it to tests/integration/")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse)
    monkeypatch.setattr(socket.socket, "bind", _refuse)
    yield
