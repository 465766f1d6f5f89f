"""The local stack as a user runs it: `python -m local run` in a subprocess, on free ports, driven over real HTTP.

It has its own moto server (inside that process), separate from the one the unit tests share.
"""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.process import start_local_stack
from local.receiver import Receiver
from local.template import ROOT
from tests.helpers import WEBHOOK_TIMEOUT, RunningStack, auth, call, free_port, sign_up, wait_for_body

RETRY_SECONDS = 2 + 4 + 8  # the local retry schedule runs before a notification is dead-lettered


def admin(stack: RunningStack, method: str, body: Any = None) -> tuple[int, Any]:
    return call(method, f"{stack.api}/api/v1/admin/webhook", body, auth(stack))


@pytest.fixture(scope="module")
def stack(
    stack_receiver: Receiver,
    tmp_path_factory: pytest.TempPathFactory,
    scan_function_output: Callable[[str, str], None],
) -> Iterator[RunningStack]:
    # Read the webhook settings on every notification, so that a test sees its admin change at once.
    env_vars = {"NotifierFunction": {"SETTINGS_CACHE_SECONDS": "0"}}
    running = start_local_stack(tmp_path_factory.mktemp("local-stack"), stack_receiver.url, env_vars)
    yield running
    exit_code = running.stop()  # Ctrl-C
    scan_function_output(running.log(), running.token)  # the session's secret scan reads the functions' lines
    assert exit_code == 0, running.log()[-3000:]


@pytest.fixture(autouse=True)
def no_webhook_parameter(stack: RunningStack) -> Iterator[None]:
    yield
    admin(stack, "DELETE")  # back to WEBHOOK_URL for the next test


def test_a_signup_sends_the_default_message_to_the_webhook(stack: RunningStack, stack_receiver: Receiver) -> None:
    sign_up(stack, "Tim")

    request = wait_for_body(stack_receiver, "New user signed up: Tim")

    assert request.method == "POST"
    assert request.headers["Content-Type"].startswith("text/plain")


def test_the_functions_print_the_same_structured_lines_and_metrics(
    stack: RunningStack, stack_receiver: Receiver
) -> None:
    # Given a signup delivered through the stack
    user = sign_up(stack, "Margaret")
    wait_for_body(stack_receiver, "New user signed up: Margaret")

    def delivered() -> list[dict[str, Any]]:
        lines = function_lines(stack, "NotifierFunction", "message")
        return [line for line in lines if line["message"] == "webhook delivered" and line["user_id"] == user["id"]]

    deadline = time.monotonic() + WEBHOOK_TIMEOUT
    while time.monotonic() < deadline and not delivered():  # logged just after the receiver answered
        time.sleep(0.1)
    # Then each function's stdout holds Powertools JSON lines and EMF documents, as CloudWatch would get them
    [signed_up] = [
        line
        for line in function_lines(stack, "SignupFunction", "message")
        if line["message"] == "user signed up" and line.get("user_id") == user["id"]
    ]
    assert signed_up["correlation_id"] and signed_up["function_request_id"]
    [line] = delivered()
    assert line["correlation_id"] == line["event_id"] and line["function_request_id"]
    assert function_lines(stack, "SignupFunction", "Signups")
    assert function_lines(stack, "NotifierFunction", "Deliveries")


def function_lines(stack: RunningStack, function: str, key: str) -> list[dict[str, Any]]:
    """The JSON lines `[<function>] {...}` of the stack's output that have `key`."""
    prefix = f"[{function}] {{"
    found = []
    for line in stack.log().splitlines():
        if line.startswith(prefix):
            data = json.loads(line[len(prefix) - 1 :])
            if key in data:
                found.append(data)
    return found


def test_after_an_admin_sets_a_new_url_the_next_signup_goes_there(stack: RunningStack) -> None:
    other = Receiver().start()
    try:
        status, body = admin(stack, "PUT", {"url": other.url})
        assert status == 200, body

        sign_up(stack, "Ada")

        assert wait_for_body(other, "New user signed up: Ada").method == "POST"
    finally:
        other.stop()


def test_admin_routes_need_the_token(stack: RunningStack) -> None:
    url = f"{stack.api}/api/v1/admin/webhook"

    assert call("GET", url) == (401, {"message": "Unauthorized"})
    assert call("GET", url, headers={"Authorization": "Bearer wrong"}) == (403, {"message": "Forbidden"})
    assert call("PUT", url, {"url": "https://example.com/x"}, {"Authorization": "Bearer wrong"})[0] == 403
    assert admin(stack, "GET")[0] == 200


def test_a_receiver_that_is_down_gives_a_dead_letter_message(stack: RunningStack) -> None:
    status, body = admin(stack, "PUT", {"url": f"http://127.0.0.1:{free_port()}/hook"})
    assert status == 200, body

    user = sign_up(stack, "Grace")

    sqs = stack.client("sqs")
    queue_url = stack.info["resources"]["DeadLetterQueue"]
    deadline, letters = time.monotonic() + WEBHOOK_TIMEOUT + RETRY_SECONDS, []
    while not letters and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        letters = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
        letters = [letter for letter in letters if letter.get("user", {}).get("id") == user["id"]]
    assert letters, stack.log()[-3000:]
    assert letters[0]["reason"] == "connection_refused"


def test_a_record_the_filter_drops_never_reaches_the_notifier(stack: RunningStack, stack_receiver: Receiver) -> None:
    # Given an item that is not a user profile, written straight to the table
    table = stack.info["resources"]["UsersTable"]
    dynamodb = stack.client("dynamodb")
    item = {"pk": {"S": f"ROBOT#{uuid.uuid4()}"}, "entity": {"S": "robot"}, "id": {"S": "r1"}, "name": {"S": "Robo"}}
    dynamodb.put_item(TableName=table, Item=item)
    sequence = stream_sequence_of(stack, item["pk"]["S"])

    # When a real signup follows it on the same shard, and its webhook arrives
    sign_up(stack, "Linus")
    wait_for_body(stack_receiver, "New user signed up: Linus")

    # Then the stream moved past the robot, but the notifier never got it
    invocations = [line for line in stack.log().splitlines() if line.startswith("[stream] NotifierFunction <- ")]
    assert invocations
    assert not any(sequence in line for line in invocations)
    assert all(request.text != "New user signed up: Robo" for request in stack_receiver.received)


def stream_sequence_of(stack: RunningStack, pk: str) -> str:
    streams = stack.client("dynamodbstreams")
    table = stack.client("dynamodb").describe_table(TableName=stack.info["resources"]["UsersTable"])["Table"]
    shard = streams.describe_stream(StreamArn=table["LatestStreamArn"])["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=table["LatestStreamArn"], ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    for record in streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]:
        if record["dynamodb"]["Keys"]["pk"]["S"] == pk:
            return str(record["dynamodb"]["SequenceNumber"])
    raise AssertionError(f"{pk} is not in the stream")


def test_the_banner_shows_how_to_make_aws_fail(stack: RunningStack) -> None:
    banner = stack.log()  # printed once the stack is ready, before any request

    assert f"curl -s -X POST {stack.api}/_local/faults -d " in banner
    assert f"curl -s -X DELETE {stack.api}/_local/faults" in banner


def test_the_banners_webhook_example_sets_the_stacks_own_receiver(stack: RunningStack) -> None:
    banner = stack.log()

    assert f"-d '{json.dumps({'url': stack.info['webhook_url']})}'" in banner
    assert "example.com/my-webhook" not in banner


def test_unknown_routes_get_api_gateways_404(stack: RunningStack) -> None:
    assert call("GET", f"{stack.api}/api/v1/nothing-here") == (404, {"message": "Not Found"})
    assert call("PATCH", f"{stack.api}/api/v1/auths/signup", {})[0] == 404


def test_a_body_over_api_gateways_limit_is_refused(stack: RunningStack) -> None:
    status, body = call("POST", f"{stack.api}/api/v1/auths/signup", b"x" * (10 * 1024 * 1024 + 1))
    assert (status, body) == (413, {"message": "Request Entity Too Large"})


def test_clients_that_go_away_early_leave_no_traceback(stack: RunningStack) -> None:
    address = ("127.0.0.1", int(stack.api.rsplit(":", 1)[1]))
    signup = b"POST /api/v1/auths/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    # A client that sends the headers of a body, then closes
    with socket.create_connection(address) as client:
        client.sendall(signup + b"Content-Length: 100\r\n\r\n")
    # A client that sends a whole request, then resets the connection before reading the answer
    body = json.dumps({"name": "Gone", "email": f"{uuid.uuid4().hex[:12]}@example.com", "password": "x" * 12}).encode()
    with socket.create_connection(address) as client:
        client.sendall(signup + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        time.sleep(0.05)  # the server has read it
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # A client that closes in the middle of a chunked body
    with socket.create_connection(address) as client:
        client.sendall(signup + b"Transfer-Encoding: chunked\r\n\r\n10\r\nabc")

    # Then a request with a Content-Length that is not a number gets API Gateway's 400
    assert call_raw(address, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: many\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    # And the stack, still answering, printed no traceback
    time.sleep(1.0)  # the reset request's answer is written (and fails) once its function returns
    assert call("GET", f"{stack.api}/api/v1/nothing-here")[0] == 404
    assert "Traceback" not in stack.log(), stack.log()[-3000:]


def test_the_receiver_says_nothing_when_a_sender_hangs_up_early(capfd: pytest.CaptureFixture[str]) -> None:
    receiver = Receiver().start()
    receiver.respond_with(200, delay=0.3)  # the answer is written after the sender is gone
    try:
        address = ("127.0.0.1", int(receiver.url.split(":")[2].split("/")[0]))
        with socket.create_connection(address) as sender:
            sender.sendall(b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
            time.sleep(0.1)
            sender.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        receiver.wait_for(1, timeout=5)
        time.sleep(0.5)
    finally:
        receiver.stop()

    assert "Traceback" not in capfd.readouterr().err


def call_raw(address: tuple[str, int], request: bytes) -> bytes:
    with socket.create_connection(address, timeout=5) as client:
        client.sendall(request)
        return client.recv(1 << 16)


def test_a_port_in_use_gives_a_clear_error_without_traceback() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "local", "run", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr and "in use" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
