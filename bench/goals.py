"""Each goal the benchmark tracks, read from one run's figures: its value, its target, and whether it was met.

Every goal is a ratio or a figure within one run, so that a busy machine moves both sides of a ratio together.
`previous` fills the "previous run" column from the results a run replaces (docs/benchmarks.json).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Figures = dict[str, Any]
HANDLERS = ("functions/admin", "functions/authorizer", "functions/notifier", "functions/retry", "functions/signup")


def _get(figures: Figures, *path: str) -> Any:
    value: Any = figures
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _slow_kind(figures: Figures) -> str | None:
    kinds = [k for k in (_get(figures, "latency", "ratios_to_instant") or {}) if k.startswith("slow_")]
    return kinds[0] if kinds else None


def _cold_start_ratio(module: str) -> Callable[[Figures], float | None]:
    def ratio(figures: Figures) -> float | None:
        modules = _get(figures, "cold_start", "modules") or {}
        base, mine = modules.get("boto3 (baseline)"), modules.get(module)
        if not base or not mine:
            return None
        return round(mine["import_ms_median"] / base["import_ms_median"], 2)

    return ratio


# (name, what the value is, target, at most the target?, how to read the value from a run's figures)
GOALS: list[tuple[str, str, float | None, Callable[[Figures], Any]]] = [
    (
        "Slow receiver, sustained rate: signup → webhook p50",
        "times the receiver's own time",
        1.5,
        lambda f: _get(f, "slow_receiver", "p50_to_receiver"),
    ),
    (
        "Slow receiver, sustained rate: growth (last quarter's p50 / first quarter's)",
        "ratio",
        1.2,
        lambda f: _get(f, "slow_receiver", "growth"),
    ),
    (
        "Slow receiver, sustained rate: signup → webhook p99",
        "ms (reported)",
        None,
        lambda f: _get(f, "slow_receiver", "latency_ms", "p99"),
    ),
    (
        "Instant receiver: signup → webhook p50",
        "ms",
        300.0,
        lambda f: _get(f, "latency", "receivers", "instant", "end_to_end", "latency_ms", "p50"),
    ),
    (
        "Batch drain: 100 users, 200 ms receiver",
        "times the sequential bound",
        0.1,
        lambda f: _get(f, "batch", "ratio_to_sequential"),
    ),
    *[
        (f"Cold start: {module} import", "times a bare `import boto3`", 1.25, _cold_start_ratio(module))
        for module in (
            "functions/admin",
            "functions/authorizer",
            "functions/notifier",
            "functions/retry",
            "functions/signup",
        )
    ],
    (
        "Memory: notifier peak RSS, one batch of 100",
        "MB",
        128.0,
        lambda f: _get(f, "memory", "peak_rss_mb"),
    ),
    (
        "Signup latency with a slow receiver (p50)",
        "times with an instant one",
        1.05,
        lambda f: _get(f, "latency", "ratios_to_instant", _slow_kind(f) or "", "p50"),
    ),
]


def evaluate(figures: Figures, previous: Figures | None) -> list[dict[str, Any]]:
    """One row per goal: value in this run (None when not measured), the previous run's, and met or not."""
    rows = []
    for name, unit, target, read in GOALS:
        value = read(figures)
        rows.append(
            {
                "goal": name,
                "unit": unit,
                "target": target,
                "value": value,
                "previous": read(previous) if previous else None,
                "met": None if value is None or target is None else bool(value <= target),
            }
        )
    return rows
