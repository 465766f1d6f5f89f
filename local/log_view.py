"""What `make run` prints of the stack's lines: every function's JSON log summarised to its level and message, so that
the demo receiver's lines stand out; the full JSON with `--json-logs` (`make run LOGS=json`), as CloudWatch keeps it.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any


def summary(line: str) -> str:
    """A Powertools log record as `LEVEL message` (an exception's last line after it), an EMF record as its metrics;
    any other line as it is."""
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict):
        return line
    if "_aws" in record:
        names = [m["Name"] for d in record["_aws"].get("CloudWatchMetrics", []) for m in d.get("Metrics", [])]
        return "metrics " + " ".join(f"{name}={_value(record.get(name))}" for name in names)
    if "level" in record and "message" in record:
        text = f"{record['level']} {record['message']}"
        exception = str(record.get("exception") or "").strip()
        return f"{text}: {exception.splitlines()[-1]}" if exception else text
    return line


def _value(value: Any) -> str:
    values = value if isinstance(value, list) else [value]
    return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


class Printer:
    """Labelled lines on stdout, one writer at a time: `[SignupFunction] ...`, as CloudWatch shows each log group."""

    def __init__(self, stream: Any = None, json_logs: bool = False) -> None:
        self._stream = stream or sys.stdout
        self._lock = threading.Lock()
        self._view = (lambda line: line) if json_logs else summary

    def __call__(self, label: str, line: str) -> None:
        with self._lock:
            self._stream.write(f"[{label}] {self._view(line)}\n")
            self._stream.flush()
