"""The local stack's fault injection (`/_local/faults`): a share of the functions' AWS calls fails as AWS throttles,
the stack's own clients and the tests' never do."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.faults import Faults, FaultyServer
from local.process import StackProcess
from local.receiver import Receiver
from tests.helpers import SETTINGS_IN_SSM_ONLY, call, wait_for_body

NO_FAULTS = {"ssm": 0.0, "sqs": 0.0, "dynamodb": 0.0, "secretsmanager": 0.0}
ALL_FAULTS = dict.fromkeys(NO_FAULTS, 1.0)


@pytest.fixture(scope="module")
def stack(stack_receiver: Receiver, start_stack: Callable[..., StackProcess]) -> StackProcess:
    return start_stack("fault-stack", stack_receiver.url, SETTINGS_IN_SSM_ONLY)


@pytest.fixture(autouse=True)
def no_faults_after(stack: StackProcess) -> Iterator[None]:
    yield
    call("DELETE", faults_url(stack))


def faults_url(stack: StackProcess) -> str:
    return f"{stack.api}/_local/faults"


def set_faults(stack: StackProcess, shares: Any) -> dict[str, Any]:
    status, body = call("POST", faults_url(stack), shares)
    assert status == 200, body
    return dict(body)


def sign_up(stack: StackProcess, name: str) -> tuple[int, Any]:
    form = {"name": name, "email": f"{uuid.uuid4().hex[:12]}@example.com", "password": "correct horse battery"}
    return call("POST", f"{stack.api}/api/v1/auths/signup", form)


def admin(stack: StackProcess, method: str, path: str = "", body: Any = None) -> tuple[int, Any]:
    auth = {"Authorization": f"Bearer {stack.token}"}
    return call(method, f"{stack.api}/api/v1/admin/webhook{path}", body, auth)


def admin_get(stack: StackProcess) -> tuple[int, Any]:
    return admin(stack, "GET")


def set_url(stack: StackProcess, url: str) -> None:
    status, body = admin(stack, "PUT", "", {"url": url})
    assert status == 200, body


def test_the_route_shows_sets_and_clears_the_shares_in_force(stack: StackProcess) -> None:
    assert call("GET", faults_url(stack)) == (200, NO_FAULTS)

    assert set_faults(stack, {"ssm": 0.5, "sqs": 0.2}) == {**NO_FAULTS, "ssm": 0.5, "sqs": 0.2}
    assert call("GET", faults_url(stack)) == (200, {**NO_FAULTS, "ssm": 0.5, "sqs": 0.2})

    # A new body replaces the old one: the services it leaves out are back to 0
    assert set_faults(stack, {"dynamodb": 1}) == {**NO_FAULTS, "dynamodb": 1.0}

    assert call("DELETE", faults_url(stack)) == (200, NO_FAULTS)
    assert call("GET", faults_url(stack)) == (200, NO_FAULTS)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"ssm": 1.5}, 422, "ssm"),
        ({"sqs": -0.1}, 422, "sqs"),
        ({"dynamodb": "1"}, 422, "dynamodb"),
        ({"secretsmanager": True}, 422, "secretsmanager"),
        ({"ssm": None}, 422, "ssm"),
        ({"ssm": 0.5, "s3": 0.5}, 422, "s3"),
        (b'{"ssm": NaN}', 422, "ssm"),
        (b"not json", 400, None),
        ([0.5], 400, None),
    ],
)
def test_a_bad_fault_body_gets_a_4xx_naming_the_field_and_changes_nothing(
    stack: StackProcess, body: Any, status: int, field: str | None
) -> None:
    set_faults(stack, {"sqs": 0.25})

    answer_status, answer = call("POST", faults_url(stack), body)

    assert answer_status == status, answer
    assert answer.get("field") == field and answer["detail"]
    assert call("GET", faults_url(stack)) == (200, {**NO_FAULTS, "sqs": 0.25})


def test_a_dynamodb_share_of_one_fails_every_signup_with_the_functions_503(stack: StackProcess) -> None:
    set_faults(stack, {"dynamodb": 1.0})

    answers = [sign_up(stack, f"Throttled {n}") for n in range(3)]

    assert [status for status, _ in answers] == [503, 503, 503], answers
    assert all(body["code"] == "unavailable" for _, body in answers)
    assert "ProvisionedThroughputExceededException" in stack.log()  # botocore raised the real error code


def test_an_ssm_share_of_one_fails_every_admin_call_to_ssm(stack: StackProcess) -> None:
    # Given no URL stored
    assert admin(stack, "DELETE")[0] == 200
    assert admin_get(stack)[0] == 200
    set_faults(stack, {"ssm": 1.0})

    # When the admin changes the URL: the write fails, as on AWS under throttling
    status, body = admin(stack, "PUT", "", {"url": "https://example.com/throttled"})
    assert status == 503, body

    # And a read fails too: the admin API never shows settings it could not read now (the notifier may use the
    # values it read last; an administrator must see what is stored)
    assert admin_get(stack)[0] == 503

    call("DELETE", faults_url(stack))
    assert admin_get(stack)[1]["source"] != "parameter"  # nothing was stored


def test_clearing_the_faults_restores_every_call(stack: StackProcess) -> None:
    set_faults(stack, ALL_FAULTS)
    assert sign_up(stack, "Blocked")[0] == 503

    call("DELETE", faults_url(stack))

    assert sign_up(stack, "Unblocked")[0] == 200
    assert admin_get(stack)[0] == 200


def test_a_share_of_zero_fails_no_call_and_the_webhook_arrives(stack: StackProcess, stack_receiver: Receiver) -> None:
    set_url(stack, stack_receiver.url)
    set_faults(stack, NO_FAULTS)

    answers = [sign_up(stack, f"Unharmed {n}") for n in range(5)]

    assert [status for status, _ in answers] == [200] * 5, answers
    assert admin_get(stack)[0] == 200
    for n in range(5):
        wait_for_body(stack_receiver, f"New user signed up: Unharmed {n}")


def test_a_notifier_cold_start_during_an_ssm_outage_delays_the_notification_and_never_skips_it(
    stack: StackProcess, stack_receiver: Receiver
) -> None:
    # Given the URL in SSM and a notifier that starts afresh (nothing remembered) while SSM refuses every call
    set_url(stack, stack_receiver.url)
    pid = stack.worker_pid("NotifierFunction")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    set_faults(stack, {"ssm": 1.0})

    # When a user signs up, and SSM recovers a few seconds later
    status, user = sign_up(stack, "Outage Ada")
    assert status == 200, user
    time.sleep(4)  # the notifier meets the outage
    call("DELETE", faults_url(stack))

    # Then the notification arrives, through the stream's retries or a redrive of the dead-letter queue
    text = "New user signed up: Outage Ada"
    deadline = time.monotonic() + 40
    while not delivered(stack_receiver, text) and time.monotonic() < deadline:
        if dead_letters(stack):
            admin(stack, "POST", "/redrive", {})
        time.sleep(1)
    skipped = [
        line
        for line in stack.log().splitlines()
        if ("not configured" in line and user["id"] in line) or "falling back to WEBHOOK_URL" in line
    ]
    assert delivered(stack_receiver, text) == 1, skipped
    assert not skipped


def delivered(receiver: Receiver, text: str) -> int:
    return sum(1 for request in list(receiver.received) if request.text == text and request.status < 300)


def dead_letters(stack: StackProcess) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.info["resources"]["DeadLetterQueue"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_the_stacks_own_clients_never_fail(stack: StackProcess) -> None:
    set_faults(stack, ALL_FAULTS)
    resources = stack.info["resources"]

    # Then the clients a test (or the stack: resources, the stream poller, the OnFailure queue) uses still work
    for _ in range(5):
        stack.client("dynamodb").describe_table(TableName=resources["UsersTable"])
        stack.client("sqs").get_queue_attributes(QueueUrl=resources["DeadLetterQueue"], AttributeNames=["All"])
        stack.client("ssm").describe_parameters()
        stack.client("secretsmanager").list_secrets()
        stack.client("dynamodbstreams").list_streams()


def test_the_functions_endpoint_answers_each_services_throttling_error_as_botocore_parses_it() -> None:
    # Given the functions' endpoint alone, on this test's moto state, with every call of every service failing
    faults = Faults()
    faults.set({"ssm": 1.0, "sqs": 1.0, "dynamodb": 1.0, "secretsmanager": 1.0})
    server = FaultyServer(faults).start()
    try:
        calls: dict[str, Callable[[Any], Any]] = {
            "ssm": lambda client: client.get_parameter(Name="/any"),
            "secretsmanager": lambda client: client.get_secret_value(SecretId="any"),
            "dynamodb": lambda client: client.get_item(TableName="any", Key={"pk": {"S": "x"}}),
            "sqs": lambda client: client.send_message(QueueUrl=f"{server.url}/123456789012/any", MessageBody="x"),
        }
        codes = {}
        for service, make_call in calls.items():
            client = boto3.client(service, endpoint_url=server.url)
            started = time.monotonic()
            with pytest.raises(ClientError) as raised:
                make_call(client)
            assert time.monotonic() - started < 10
            codes[service] = raised.value.response["Error"]["Code"]
    finally:
        server.stop()

    # Then botocore raises the code AWS sends under throttling, for each service
    assert codes == {
        "ssm": "ThrottlingException",
        "secretsmanager": "ThrottlingException",
        "dynamodb": "ProvisionedThroughputExceededException",
        "sqs": "RequestThrottled",
    }
