"""The settings reader's cache: served for its maximum age, the last good value for a bounded time when the store
fails, and one read shared by the threads that need it at once."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from signup_hooks.errors import StorageUnavailable
from signup_hooks.storage import settings_cache


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
