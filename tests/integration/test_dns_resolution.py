"""DNS at send time: a temporary resolution failure is retried like a connection error, a lookup never outlives its
time limit (getaddrinfo has none), and when a name's first checked address refuses the connection the next one is
tried. No real DNS here: `targets.resolve` is replaced; connections go to real loopback receivers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from signup_hooks.sending import http, targets
from signup_hooks.sending.http import Reason

from functions.notifier import app as notifier
from tests.helpers import load_event

# The quick first try and the dead-letter queue, without the retry schedule (test_retry_schedule.py has it).
pytestmark = pytest.mark.usefixtures("without_retry_schedule")

LOCAL = targets.Policy(allow_http=True, allow_private=True)


def handle(context: Any) -> list[str]:
    response = notifier.lambda_handler(load_event("notifier_new_user"), context)
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


def answers(*results: list[str] | BaseException) -> Callable[[str, int], list[str]]:
    """A resolver answering each lookup with the next result (the last one repeats), raising the exceptions."""
    queue = list(results)

    def resolve(host: str, port: int) -> list[str]:
        result = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(result, BaseException):
            raise result
        return result

    return resolve


def try_again() -> socket.gaierror:
    return socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")


@pytest.fixture
def hanging_resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """A resolver that hangs (as getaddrinfo can, with no timeout of its own) until the test ends, 10 s at most."""
    released = threading.Event()

    def resolve(host: str, port: int) -> list[str]:
        released.wait(10)
        return ["127.0.0.1"]

    monkeypatch.setattr(targets, "resolve", resolve)
    yield released
    released.set()


def test_a_temporary_resolution_failure_is_retried_and_then_delivered(
    aws, lambda_context, receiver, configure, monkeypatch
):
    # Given a name whose first lookup fails temporarily (EAI_AGAIN) and then resolves to the receiver
    monkeypatch.setattr(targets, "resolve", answers(try_again(), try_again(), ["127.0.0.1"]))
    configure(
        webhook_url_env=f"http://hooks.example.test:{port_of(receiver.url)}/hook", max_attempts=4, retry_base_delay=0.05
    )
    # When a new user is notified
    assert handle(lambda_context) == []
    # Then it is delivered once, with the name as its Host, and nothing is dead-lettered
    [request] = receiver.wait_for(1)
    assert request.headers["Host"] == f"hooks.example.test:{port_of(receiver.url)}"
    assert aws.dead_letters() == []


def test_a_resolver_that_keeps_failing_temporarily_is_retried_then_dead_lettered_as_dns_failure(
    aws, lambda_context, configure, monkeypatch
):
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        raise try_again()

    monkeypatch.setattr(targets, "resolve", resolve)
    configure(webhook_url_env="http://hooks.example.test/hook", max_attempts=3, retry_base_delay=0.05)
    assert handle(lambda_context) == []
    [letter] = aws.dead_letters()
    assert letter["reason"] == "dns_failure"
    assert letter["attempts"] == 3
    assert len(lookups) == 4  # once when preparing, then once per attempt


def test_a_name_that_does_not_exist_is_still_a_failure_for_good(aws, lambda_context, configure, monkeypatch):
    monkeypatch.setattr(targets, "resolve", answers(socket.gaierror(socket.EAI_NONAME, "Name or service not known")))
    configure(webhook_url_env="http://nowhere.example.test/hook", max_attempts=3)
    assert handle(lambda_context) == []
    [letter] = aws.dead_letters()
    assert (letter["reason"], letter["attempts"]) == ("dns_failure", 0)


def test_a_lookup_stops_being_waited_for_at_its_time_limit(hanging_resolver):
    started = time.monotonic()
    with pytest.raises(targets.ResolutionUnavailable) as failed:
        targets.check("http://slow-dns.example.test/hook", LOCAL, lookup_timeout=0.5)
    assert time.monotonic() - started < 2.0
    assert failed.value.reason == "dns_failure"


def test_a_hanging_lookup_does_not_hold_the_invocation_past_its_deadline(
    aws, lambda_context, configure, hanging_resolver
):
    # Given a resolver that hangs and an invocation with 4 s left (2 s of it kept for the dead letter and response)
    configure(webhook_url_env="http://slow-dns.example.test/hook")
    lambda_context.remaining_ms = 4_000
    # When a new user is notified
    started = time.monotonic()
    failures = handle(lambda_context)
    elapsed = time.monotonic() - started
    # Then the invocation ends within its time, leaving the record for the stream to retry
    assert elapsed < 4.0, elapsed
    assert len(failures) == 1
    assert aws.dead_letters() == []


def test_when_the_first_checked_address_refuses_the_next_is_tried(receiver, monkeypatch):
    # Given a name resolving to 127.0.0.2 (nothing listens there) and then 127.0.0.1 (the receiver), on one port
    port = port_of(receiver.url)
    monkeypatch.setattr(targets, "resolve", answers(["127.0.0.2", "127.0.0.1"]))
    checked = targets.check(f"http://two.example.test:{port}/hook", LOCAL)
    assert checked.addresses == ("127.0.0.2", "127.0.0.1")
    # When one attempt is made
    result = http.send(checked, b"hello", {"Content-Type": "text/plain"}, 1.0, 2.0)
    # Then it reaches the receiver through the second address, with the name as its Host
    assert (result.delivered, result.status) == (True, 200)
    [request] = receiver.wait_for(1)
    assert request.headers["Host"] == f"two.example.test:{port}"


def test_when_every_checked_address_refuses_the_attempt_is_refused(monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(targets, "resolve", answers(["127.0.0.2", "127.0.0.3"]))
    checked = targets.check(f"http://none.example.test:{port}/hook", LOCAL)
    result = http.send(checked, b"hello", {}, 1.0, 2.0)
    assert (result.delivered, result.reason) == (False, Reason.CONNECTION_REFUSED)
