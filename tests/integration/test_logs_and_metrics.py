"""Every failed notification says which cause it was in one log line, one metric and one dead-letter message;
every line carries the request's ids; the metrics add up from the delivery threads."""

from __future__ import annotations

import dataclasses
import io
import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools.metrics.provider import cold_start
from signup_hooks import metrics
from signup_hooks.sending import signing, targets

from functions.admin import app as admin_app
from functions.signup import app as signup_app
from local.receiver import Receiver
from tests.helpers import batch_of, closed_port_url, load_event, notifier_failures

# The quick first try and the dead-letter queue, without the retry schedule (test_retry_schedule.py has it).
pytestmark = pytest.mark.usefixtures("without_retry_schedule")

NAMESPACE = "SignupWebhooks"
SERVICE = "signup-webhooks"


@pytest.fixture(autouse=True)
def no_leftover_metrics() -> Iterator[None]:
    metrics.discard()  # what a test that called the library without a handler recorded and nobody published
    yield
    metrics.discard()


def lines(logs: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in logs.getvalue().splitlines() if line.startswith("{")]


def emf(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The embedded-metric-format documents the functions printed since the last call."""
    out = capsys.readouterr().out
    return [doc for line in out.splitlines() if line.startswith("{") and "_aws" in (doc := json.loads(line))]


def dimensions(doc: dict[str, Any]) -> list[list[str]]:
    [directive] = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE
    return [sorted(names) for names in directive["Dimensions"]]


# ---- real faults -----------------------------------------------------------------------------------------------------


class BlackHole:
    """A port that never completes a connection: a listener whose one-slot backlog is already full."""

    def __init__(self) -> None:
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(0)
        self.port = self._server.getsockname()[1]
        self._fillers: list[socket.socket] = []
        for _ in range(8):
            filler = socket.socket()
            filler.settimeout(0.2)
            try:
                filler.connect(("127.0.0.1", self.port))
            except OSError:  # the backlog is full: from now on a connection attempt times out
                filler.close()
                return
            self._fillers.append(filler)
        raise RuntimeError("the backlog never filled up")

    def close(self) -> None:
        for filler in self._fillers:
            filler.close()
        self._server.close()


class HangUp:
    """A server that accepts every connection and closes it at once, without an answer."""

    def __init__(self) -> None:
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            connection.recv(65536)
            connection.close()

    def close(self) -> None:
        self._server.close()


@dataclasses.dataclass
class Fault:
    """What a test needs to produce one reason: a URL and settings; `closers` undo it."""

    receiver: Receiver
    monkeypatch: pytest.MonkeyPatch
    closers: list[Callable[[], None]] = dataclasses.field(default_factory=list)


def _status(status: int) -> Callable[[Fault], tuple[str, dict[str, Any]]]:
    def make(fault: Fault) -> tuple[str, dict[str, Any]]:
        fault.receiver.respond_with(status)
        return fault.receiver.url, {}

    return make


def _dns_failure(fault: Fault) -> tuple[str, dict[str, Any]]:
    def no_such_host(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    fault.monkeypatch.setattr(targets, "resolve", no_such_host)
    return "http://hooks.receiver.test/hook", {}


def _connect_timeout(fault: Fault) -> tuple[str, dict[str, Any]]:
    hole = BlackHole()
    fault.closers.append(hole.close)
    return f"http://127.0.0.1:{hole.port}/hook", {"connect_timeout": 0.3}


def _network_error(fault: Fault) -> tuple[str, dict[str, Any]]:
    server = HangUp()
    fault.closers.append(server.close)
    return f"http://127.0.0.1:{server.port}/hook", {}


def _read_timeout(fault: Fault) -> tuple[str, dict[str, Any]]:
    fault.receiver.respond_with(200, delay=1.0)
    return fault.receiver.url, {"read_timeout": 0.3}


FAULTS: dict[str, Callable[[Fault], tuple[str, dict[str, Any]]]] = {
    "invalid_url": lambda fault: ("not a url", {}),
    "blocked_target": lambda fault: (fault.receiver.url, {"allow_private_targets": False}),  # loopback
    "dns_failure": _dns_failure,
    "connection_refused": lambda fault: (closed_port_url(), {}),
    "connect_timeout": _connect_timeout,
    "tls_error": lambda fault: (fault.receiver.url.replace("http://", "https://"), {}),  # TLS to a plain-HTTP port
    "read_timeout": _read_timeout,
    "network_error": _network_error,
    "redirect": _status(302),
    "auth_rejected": _status(401),
    "not_found": _status(404),
    "gone": _status(410),
    "rate_limited": _status(429),
    "client_error": _status(400),
    "server_error": _status(500),
}
NOTHING_SENT = {"invalid_url", "blocked_target", "dns_failure"}  # refused before any connection: no attempt line


def test_every_failure_reason_but_not_configured_has_a_real_fault():
    from signup_hooks.sending.http import Reason

    assert set(FAULTS) == {reason.value for reason in Reason} - {"not_configured"}


@pytest.mark.parametrize("reason", list(FAULTS))
def test_a_real_fault_is_named_in_the_log_line_the_metric_and_the_dead_letter(
    reason, aws, lambda_context, receiver, configure, monkeypatch, logs, capsys
):
    # Given a real fault on loopback (or a refused, invalid or unresolvable URL)
    fault = Fault(receiver, monkeypatch)
    try:
        url, settings_ = FAULTS[reason](fault)
        configure(webhook_url_env=url, max_attempts=2, **settings_)
        event = load_event("notifier_new_user")
        record = event["Records"][0]
        event_id, user_id = record["eventID"], record["dynamodb"]["NewImage"]["id"]["S"]
        key = f"user.created:{user_id}"  # the notification's identity: its webhook-id and its dead letter's key
        capsys.readouterr()
        # When the new user's notification is handled
        assert notifier_failures(event, lambda_context) == []
    finally:
        for close in fault.closers:
            close()

    # Then one log line names the reason, with the ids of the request and of the delivery
    logged = lines(logs)
    [failed] = [line for line in logged if line["message"] == "webhook delivery failed"]
    assert failed["reason"] == reason
    assert failed["level"] == "WARNING"
    assert (failed["event_id"], failed["correlation_id"], failed["user_id"]) == (event_id, event_id, user_id)
    assert failed["key"] == key
    assert failed["function_request_id"] == lambda_context.aws_request_id
    assert failed["format"] == "text"
    assert failed["url_source"] == "environment"
    assert failed["webhook_id"] == signing.webhook_id(key)  # what the receiver can quote back
    assert {"attempts", "latency_ms", "target_host"} <= failed.keys()
    [dead] = [line for line in logged if line["message"] == "notification dead-lettered"]
    assert (dead["reason"], dead["event_id"], dead["user_id"]) == (reason, event_id, user_id)
    # And each attempt has its own line, the last one with the same reason
    attempts = [line for line in logged if line["message"] == "webhook delivery attempt"]
    if reason in NOTHING_SENT:
        assert attempts == []
    else:
        assert [line["attempt"] for line in attempts] == list(range(1, len(attempts) + 1))
        assert attempts[-1]["reason"] == reason
        assert all(line["event_id"] == event_id and line["user_id"] == user_id for line in attempts)
        assert all({"target_host", "format", "latency_ms", "delivered"} <= line.keys() for line in attempts)

    # And the metric: one failure by reason, in its own document so the reason dimension stays off the others
    documents = emf(capsys)
    [by_reason] = [doc for doc in documents if doc.get("reason") == reason]
    assert dimensions(by_reason) == [["reason", "service"]]
    assert (by_reason["DeliveryFailures"], by_reason["service"]) == ([1.0], SERVICE)
    [totals] = [doc for doc in documents if "DeadLettered" in doc]
    assert dimensions(totals) == [["service"]]
    assert (totals["DeliveryFailures"], totals["DeadLettered"]) == ([1.0], [1.0])
    assert "Deliveries" not in totals

    # And the dead letter
    [letter] = aws.dead_letters()
    assert (letter["reason"], letter["event_id"]) == (reason, key)


def test_not_configured_is_a_log_line_only(aws, lambda_context, logs, capsys):
    # Nothing is sent, so nothing failed: no failure metric, no dead letter (webhook not configured)
    capsys.readouterr()
    event = load_event("notifier_new_user")
    assert notifier_failures(event, lambda_context) == []
    [line] = [line for line in lines(logs) if line["message"].startswith("webhook not configured")]
    assert line["reason"] == "not_configured"
    assert line["event_id"] == line["correlation_id"] == event["Records"][0]["eventID"]
    assert not [doc for doc in emf(capsys) if "DeliveryFailures" in doc]
    assert aws.dead_letters() == []


# ---- delivered: lines and metrics ----------------------------------------------------------------------------------


def test_a_delivery_logs_its_attempt_and_outcome_and_counts_once(
    aws, lambda_context, receiver, configure, logs, capsys
):
    configure(webhook_url_env=receiver.url)
    receiver.respond_with(500, times=1)
    capsys.readouterr()
    assert notifier_failures(load_event("notifier_new_user"), lambda_context) == []
    logged = lines(logs)
    attempts = [line for line in logged if line["message"] == "webhook delivery attempt"]
    assert [(a["attempt"], a.get("status"), a.get("reason"), a["delivered"]) for a in attempts] == [
        (1, 500, "server_error", False),
        (2, 200, None, True),
    ]
    [delivered] = [line for line in logged if line["message"] == "webhook delivered"]
    assert (delivered["status"], delivered["attempts"], delivered["target_host"]) == (200, 2, "127.0.0.1")
    assert delivered["latency_ms"] >= 0
    [totals] = [doc for doc in emf(capsys) if "Deliveries" in doc]
    assert totals["Deliveries"] == [1.0]
    assert len(totals["DeliveryLatency"]) == 2  # one per attempt
    assert "DeliveryFailures" not in totals  # a retry that succeeded is not a failed notification


def test_many_concurrent_deliveries_add_up_and_keep_their_own_ids(
    aws, lambda_context, receiver, configure, logs, capsys
):
    # Given a batch of 40 new users, delivered by 10 threads at once
    configure(webhook_url_env=receiver.url)
    event = batch_of(40)
    capsys.readouterr()
    assert notifier_failures(event, lambda_context) == []
    # Then every delivery is counted once, every attempt's latency too
    documents = emf(capsys)
    [totals] = [doc for doc in documents if "Deliveries" in doc]
    assert totals["Deliveries"] == [40.0]
    assert sum(len(doc.get("DeliveryLatency", [])) for doc in documents) == 40
    # And each thread's lines carry its own delivery's ids, including keys added deeper down (url_source)
    delivered = [line for line in lines(logs) if line["message"] == "webhook delivered"]
    assert len(delivered) == 40
    for line in delivered:
        index = line["event_id"].removeprefix("event-")
        assert line["correlation_id"] == line["event_id"]
        assert line["user_id"] == f"user-{index}"
        assert line["url_source"] == "environment"
    assert {line["event_id"] for line in delivered} == {f"event-{i}" for i in range(40)}


def test_recording_metrics_from_many_threads_loses_nothing(capsys):
    capsys.readouterr()

    def record() -> None:
        for _ in range(500):
            metrics.count(metrics.DELIVERIES)
            metrics.latency(3)
            metrics.failure("server_error")

    threads = [threading.Thread(target=record) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    metrics.publish()
    metrics.metrics.flush_metrics()
    documents = emf(capsys)
    assert sum(sum(doc.get("Deliveries", [])) for doc in documents) == 8000
    assert sum(len(doc.get("DeliveryLatency", [])) for doc in documents) == 8000
    [by_reason] = [doc for doc in documents if doc.get("reason") == "server_error"]
    assert by_reason["DeliveryFailures"] == [8000.0]


# ---- signups, cold start, redrive ----------------------------------------------------------------------------------


def test_a_signup_is_counted_and_logged_with_the_api_request_id(aws, lambda_context, logs, capsys):
    capsys.readouterr()
    event = load_event("signup_valid")
    response = signup_app.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 200
    [totals] = [doc for doc in emf(capsys) if "Signups" in doc]
    assert (totals["Signups"], totals["service"], dimensions(totals)) == ([1.0], SERVICE, [["service"]])
    [line] = [line for line in lines(logs) if line["message"] == "user signed up"]
    assert line["correlation_id"] == event["requestContext"]["requestId"]
    assert line["function_request_id"] == lambda_context.aws_request_id
    assert line["user_id"] == json.loads(response["body"])["id"]


def test_the_first_invocation_publishes_a_cold_start_metric(aws, lambda_context, monkeypatch, capsys):
    monkeypatch.setattr(cold_start, "is_cold_start", True)
    capsys.readouterr()
    signup_app.lambda_handler(load_event("signup_invalid_email"), lambda_context)
    [first] = [doc for doc in emf(capsys) if "ColdStart" in doc]
    assert (first["ColdStart"], first["function_name"], first["service"]) == (
        [1.0],
        lambda_context.function_name,
        SERVICE,
    )
    assert dimensions(first) == [["function_name", "service"]]
    # And only the first
    signup_app.lambda_handler(load_event("signup_invalid_email"), lambda_context)
    assert not [doc for doc in emf(capsys) if "ColdStart" in doc]


def test_a_redrive_counts_what_it_delivered_and_logs_each_replay(aws, lambda_context, configure, logs, capsys):
    # Given one notification dead-lettered while the receiver was down
    configure(webhook_url_env=closed_port_url(), max_attempts=1)
    event = load_event("notifier_new_user")
    notifier_failures(event, lambda_context)
    receiver = Receiver().start()
    try:
        configure(webhook_url_env=receiver.url)
        capsys.readouterr()
        # When the admin redrives the queue
        redrive = load_event("admin_redrive_webhook")
        response = admin_app.lambda_handler(redrive, lambda_context)
        assert response["statusCode"] == 200
    finally:
        receiver.stop()
    # Then the admin function counts it and its line carries the replay's ids under the API request's correlation id
    [totals] = [doc for doc in emf(capsys) if "Redriven" in doc]
    assert (totals["Redriven"], totals["Deliveries"]) == ([1.0], [1.0])
    [line] = [line for line in lines(logs) if line["message"] == "webhook delivered"]
    assert line["event_id"] == "user.created:" + event["Records"][0]["dynamodb"]["NewImage"]["id"]["S"]
    assert line["user_id"] == event["Records"][0]["dynamodb"]["NewImage"]["id"]["S"]
    assert line["correlation_id"] == redrive["requestContext"]["requestId"]


def test_the_authorizer_logs_the_api_request_id(aws, lambda_context, logs):
    from functions.authorizer import app as authorizer

    event = load_event("authorizer_wrong_token")
    authorizer.lambda_handler(event, lambda_context)
    [line] = [line for line in lines(logs) if line["message"] == "admin request refused"]
    assert line["correlation_id"] == event["requestContext"]["requestId"]
