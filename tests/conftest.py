"""Shared fixtures: sample events from events/, a Lambda context, fresh AWS resources per test, a webhook receiver;
and the suite-wide scan of every log line for secrets (tests/secret_scan.py)."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import logging
import secrets
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from signup_hooks import pacing, settings

import conftest as sandbox
from local.receiver import Receiver
from local.template import load_template, table_definition
from tests import secret_scan

EVENTS = Path(__file__).resolve().parent.parent / "events"


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of events/<name>.json, for a test to tweak."""
    return copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8")))


@dataclass
class LambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    remaining_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext(aws_request_id=str(uuid.uuid4()))


@dataclass(frozen=True)
class Aws:
    """The resources of one test, made from template.yaml's own definitions on a freshly reset moto."""

    admin_token: str

    @property
    def dynamodb(self) -> Any:
        return boto3.client("dynamodb")

    @property
    def sqs(self) -> Any:
        return boto3.client("sqs")

    @property
    def ssm(self) -> Any:
        return boto3.client("ssm")

    def dead_letters(self) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=sandbox.os.environ["DEAD_LETTER_QUEUE_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        return [json.loads(message["Body"]) for message in response.get("Messages", [])]

    def settings_document(self) -> dict[str, Any] | None:
        """The webhook settings document the admin API writes (decrypted), or None when there is none."""
        try:
            stored = self.ssm.get_parameter(Name=sandbox.SETTINGS_PARAMETER, WithDecryption=True)["Parameter"]
        except self.ssm.exceptions.ParameterNotFound:
            return None
        return {"Type": stored["Type"], **json.loads(stored["Value"])}

    def items(self) -> list[dict[str, Any]]:
        return self.dynamodb.scan(TableName=sandbox.TABLE_NAME)["Items"]


@pytest.fixture(autouse=True)
def aws() -> Iterator[Aws]:
    urllib.request.urlopen(urllib.request.Request(f"{sandbox.MOTO_ENDPOINT}/moto-api/reset", method="POST")).close()
    parameters.clear_caches()
    boto3.client("dynamodb").create_table(TableName=sandbox.TABLE_NAME, **table_definition(load_template()))
    boto3.client("dynamodb").create_table(
        TableName=sandbox.IDEMPOTENCY_TABLE_NAME, **table_definition(load_template(), "IdempotencyTable")
    )
    settings.forget_last_good()
    pacing.pacer.forget()
    boto3.client("sqs").create_queue(QueueName=sandbox.QUEUE_NAME)
    token = secrets.token_urlsafe(32)
    _scan.secret(token, "the admin token")
    boto3.client("secretsmanager").create_secret(Name=sandbox.SECRET_NAME, SecretString=token)
    yield Aws(admin_token=token)
    parameters.clear_caches()


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Change the notifier's and the admin function's settings for one test, as their environment would."""
    from functions.admin import app as admin_app  # imported here: handlers read their settings when imported
    from functions.notifier import app as notifier

    def apply(**changes: Any) -> None:
        monkeypatch.setattr(notifier, "config", dataclasses.replace(notifier.config, **changes))
        monkeypatch.setattr(admin_app, "config", dataclasses.replace(admin_app.config, **changes))

    return apply


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Everything the functions log (Powertools JSON lines), for tests that read or scan it."""
    buffer = io.StringIO()
    service = logging.getLogger(sandbox.os.environ["POWERTOOLS_SERVICE_NAME"])
    handlers = [h for h in service.handlers if isinstance(h, logging.StreamHandler)]
    previous = [handler.setStream(buffer) for handler in handlers]
    yield buffer
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)


# ---- the secret scan: every line logged during the session, checked at its end ---------------------------------------

_scan = secret_scan.Collector()
_root_handler = secret_scan.LineHandler(_scan, ours=False)


def _attach_scan() -> None:
    """Next to Powertools' handler on the service logger, once a function has set it up (never before it: a Logger
    made later takes the logger's first handler as its own), and on the root logger for other libraries."""
    service = logging.getLogger(sandbox.os.environ["POWERTOOLS_SERVICE_NAME"])
    powertools = getattr(service, "powertools_handler", None)
    if powertools is not None and not any(isinstance(h, secret_scan.LineHandler) for h in service.handlers):
        handler = secret_scan.LineHandler(_scan, ours=True)
        handler.setFormatter(powertools.formatter)  # the very JSON line Powertools writes
        service.addHandler(handler)
    if _root_handler not in logging.root.handlers:
        logging.root.addHandler(_root_handler)


@pytest.fixture(scope="session")
def scan_function_output() -> Callable[[str, str], None]:
    """For output the capture does not see (a local stack's log file): scan its function lines at the session's end,
    with the stack's own admin token as a secret too."""

    def scan(text: str, admin_token: str) -> None:
        _scan.secret(admin_token, "the local stack's admin token")
        _scan.add_output(text)

    return scan


def pytest_sessionstart(session: pytest.Session) -> None:
    for password in secret_scan.sign_up_passwords(secret_scan.password_sources()):
        _scan.secret(password, "a test user's password")
    _attach_scan()


def pytest_runtest_logstart(nodeid: str, location: object) -> None:
    _attach_scan()
    _scan.current = nodeid


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _scan.add_output(report.capstdout + report.capstderr)  # EMF lines, a subprocess's function lines


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    findings = _scan.findings()
    if not findings:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", f"{len(findings)} log line(s) hold a secret: the run fails", red=True)
    for finding in findings:
        line = f"SECRET IN LOGS {finding}"
        if reporter is not None:
            reporter.write_line(line, red=True)
        else:
            print(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
