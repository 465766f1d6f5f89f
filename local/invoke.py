"""`make invoke FUNCTION=SignupFunction EVENT=events/signup_valid.json`: one function, once, on one event, no Docker.

What `sam local invoke` does in a Lambda container, done in the worker the local stack runs each function in
(`local/worker.py`): the template's environment for that function, a cold start, the handler's log lines, then the
response. AWS behind it is moto: the running `make run` stack's when there is one (its ready file says where), else
a stack started for this call and stopped after it. The log goes to stderr and the response to stdout, as with sam.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

from local.esm import Invocation
from local.functions import LocalFunction, function_specs
from local.redrive import READY_FILE
from local.resolve import Resolver
from local.stack import Options, Stack
from local.template import load_template


def _to_stderr(label: str, line: str) -> None:
    sys.stderr.write(f"{line}\n")
    sys.stderr.flush()


def _running_stack(ready_file: Path) -> dict[str, Any] | None:
    """The running stack's ready file, if it names function environments and its moto answers."""
    try:
        info = json.loads(ready_file.read_text(encoding="utf-8"))
        with urllib.request.urlopen(f"{info['aws_endpoint']}/moto-api/", timeout=2):  # noqa: S310 - loopback
            pass
    except (OSError, ValueError, KeyError):
        return None
    return info if info.get("environments") else None


def run(function_id: str, event: dict[str, Any], ready_file: Path = READY_FILE) -> Invocation:
    info = _running_stack(ready_file)
    if info is not None:
        template = load_template()
        specs = function_specs(template, Resolver(template, "invoke"))
        if function_id not in specs or function_id not in info["environments"]:
            raise SystemExit(f"error: no function {function_id} in template.yaml (known: {', '.join(sorted(specs))})")
        _to_stderr("", f"Using the running local stack ({info['aws_endpoint']})")
        function = LocalFunction(specs[function_id], info["environments"][function_id], _only(function_id))
        function.start()
        try:
            function.wait_ready()
            return function.invoke(event)
        finally:
            function.stop()
    stack = Stack(Options(api_port=0, webhook_url=None), printer=_only(function_id))
    _to_stderr("", "Starting a local stack for this call (moto on loopback)...")
    stack.start()
    try:
        if function_id not in stack.functions:
            known = ", ".join(sorted(stack.functions))
            raise SystemExit(f"error: no function {function_id} in template.yaml (known: {known})")
        return stack.functions[function_id].invoke(event)
    finally:
        stack.stop()


def _only(function_id: str) -> Any:
    """The function's own lines (START, its log, END, REPORT); the rest of the stack stays quiet."""

    def printer(label: str, line: str) -> None:
        if label == function_id:
            _to_stderr(label, line)

    return printer


def main(function_id: str | None, event_path: Path | None) -> int:
    if not function_id or event_path is None:
        print("usage: make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json", file=sys.stderr)
        return 2
    event = json.loads(event_path.read_text(encoding="utf-8"))
    result = run(function_id, event)
    print(json.dumps(result.payload))
    return 1 if result.error else 0
