"""Run in a fresh process by bench/static.py, with a function's environment. Prints one JSON line.

    python bench/probe.py import boto3                 time a bare `import boto3`
    python bench/probe.py import functions/<name>      time importing the handler module (the cold start's init)
    python bench/probe.py batch functions/notifier N   import the notifier, run one batch of N new users, peak RSS
    python bench/probe.py fanout functions/notifier 1,10 R   batches of 1 and of 10 new users, R of each: wall time,
                                                       threads, AWS calls, log bytes, peak RSS and traced memory

The handler is imported as Lambda does it: its code folder first on sys.path, then the layer.
"""

from __future__ import annotations

import collections
import copy
import importlib
import importlib.util
import io
import json
import os
import resource
import statistics
import sys
import threading
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "shared"


class Context:
    function_name = "NotifierFunction"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:NotifierFunction"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _import(target: str) -> tuple[object, float]:
    # This script's folder leaves sys.path; a handler sees its code folder, then the layer (/opt/python on Lambda).
    sys.path[0:1] = [] if target == "boto3" else [str(ROOT / target), str(LAYER)]
    started = time.perf_counter()
    module = importlib.import_module("boto3" if target == "boto3" else "app")
    return module, time.perf_counter() - started


def _records(count: int, prefix: str = "memory") -> list[dict[str, object]]:
    event = json.loads((ROOT / "events" / "notifier_new_user.json").read_text(encoding="utf-8"))
    records, run = [], uuid.uuid4().hex[:8]  # fresh ids: an earlier run's idempotency records must not match
    for index in range(count):
        record = copy.deepcopy(event["Records"][0])
        image, user_id = record["dynamodb"]["NewImage"], f"{run}-0000-4000-8000-{index:012d}"
        image.update(pk={"S": f"USER#{user_id}"}, id={"S": user_id}, name={"S": f"{prefix}-{index}"})
        record["dynamodb"]["Keys"] = {"pk": image["pk"]}
        record["dynamodb"]["SequenceNumber"] = str(100000000000000000000 + index)
        record["eventID"] = f"{run}{index:024x}"
        records.append(record)
    return records


class CountingStream(io.TextIOBase):
    """stdout, counting the bytes written: the function's log lines and metrics, what CloudWatch Logs ingests."""

    def __init__(self, stream: Any) -> None:
        self.stream, self.bytes = stream, 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        return int(self.stream.write(text))

    def flush(self) -> None:
        self.stream.flush()


THREAD_KINDS = {"deliver-": "delivery", "dns-lookup": "dns_lookup"}  # name prefixes (stream_batch.py, targets.py)


class ThreadCount:
    """Threads started by kind (delivery lanes, attempt timers, DNS lookups, others), and the most alive at once,
    since the last reset: counted where each starts."""

    def __init__(self) -> None:
        self.started: collections.Counter[str] = collections.Counter()
        self.peak = threading.active_count()
        start = threading.Thread.start
        count = self

        def counted(thread: threading.Thread) -> None:
            start(thread)
            kind = next((k for prefix, k in THREAD_KINDS.items() if thread.name.startswith(prefix)), "other")
            if isinstance(thread, threading.Timer):
                kind = "attempt_timer"  # time_limit.py's watchdog, one per attempt
            count.started[kind] += 1
            count.peak = max(count.peak, threading.active_count())

        threading.Thread.start = counted  # type: ignore[method-assign]

    def reset(self) -> None:
        self.started, self.peak = collections.Counter(), threading.active_count()


def _record_aws_calls() -> Path | None:
    """local/aws_calls.py's hook on every botocore client made from now on: one JSON line per call."""
    if not os.environ.get("AWS_CALL_LOG"):
        return None
    spec = importlib.util.spec_from_file_location("aws_calls", ROOT / "local" / "aws_calls.py")
    assert spec is not None and spec.loader is not None
    aws_calls = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(aws_calls)
    aws_calls.install(os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "probe"))
    return Path(os.environ["AWS_CALL_LOG"])


def _calls_since(log: Path | None, offset: int) -> tuple[collections.Counter[str], int]:
    """`service:Operation@VARIABLE` counts of the calls logged after `offset` bytes, and the new offset."""
    if log is None or not log.exists():
        return collections.Counter(), offset
    with log.open("rb") as lines:
        lines.seek(offset)
        new = lines.read()
    calls: collections.Counter[str] = collections.Counter()
    for line in new.decode().splitlines():
        call = json.loads(line)
        named = [touched.get("variable") or touched.get("raw", "?") for touched in call["resources"]]
        calls[f"{call['service']}:{call['operation']}@{','.join(named)}"] += 1
    return calls, offset + len(new)


def fanout(module: Any, sizes: list[int], repeats: int) -> dict[str, Any]:
    """Warm batches of each size: wall time, threads, AWS calls and log bytes per batch; then the process's peak RSS;
    then one more batch of each size under tracemalloc, for its peak traced memory (tracing slows the batch, so it is
    timed apart)."""
    stdout = sys.stdout = CountingStream(sys.stdout)
    threads, calls_log = ThreadCount(), _record_aws_calls()
    module.lambda_handler({"Records": _records(1, "fanout-warm")}, Context())  # first clients and connections
    offset = _calls_since(calls_log, 0)[1]
    batches: dict[str, Any] = {}
    for size in sizes:
        seconds, failures, started, peak, log_bytes = [], 0, [], [], []
        calls: collections.Counter[str] = collections.Counter()
        for _ in range(repeats):
            threads.reset()
            printed, began = stdout.bytes, time.perf_counter()
            response = module.lambda_handler({"Records": _records(size, "fanout")}, Context())
            seconds.append(time.perf_counter() - began)
            failures += len(response.get("batchItemFailures", []))
            started.append(dict(threads.started))
            peak.append(threads.peak)
            log_bytes.append(stdout.bytes - printed)
            made, offset = _calls_since(calls_log, offset)
            calls.update(made)
        batches[str(size)] = {
            "records": size,
            "repeats": repeats,
            "seconds_median": statistics.median(seconds),
            "seconds_max": max(seconds),
            "failures": failures,
            "threads_started": max(started, key=lambda kinds: sum(kinds.values())),
            "peak_threads": max(peak),
            "log_bytes_per_batch": statistics.median(log_bytes),
            "aws_calls_per_batch": {name: count / repeats for name, count in sorted(calls.items())},
        }
    peak_rss_kb = _peak_rss_kb()
    for size in sizes:
        tracemalloc.start()
        module.lambda_handler({"Records": _records(size, "fanout-traced")}, Context())
        batches[str(size)]["traced_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
    sys.stdout = stdout.stream
    return {"batches": batches, "peak_rss_kb": peak_rss_kb}


def main(argv: list[str]) -> int:
    mode, target = argv[1], argv[2]
    module, seconds = _import(target)
    result: dict[str, object] = {"import_seconds": seconds, "rss_after_import_kb": _peak_rss_kb()}
    if mode == "batch":
        event = {"Records": _records(int(argv[3]))}
        started = time.perf_counter()
        response = module.lambda_handler(event, Context())  # type: ignore[attr-defined]
        result["batch_seconds"] = time.perf_counter() - started
        result["failures"] = len(response.get("batchItemFailures", []))
        result["peak_rss_kb"] = _peak_rss_kb()
    if mode == "fanout":
        result.update(fanout(module, [int(size) for size in argv[3].split(",")], int(argv[4])))
    print(json.dumps(result), flush=True)
    return 0


def _peak_rss_kb() -> int:
    """This process's peak resident set size in KiB. ru_maxrss survives fork and exec on Linux, so a child forked
    from a bigger parent reports the parent's peak: VmHWM (the peak of this address space) does not."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
    except (OSError, StopIteration):
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux, bytes on macOS


if __name__ == "__main__":
    sys.exit(main(sys.argv))
