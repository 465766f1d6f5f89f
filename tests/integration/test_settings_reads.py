"""How the notifier reads its settings: one SSM call per batch shared by the delivery threads, the last good value
for a bounded time when SSM fails, and never "not configured" because SSM could not be read.

SSM's failures come from moto itself (the tests' moto server runs in this process): its handler answers as SSM
does, and botocore retries and raises as it would against AWS.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from moto.core.exceptions import JsonRESTError
from moto.ssm.models import SimpleSystemManagerBackend
from moto.ssm.responses import SimpleSystemManagerResponse
from signup_hooks.storage import aws as aws_clients
from signup_hooks.storage import settings_store

from tests import sandbox
from tests.helpers import batch_of, notifier_failures


def put_document(aws: Any, **fields: str | None) -> None:
    aws.ssm.put_parameter(
        Name=sandbox.SETTINGS_PARAMETER,
        Value=settings_store.encode_document(fields),
        Type="SecureString",
        Overwrite=True,
    )


@pytest.fixture
def ssm_reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every read request that reaches SSM (moto's API layer), counted by operation."""
    counts: Counter[str] = Counter()
    for operation in ("get_parameter", "get_parameters", "get_parameters_by_path"):
        original = getattr(SimpleSystemManagerResponse, operation)

        def counted(self: Any, *args: Any, _original: Any = original, _name: str = operation, **kwargs: Any) -> Any:
            counts[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(SimpleSystemManagerResponse, operation, counted)
    return counts


class SsmFaults:
    """SSM answering every read with an error, as AWS does (status and error code), until cleared."""

    READS = ("get_parameters", "get_parameters_by_path")  # one endpoint's settings; every endpoint's

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self._originals = {name: getattr(SimpleSystemManagerBackend, name) for name in self.READS}

    def fail(self, code: str, status: int = 400) -> None:
        def failing(*_args: Any, **_kwargs: Any) -> Any:
            error = JsonRESTError(code, "injected by the test")
            error.code = status
            raise error

        for name in self.READS:
            self._monkeypatch.setattr(SimpleSystemManagerBackend, name, failing)

    def clear(self) -> None:
        for name, original in self._originals.items():
            self._monkeypatch.setattr(SimpleSystemManagerBackend, name, original)


@pytest.fixture
def ssm_faults(monkeypatch: pytest.MonkeyPatch) -> SsmFaults:
    return SsmFaults(monkeypatch)


@pytest.fixture
def ssm_timeouts() -> Iterator[None]:
    """The functions' SSM client timing out on every read (no answer within its read timeout)."""
    client = aws_clients.client("ssm")

    def time_out(request: Any, **_kwargs: Any) -> None:
        raise ReadTimeoutError(endpoint_url=request.url)

    for operation in ("GetParameters", "GetParametersByPath"):
        client.meta.events.register(f"before-send.ssm.{operation}", time_out, unique_id=f"test-timeout-{operation}")
    yield
    for operation in ("GetParameters", "GetParametersByPath"):
        client.meta.events.unregister(f"before-send.ssm.{operation}", unique_id=f"test-timeout-{operation}")


# ---- SSM failures never mean "not configured" ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [("ThrottlingException", 400), ("InternalServerError", 500), ("AccessDeniedException", 400), ("InvalidKeyId", 400)],
)
def test_an_unreadable_url_leaves_the_record_for_the_stream_instead_of_skipping_it(
    aws, lambda_context, receiver, configure, ssm_faults, logs, code, status
):
    # Given a URL saved in the settings document, no WEBHOOK_URL, and SSM failing every read on a cold start
    put_document(aws, url=receiver.url)
    configure(webhook_url_env="", settings_max_age=0)
    ssm_faults.fail(code, status)
    event = batch_of(1)
    # When the notifier meets a new user, then the record is left for the stream to retry: not skipped, not sent
    assert notifier_failures(event, lambda_context) == [event["Records"][0]["dynamodb"]["SequenceNumber"]]
    assert "webhook not configured" not in logs.getvalue()
    # And once SSM answers again, the retry delivers it
    ssm_faults.clear()
    assert notifier_failures(event, lambda_context) == []
    assert len(receiver.wait_for(1)) == 1


def test_an_unreadable_url_is_not_replaced_by_webhook_url(aws, lambda_context, receiver, configure, ssm_faults):
    # Given an admin's URL in SSM, a different WEBHOOK_URL, and SSM throttling on a cold start
    put_document(aws, url="http://127.0.0.1:9/the-admins-choice")
    configure(webhook_url_env=receiver.url, settings_max_age=0)
    ssm_faults.fail("ThrottlingException")
    event = batch_of(1)
    # Then nothing goes to WEBHOOK_URL, which the admin replaced: the record waits for SSM
    assert notifier_failures(event, lambda_context) == [event["Records"][0]["dynamodb"]["SequenceNumber"]]
    assert receiver.wait_for(1, timeout=0.3) == []


def test_a_read_timeout_leaves_the_record_for_the_stream(aws, lambda_context, receiver, configure, ssm_timeouts):
    configure(webhook_url_env=receiver.url, settings_max_age=0)
    event = batch_of(1)
    assert notifier_failures(event, lambda_context) == [event["Records"][0]["dynamodb"]["SequenceNumber"]]
    assert receiver.wait_for(1, timeout=0.3) == []


def test_only_settings_that_do_not_exist_mean_not_configured(aws, lambda_context, configure, ssm_reads, logs):
    configure(webhook_url_env="", settings_max_age=0)
    assert notifier_failures(batch_of(1), lambda_context) == []
    assert "webhook not configured" in logs.getvalue()
    # every endpoint's documents, then the older parameters (none exist)
    assert dict(ssm_reads) == {"get_parameters_by_path": 1, "get_parameters": 1}


def test_throttled_ssm_keeps_the_last_good_settings(aws, lambda_context, receiver, configure, ssm_faults, logs):
    # Given the settings read once successfully
    put_document(aws, url=receiver.url)
    configure(webhook_url_env="", settings_max_age=0)
    assert notifier_failures(batch_of(1), lambda_context) == []
    # When SSM starts throttling
    ssm_faults.fail("ThrottlingException")
    assert notifier_failures({"Records": batch_of(2)["Records"][1:]}, lambda_context) == []
    # Then the last good URL is still used, and the log says so
    assert len(receiver.wait_for(2)) == 2
    assert "SSM unavailable: using the last good settings" in logs.getvalue()


# ---- one read per batch ----------------------------------------------------------------------------------------------


def test_a_cold_start_with_a_full_batch_reads_ssm_once(aws, lambda_context, receiver, configure, ssm_reads):
    # Given every setting saved (the older parameters too, as an existing deployment has them) and a cold start
    put_document(aws, url=receiver.url, format="text", message_template="Hi {name}")
    aws.ssm.put_parameter(Name=sandbox.PARAMETER_NAME, Value="http://127.0.0.1:9/old", Type="SecureString")
    configure(webhook_url_env="", settings_max_age=10)
    # When a full batch of 10 new users is delivered by the concurrent delivery threads
    assert notifier_failures(batch_of(10), lambda_context) == []
    # Then every user was notified with the document's settings after a single SSM read (of every endpoint's)
    assert sorted(r.text for r in receiver.wait_for(10)) == sorted(f"Hi User {i}" for i in range(10))
    assert dict(ssm_reads) == {"get_parameters_by_path": 1}


# ---- the reader, with plain fakes ------------------------------------------------------------------------------------
