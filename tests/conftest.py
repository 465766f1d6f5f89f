"""Fixtures and hooks for every folder: a Lambda context, a webhook receiver, the functions' log lines, local stacks;
the suite-wide scan of every log line for secrets (tests/secret_scan.py); AWS calls attributed to each function.

Every function's settings are in the environment from here on (tests/sandbox.py); AWS itself (moto) starts only in
the folders that ask for it: tests/integration/ and tests/stack/.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local import aws_calls
from local.process import StackProcess, start_local_stack
from local.receiver import Receiver
from local.template import load_template
from tests import sandbox, secret_scan

# Before anything imports the package: it reads some of them at import (Powertools' service name and namespace).
os.environ.update(sandbox.settings())


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


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Everything the functions log (Powertools JSON lines), for tests that read or scan it."""
    buffer = io.StringIO()
    service = logging.getLogger(sandbox.SERVICE_NAME)
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
    service = logging.getLogger(sandbox.SERVICE_NAME)
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
def known_secret() -> Callable[[str, str], None]:
    """Tell the session's secret scan of a value no log line may hold: `known_secret(value, what_it_is)`."""
    return _scan.secret


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
    findings = [str(finding) for finding in _scan.findings()]
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: its exit status is not the run's, the main process reports them
        workeroutput["secret_findings"] = findings
        sandbox.mark_finished()
        return
    findings += _worker_findings
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


_worker_findings: list[str] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """An xdist worker ended (the main process): its secret findings and its permissions table join the run's."""
    output = getattr(node, "workeroutput", {})
    _worker_findings.extend(output.get("secret_findings", []))
    _worker_tables.extend(output.get("permissions_table", []))


_worker_tables: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in _worker_tables:  # tests/integration/test_permissions_proven.py's, when a worker ran it
        terminalreporter.write_line(line)


def pytest_configure(config: pytest.Config) -> None:
    sandbox.calls_folder()  # in the main process before xdist starts any worker: they inherit it


def pytest_unconfigure(config: pytest.Config) -> None:
    sandbox.stop()
    sandbox.remove_calls_folder()


# ---- AWS calls per function, for tests/integration/test_permissions_proven.py ---------------------------------------

PERMISSIONS_TEST = "test_permissions_proven.py"
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
    """The permissions test reads what the whole session recorded: it runs last. The stack tests, which mostly wait on
    a local stack's schedules, run first: under xdist (make pytest) the CPU-bound tests fill those waits on the other
    workers, and no long stack file starts near the end."""
    items.sort(key=lambda item: (item.path.name == PERMISSIONS_TEST, item.path.parent.name != "stack"))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Whether every test of tests/ runs in this session: only then may an unused permission mean untested code."""
    from tests.helpers import FULL_SUITE  # imported here: after the settings above are in the environment

    tests = Path(__file__).parent
    collected = {item.path.relative_to(tests) for item in session.items if item.path.is_relative_to(tests)}
    every_file = {path.relative_to(tests) for path in tests.rglob("test_*.py")}
    option = session.config.option
    narrowed = any(getattr(option, name, None) for name in ("keyword", "markexpr", "lf", "deselect"))
    session.config.stash[FULL_SUITE] = collected == every_file and not narrowed and _deselected == 0


_deselected = 0


def pytest_deselected(items: list[pytest.Item]) -> None:
    global _deselected
    _deselected += len(items)
