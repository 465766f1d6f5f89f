"""The benchmark still runs: a tiny `python -m bench` and the report from the committed results. Not a speed test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import report
from local.template import ROOT


def test_a_tiny_benchmark_run_writes_its_figures(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bench", "--only", "batch", "cold_start", "--batch-users", "3"]
    command += ["--batch-delay", "0", "--repeats", "1", "--out", str(tmp_path)]

    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / "benchmarks.json").read_text(encoding="utf-8"))
    assert results["figures"]["batch"]["not_delivered"] == 0
    assert "functions/notifier" in results["figures"]["cold_start"]["modules"]
    assert "## 3. Batch delivery" in (tmp_path / "benchmarks.md").read_text(encoding="utf-8")


def test_the_committed_results_render_every_figure() -> None:
    results = json.loads((ROOT / "docs" / "benchmarks.json").read_text(encoding="utf-8"))

    text = report.markdown(results)

    for number in range(1, 8):
        assert f"## {number}. " in text
