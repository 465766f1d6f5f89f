"""How the notifier reads its settings: one SSM call per batch shared by the delivery threads, the last good value
for a bounded time when SSM fails, and never "not configured" because SSM could not be read.

SSM's failures come from moto itself (the tests' moto server runs in this process): its handler answers as SSM
does, and botocore retries and raises as it would against AWS.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from moto.core.exceptions import JsonRESTError
from moto.ssm.models import SimpleSystemManagerBackend
from moto.ssm.responses import SimpleSystemManagerResponse
from signup_hooks import aws as aws_clients
from signup_hooks import settings, settings_cache, settings_store
from signup_hooks.errors import StorageUnavailable

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


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_reader_serves_its_cache_for_max_age_then_reads_again():
    clock, calls = FakeClock(), []
    reader = settings_cache.SettingsReader(fetch=lambda names: calls.append(names) or {"/a": "1"}, clock=clock)
    assert reader.read(("/a",), max_age=10) == {"/a": "1"}
    clock.now += 9
    reader.read(("/a",), max_age=10)
    assert len(calls) == 1
    clock.now += 2
    reader.read(("/a",), max_age=10)
    assert len(calls) == 2


def test_the_reader_uses_the_last_good_value_for_300_seconds_then_fails():
    clock, answers = FakeClock(), [{"/a": "good"}]

    def fetch(_names: Any) -> dict[str, str]:
        if not answers:
            raise StorageUnavailable("SSM could not be read: ThrottlingException")
        return answers.pop()

    reader = settings_cache.SettingsReader(fetch=fetch, clock=clock)
    assert reader.read(("/a",), max_age=0) == {"/a": "good"}
    clock.now += settings_cache.STALE_VALUE_MAX_SECONDS
    assert reader.read(("/a",), max_age=0) == {"/a": "good"}
    with pytest.raises(StorageUnavailable):
        reader.read(("/a",), max_age=0, stale_ok=False)  # the admin API never builds on a stale copy
    clock.now += 1
    with pytest.raises(StorageUnavailable):
        reader.read(("/a",), max_age=0)


def test_a_parameter_that_does_not_exist_is_remembered_as_absent_not_as_an_error():
    reader = settings_cache.SettingsReader(fetch=lambda _names: {}, clock=FakeClock())
    assert reader.read(("/a",), max_age=10) == {}


def test_threads_that_need_the_settings_at_once_share_one_read():
    calls = []

    def slow_fetch(names: Any) -> dict[str, str]:
        calls.append(names)
        time.sleep(0.2)
        return {"/a": "1"}

    reader = settings_cache.SettingsReader(fetch=slow_fetch)
    results: list[dict[str, str]] = []
    threads = [threading.Thread(target=lambda: results.append(reader.read(("/a",), max_age=10))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert results == [{"/a": "1"}] * 8
    assert len(calls) == 1


def test_a_document_that_is_not_json_is_an_error_not_an_empty_configuration():
    names = settings.SettingsNames("/doc")
    with pytest.raises(StorageUnavailable):
        settings.parse({"/doc": "not json"}, names, "")
    assert json.loads(settings_store.encode_document({"url": None}))["url"] is None
