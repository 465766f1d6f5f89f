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

import boto3

from local.esm import Invocation
from local.functions import LocalFunction, function_specs
from local.redrive import READY_FILE
from local.resolve import Resolver
from local.stack import CREDENTIALS, STACK_NAME, Options, Stack
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


def running_resolver(template: dict[str, Any], info: dict[str, Any]) -> Resolver:
    """The template resolved as the running stack resolved it: its stack name and parameter values (the ready file
    says), the names it gave its resources, and their attributes as its moto describes them (a table's stream ARN
    exists only once the table does)."""
    resolver = Resolver(
        template, info.get("stack_name", STACK_NAME), dict(info.get("parameters", {})), refs=dict(info["resources"])
    )

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=info["aws_endpoint"],
            region_name=info["region"],
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"],
        )

    for logical_id, resource in template["Resources"].items():
        name = resolver.refs.get(logical_id)
        if name is None:
            continue
        if resource["Type"] == "AWS::DynamoDB::Table":
            table = client("dynamodb").describe_table(TableName=name)["Table"]
            resolver.attributes[logical_id] = {"Arn": table["TableArn"]}
            if "LatestStreamArn" in table:
                resolver.attributes[logical_id]["StreamArn"] = table["LatestStreamArn"]
        elif resource["Type"] == "AWS::SQS::Queue":
            queue = client("sqs").get_queue_attributes(QueueUrl=name, AttributeNames=["QueueArn"])["Attributes"]
            resolver.attributes[logical_id] = {"Arn": queue["QueueArn"], "QueueName": name.rsplit("/", 1)[1]}
            resolver.attributes[logical_id]["QueueUrl"] = name
    return resolver


def run(function_id: str, event: dict[str, Any], ready_file: Path = READY_FILE) -> Invocation:
    info = _running_stack(ready_file)
    if info is not None:
        template = load_template()
        specs = function_specs(template, running_resolver(template, info))
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


def main(function_id: str | None, event_path: Path | None, ready_file: Path | None = None) -> int:
    if not function_id or event_path is None:
        print("usage: make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json", file=sys.stderr)
        return 2
    event = json.loads(event_path.read_text(encoding="utf-8"))
    result = run(function_id, event, ready_file or READY_FILE)
    print(json.dumps(result.payload))
    return 1 if result.error else 0
