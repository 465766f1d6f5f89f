"""Schemathesis drives the running local stack (`python -m local run`) with the OpenAPI document it serves: every
operation, valid and invalid inputs, a few examples each. No answer may be a server error, and every answer must be
one the document describes (status and body).

Every URL the fuzzer can give (saving settings, a test send) is the stack's loopback receiver: nothing leaves
127.0.0.1. The whole run stays well under a minute (MAX_EXAMPLES per operation and mode, a deadline per example).
"""

from __future__ import annotations

import copy
import json
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from local.receiver import Receiver
from tests.helpers import LIGHT_SIGNUPS, RunningStack

MAX_EXAMPLES = 8  # per operation and generation mode (valid, invalid)
DEADLINE_MS = 5000  # per example: a test send waits for the receiver, a signup hashes a password
REQUEST_TIMEOUT = 10.0
# No server error; every status, content type and body one the document describes.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
BUDGET_SECONDS = 50.0  # the whole run, the stack's start excluded


@pytest.fixture(scope="module")
def stack(start_stack: Callable[..., RunningStack], stack_receiver: Receiver) -> RunningStack:
    return start_stack("openapi-fuzz", stack_receiver.url, LIGHT_SIGNUPS)


def with_urls_to(document: dict[str, Any], url: str) -> dict[str, Any]:
    """The document with every request body's `url` fixed to `url`, so that no request of the fuzzer goes anywhere
    but the loopback receiver."""
    narrowed = copy.deepcopy(document)
    for schema in narrowed["components"]["schemas"].values():
        if schema.get("properties", {}).get("url", {}).get("format") == "uri":  # the request bodies' URLs
            schema["properties"]["url"] = {"const": url}
    return narrowed


def loaded_schema(stack: RunningStack, receiver_url: str) -> Any:
    # The document as the stack serves it, in public (no token)
    with urllib.request.urlopen(f"{stack.api}/api/v1/admin/openapi.json", timeout=REQUEST_TIMEOUT) as response:
        document = json.loads(response.read())
    schema = schemathesis.openapi.from_dict(with_urls_to(document, receiver_url))
    schema.config.update(base_url=stack.api)
    return schema


def fuzz(operation: Any, mode: Any, headers: dict[str, str]) -> tuple[int, list[str]]:
    """MAX_EXAMPLES cases of one operation in one generation mode: how many ran, and what failed (a line each)."""
    ran, failures = 0, []

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=DEADLINE_MS,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: each failure is reported as it was found
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        nonlocal ran
        ran += 1
        response = case.call(headers=headers, timeout=REQUEST_TIMEOUT)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as found:  # every failure is kept, the run goes on
            for failure in found.exceptions:
                what = f"{failure.title}: {failure.message}".replace("\n", " ")[:300]
                failures.append(f"{case.method} {case.path} [{mode.value}] {response.status_code} {what}")

    try:
        run()
    except Unsatisfiable:  # an operation without inputs has no invalid ones
        assert mode is schemathesis.GenerationMode.NEGATIVE
    return ran, failures


def test_the_stack_answers_every_operation_as_its_document_says(stack: RunningStack, stack_receiver: Receiver) -> None:
    # Given the document the stack serves, and the admin token
    schema = loaded_schema(stack, stack_receiver.url)
    headers = {"Authorization": f"Bearer {stack.token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    # When every operation gets valid and invalid cases
    started = time.monotonic()
    cases: Counter[str] = Counter()
    failures: list[str] = []
    for operation in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            ran, failed = fuzz(operation, mode, headers)
            cases[f"{operation.method.upper()} {operation.path}"] += ran
            failures += failed
    seconds = time.monotonic() - started
    print(f"\nopenapi fuzz: {len(operations)} operations, {sum(cases.values())} cases, {seconds:.1f} s")
    for failure in failures:
        print("  " + failure)
    # Then no answer was a server error or one the document does not describe, within the budget
    assert failures == []
    assert len(operations) == len(cases) >= 20
    assert seconds < BUDGET_SECONDS
