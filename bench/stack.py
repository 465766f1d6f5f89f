"""The local stack as the benchmarks run it (see local/process.py), what they read from its log, and a client."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import statistics
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.process import StackProcess, start_local_stack
from local.receiver import ReceivedRequest, Receiver
from local.template import ROOT

PASSWORD = "correct horse battery staple"  # noqa: S105 - every benchmark user has it
MESSAGE = re.compile(r"^New user signed up: (?P<name>.+)$")
REPORT = re.compile(r"^\[(?P<function>\w+)\] REPORT RequestId: \S+\tDuration: (?P<ms>[\d.]+) ms$")
STREAM_BATCH = re.compile(r"^\[stream\] NotifierFunction <- (?P<records>\d+) record\(s\)")


class RunningStack(StackProcess):
    """The local stack, with what the benchmarks read from its log and its queue."""

    def log_lines(self) -> list[str]:
        return self.log().splitlines()

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

    def admin(self, method: str, path: str, body: object = None) -> Any:
        """An admin API call with the stack's token; its JSON answer. Raises for an answer that is not 2xx."""
        request = urllib.request.Request(  # noqa: S310 - the local stack on loopback
            f"{self.api}{path}",
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())

    def dead_letters(self) -> int:
        sqs, url = self.client("sqs"), self.info["resources"]["DeadLetterQueue"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


@contextlib.contextmanager
def local_stack(
    webhook_url: str,
    retry_schedule: str | None = None,
    root: Path | None = None,
    env_vars: dict[str, dict[str, str]] | None = None,
) -> Iterator[RunningStack]:
    """`python -m local run` on a free port, sending to `webhook_url`, with the template's own settings and the
    local retry schedule unless `retry_schedule` (RETRY_SCHEDULE, e.g. "5s,10s") is given; the stack of the checkout
    at `root` (this one by default), with `env_vars` as `sam local --env-vars` takes them ("Parameters" for the
    template's)."""
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp:
        started = start_local_stack(Path(tmp), webhook_url, env_vars, retry_schedule=retry_schedule, root=root or ROOT)
        running = RunningStack(started.process, started.info, started.log_path)
        try:
            yield running
        finally:
            running.stop(timeout=20)


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
