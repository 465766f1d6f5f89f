"""The benchmark still runs: a tiny `python -m bench` and the report from the committed results. Not a speed test."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from local.template import ROOT


def merged_run(out: Path, *args: str) -> dict[str, Any]:
    """`python -m bench <args> --merge` into a copy of the committed results in `out`; the merged results."""
    shutil.copy(ROOT / "docs" / "benchmarks.json", out / "benchmarks.json")
    command = [sys.executable, "-m", "bench", *args, "--merge", "--out", str(out)]

    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return dict(json.loads((out / "benchmarks.json").read_text(encoding="utf-8")))


def test_a_tiny_benchmark_run_merges_its_figures_into_the_earlier_results(tmp_path: Path) -> None:
    # When a tiny run measures three figures (the outage: 3 s, with a schedule that outlasts it) and merges them
    # into the committed results
    args = ["--only", "batch", "cold_start", "outage", "slow_receiver"]
    args += ["--batch-users", "3", "--batch-delay", "0", "--repeats", "1", "--outage-seconds", "3"]
    args += ["--outage-schedule", "1s,2s", "--steady-rate", "2", "--steady-seconds", "2", "--steady-receiver", "0.2"]
    results = merged_run(tmp_path, *args)

    # Then its figures replace those, the others stay, and each new one says which run measured it
    assert (results["figures"]["batch"]["users"], results["figures"]["batch"]["not_delivered"]) == (3, 0)
    assert "functions/notifier" in results["figures"]["cold_start"]["modules"]
    outage = results["figures"]["outage"]
    assert outage["signups"] > 0
    assert (outage["delivered"], outage["lost"], outage["duplicates"]) == (outage["signups"], 0, 0)
    assert outage["refused_by_receiver"] > 0  # the outage was real: attempts were refused
    assert "latency" in results["figures"]
    steady = results["figures"]["slow_receiver"]
    assert (steady["signups"], steady["not_delivered"], len(steady["series"])) == (4, 0, 4)
    assert set(results["figure_runs"]) >= {"batch", "cold_start", "outage", "slow_receiver"}
    assert {row["goal"] for row in results["goals"] if row["value"] is not None} >= {
        "Cold start: functions/notifier import",
        "Slow receiver, sustained rate: signup → webhook p50",
    }
    text = (tmp_path / "benchmarks.md").read_text(encoding="utf-8")
    assert "## 3. Batch delivery" in text
    assert "## 8. Receiver outage" in text
    assert "## 9. Slow receiver at a sustained signup rate" in text
    assert "## Goals" in text


def test_a_tiny_fanout_run_delivers_every_signup_to_every_endpoint_within_the_notifiers_limits(tmp_path: Path) -> None:
    results = merged_run(tmp_path, "--only", "fanout", "--fanout-repeats", "1")

    fanout = results["figures"]["fanout"]
    for count in ("1", "10"):
        measured = fanout["endpoints"][count]
        assert (measured["not_delivered"], measured["http_requests_per_signup"]) == (0, int(count))
        for batch in measured["batches"].values():
            assert batch["failures"] == 0
            assert batch["threads_started"]["delivery"] == int(count) * min(batch["records"], 10)  # a lane each
            assert batch["per_signup"]["idempotency_writes"] == 2 * int(count)
    assert fanout["limits"]["share_of_timeout"] < 0.5 and fanout["limits"]["share_of_memory"] < 0.5
    assert fanout["cost"]["10"]["total_usd_by_batch_size"]["1"] > fanout["cost"]["1"]["total_usd_by_batch_size"]["1"]
    assert "fanout" in results["figure_runs"] and "latency" in results["figures"]
    assert "## 10. Fan-out: 1 vs 10 endpoints" in (tmp_path / "benchmarks.md").read_text(encoding="utf-8")
