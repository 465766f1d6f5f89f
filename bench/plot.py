"""docs/benchmarks.png: signup → webhook latency over time in the slow-receiver scenario, before and after.

matplotlib comes from requirements/bench.txt, which `make bench` installs and `make test` does not: without it the
benchmark still writes its tables and says the plot was skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def slow_receiver(results: dict[str, Any], path: Path) -> Path | None:
    """Plot the run's slow-receiver series and the "before" one, if any. None when there is nothing to plot or no
    matplotlib."""
    figures = results["figures"]
    after, before = figures.get("slow_receiver"), figures.get("slow_receiver_before")
    if not after:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display: a file only
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (requirements/bench.txt): docs/benchmarks.png not drawn", flush=True)
        return None

    figure, axes = plt.subplots(figsize=(9, 4.8), dpi=110)
    for label, data, colour in (("before", before, "tab:red"), ("after", after, "tab:blue")):
        if not data:
            continue
        xs, ys = zip(*data["series"], strict=True) if data["series"] else ((), ())
        p50 = data["latency_ms"]["p50"]
        axes.plot(
            xs,
            ys,
            ".",
            markersize=4,
            color=colour,
            label=f"{label} (git {data['git']}): p50 {p50 / 1000:.2f} s, growth {data['growth']}",
        )
    receiver = after["receiver_seconds"]
    axes.axhline(receiver, color="grey", linestyle=":", label=f"the receiver's own time ({receiver:g} s)")
    axes.axhline(receiver * 1.5, color="grey", linestyle="--", label=f"goal for the p50 ({receiver * 1.5:g} s)")
    axes.set_xlabel("signup's response, seconds into the run")
    axes.set_ylabel("signup → webhook answered (s)")
    axes.set_title(
        f"Slow receiver at a sustained rate: {after['rate']:g} signups/s for {after['seconds']:g} s,"
        f" receiver {receiver:g} s"
    )
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
