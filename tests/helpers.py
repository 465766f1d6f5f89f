"""Helpers shared by the test files (fixtures live in the conftest.py files): sample events, calling the functions in
process, reading template.yaml as it deploys, and driving a local stack over HTTP.

Importing this module starts nothing: handlers are imported inside the helpers that call them, because a handler
reads its settings when it is imported (tests/sandbox.py sets them for the folders that run handlers).
"""

from __future__ import annotations

import collections
import copy
import functools
import json
import re
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from signup_hooks.model.user import User

from local.filters import passes
from local.process import StackProcess
from local.receiver import ReceivedRequest, Receiver
from local.template import load_template, stream_filters
from scripts.sam_translate import translate
from tests import sandbox

__all__ = ["translate"]  # read with the template helpers below

EVENTS = Path(__file__).resolve().parent.parent / "events"

# Whether every test of tests/ runs in this session (tests/conftest.py decides; the permissions test reads it).
FULL_SUITE = pytest.StashKey[bool]()


# ---------------------------------------------------------------------------------------------------------------------
# Sample events and the functions in process
# ---------------------------------------------------------------------------------------------------------------------


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


def call_endpoints_api(context: Any, method: str, path: str = "", body: Any = None) -> tuple[int, dict[str, Any]]:
    """The admin function's answer to `method` on /api/v1/admin/webhooks`path` (the endpoints API)."""
    api = "/api/v1/admin/webhooks"
    event = load_event("admin_get_webhook")
    event["rawPath"] = event["requestContext"]["http"]["path"] = api + path
    event["requestContext"]["http"]["method"] = method
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {api}{path}"
    event["body"] = None if body is None else json.dumps(body)
    return call_admin(event, context)


def put_settings(body: dict[str, Any], context: Any) -> tuple[int, dict[str, Any]]:
    """PUT /api/v1/admin/webhook with `body`."""
    event = load_event("admin_put_webhook")
    event["body"] = json.dumps(body)
    return call_admin(event, context)


def notifier_failures(event: dict[str, Any], context: Any) -> list[str]:
    """Run the notifier; return the sequence numbers it reported as failed."""
    from functions.notifier import app as notifier  # imported here: handlers read their settings when imported

    response = notifier.lambda_handler(event, context)
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def closed_port_url() -> str:
    """A loopback URL nothing listens on: a connection to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def sign_up_in_process(context: Any, name: str = "Tim", email: str = "tim@example.com") -> dict[str, Any]:
    """A signup through the signup function's handler; its answer's body."""
    from functions.signup import app as signup  # imported here: handlers read their settings when imported

    event = load_event("signup_valid")
    event["body"] = json.dumps({"name": name, "email": email, "password": "correct horse battery staple"})
    response = signup.lambda_handler(event, context)
    assert response["statusCode"] == 200, response["body"]
    return dict(json.loads(response["body"]))


def stream_batch() -> dict[str, Any]:
    """Every record on the users table's stream so far, shaped as Lambda delivers them."""
    streams = boto3.client("dynamodbstreams")
    arn = boto3.client("dynamodb").describe_table(TableName=sandbox.TABLE_NAME)["Table"]["LatestStreamArn"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for record in streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]:
            record["eventSourceARN"] = arn
            record["dynamodb"].pop("ApproximateCreationDateTime", None)  # a datetime from boto3; Lambda sends a number
            records.append(record)
    return {"Records": records}


def on_failure_body(arn: str, start: str, end: str, size: int) -> str:
    """The record Lambda sends to a stream mapping's OnFailure destination for a batch it gave up on: which records
    (the stream, its first shard, the first and last sequence numbers), not what they held."""
    shard = boto3.client("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    info = {"shardId": shard["ShardId"], "startSequenceNumber": start, "endSequenceNumber": end, "batchSize": size}
    condition = {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 6}
    return json.dumps({"requestContext": condition, "DDBStreamBatchInfo": {**info, "streamArn": arn}})


def filtered(batch: dict[str, Any]) -> dict[str, Any]:
    """Apply the event source mapping's FilterCriteria from template.yaml, as Lambda does before invoking."""
    filters = _stream_filters()
    return {"Records": [record for record in batch["Records"] if passes(filters, record)]}


@functools.cache
def _stream_filters() -> Any:
    return stream_filters(load_template())  # parsing the template takes about 90 ms: once per session


# ---------------------------------------------------------------------------------------------------------------------
# Payloads
# ---------------------------------------------------------------------------------------------------------------------

USER = User(
    id="6f1c2a3e-8b4d-4e2f-9a7b-1c2d3e4f5a6b",
    name="Tim",
    email="tim@example.com",
    role="pending",
    created_at=1795842000,
    profile_image_url="/user.png",
)


def all_strings(value: Any) -> list[str]:
    """Every string inside a JSON value, however deep."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in all_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in all_strings(v)]
    return []


# ---------------------------------------------------------------------------------------------------------------------
# template.yaml as CloudFormation deploys it (translated offline by the SAM translator)
# ---------------------------------------------------------------------------------------------------------------------

Template = dict[str, Any]

REGION = "us-east-1"
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "signup-webhooks",
    "AWS::URLSuffix": "amazonaws.com",
}


def resolve(value: Any) -> Any:
    """Intrinsics as readable strings: Ref X -> <X>, GetAtt X.Y -> <X.Y>, pseudo parameters -> fixed values."""
    if isinstance(value, list):
        return [resolve(item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return PSEUDO_PARAMETERS.get(value["Ref"], f"<{value['Ref']}>")
    if set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        return f"<{target if isinstance(target, str) else '.'.join(target)}>"
    if set(value) == {"Fn::Sub"}:
        argument = value["Fn::Sub"]
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        known = {**PSEUDO_PARAMETERS, **{name: str(resolve(item)) for name, item in variables.items()}}
        return re.sub(r"\$\{([^}]+)\}", lambda found: _substitute(found.group(1), known), text)
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolve(part)) for part in parts)
    unknown = [key for key in value if key.startswith("Fn::")]
    if unknown:
        raise ValueError(f"resolve() does not know {unknown}: teach it before asserting on it")
    return {key: resolve(item) for key, item in value.items()}


def deployed(template: Template, **parameters: str) -> Template:
    """The template as CloudFormation deploys it with these parameter values (defaults for the rest): conditions
    evaluated, Fn::If picked, AWS::NoValue dropped, resources whose condition is false left out."""
    values = {name: str(body.get("Default", "")) for name, body in template.get("Parameters", {}).items()}
    values.update(parameters)
    conditions: dict[str, bool] = {}

    def condition(name: str) -> bool:
        if name not in conditions:
            conditions[name] = truth(template["Conditions"][name])
        return conditions[name]

    def truth(expression: Any) -> bool:
        ((function, argument),) = expression.items()
        if function == "Condition":
            return condition(argument)
        if function == "Fn::Equals":
            left, right = (
                str(values.get(side["Ref"], side)) if isinstance(side, dict) else str(side) for side in argument
            )
            return left == right
        if function == "Fn::Not":
            return not truth(argument[0])
        if function == "Fn::And":
            return all(truth(item) for item in argument)
        if function == "Fn::Or":
            return any(truth(item) for item in argument)
        raise ValueError(f"deployed() does not know {function}")

    def pick(value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (pick(item) for item in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Fn::If"}:
            name, when_true, when_false = value["Fn::If"]
            return pick(when_true if condition(name) else when_false)
        if value == {"Ref": "AWS::NoValue"}:
            return _NO_VALUE
        return {key: item for key, item in ((key, pick(item)) for key, item in value.items()) if item is not _NO_VALUE}

    result = pick(copy.deepcopy(template))
    result["Resources"] = {
        name: body
        for name, body in result["Resources"].items()
        if "Condition" not in body or condition(body["Condition"])
    }
    return dict(result)


_NO_VALUE = object()


def _substitute(name: str, known: dict[str, str]) -> str:
    if name.startswith("!"):
        return "${" + name[1:] + "}"
    return known.get(name, f"<{name}>")


def resources(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in template["Resources"].items() if body["Type"] == resource_type}


def properties(template: Template, logical_id: str) -> dict[str, Any]:
    return dict(template["Resources"][logical_id]["Properties"])


def role_of(template: Template, function_id: str) -> str:
    role_name, attribute = properties(template, function_id)["Role"]["Fn::GetAtt"]
    assert attribute == "Arn"
    return str(role_name)


def statements(template: Template, role_id: str) -> Iterator[dict[str, Any]]:
    """Every statement a role holds: its inline policies, and the policies (AWS::IAM::Policy) attached to it."""
    documents = [policy["PolicyDocument"] for policy in properties(template, role_id).get("Policies", [])]
    documents += [
        body["Properties"]["PolicyDocument"]
        for body in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in body["Properties"].get("Roles", [])
    ]
    for document in documents:
        statement = document["Statement"]
        yield from statement if isinstance(statement, list) else [statement]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def environment(template: Template, function_id: str) -> dict[str, Any]:
    return {
        name: resolve(value) for name, value in properties(template, function_id)["Environment"]["Variables"].items()
    }


# ---------------------------------------------------------------------------------------------------------------------
# A local stack (`python -m local run`) over HTTP
# ---------------------------------------------------------------------------------------------------------------------

RunningStack = StackProcess
WEBHOOK_TIMEOUT = 10.0
SHORT_SCHEDULE = "1s,2s"
# The stack's functions with the URL in SSM only (no WEBHOOK_URL fallback), so that a URL that cannot be read shows,
# and OWASP's minimum Argon2id cost (the template's Argon2Profile): the pipeline under test starts after the hash.
SETTINGS_IN_SSM_ONLY = {
    "NotifierFunction": {"SETTINGS_CACHE_SECONDS": "0", "WEBHOOK_URL": ""},
    "AdminFunction": {"WEBHOOK_URL": ""},
    "SignupFunction": {"PASSWORD_HASH_PROFILE": "owasp-minimum"},
}
# A customer managed key, as the KmsKeyArn parameter takes it.
KMS_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
# Light password hashing (the pipeline under test starts after it) and no settings cache, so that a URL an admin
# sets is the one the next attempt uses.
LIGHT_SIGNUPS = {
    "SignupFunction": {"PASSWORD_HASH_PROFILE": "owasp-minimum"},
    "NotifierFunction": {"SETTINGS_CACHE_SECONDS": "0"},
    "RetryFunction": {"SETTINGS_CACHE_SECONDS": "0"},
}


def call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """An HTTP request with a JSON body; the status and the answer (JSON when it parses, else text)."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def auth(stack: RunningStack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.token}"}


def sign_up(stack: RunningStack, name: str) -> dict[str, Any]:
    """A signup through the stack's API; the answer's body."""
    form = {"name": name, "email": f"{uuid.uuid4().hex[:16]}@example.com", "password": "correct horse battery"}
    status, body = call("POST", f"{stack.api}/api/v1/auths/signup", form)
    assert status == 200, body
    return dict(body)


def set_url(stack: RunningStack, url: str) -> None:
    status, body = call("PUT", f"{stack.api}/api/v1/admin/webhook", {"url": url}, auth(stack))
    assert status == 200, body


def redrive(stack: RunningStack) -> dict[str, Any]:
    status, body = call("POST", f"{stack.api}/api/v1/admin/webhook/redrive", {}, auth(stack))
    assert status == 200, body
    return dict(body)


def queue_size(stack: RunningStack) -> int:
    """Messages in the stack's dead-letter queue, visible or not."""
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.info["resources"]["DeadLetterQueue"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def delivered(receiver: Receiver, prefix: str) -> collections.Counter[str]:
    """Successful deliveries (answered 2xx) per message text, for texts starting with `prefix`."""
    return collections.Counter(r.text for r in list(receiver.received) if r.status < 300 and r.text.startswith(prefix))


def wait_for_body(receiver: Receiver, text: str, timeout: float = WEBHOOK_TIMEOUT) -> ReceivedRequest:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for request in receiver.received:
            if request.text == text:
                return request
        receiver.wait_for(len(receiver.received) + 1, timeout=min(0.5, max(deadline - time.monotonic(), 0)))
    raise AssertionError(f"no webhook with body {text!r} within {timeout} s; got {[r.text for r in receiver.received]}")


def wait_until(predicate: Any, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
