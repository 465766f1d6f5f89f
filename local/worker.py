"""One Lambda execution environment: imports a handler once (the cold start), then serves invocations.

Run by `local/functions.py` as `python worker.py <spec-json> <read-fd> <write-fd>`, with the function's own
environment and nothing else. Invocations arrive as JSON lines on <read-fd>, answers leave on <write-fd>;
stdout and stderr are the function's log, as on Lambda. Standard library only: the function's code must not
see anything of the local stack.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    """The attributes and method of the context object Lambda's Python runtime passes to a handler."""

    def __init__(self, spec: dict[str, Any], request_id: str, timeout: float) -> None:
        self.function_name = spec["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec["function_arn"]
        self.memory_limit_in_mb = int(spec["memory"])
        self.aws_request_id = request_id
        self.log_group_name = spec["log_group"]
        self.log_stream_name = "local"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(exc: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    requests, answers = os.fdopen(int(argv[2]), "r"), os.fdopen(int(argv[3]), "w")
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # log lines as they happen
    if spec.get("nice"):  # a background function (local/functions.py, BACKGROUND_NICE)
        os.nice(int(spec["nice"]))

    def answer(message: dict[str, Any]) -> None:
        answers.write(json.dumps(message) + "\n")
        answers.flush()

    if os.environ.get("AWS_CALL_LOG"):  # the test suite records this function's AWS calls (local/aws_calls.py)
        import aws_calls  # from this script's folder, before the function's own path replaces it

        aws_calls.install(spec.get("logical_id"))

    # As on Lambda: the code directory first, then the layers (/opt/python there); this script's folder is not visible.
    sys.path[0:1] = [spec["code_dir"], *spec["layers"]]
    os.chdir(spec["code_dir"])
    try:
        module_name, function_name = spec["handler"].rsplit(".", 1)
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:
        print(f"[ERROR] Runtime.ImportModuleError: {type(exc).__name__}: {exc}", file=sys.stderr)
        traceback.print_exc()
        answer({"ready": False, "error": _error(exc)})
        return 1
    answer({"ready": True})

    for line in requests:
        request = json.loads(line)
        context = LambdaContext(spec, request["request_id"], float(spec["timeout"]))
        try:
            result = handler(request["event"], context)
            answer({"result": json.loads(json.dumps(result))})
        except Exception as exc:
            print(f"[ERROR] {type(exc).__name__}: {exc}", file=sys.stderr)
            traceback.print_exc()
            answer({"error": _error(exc)})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
