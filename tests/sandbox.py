"""The test sandbox: each function's settings, fake credentials, and a moto server on loopback standing in for AWS.

Nothing starts at import. tests/conftest.py sets the settings that need no AWS (`settings()`) for the whole suite, as
the package reads some of them when imported (Powertools' service name and namespace). tests/integration/conftest.py
and tests/stack/conftest.py call `start()` when pytest loads them, before any test module of theirs is imported,
because handlers read their configuration once, at import, as on Lambda. tests/unit/ never starts it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local import aws_calls

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
SERVICE_NAME = "signup-webhooks"

TABLE_NAME = "signup-webhooks-test-users"
IDEMPOTENCY_TABLE_NAME = "signup-webhooks-test-idempotency"
QUEUE_NAME = "signup-webhooks-test-dead-letters"
RETRY_QUEUE_NAME = "signup-webhooks-test-retries"
ANNOUNCEMENT_QUEUE_NAME = "signup-webhooks-test-announcements"
DELIVERIES_TABLE_NAME = "signup-webhooks-test-deliveries"
SETTINGS_PARAMETER = "/signup-webhooks-test/webhooks/default"
PARAMETER_NAME = "/signup-webhooks-test/webhook-url"  # the older parameters, read until the first admin save
FORMAT_PARAMETER = "/signup-webhooks-test/webhook-format"
TEMPLATE_PARAMETER = "/signup-webhooks-test/message-template"
SIGNING_SECRET_PARAMETER = "/signup-webhooks-test/signing-secret"
CUSTOM_HEADER_PARAMETER = "/signup-webhooks-test/custom-header"
SECRET_NAME = "signup-webhooks-test/admin-token"

MOTO_ENDPOINT = ""  # set by start()
_moto: ThreadedMotoServer | None = None

# The session's folder of recorded AWS calls: one file per pytest process (pytest-xdist runs several), each process's
# local stacks appending to its file; tests/integration/test_permissions_proven.py reads them all.
CALLS_FOLDER_VARIABLE = "SIGNUP_HOOKS_TEST_AWS_CALLS"


def start() -> None:
    """Start the moto server, point boto3 at it, set every function's settings and record the functions' AWS calls.
    Once per session: a second call does nothing."""
    global MOTO_ENDPOINT, _moto
    if _moto is not None:
        return
    from moto.server import ThreadedMotoServer  # imported here: tests/unit/ never loads moto

    from local import moto_fixes

    moto_fixes.refuse_nested_parameters()  # the in-process moto refuses what Parameter Store refuses
    _moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    _moto.start()
    MOTO_ENDPOINT = f"http://127.0.0.1:{_moto.get_host_and_port()[1]}"
    os.environ.update(settings())
    os.environ.update(aws_environment(MOTO_ENDPOINT))

    # Every AWS call a function makes in this process, in its own file of the session's folder: in-process handlers
    # and the local stack's workers (which inherit the variable) append to it.
    os.environ[aws_calls.LOG_VARIABLE] = str(calls_folder() / f"{worker()}.jsonl")
    aws_calls.install()


def stop() -> None:
    """Stop what `start()` started (tests/conftest.py calls it at the end of the session)."""
    global _moto
    if _moto is None:
        return
    _moto.stop()
    _moto = None


# ---- the session's recorded calls, across pytest-xdist's workers -----------------------------------------------------


def worker() -> str:
    """This pytest process's name: pytest-xdist's worker id (gw0, gw1...), or "main" without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def calls_folder() -> Path:
    """The session's folder, made by the first caller in the main pytest process (tests/conftest.py calls it before
    xdist starts its workers, which inherit it)."""
    global _folder_made_here
    if not os.environ.get(CALLS_FOLDER_VARIABLE):
        os.environ[CALLS_FOLDER_VARIABLE] = tempfile.mkdtemp(prefix="aws-calls-")
        _folder_made_here = True
    return Path(os.environ[CALLS_FOLDER_VARIABLE])


_folder_made_here = False


def remove_calls_folder() -> None:
    """At the session's end, in the process that made the folder."""
    if _folder_made_here:
        shutil.rmtree(calls_folder(), ignore_errors=True)


def mark_finished() -> None:
    """This worker ran its last test and stopped its stacks: its file is complete (tests/conftest.py, at its end)."""
    (calls_folder() / f"{worker()}.finished").touch()


def wait_for_the_other_workers(timeout: float) -> bool:
    """Whether every other xdist worker finished within `timeout` s (at once without xdist): only then does the
    folder hold every call of the session. A worker that crashed never finishes; xdist reports its tests failed."""
    others = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) - 1
    folder, deadline = calls_folder(), time.monotonic() + timeout
    while len({path.stem for path in folder.glob("*.finished")} - {worker()}) < others:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def recorded_calls() -> list[dict[str, Any]]:
    """Every AWS call the functions made in the session, from every pytest process's file."""
    return [call for path in sorted(calls_folder().glob("*.jsonl")) for call in aws_calls.read(str(path))]


def aws_environment(endpoint: str) -> dict[str, str]:
    """What points the functions and boto3 at the moto server."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "DEAD_LETTER_QUEUE_URL": f"{endpoint}/{ACCOUNT_ID}/{QUEUE_NAME}",
        "RETRY_QUEUE_URL": f"{endpoint}/{ACCOUNT_ID}/{RETRY_QUEUE_NAME}",
        "ANNOUNCEMENT_QUEUE_URL": f"{endpoint}/{ACCOUNT_ID}/{ANNOUNCEMENT_QUEUE_NAME}",
    }


def settings() -> dict[str, str]:
    """Every function's settings but where AWS is, with moto's dummy credentials (a boto3 call made without
    `start()` goes nowhere real)."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # moto's dummy credentials
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_METRICS_NAMESPACE": "SignupWebhooks",
        "USERS_TABLE": TABLE_NAME,
        "DEFAULT_USER_ROLE": "pending",
        "WEBHOOK_URL": "",
        "WEBHOOK_SETTINGS_PARAMETER": SETTINGS_PARAMETER,
        "WEBHOOK_URL_PARAMETER": PARAMETER_NAME,
        "MESSAGE_TEMPLATE": "New user signed up: {name}",
        "WEBHOOK_CONNECT_TIMEOUT": "2",
        "WEBHOOK_READ_TIMEOUT": "2",
        "SETTINGS_CACHE_SECONDS": "10",
        "ADMIN_TOKEN_SECRET": SECRET_NAME,
        "WEBHOOK_FORMAT_PARAMETER": FORMAT_PARAMETER,
        "MESSAGE_TEMPLATE_PARAMETER": TEMPLATE_PARAMETER,
        "SIGNING_SECRET_PARAMETER": SIGNING_SECRET_PARAMETER,
        "CUSTOM_HEADER_PARAMETER": CUSTOM_HEADER_PARAMETER,
        # The tests' receivers listen on loopback over plain http; SSRF tests turn these off explicitly.
        "ALLOW_HTTP_TARGETS": "true",
        "ALLOW_PRIVATE_TARGETS": "true",
        "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE_NAME,
        "DELIVERIES_TABLE": DELIVERIES_TABLE_NAME,
        # The retry schedule compressed to seconds; tests that follow it drive the retry function themselves.
        "RETRY_SCHEDULE": "1s,2s,3s",
        # Retries as in production, with short backoffs so that a test with failures stays fast.
        "WEBHOOK_RETRY_BASE_DELAY": "0.02",
    }
