"""The benchmark still runs: a tiny `python -m bench` and the report from the committed results. Not a speed test."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from bench import report
from local.template import ROOT


def test_a_tiny_benchmark_run_merges_its_figures_into_the_earlier_results(tmp_path: Path) -> None:
    # Given the committed results
    shutil.copy(ROOT / "docs" / "benchmarks.json", tmp_path / "benchmarks.json")
    # When a tiny run measures three figures (the outage: 3 s, with a schedule that outlasts it) and merges them
    command = [sys.executable, "-m", "bench", "--only", "batch", "cold_start", "outage", "slow_receiver"]
    command += ["--batch-users", "3", "--batch-delay", "0", "--repeats", "1", "--outage-seconds", "3"]
    command += ["--outage-schedule", "1s,2s", "--steady-rate", "2", "--steady-seconds", "2", "--steady-receiver", "0.2"]
    command += ["--merge", "--out", str(tmp_path)]

    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603

    # Then its figures replace those, the others stay, and each new one says which run measured it
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / "benchmarks.json").read_text(encoding="utf-8"))
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


def test_the_committed_results_render_every_figure() -> None:
    results = json.loads((ROOT / "docs" / "benchmarks.json").read_text(encoding="utf-8"))

    text = report.markdown(results)

    for number in range(1, 9):
        assert f"## {number}. " in text
