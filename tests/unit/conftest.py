"""Pure tests: no moto, no receiver, no local stack. A connection attempted from a unit test fails it, and so does
importing moto from one (test_no_moto.py checks the imports a session that loaded moto before can no longer see)."""

from __future__ import annotations

import importlib.abc
import socket
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

import pytest

UNIT_TESTS = Path(__file__).resolve().parent


class MotoImported(ImportError):
    """A unit test imported moto, directly or through a module it imports (local/ has pure modules for them)."""


class _RefuseMoto(importlib.abc.MetaPathFinder):
    """Refuses moto to imports made from tests/unit/ (a test module, a fixture, a test), and only to them: the
    integration and stack conftests of the same session still import it."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> None:
        if fullname.split(".", 1)[0] == "moto" and _from_unit_tests():
            raise MotoImported(
                f"a unit test imported {fullname}: move it to tests/integration/ or import a pure module"
            )


def _from_unit_tests() -> bool:
    """Whether a file of tests/unit/ is among the callers of find_spec (whose own frame, in this file, is skipped)."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        if Path(frame.f_code.co_filename).is_relative_to(UNIT_TESTS):
            return True
        frame = frame.f_back
    return False


# At import, before pytest imports any unit test module; first, so that no other finder answers for moto.
sys.meta_path.insert(0, _RefuseMoto())


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
