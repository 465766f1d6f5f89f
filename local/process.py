"""The local stack in a process of its own, as a user runs it (`python -m local run`): for tests and benchmarks.

It listens on free ports, sends to the webhook URL it is given, and takes per-function variables the way
`sam local` does (`--env-vars`). Its whole output (every function's labelled log) goes to a file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from local.template import ROOT

START_TIMEOUT = 60.0  # generous: the machine may be busy
STOP_TIMEOUT = 10.0


class StackDidNotStart(RuntimeError):
    """The stack exited or did not get ready in time; the message ends with its output."""


@dataclass
class StackProcess:
    process: subprocess.Popen[bytes]
    info: dict[str, Any]  # what the stack wrote to its ready file: URLs, the admin token, resource names
    log_path: Path

    @property
    def api(self) -> str:
        return str(self.info["api_url"])

    @property
    def token(self) -> str:
        return str(self.info["admin_token"])

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def client(self, service: str) -> Any:
        """A boto3 client for the stack's own moto server."""
        return boto3.client(
            service,
            endpoint_url=self.info["aws_endpoint"],
            region_name=self.info["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
            aws_session_token="testing",  # noqa: S106
        )

    def worker_pid(self, function_id: str) -> int | None:
        """The process id of a function's live worker (a child of the stack), None while it has none. Linux only:
        for tests that kill a worker, as Lambda loses an execution environment."""
        pids = self.worker_pids(function_id)
        return pids[0] if pids else None

    def worker_pids(self, function_id: str) -> list[int]:
        """The process ids of a function's live workers, one per execution environment. Linux only."""
        name = json.dumps(self.info["functions"][function_id]).encode()  # as the worker's spec argument spells it
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
                command = (entry / "cmdline").read_bytes()
            except OSError:  # it exited meanwhile
                continue
            if int(parent) == self.process.pid and state != "Z" and name in command:
                found.append(int(entry.name))
        return found

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """Ctrl-C, as a user stops it. The exit code, or None when it had to be killed."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None


def start_local_stack(
    folder: Path,
    webhook_url: str,
    env_vars: dict[str, dict[str, str]] | None = None,
    timeout: float = START_TIMEOUT,
    retry_schedule: str | None = None,
    root: Path = ROOT,
    environments: dict[str, int] | None = None,
) -> StackProcess:
    """Start `python -m local run` on free ports, keeping its files in `folder`; return once it is ready. `root` is
    the checkout whose stack runs (the benchmark compares another commit's with this one's). `environments`: the
    most execution environments of a function (`--environments`), for tests of invocations side by side."""
    ready, log_path = folder / "ready.json", folder / "stack.log"
    command = [sys.executable, "-m", "local", "run", "--port", "0", "--ready-file", str(ready)]
    if env_vars:
        env_file = folder / "env.json"
        env_file.write_text(json.dumps(env_vars), encoding="utf-8")
        command += ["--env-vars", str(env_file)]
    for function, count in (environments or {}).items():
        command += ["--environments", f"{function}={count}"]
    env = {**os.environ, "WEBHOOK_URL": webhook_url, "LOGS": "json"}  # the log records whole, for the tests to read
    if retry_schedule:
        env["RETRY_SCHEDULE"] = retry_schedule
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    deadline = time.monotonic() + timeout
    while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not ready.exists():
        process.kill()
        process.wait()
        output = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise StackDidNotStart(f"the local stack did not start:\n{output}")
    info = json.loads(ready.read_text(encoding="utf-8"))
    info["ready_file"] = str(ready)
    return StackProcess(process, info, log_path)
