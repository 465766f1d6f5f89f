"""`make run`'s log view: the functions' JSON records summarised by default, whole with --json-logs."""

from __future__ import annotations

import io
import json

from local.log_view import Printer

RECORD = json.dumps(
    {
        "level": "INFO",
        "location": "send:78",
        "message": "webhook delivered",
        "timestamp": "2026-01-01 00:00:00,000+0000",
        "service": "signup-webhooks",
        "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:signup-webhooks-local-NotifierFunction",
    },
    separators=(",", ":"),
)
FAILURE = json.dumps(
    {
        "level": "ERROR",
        "message": "send failed",
        "exception": 'Traceback (most recent call last):\n  File "x"\nOSError: refused',
    }
)
METRICS = json.dumps(
    {
        "_aws": {"CloudWatchMetrics": [{"Namespace": "SignupWebhooks", "Metrics": [{"Name": "Deliveries"}]}]},
        "service": "signup-webhooks",
        "Deliveries": [1.0],
    }
)


def printed(json_logs: bool, *lines: str) -> list[str]:
    stream = io.StringIO()
    printer = Printer(stream, json_logs=json_logs)
    for line in lines:
        printer("NotifierFunction", line)
    printer("receiver", "POST /hook")
    return stream.getvalue().splitlines()


def test_by_default_a_functions_records_show_as_level_and_message() -> None:
    assert printed(False, "START RequestId: r1 Version: $LATEST", RECORD, FAILURE, METRICS) == [
        "[NotifierFunction] START RequestId: r1 Version: $LATEST",
        "[NotifierFunction] INFO webhook delivered",
        "[NotifierFunction] ERROR send failed: OSError: refused",
        "[NotifierFunction] metrics Deliveries=1",
        "[receiver] POST /hook",
    ]


def test_json_logs_print_the_records_whole() -> None:
    assert printed(True, RECORD, METRICS) == [
        f"[NotifierFunction] {RECORD}",
        f"[NotifierFunction] {METRICS}",
        "[receiver] POST /hook",
    ]
