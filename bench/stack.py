"""The local stack as the tests run it (`python -m local run` in a subprocess, free ports), and a client for it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from local.receiver import ReceivedRequest, Receiver

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0  # generous: the machine may be busy with other work
PASSWORD = "correct horse battery staple"  # noqa: S105 - every benchmark user has it
MESSAGE = re.compile(r"^New user signed up: (?P<name>.+)$")
REPORT = re.compile(r"^\[(?P<function>\w+)\] REPORT RequestId: \S+\tDuration: (?P<ms>[\d.]+) ms$")
STREAM_BATCH = re.compile(r"^\[stream\] NotifierFunction <- (?P<records>\d+) record\(s\)")


@dataclass
class RunningStack:
    info: dict[str, Any]
    log_path: Path

    @property
    def api(self) -> str:
        return str(self.info["api_url"])

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.info["aws_endpoint"],
            region_name=self.info["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
            aws_session_token="testing",  # noqa: S106
        )

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def durations_ms(self, function: str) -> list[float]:
        """Each invocation's duration, from the REPORT lines the stack prints as Lambda does."""
        found = (REPORT.match(line) for line in self.log_lines())
        return [float(m["ms"]) for m in found if m and m["function"] == function]

    def notifier_batch_sizes(self) -> list[int]:
        return [int(m["records"]) for line in self.log_lines() if (m := STREAM_BATCH.match(line))]

    def log_bytes(self, function: str) -> int:
        """Bytes the function wrote to its log (what CloudWatch Logs would ingest), without the local label."""
        prefix = f"[{function}] "
        return sum(len(line.encode()) - len(prefix) + 1 for line in self.log_lines() if line.startswith(prefix))

    def dead_letters(self) -> int:
        sqs, url = self.client("sqs"), self.info["resources"]["DeadLetterQueue"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


@contextlib.contextmanager
def local_stack(webhook_url: str) -> Iterator[RunningStack]:
    """`python -m local run` on a free port, sending to `webhook_url`, with the template's own settings."""
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp:
        ready, log_path = Path(tmp) / "ready.json", Path(tmp) / "stack.log"
        command = [sys.executable, "-m", "local", "run", "--port", "0", "--ready-file", str(ready)]
        env = {**os.environ, "WEBHOOK_URL": webhook_url}
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if not ready.exists():
                raise RuntimeError("the local stack did not start:\n" + log_path.read_text(errors="replace")[-3000:])
            yield RunningStack(json.loads(ready.read_text(encoding="utf-8")), log_path)
        finally:
            process.send_signal(signal.SIGINT)  # Ctrl-C, as a user stops it
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class TimedReceiver:
    """The local stack's receiver, in this process, noting when each notification arrived (monotonic clock)."""

    receiver: Receiver = field(default_factory=Receiver)
    arrivals: dict[str, list[float]] = field(default_factory=dict)  # user name -> arrival times

    def __post_init__(self) -> None:
        self.receiver.on_request = self._arrived

    def _arrived(self, request: ReceivedRequest) -> None:
        match = MESSAGE.match(request.body.decode("utf-8", "replace"))
        self.arrivals.setdefault(match["name"] if match else "?", []).append(time.monotonic())

    def start(self, delay: float = 0.0) -> TimedReceiver:
        self.receiver.start()
        self.receiver.respond_with(200, delay)
        return self

    @property
    def url(self) -> str:
        return self.receiver.url

    def wait_for(self, names: set[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not names <= self.arrivals.keys() and time.monotonic() < deadline:
            time.sleep(0.05)
        return names <= self.arrivals.keys()

    def stop(self) -> None:
        self.receiver.stop()


def closed_port_url() -> str:
    """A URL on loopback where nothing listens: a receiver that is down (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


@dataclass(frozen=True)
class Signup:
    name: str
    status: int
    started: float
    answered: float

    @property
    def seconds(self) -> float:
        return self.answered - self.started


def sign_up(api: str, name: str) -> Signup:
    form = {"name": name, "email": f"{uuid.uuid4().hex[:16]}@example.com", "password": PASSWORD}
    request = urllib.request.Request(  # noqa: S310 - the local stack on loopback
        f"{api}/api/v1/auths/signup",
        data=json.dumps(form).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = 0
    return Signup(name, status, started, time.monotonic())


def percentiles(values: list[float], scale: float = 1000.0, digits: int = 1) -> dict[str, float | int | None]:
    """p50, p95, p99 (and the count), in milliseconds by default."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None}
    cuts = [values[0]] * 99 if len(values) == 1 else statistics.quantiles(values, n=100, method="inclusive")
    return {"n": len(values), **{f"p{p}": round(cuts[p - 1] * scale, digits) for p in (50, 95, 99)}}
