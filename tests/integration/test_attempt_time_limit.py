"""An attempt ends within its connect + read timeout however its receiver trickles the answer (urllib3's timeouts
apply to each socket operation only); a connection cut short that way is never reused. Real loopback receivers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from signup_hooks.sending import http, targets
from signup_hooks.sending.http import Reason

from functions.notifier import app as notifier
from tests.helpers import load_event
from tests.scripted_receiver import Script, ScriptedReceiver, answer_ok, read_request, trickle

# The quick first try and the dead-letter queue, without the retry schedule (test_retry_schedule.py has it).
pytestmark = pytest.mark.usefixtures("without_retry_schedule")

CONNECT_TIMEOUT = 0.5
READ_TIMEOUT = 1.0
LIMIT = CONNECT_TIMEOUT + READ_TIMEOUT
SLACK = 1.5  # generous: the machine is shared; without the limit these attempts take 15 s or more
EVERY = 0.4  # one byte every 0.4 s: each read returns well inside the read timeout
LOCAL = targets.Policy(allow_http=True, allow_private=True)
LONG_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


def trickling_status_line(connection: socket.socket, stopping: threading.Event) -> None:
    read_request(connection)
    trickle(connection, stopping, LONG_HEAD, EVERY)


def trickling_body_once() -> Script:
    """The first connection gets a 200 head, then its body a byte every 0.4 s; later ones are answered at once."""
    first = threading.Lock()

    def script(connection: socket.socket, stopping: threading.Event) -> None:
        if not first.acquire(blocking=False):
            answer_ok(connection, stopping)
            return
        read_request(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n")
        trickle(connection, stopping, b"x" * 40, EVERY)

    return script


@pytest.fixture
def scripted() -> Iterator[list[ScriptedReceiver]]:
    started: list[ScriptedReceiver] = []
    yield started
    for receiver in started:
        receiver.close()


def start(scripted: list[ScriptedReceiver], script: Script) -> ScriptedReceiver:
    receiver = ScriptedReceiver(script)
    scripted.append(receiver)
    return receiver


def test_a_status_line_trickled_a_byte_at_a_time_ends_the_attempt_at_its_time_limit(scripted):
    # Given a receiver that sends its status line one byte every 0.4 s
    receiver = start(scripted, trickling_status_line)
    checked = targets.check(receiver.url(), LOCAL)
    # When one attempt is made with a 0.5 s connect and 1 s read timeout
    started = time.monotonic()
    result = http.send(checked, b"hello", {}, CONNECT_TIMEOUT, READ_TIMEOUT)
    elapsed = time.monotonic() - started
    # Then it ends at about connect + read timeout, as a read timeout
    assert elapsed < LIMIT + SLACK, elapsed
    assert (result.delivered, result.status, result.reason) == (False, None, Reason.READ_TIMEOUT)


def test_a_connection_cut_at_the_time_limit_is_not_reused(scripted):
    # Given a receiver whose first answer is a 200 head and then a body trickled a byte every 0.4 s
    receiver = start(scripted, trickling_body_once())
    checked = targets.check(receiver.url(), LOCAL)
    # When the attempt runs out of time while reading the body
    started = time.monotonic()
    first = http.send(checked, b"hello", {}, CONNECT_TIMEOUT, READ_TIMEOUT)
    assert time.monotonic() - started < LIMIT + SLACK
    # Then it is a delivery (the receiver said 200), and the pool keeps no open connection from it
    assert (first.delivered, first.status) == (True, 200)
    pool = http._pools[("http", "127.0.0.1", receiver.port, "127.0.0.1")]
    assert [conn for conn in list(pool.pool.queue) if conn is not None and conn.sock is not None] == []
    # And the next attempt is made on a new connection, and delivers at once
    second = http.send(checked, b"hello", {}, CONNECT_TIMEOUT, READ_TIMEOUT)
    assert (second.delivered, receiver.connections) == (True, 2)


def test_connections_stay_pooled_between_attempts_that_end_in_time(scripted):
    receiver = start(scripted, answer_ok)
    checked = targets.check(receiver.url(), LOCAL)
    results = [http.send(checked, b"hello", {}, CONNECT_TIMEOUT, READ_TIMEOUT) for _ in range(3)]
    assert [result.delivered for result in results] == [True, True, True]
    assert receiver.connections == 1


def test_a_trickling_receiver_cannot_hold_the_invocation_past_its_deadline(aws, lambda_context, configure, scripted):
    # Given a trickling receiver, a 30 s read timeout, and an invocation with 6 s left (2 s of it kept for the dead
    # letter and the response: the attempt's timeouts are cut to the other 4 s)
    receiver = start(scripted, trickling_status_line)
    configure(webhook_url_env=receiver.url(), read_timeout=30.0, max_attempts=1)
    lambda_context.remaining_ms = 6_000

    # When a new user is notified
    started = time.monotonic()
    response = notifier.lambda_handler(load_event("notifier_new_user"), lambda_context)
    elapsed = time.monotonic() - started
    # Then the attempt stopped at the invocation's deadline and the notification is dead-lettered as a read timeout
    assert elapsed < 4.0 + SLACK, elapsed
    assert response["batchItemFailures"] == []
    [letter] = aws.dead_letters()
    assert letter["reason"] == "read_timeout"
