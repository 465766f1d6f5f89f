"""Shared fixtures: sample events from events/, a Lambda context, fresh AWS resources per test, a webhook receiver;
and the suite-wide scan of every log line for secrets (tests/secret_scan.py)."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import logging
import secrets
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from signup_hooks import pacing
from signup_hooks.storage import settings_store

import conftest as sandbox
from local import aws_calls
from local.process import StackProcess, start_local_stack
from local.receiver import Receiver
from local.template import load_template, table_definition
from tests import secret_scan

EVENTS = Path(__file__).resolve().parent.parent / "events"


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of events/<name>.json, for a test to tweak."""
    return copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8")))


def batch_of(count: int) -> dict[str, Any]:
    """The notifier's sample event with `count` distinct new users."""
    template = load_event("notifier_new_user")["Records"][0]
    records = []
    for index in range(count):
        record = json.loads(json.dumps(template))
        record["eventID"] = f"event-{index}"
        record["dynamodb"]["SequenceNumber"] = f"1000000000000000000{index:02d}"
        record["dynamodb"]["NewImage"]["id"]["S"] = f"user-{index}"
        record["dynamodb"]["NewImage"]["name"]["S"] = f"User {index}"
        records.append(record)
    return {"Records": records}


def call_admin(event: dict[str, Any], context: Any) -> tuple[int, dict[str, Any]]:
    """The admin function's answer to an event: status and JSON body."""
    from functions.admin import app as admin  # imported here: handlers read their settings when imported

    response = admin.lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def put_settings(body: dict[str, Any], context: Any) -> tuple[int, dict[str, Any]]:
    """PUT /api/v1/admin/webhook with `body`."""
    event = load_event("admin_put_webhook")
    event["body"] = json.dumps(body)
    return call_admin(event, context)


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

    def scheduled_retries(self) -> list[dict[str, Any]]:
        """The retry queue's messages, delays ignored (they stay in the queue)."""
        response = self.sqs.receive_message(
            QueueUrl=sandbox.os.environ["RETRY_QUEUE_URL"],
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            VisibilityTimeout=0,
        )
        return [json.loads(message["Body"]) for message in response.get("Messages", [])]

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
    boto3.client("dynamodb").create_table(
        TableName=sandbox.DELIVERIES_TABLE_NAME, **table_definition(load_template(), "DeliveriesTable")
    )
    settings_store.forget_last_good()
    pacing.pacer.forget()
    sqs = boto3.client("sqs")
    dead_letters = sqs.create_queue(QueueName=sandbox.QUEUE_NAME)["QueueUrl"]
    dead_letters_arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"]
    redrive = {"deadLetterTargetArn": dead_letters_arn["QueueArn"], "maxReceiveCount": 5}
    sqs.create_queue(QueueName=sandbox.RETRY_QUEUE_NAME, Attributes={"RedrivePolicy": json.dumps(redrive)})
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
def without_retry_schedule(configure: Callable[..., None]) -> None:
    """The notifier with no retry queue: what its quick first try cannot deliver goes straight to the dead-letter
    queue. For tests of that try and of dead letters; tests/test_retry_schedule.py covers the schedule itself."""
    configure(retry_queue_url="")


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


# ---- the secret scan: every line logged during the session, checked at its end --------------------------------------

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


@pytest.fixture(scope="module")
def start_stack(
    tmp_path_factory: pytest.TempPathFactory, scan_function_output: Callable[[str, str], None]
) -> Iterator[Callable[..., StackProcess]]:
    """Start `python -m local run` stacks for a test module: `start_stack(name, webhook_url, env_vars, **options)`.
    Each is stopped (Ctrl-C) at the module's end, and its functions' lines join the session's secret scan."""
    started: list[StackProcess] = []

    def start(
        name: str, webhook_url: str, env_vars: dict[str, dict[str, str]] | None = None, **options: Any
    ) -> StackProcess:
        running = start_local_stack(tmp_path_factory.mktemp(name), webhook_url, env_vars, **options)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
        scan_function_output(running.log(), running.token)


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


# ---- AWS calls per function, for tests/test_permissions_proven.py ---------------------------------------------------

PERMISSIONS_TEST = "test_permissions_proven.py"
FULL_SUITE = pytest.StashKey[bool]()
HANDLER_MODULES = {  # functions.<folder>.app -> the template's logical id (CodeUri functions/<folder>/)
    f"functions.{body['Properties']['CodeUri'].strip('/').split('/')[-1]}.app": name
    for name, body in load_template()["Resources"].items()
    if body["Type"] == "AWS::Serverless::Function"
}


def _attribute_handler_calls() -> None:
    """Wrap each imported handler so that AWS calls made while it runs (its threads too) count as its function's."""
    for module_name, function_id in HANDLER_MODULES.items():
        module = sys.modules.get(module_name)
        handler = getattr(module, "lambda_handler", None)
        if handler is None or getattr(handler, "records_aws_calls", False):
            continue

        def recorded(event: Any, context: Any, _handler: Any = handler, _function: str = function_id) -> Any:
            previous, aws_calls.active = aws_calls.active, _function
            try:
                return _handler(event, context)
            finally:
                aws_calls.active = previous

        recorded.records_aws_calls = True  # type: ignore[attr-defined]
        module.lambda_handler = recorded  # type: ignore[union-attr]


def pytest_runtest_call(item: pytest.Item) -> None:
    _attribute_handler_calls()  # after the fixtures, which may import a handler


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """The permissions test reads what the whole session recorded: it runs last."""
    items.sort(key=lambda item: item.path.name == PERMISSIONS_TEST)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Whether every test of tests/ runs in this session: only then may an unused permission mean untested code."""
    collected = {item.path.name for item in session.items}
    every_file = {path.name for path in Path(__file__).parent.glob("test_*.py")}
    option = session.config.option
    narrowed = any(getattr(option, name, None) for name in ("keyword", "markexpr", "lf", "deselect"))
    session.config.stash[FULL_SUITE] = collected == every_file and not narrowed and _deselected == 0


_deselected = 0


def pytest_deselected(items: list[pytest.Item]) -> None:
    global _deselected
    _deselected += len(items)
