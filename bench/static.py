"""Figures 5 and 6: cold-start import time, built sizes, and the notifier's peak memory on a batch."""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from typing import Any

from bench.stack import RunningStack, TimedReceiver
from local.functions import function_specs
from local.resolve import REGION, Resolver
from local.stack import LOCAL_PARAMETERS, STACK_NAME
from local.template import ROOT, load_template

PROBE = ROOT / "bench" / "probe.py"
BUILD = ROOT / ".aws-sam" / "build"


def function_environments(overrides: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    """Each function's environment as the template gives it (Globals merged), plus what Lambda itself sets."""
    template = load_template()
    resolver = Resolver(template, STACK_NAME, {**LOCAL_PARAMETERS, **(overrides or {})})
    for logical_id, resource in template["Resources"].items():  # attributes known only once a table exists
        if resource["Type"] == "AWS::DynamoDB::Table":
            arn = resolver.get_att(logical_id, "Arn")
            resolver.attributes[logical_id] = {"Arn": arn, "StreamArn": f"{arn}/stream/local"}
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }
    specs = function_specs(template, resolver)
    return {
        spec.code_dir.relative_to(ROOT).as_posix(): {**base, "AWS_LAMBDA_FUNCTION_NAME": spec.name, **spec.environment}
        for spec in specs.values()
    }


def run_probe(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - our own probe with our interpreter
        [sys.executable, str(PROBE), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"probe {args} failed:\n{done.stderr[-2000:]}")
    return dict(json.loads(lines[-1]))


def cold_start(repeats: int) -> dict[str, Any]:
    """Median wall-clock time of importing each handler module in a fresh process, beside `import boto3`."""
    environments = function_environments()
    targets = {"boto3 (baseline)": ("boto3", next(iter(environments.values())))}
    targets.update({path: (path, env) for path, env in sorted(environments.items())})
    # Round robin, so that a change in the machine's load during the runs weighs on every module alike.
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in targets}
    for _ in range(repeats):
        for label, (target, env) in targets.items():
            runs[label].append(run_probe(["import", target], env))
    figures = {}
    for label in targets:
        figures[label] = {
            "import_ms_median": round(statistics.median(r["import_seconds"] for r in runs[label]) * 1000, 1),
            "import_ms_min": round(min(r["import_seconds"] for r in runs[label]) * 1000, 1),
            "rss_after_import_mb": round(statistics.median(r["rss_after_import_kb"] for r in runs[label]) / 1024, 1),
        }
    return {"repeats": repeats, "modules": figures}


def built_sizes() -> dict[str, Any]:
    """Unzipped and zipped size of each function and of the layer, from `sam build`'s output."""
    if not (BUILD / "template.yaml").exists():
        return {"built": False, "note": "not built: run `make build` (sam build) first"}
    sizes = {}
    for folder in sorted(p for p in BUILD.iterdir() if p.is_dir()):
        files = [p for p in folder.rglob("*") if p.is_file()]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, path.relative_to(folder).as_posix())
        sizes[folder.name] = {
            "files": len(files),
            "unzipped_kb": round(sum(p.stat().st_size for p in files) / 1024, 1),
            "zipped_kb": round(len(buffer.getvalue()) / 1024, 1),
        }
    built_at = datetime.fromtimestamp((BUILD / "template.yaml").stat().st_mtime, UTC)
    return {"built": True, "built_at": built_at.isoformat(timespec="seconds"), "artifacts": sizes}


def notifier_memory(stack: RunningStack, records: int) -> dict[str, Any]:
    """Peak RSS of a fresh notifier process that imports its handler and runs one batch of `records` new users
    against the stack's moto and an instant receiver in this process."""
    receiver = TimedReceiver().start(0.0)
    try:
        overrides = {"WebhookUrl": receiver.url}
        env = function_environments(overrides)["functions/notifier"]
        env["AWS_ENDPOINT_URL"] = str(stack.info["aws_endpoint"])
        env["DEAD_LETTER_QUEUE_URL"] = str(stack.info["resources"]["DeadLetterQueue"])
        result = run_probe(["batch", "functions/notifier", str(records)], env)
        delivered = sum(len(times) for name, times in receiver.arrivals.items() if name.startswith("memory-"))
    finally:
        receiver.stop()
    return {
        "records": records,
        "rss_after_import_mb": round(result["rss_after_import_kb"] / 1024, 1),
        "peak_rss_mb": round(result["peak_rss_kb"] / 1024, 1),
        "batch_seconds": round(result["batch_seconds"], 2),
        "ms_per_record": round(result["batch_seconds"] * 1000 / records, 2),
        "delivered": delivered,
        "failures": result["failures"],
    }
