"""Figure 10: what one signup costs the notifier with 1 and with 10 webhook endpoints.

One local stack holds the endpoints, made through the admin API, each sending to a loopback receiver of its own (a
host of its own, as real endpoints are: the delivery threads keep connections per address) that answers at once. A
fresh notifier process (bench/probe.py, as figure 6) then runs warm batches of 1 and of 10 new users against the
stack's moto: wall time per batch, threads, AWS calls (local/aws_calls.py's hook), log bytes, peak RSS and traced
memory. Every invocation reads the settings (SETTINGS_CACHE_SECONDS=0), as a cold environment or an expired cache does.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from bench import cost
from bench.stack import RunningStack, closed_port_url, local_stack
from bench.static import run_probe
from local.receiver import Receiver

ENDPOINT_COUNTS = (1, 10)  # the default endpoint alone, then the most there may be (endpoints.MAX_ENDPOINTS)
BATCH_SIZES = (1, 10)  # one signup, and a full batch (the stream mapping's BatchSize)
FUNCTION = "NotifierFunction"
# Lambda gives a function one vCPU at 1,769 MB and a share in proportion below that.
LAMBDA_MB_PER_VCPU = 1769
WRITE_OPERATIONS = ("PutItem", "UpdateItem", "DeleteItem")


def fanout(repeats: int) -> dict[str, Any]:
    """Each endpoint count in turn on one stack: the default endpoint alone, then nine more beside it."""
    receivers = [Receiver().start() for _ in range(max(ENDPOINT_COUNTS))]
    try:
        # WEBHOOK_URL leads nowhere: every endpoint, the default one included, gets a document with its own URL.
        with local_stack(closed_port_url()) as stack:
            stack.admin("PUT", "/api/v1/admin/webhook", {"url": receivers[0].url, "format": "json"})
            measured = {}
            for count in ENDPOINT_COUNTS:
                made = len(stack.admin("GET", "/api/v1/admin/webhooks")["items"])
                for index, receiver in enumerate(receivers[made:count], start=made):
                    stack.admin("POST", "/api/v1/admin/webhooks", {"name": f"bench {index}", "url": receiver.url})
                measured[str(count)] = _measure(stack, receivers[:count], repeats)
            largest = {table: _largest_item_bytes(stack, table) for table in ("IdempotencyTable", "DeliveriesTable")}
    finally:
        for receiver in receivers:
            receiver.stop()
    limits = _limits(measured)
    return {
        "repeats": repeats,
        "endpoints": measured,
        "limits": limits,
        "largest_item_bytes": largest,
        "cost": {
            count: per_million_signups(figure, limits["memory_mb"], write_units(largest))
            for count, figure in measured.items()
        },
        "prices_as_of": cost.PRICES_AS_OF,
    }


def _measure(stack: RunningStack, receivers: list[Receiver], repeats: int) -> dict[str, Any]:
    seen = [len(receiver.received) for receiver in receivers]
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as folder:
        env = {
            **stack.info["environments"][FUNCTION],
            "AWS_ENDPOINT_URL": str(stack.info["aws_endpoint"]),  # moto itself, as figure 6: no fault injection
            "SETTINGS_CACHE_SECONDS": "0",
            "AWS_CALL_LOG": str(Path(folder) / "calls.jsonl"),
        }
        sizes = ",".join(str(size) for size in BATCH_SIZES)
        result = run_probe(["fanout", "functions/notifier", sizes, str(repeats)], env)
    answers = [
        request.status for receiver, old in zip(receivers, seen, strict=True) for request in receiver.received[old:]
    ]
    # The probe's warm-up batch of 1, the timed batches and one traced batch of each size
    signups = 1 + (repeats + 1) * sum(BATCH_SIZES)
    return {
        "endpoints": len(receivers),
        "batches": {size: _batch(raw) for size, raw in result["batches"].items()},
        "peak_rss_mb": round(result["peak_rss_kb"] / 1024, 1),
        "rss_after_import_mb": round(result["rss_after_import_kb"] / 1024, 1),
        "signups": signups,
        "http_requests": len(answers),
        "http_requests_per_signup": round(len(answers) / signups, 2),
        "not_delivered": signups * len(receivers) - sum(status < 300 for status in answers),
    }


def _batch(raw: dict[str, Any]) -> dict[str, Any]:
    """One batch size's figures, its AWS calls grouped as a bill groups them."""
    records, calls = raw["records"], raw["aws_calls_per_batch"]

    def per_batch(service: str, *operations: str, table: str = "") -> float:
        return sum(
            count
            for name, count in calls.items()
            if name.startswith(f"{service}:")
            and (not operations or name.split(":")[1].split("@")[0] in operations)
            and table in name.split("@")[1]
        )

    return {
        "records": records,
        "wall_ms_median": round(raw["seconds_median"] * 1000, 1),
        "wall_ms_max": round(raw["seconds_max"] * 1000, 1),
        "ms_per_signup": round(raw["seconds_median"] * 1000 / records, 1),
        "failures": raw["failures"],
        "threads_started": raw["threads_started"],
        "peak_threads": raw["peak_threads"],
        "traced_peak_mb": raw["traced_peak_mb"],
        "log_bytes_per_signup": round(raw["log_bytes_per_batch"] / records),
        "ssm_calls_per_invocation": per_batch("ssm"),
        "per_signup": {
            "idempotency_writes": per_batch("dynamodb", *WRITE_OPERATIONS, table="IDEMPOTENCY_TABLE") / records,
            "delivery_log_and_health_writes": per_batch("dynamodb", *WRITE_OPERATIONS, table="DELIVERIES_TABLE")
            / records,
            "dynamodb_other_calls": (per_batch("dynamodb") - per_batch("dynamodb", *WRITE_OPERATIONS)) / records,
            "sqs_requests": per_batch("sqs") / records,
        },
        "aws_calls_per_batch": calls,
    }


def per_million_signups(figure: dict[str, Any], memory_mb: int, units_per_write: int = 1) -> dict[str, Any]:
    """The notifier's share of a million signups' bill (the signup side does not change with the endpoints: figure 7),
    signups arriving one at a time (an invocation each, as at the latency run's rate) and in full batches."""
    by_size = {size: _cost_lines(batch, memory_mb, units_per_write) for size, batch in figure["batches"].items()}
    return {
        "usd_one_at_a_time": {name: round(usd, 2) for name, usd in by_size[str(min(BATCH_SIZES))].items()},
        "total_usd_by_batch_size": {size: round(sum(lines.values()), 2) for size, lines in by_size.items()},
    }


def _cost_lines(batch: dict[str, Any], memory_mb: int, units_per_write: int) -> dict[str, float]:
    prices, signups, each = cost.PRICES, cost.SIGNUPS, batch["per_signup"]
    invocations = signups / batch["records"]
    write_unit = units_per_write * prices["dynamodb_on_demand_per_million_write_units"] / 1e6
    gb_seconds = invocations * math.ceil(batch["wall_ms_median"]) / 1000 * memory_mb / 1024  # billed per started ms
    return {
        "lambda_notifier_requests": invocations / 1e6 * prices["lambda_per_million_requests"],
        "lambda_notifier_compute": gb_seconds * prices["lambda_arm64_per_gb_second"],
        # A write costs a unit per KB of the item (the larger of before and after); the idempotency record is put,
        # then updated.
        "dynamodb_idempotency_writes": signups * each["idempotency_writes"] * write_unit,
        "dynamodb_delivery_log_and_health_writes": signups * each["delivery_log_and_health_writes"] * write_unit,
        "sqs_requests": signups * each["sqs_requests"] / 1e6 * prices["sqs_standard_per_million_requests"],
        "ssm_parameter_reads": 0.0,  # standard parameters on the standard throughput tier: no charge
        "cloudwatch_logs": signups * batch["log_bytes_per_signup"] / 1e9 * prices["cloudwatch_logs_ingestion_per_gb"],
    }


def write_units(largest_item_bytes: dict[str, int]) -> int:
    """Write units per write, from the largest item the deliveries wrote (DynamoDB bills per started KB)."""
    return max(1, math.ceil(max(largest_item_bytes.values()) / 1024))


def _largest_item_bytes(stack: RunningStack, table_id: str) -> int:
    """The largest item of one of the stack's tables, by DynamoDB's item size rules (names and values)."""
    dynamodb, table = stack.client("dynamodb"), stack.info["resources"][table_id]
    pages = dynamodb.get_paginator("scan").paginate(TableName=table)
    return max((_item_size(item) for page in pages for item in page["Items"]), default=0)


def _item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    """DynamoDB's documented sizes: strings and binaries by length, numbers about a byte per two digits, one byte
    for a boolean or null, three bytes plus one per element for a list or map."""
    kind, content = next(iter(value.items()))
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        return len(content.lstrip("-").replace(".", "")) // 2 + 2
    if kind == "B":
        return len(content)
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in content)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + _value_size(element) for name, element in content.items())
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: element}) for element in content)
    return 1  # BOOL, NULL


def _limits(measured: dict[str, Any]) -> dict[str, Any]:
    """The heaviest case measured (most endpoints, a full batch) against the notifier's Timeout and MemorySize."""
    timeout = cost.function_settings("Timeout", 3)[FUNCTION]
    memory = cost.function_settings("MemorySize", 128)[FUNCTION]
    heaviest = measured[str(max(ENDPOINT_COUNTS))]
    batch = heaviest["batches"][str(max(BATCH_SIZES))]
    wall_seconds = batch["wall_ms_max"] / 1000
    return {
        "timeout_seconds": timeout,
        "memory_mb": memory,
        "heaviest": f"{max(ENDPOINT_COUNTS)} endpoints, a batch of {max(BATCH_SIZES)}",
        "wall_seconds_max": wall_seconds,
        "share_of_timeout": round(wall_seconds / timeout, 3),
        "peak_rss_mb": heaviest["peak_rss_mb"],
        "share_of_memory": round(heaviest["peak_rss_mb"] / memory, 2),
        "lambda_vcpu_share": round(memory / LAMBDA_MB_PER_VCPU, 2),
    }
