"""Run in a fresh process by bench/static.py, with a function's environment. Prints one JSON line.

    python bench/probe.py import boto3                 time a bare `import boto3`
    python bench/probe.py import functions/<name>      time importing the handler module (the cold start's init)
    python bench/probe.py batch functions/notifier N   import the notifier, run one batch of N new users, peak RSS

The handler is imported as Lambda does it: its code folder first on sys.path, then the layer.
"""

from __future__ import annotations

import copy
import importlib
import json
import resource
import sys
import time
import uuid
from pathlib import Path

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


def _records(count: int) -> list[dict[str, object]]:
    event = json.loads((ROOT / "events" / "notifier_new_user.json").read_text(encoding="utf-8"))
    records, run = [], uuid.uuid4().hex[:8]  # fresh ids: an earlier run's idempotency records must not match
    for index in range(count):
        record = copy.deepcopy(event["Records"][0])
        image, user_id = record["dynamodb"]["NewImage"], f"{run}-0000-4000-8000-{index:012d}"
        image.update(pk={"S": f"USER#{user_id}"}, id={"S": user_id}, name={"S": f"memory-{index}"})
        record["dynamodb"]["Keys"] = {"pk": image["pk"]}
        record["dynamodb"]["SequenceNumber"] = str(100000000000000000000 + index)
        record["eventID"] = f"{run}{index:024x}"
        records.append(record)
    return records


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
