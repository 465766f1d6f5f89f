"""Record every AWS call a function makes, for the test that proves each role allows exactly what the code does.

moto does not enforce IAM, so a missing permission would only show in AWS. While the suite runs, every botocore client
gets a `before-parameter-build` hook (botocore's event system gives the service and the operation) that appends one
JSON line per call to the file named by AWS_CALL_LOG: which function made it, the IAM service prefix, the operation,
and each resource it named, as the environment variable that holds the resource (so that the test can find the same
resource in the translated template) plus whatever follows that value (a parameter name under a path).

Two places record: the test process, for handlers the tests call in process (`active` names the function while its
handler runs, threads included), and the local stack's workers (`local/worker.py`), one function each. Standard library
and botocore only: the worker imports this file before the function's code is on its path.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from typing import Any

LOG_VARIABLE = "AWS_CALL_LOG"
# The API parameters that name the resource a call touches.
RESOURCE_PARAMETERS = ("TableName", "QueueUrl", "Name", "Names", "SecretId", "StreamArn", "Path", "ResourceArn")

_lock = threading.Lock()
_installed = False
active: str | None = None  # the function whose handler runs now in this process (None: a test's own call)
_paused = threading.Event()  # set: nothing is recorded (see `unrecorded`)


def install(function: str | None = None) -> None:
    """Hook every botocore client made from now on. `function` fixes the caller (a worker runs one function)."""
    global _installed, active
    if function is not None:
        active = function
    if _installed or not os.environ.get(LOG_VARIABLE):
        return
    from botocore.session import Session

    create_client = Session.create_client

    def create_hooked_client(self: Session, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, *args, **kwargs)
        client.meta.events.register("before-parameter-build", _record)
        return client

    Session.create_client = create_hooked_client  # type: ignore[method-assign]
    _installed = True


@contextlib.contextmanager
def unrecorded() -> Iterator[None]:
    """Record no call meanwhile: for a test that runs handlers of several functions at once in this process, whose
    calls `active` cannot tell apart. The other tests record what those handlers call."""
    _paused.set()
    try:
        yield
    finally:
        _paused.clear()


def _record(params: dict[str, Any], model: Any, **_: Any) -> None:
    function = active
    path = os.environ.get(LOG_VARIABLE)
    if function is None or not path or _paused.is_set():
        return
    record = {
        "function": function,
        "service": model.service_model.signing_name,
        "operation": model.name,
        "resources": [_as_variable(value) for value in _named_resources(model.name, params)],
    }
    line = json.dumps(record) + "\n"
    with _lock, open(path, "a", encoding="utf-8") as log:  # one short append per call: whole lines from each process
        log.write(line)


def _named_resources(operation: str, params: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for key in RESOURCE_PARAMETERS:
        value = params.get(key)
        names += [str(item) for item in value] if isinstance(value, list) else [str(value)] if value else []
    index = params.get("IndexName")
    if index and names:
        names[0] = f"{names[0]}/index/{index}"
    for item in params.get("TransactItems", []):  # a transaction touches each item's table
        for kind, body in item.items():
            names.append(f"{body['TableName']}#{kind}")
    names += list(params.get("RequestItems", {}))
    return names


def _as_variable(value: str) -> dict[str, str]:
    """The environment variable whose value the resource is (or starts with), so the test can map it to the template."""
    resource, _, kind = value.partition("#")
    best = ""
    for name, known in os.environ.items():
        if len(known) >= 8 and resource.startswith(known) and len(known) > len(os.environ.get(best, "")):
            best = name
    found = {"variable": best, "rest": resource[len(os.environ[best]) :]} if best else {"raw": resource}
    return {**found, "item": kind} if kind else found


def read(path: str) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as log:
            return [json.loads(line) for line in log if line.strip()]
    except FileNotFoundError:
        return []
