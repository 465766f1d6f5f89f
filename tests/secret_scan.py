"""A suite-wide scan for secrets in log lines: no log line may hold one. Wired into pytest by tests/conftest.py.

Every line the functions log during the session is collected: the Powertools JSON lines (a handler next to
Powertools' own on the service logger, so the `logs` fixture's swaps of its stream do not matter), other libraries'
records (a root handler, as caplog sees them), and what each test printed (EMF metric lines, the local stack's
labelled lines). At the end of the session a line holding any of these fails the run:

- a password the tests sign up with (read from events/ and the tests' sources), or an Argon2 password hash;
- an admin token (each one the `aws` fixture generates), or any `Bearer <value>`;
- a signing secret (`whsec_...`), or a secret constant of a test module (SECRET, HEADER_VALUE, SECRET_URL_PART, ...);
- an e-mail address;
- a webhook URL's path: the path shapes of Slack, Discord and Teams URLs anywhere, and, in the functions' own lines,
  any URL with a path (logs carry scheme and host only; `https://host/…` is the redacted form).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIN_LITERAL_CHARS = 8  # shorter test values ("short", "p") are too common to mean anything

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PATTERNS: dict[str, re.Pattern[str]] = {
    "bearer token": re.compile(r"Bearer\s+[^\s\"'`]{4,}"),
    "signing secret": re.compile(r"whsec_[A-Za-z0-9+/=]{8,}"),
    "password hash": re.compile(r"\$argon2(?:id|i|d)\$"),
    "email address": EMAIL,
    "webhook URL path": re.compile(
        r"/services/T[A-Z0-9]+|/api/webhooks/\d+/|webhook\.office\.com/webhook|/workflows/[0-9a-f]{16,}"
    ),
}
# Only in the functions' own lines: another library may log an AWS endpoint, which is no secret.
ANY_URL_PATH = re.compile(r"https?://[^\s\"'/<>]+/(?!…)[^\s\"'<>]+")
SECRET_CONSTANT = re.compile(r"(?:^|_)(?:SECRET|PASSWORD|HEADER_VALUE|URL_PART|TOKEN)$")
PASSWORD_LITERAL = re.compile(r"[\"']password[\"']\s*:\s*[\"']([^\"']+)[\"']")


@dataclass(frozen=True)
class Finding:
    test: str
    what: str
    line: str

    def __str__(self) -> str:
        return f"{self.test}: {self.what} in a log line: {self.line[:300]}"


@dataclass
class Collector:
    """Lines by the test that was running when they were logged."""

    current: str = "(collection)"
    lines: list[tuple[str, str, bool]] = field(default_factory=list)  # (test, line, written by our functions)
    literals: dict[str, str] = field(default_factory=dict)  # secret value -> what it is
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, line: str, ours: bool) -> None:
        with self._lock:
            self.lines.append((self.current, line, ours))

    def add_output(self, text: str) -> None:
        """What a test printed: only the lines that are a function's (Powertools JSON, EMF, `[Function] {...}`)."""
        for line in text.splitlines():
            if _is_function_line(line):
                self.add(line, ours=True)

    def secret(self, value: str, what: str) -> None:
        if len(value) >= MIN_LITERAL_CHARS:
            with self._lock:
                self.literals[value] = what

    def findings(self) -> list[Finding]:
        self._learn_constants()
        with self._lock:
            lines, literals = list(self.lines), dict(self.literals)
        found: dict[tuple[str, str], Finding] = {}  # a line seen by two collectors is reported once
        for test, line, ours in lines:
            what = scan(line, literals, ours)
            if what:
                found.setdefault((test, line), Finding(test, what, line))
        return list(found.values())

    def _learn_constants(self) -> None:
        for name, module in list(sys.modules.items()):
            if not name.startswith("tests.") or module is None:
                continue
            for constant, value in vars(module).items():
                if isinstance(value, str) and SECRET_CONSTANT.search(constant):
                    self.secret(value, f"{name}.{constant}")
                    if value.startswith("whsec_"):
                        self.secret(value.removeprefix("whsec_"), f"{name}.{constant} without its prefix")


def scan(line: str, literals: dict[str, str], ours: bool) -> str | None:
    """What secret `line` holds, or None."""
    for value, what in literals.items():
        if value in line:
            return what
    for what, pattern in PATTERNS.items():
        if pattern.search(line):
            return what
    if ours and ANY_URL_PATH.search(line):
        return "URL with a path"
    return None


def sign_up_passwords(paths: Iterable[Path]) -> set[str]:
    """Every password the tests and sample events sign up with."""
    found: set[str] = set()
    for path in paths:
        found.update(PASSWORD_LITERAL.findall(path.read_text(encoding="utf-8", errors="replace")))
    return found


def password_sources() -> list[Path]:
    return [*sorted((ROOT / "events").glob("*.json")), *sorted((ROOT / "tests").rglob("*.py"))]


class LineHandler(logging.Handler):
    """Hands each formatted record to the collector."""

    def __init__(self, collector: Collector, ours: bool) -> None:
        super().__init__(logging.DEBUG)
        self._collector = collector
        self._ours = ours

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._collector.add(self.format(record), self._ours)
        except Exception:  # a scan must never break a test
            self.handleError(record)


def _is_function_line(line: str) -> bool:
    start = line.find("{")
    if start < 0:
        return False
    try:
        data = json.loads(line[start:])
    except ValueError:
        return False
    return isinstance(data, dict) and ("_aws" in data or {"level", "service"} <= data.keys())
