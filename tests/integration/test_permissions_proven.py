"""Each function's role, proven against the AWS calls its code made while the suite ran (local/aws_calls.py).

moto does not enforce IAM, so without this a missing permission would first show in AWS, as an AccessDenied. This test
runs last (tests/conftest.py orders it; under pytest-xdist it waits for the other workers to finish) and reads what the
session recorded, from handlers run in process and from the local stack's workers, in every pytest process. Both halves
iterate over every function of the translated template:
- every call is allowed by that function's role, on the resource it touched (found through the environment variable
  that named it); a resource named by none of its variables is listed, not checked;
- every action the role allows was used by some test, or is listed below with the reason it is needed. This half runs
  only when the whole suite ran: a subset of tests leaves code paths out.
The table of calls and rights is printed at the end of the run.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from typing import Any

import pytest

from local.template import load_template
from tests import sandbox
from tests.helpers import (
    FULL_SUITE,
    KMS_KEY_ARN,
    Template,
    as_list,
    deployed,
    environment,
    resolve,
    resources,
    role_of,
    statements,
    translate,
)

SSM_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter"
# How long the other xdist workers may take to finish their last tests (the longest test file takes about two minutes).
OTHER_WORKERS_TIMEOUT = 900.0

# Rights no code of ours calls, and why each is needed. A key is (function or "*", action or "prefix:*").
NEEDED_WITHOUT_A_CALL = {
    ("*", "logs:*"): "Lambda writes the function's log lines with its role",
    ("*", "kms:*"): "with KmsKeyArn, AWS services use the key on the function's behalf (environment, tables, queue)",
    ("*", "dynamodb:GetItem"): "Powertools idempotency reads a record back when a conditional put returns no old item",
    ("NotifierFunction", "dynamodb:DescribeStream"): "Lambda's event source mapping reads the stream with this role",
    ("NotifierFunction", "dynamodb:GetRecords"): "Lambda's event source mapping reads the stream with this role",
    ("NotifierFunction", "dynamodb:GetShardIterator"): "Lambda's event source mapping reads the stream with this role",
    ("NotifierFunction", "dynamodb:ListStreams"): "Lambda's event source mapping lists the table's streams",
    ("RetryFunction", "sqs:ReceiveMessage"): "Lambda's event source mappings poll both of its queues with this role",
    ("RetryFunction", "sqs:DeleteMessage"): "Lambda's event source mapping deletes what the function finished",
    ("RetryFunction", "sqs:GetQueueAttributes"): "Lambda's event source mapping reads the queue's attributes",
}

# IAM evaluates a transaction per item; batch calls are allowed by the single-item action.
ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
BATCH_ACTIONS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}


@pytest.fixture(autouse=True)
def aws() -> None:
    """Reads the session's record only: this replaces the folder's per-test moto reset."""


def actions_of(call: dict[str, Any]) -> list[tuple[str, dict[str, str] | None]]:
    """The IAM actions a recorded call needs, each with the resource it needs it on (None: no resource named)."""
    action = f"{call['service']}:{call['operation']}"
    if call["operation"] in ("TransactWriteItems", "TransactGetItems"):
        return [
            (f"dynamodb:{ITEM_ACTIONS.get(resource['item'], 'GetItem')}", resource)
            for resource in call["resources"]
            if "item" in resource
        ]
    action = BATCH_ACTIONS.get(action, action)
    return [(action, resource) for resource in call["resources"]] or [(action, None)]


def arn_in_template(service: str, value: str, rest: str) -> str:
    """The ARN a policy names for a resource the template gives a function as `value` (+ what the call added)."""
    if service == "ssm":
        return f"{SSM_ARN}{value}{rest}"
    if service == "sqs" and value.startswith("<"):
        return f"{value[:-1]}.Arn>"
    if service == "dynamodb" and value.startswith("<") and "." not in value:
        return f"{value[:-1]}.Arn>{rest}"
    return f"{value}{rest}"


def rights(template: Template, function_id: str) -> dict[str, set[str]]:
    allowed: dict[str, set[str]] = defaultdict(set)
    for statement in statements(template, role_of(template, function_id)):
        if statement["Effect"] == "Allow":
            for action in as_list(statement["Action"]):
                allowed[action].update(str(resolve(target)) for target in as_list(statement["Resource"]))
    return allowed


def reason_for(function_id: str, action: str) -> str | None:
    prefix = action.split(":")[0] + ":*"
    for key in ((function_id, action), ("*", action), (function_id, prefix), ("*", prefix)):
        if key in NEEDED_WITHOUT_A_CALL:
            return NEEDED_WITHOUT_A_CALL[key]
    return None


def test_every_recorded_call_is_allowed_and_every_right_is_used_or_explained(
    request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    template = deployed(translate(load_template()), KmsKeyArn=KMS_KEY_ARN)  # the most a role may hold
    assert sandbox.wait_for_the_other_workers(OTHER_WORKERS_TIMEOUT), "other xdist workers were still running"
    calls = sandbox.recorded_calls()
    functions = sorted(resources(template, "AWS::Lambda::Function"))
    denied: list[str] = []
    used: dict[str, dict[str, set[str]]] = {function_id: defaultdict(set) for function_id in functions}
    unchecked: dict[str, set[str]] = defaultdict(set)

    for call in calls:
        function_id = call["function"]
        assert function_id in used, f"calls recorded for {function_id}, which the template does not define"
        allowed, env = rights(template, function_id), environment(template, function_id)
        for action, resource in actions_of(call):
            if resource is None or resource.get("variable") not in env:
                used[function_id][action].add("?")
                unchecked[function_id].add(f"{action} on {resource.get('raw', '?') if resource else '(no resource)'}")
                if action not in allowed:
                    denied.append(f"{function_id}: {action} is not allowed at all")
                continue
            arn = arn_in_template(call["service"], str(env[resource["variable"]]), resource["rest"])
            used[function_id][action].add(arn)
            if not any(fnmatch.fnmatchcase(arn, pattern) for pattern in allowed.get(action, set())):
                denied.append(f"{function_id}: {action} on {arn} (from {resource['variable']}): add a statement for it")

    unused = [
        f"{function_id}: {action} on {sorted(targets)}: test a path that uses it, or list it in NEEDED_WITHOUT_A_CALL"
        for function_id in functions
        for action, targets in rights(template, function_id).items()
        if action not in used[function_id] and reason_for(function_id, action) is None
    ]
    table = _table(functions, template, used, unchecked)
    workeroutput = getattr(request.config, "workeroutput", None)
    if workeroutput is not None:  # a worker's output is not shown: the main process prints it (tests/conftest.py)
        workeroutput["permissions_table"] = table
    else:
        with capsys.disabled():  # the table is part of the run's output, passed or not
            print("\n".join(table))

    assert denied == [], "calls the role does not allow (AccessDenied in AWS)"
    if not request.config.stash.get(FULL_SUITE, False):
        pytest.skip("only part of the suite ran: every call was allowed; unused rights are checked on a full run")
    assert calls, "no AWS call was recorded in a full run: is the recorder installed (tests/sandbox.py)?"
    assert unused == [], "rights no test used and no reason explains"


def _table(
    functions: list[str],
    template: Template,
    used: dict[str, dict[str, set[str]]],
    unchecked: dict[str, set[str]],
) -> list[str]:
    lines = ["", "Permissions proven against the code: each function's rights, and the calls the suite made with them"]
    for function_id in functions:
        lines.append(f"  {function_id}")
        for action, targets in sorted(rights(template, function_id).items()):
            calls = used[function_id].get(action)
            status = "called" if calls else (reason_for(function_id, action) or "UNUSED")
            shown = ", ".join(sorted(target.replace(SSM_ARN, "parameter") for target in targets))
            lines.append(f"    {action:<32} {shown:<48} {status}")
        lines += [f"    (resource not checked) {line}" for line in sorted(unchecked[function_id])]
    return lines
