"""A 2xx is a delivery even when reading the rest of the answer fails: the receiver accepted the notification, so it
is neither sent again nor dead-lettered. Real loopback receivers that break their answers on purpose."""

from __future__ import annotations

import socket
import threading
import time

from signup_hooks.sending import http, targets

from functions.notifier import app as notifier
from tests.helpers import load_event
from tests.scripted_receiver import ScriptedReceiver, read_request, reset

LOCAL = targets.Policy(allow_http=True, allow_private=True)


def short_body(status: int) -> ScriptedReceiver:
    """Answers `status` with a Content-Length of 100, sends 5 bytes of body and closes."""

    def script(connection: socket.socket, stopping: threading.Event) -> None:
        read_request(connection)
        connection.sendall(f"HTTP/1.1 {status} X\r\nContent-Length: 100\r\n\r\nshort".encode())

    return ScriptedReceiver(script)


def reset_mid_body(connection: socket.socket, stopping: threading.Event) -> None:
    """Answers 200 with part of its body, then resets the connection."""
    read_request(connection)
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart")
    time.sleep(0.3)  # the client is waiting for the rest of the body by now
    reset(connection)


def test_a_200_whose_body_is_cut_short_is_delivered():
    receiver = short_body(200)
    try:
        result = http.send(targets.check(receiver.url(), LOCAL), b"hello", {}, 1.0, 2.0)
    finally:
        receiver.close()
    assert (result.delivered, result.status, result.reason) == (True, 200, None)


def test_a_200_reset_mid_body_is_delivered():
    receiver = ScriptedReceiver(reset_mid_body)
    try:
        result = http.send(targets.check(receiver.url(), LOCAL), b"hello", {}, 1.0, 2.0)
    finally:
        receiver.close()
    assert (result.delivered, result.status, result.reason) == (True, 200, None)


def test_a_500_whose_body_is_cut_short_is_still_a_failure():
    receiver = short_body(500)
    try:
        result = http.send(targets.check(receiver.url(), LOCAL), b"hello", {}, 1.0, 2.0)
    finally:
        receiver.close()
    assert (result.delivered, result.status) == (False, 500)


def test_a_notification_answered_200_with_a_broken_body_is_sent_once_and_never_dead_lettered(
    aws, lambda_context, configure
):
    # Given a receiver that answers 200 and then breaks off its body
    receiver = short_body(200)
    try:
        configure(webhook_url_env=receiver.url(), max_attempts=3, retry_base_delay=0.05)
        # When a new user is notified
        response = notifier.lambda_handler(load_event("notifier_new_user"), lambda_context)
    finally:
        receiver.close()
    # Then it was sent once, is done, and nothing is dead-lettered
    assert response["batchItemFailures"] == []
    assert receiver.connections == 1
    assert aws.dead_letters() == []
