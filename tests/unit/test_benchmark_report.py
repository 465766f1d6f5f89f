"""The benchmark's report renders every section from the committed results (docs/benchmarks.json)."""

from __future__ import annotations

import json

from bench import report
from local.template import ROOT


def test_the_committed_results_render_every_figure() -> None:
    results = json.loads((ROOT / "docs" / "benchmarks.json").read_text(encoding="utf-8"))

    text = report.markdown(results)

    for number in range(1, 9):
        assert f"## {number}. " in text
    assert "## 10. Fan-out: 1 vs 10 endpoints" in text
