"""`make invoke`: every function runs on every sample event of its own in events/, in the local stack's workers,
and answers in the shape its trigger expects. One stack serves every invocation."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local.process import StackProcess
from local.receiver import Receiver
from local.stack import Options, Stack
from local.template import ROOT, load_template
from tests.helpers import EVENTS, load_event

TEMPLATE = load_template()
FUNCTIONS = [name for name, body in TEMPLATE["Resources"].items() if body["Type"] == "AWS::Serverless::Function"]


def function_of(event_file: Path) -> str | None:
    """events/<function>_<case>.json belongs to <Function>Function (signup_valid.json to SignupFunction)."""
    prefix = event_file.stem.split("_", 1)[0]
    matches = [name for name in FUNCTIONS if name.lower() == f"{prefix}function"]
    return matches[0] if matches else None


SAMPLES = sorted(path for path in EVENTS.glob("*.json") if path.name != "env.json")


def trigger_of(function_id: str) -> str:
    """How the template invokes the function: "api" (an HttpApi route), "authorizer" or "stream"."""
    resources = TEMPLATE["Resources"]
    if any(event.get("Type") == "HttpApi" for event in resources[function_id]["Properties"].get("Events", {}).values()):
        return "api"
    if any(
        body["Type"] == "AWS::Lambda::EventSourceMapping" and body["Properties"]["FunctionName"] == {"Ref": function_id}
        for body in resources.values()
    ):
        return "stream"
    if function_id in str(resources["HttpApi"]["Properties"].get("Auth", {})):
        return "authorizer"
    raise AssertionError(f"{function_id}: teach trigger_of() how the template invokes it")


def check_shape(trigger: str, payload: Any) -> None:
    if trigger == "api":
        assert isinstance(payload["statusCode"], int) and 200 <= payload["statusCode"] < 500
        assert isinstance(payload["body"], str)
        # The app's 404 for a method and path no route matches: such a sample would reach none of the handlers
        assert "no such route" not in payload["body"]
    elif trigger == "authorizer":
        assert set(payload) == {"isAuthorized", "context"} or set(payload) == {"isAuthorized"}
        assert isinstance(payload["isAuthorized"], bool)
    else:
        assert isinstance(payload["batchItemFailures"], list)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    running = Stack(Options(api_port=0, webhook_url=None), printer=lambda label, line: None).start()
    yield running
    running.stop()


def test_every_sample_event_belongs_to_a_function() -> None:
    orphans = [path.name for path in SAMPLES if function_of(path) is None]
    assert orphans == [], f"name each event <function>_<case>.json, one of {FUNCTIONS}"
    assert {function_of(path) for path in SAMPLES} == set(FUNCTIONS), "give every function a sample event"


@pytest.mark.parametrize("event_file", SAMPLES, ids=[path.stem for path in SAMPLES])
def test_each_function_answers_each_of_its_sample_events_in_its_triggers_shape(stack: Stack, event_file: Path) -> None:
    # Given a sample event and the function it belongs to, in the local stack's worker
    function_id = function_of(event_file)
    assert function_id is not None
    # When it is invoked once on the event
    result = stack.functions[function_id].invoke(load_event(event_file.stem))
    # Then it answers without error, in the shape its trigger expects
    assert result.error is None, result.payload
    check_shape(trigger_of(function_id), result.payload)


def test_make_invoke_prints_the_response_and_the_functions_log_lines() -> None:
    # Given no running stack: `python -m local invoke` starts one for the call
    result = subprocess.run(
        [sys.executable, "-m", "local", "invoke", "SignupFunction", "--event", "events/signup_valid.json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Then the response is on stdout, the log (START, the function's JSON lines, END, REPORT) on stderr
    assert result.returncode == 0, result.stderr
    assert '"statusCode": 200' in result.stdout
    assert "START RequestId:" in result.stderr and "REPORT RequestId:" in result.stderr
    assert '"message":"user signed up"' in result.stderr


# The functions whose environments name a resource's attribute (the users table's stream ARN), with a sample event
# and what it answers: the user signed up, the notification delivered (no failures), the webhook settings read.
RUNNING_STACK_SAMPLES = {
    "SignupFunction": ("signup_valid", {"statusCode": 200}),
    "NotifierFunction": ("notifier_new_user", {"batchItemFailures": []}),
    "AdminFunction": ("admin_get_webhook", {"statusCode": 200}),
}


@pytest.fixture(scope="module")
def running_stack(stack_receiver: Receiver, start_stack: Callable[..., StackProcess]) -> StackProcess:
    return start_stack("invoke", stack_receiver.url)


@pytest.mark.parametrize("function_id", RUNNING_STACK_SAMPLES)
def test_make_invoke_runs_against_the_running_stack(running_stack: StackProcess, function_id: str) -> None:
    event_name, expected = RUNNING_STACK_SAMPLES[function_id]
    # Given a `make run` stack: its functions' environments name resources (a stream ARN among them) it created
    # When `python -m local invoke` runs a function on its sample event against that stack
    ready_file = running_stack.info["ready_file"]
    result = subprocess.run(  # noqa: S603 - our own CLI
        [
            sys.executable,
            "-m",
            "local",
            "invoke",
            function_id,
            "--event",
            f"events/{event_name}.json",
            "--ready-file",
            ready_file,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Then it uses that stack and answers in its trigger's shape, with no traceback
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert f"Using the running local stack ({running_stack.info['aws_endpoint']})" in result.stderr
    payload = json.loads(result.stdout)
    check_shape(trigger_of(function_id), payload)
    assert {key: payload[key] for key in expected} == expected, payload
