"""`python -m local run --json-logs` (or LOGS=json, as `make run LOGS=json` sets it) asks the stack for the
functions' log records whole; without either it summarises them (local/log_view.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import local.__main__ as cli
from local.stack import Options


def options_of(monkeypatch: pytest.MonkeyPatch, argv: list[str], logs: str | None) -> Options:
    started: list[Options] = []

    def serve(options: Options, ready_file: Path | None) -> int:
        started.append(options)
        return 0

    monkeypatch.setattr(cli, "serve", serve)
    if logs is None:
        monkeypatch.delenv("LOGS", raising=False)
    else:
        monkeypatch.setenv("LOGS", logs)
    assert cli.main(argv) == 0
    return started[0]


@pytest.mark.parametrize(
    ("argv", "logs", "json_logs"),
    [
        (["run"], None, False),
        (["run", "--json-logs"], None, True),
        (["run"], "json", True),
        (["run"], "", False),
    ],
    ids=["default", "flag", "LOGS=json", "LOGS-empty"],
)
def test_the_log_view_follows_the_flag_and_logs(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], logs: str | None, json_logs: bool
) -> None:
    assert options_of(monkeypatch, argv, logs).json_logs is json_logs
