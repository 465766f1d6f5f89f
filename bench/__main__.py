"""`python -m bench` (make bench): run the benchmark, print each figure, write docs/benchmarks.{json,md}.

The defaults fit in 6 minutes on 2 cores, where an Argon2id signup costs about 0.1-0.2 s and the local stack runs one
signup environment: 100 signups per receiver, a burst of 200, the slow receiver at 6 signups a second for 40 s, and a
30 s outage with its recovery. Larger: `make bench ARGS="--signups 500 --burst 1000 --outage-seconds 60"`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cost, fanout, flow, goals, outage, plot, report, static, sustained
from bench.stack import TimedReceiver, local_stack
from local.template import ROOT

FIGURES = ("cold_start", "memory", "batch", "latency", "slow_receiver", "burst", "outage", "fanout")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--signups", type=int, default=100, help="signups per receiver for latency (100)")
    parser.add_argument("--concurrency", type=int, default=1, help="client threads for the latency runs (1)")
    parser.add_argument("--slow-receiver", type=float, default=2.0, help="seconds the slow receiver takes (2)")
    parser.add_argument("--batch-users", type=int, default=100, help="users queued for the batch drain (100)")
    parser.add_argument("--batch-delay", type=float, default=0.2, help="receiver seconds per request (0.2)")
    parser.add_argument("--burst", type=int, default=200, help="signups in the burst (200)")
    parser.add_argument("--burst-concurrency", type=int, default=8, help="client threads for the burst (8)")
    parser.add_argument("--repeats", type=int, default=10, help="fresh processes per module for cold start (10)")
    parser.add_argument("--memory-records", type=int, default=100, help="records in the memory batch (100)")
    parser.add_argument("--outage-seconds", type=float, default=30.0, help="seconds the receiver answers 503 (30)")
    parser.add_argument("--outage-rate", type=float, default=2.0, help="signups a second during the outage (2)")
    parser.add_argument(
        "--outage-schedule",
        default=outage.OUTAGE_SCHEDULE,
        help=f"RETRY_SCHEDULE for the outage ({outage.OUTAGE_SCHEDULE})",
    )
    parser.add_argument("--steady-rate", type=float, default=6.0, help="signups a second, slow_receiver (6)")
    parser.add_argument("--steady-seconds", type=float, default=40.0, help="seconds of signups, slow_receiver (40)")
    parser.add_argument(
        "--steady-receiver", type=float, default=2.0, help="seconds the receiver takes, slow_receiver (2)"
    )
    parser.add_argument(
        "--before-from",
        type=Path,
        help="also run slow_receiver on the stack of this checkout (e.g. a worktree at main), the plot's 'before'",
    )
    parser.add_argument(
        "--fanout-repeats", type=int, default=5, help="timed batches of each size and endpoint count, fanout (5)"
    )
    parser.add_argument("--only", nargs="+", choices=FIGURES, help="run only these figures")
    parser.add_argument("--out", type=Path, help="where to write benchmarks.json and .md (docs/ for a full run)")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="with --only: replace these figures in --out's benchmarks.json (docs/ by default), keep the others",
    )
    args = parser.parse_args(argv)
    if args.merge and not args.only:
        parser.error("--merge needs --only: a full run writes every figure")
    if args.out is None and (args.merge or not args.only):
        args.out = ROOT / "docs"
    return args


def commands(args: argparse.Namespace) -> dict[str, str]:
    """The command that reproduces each figure with this run's parameters."""
    latency = f"--signups {args.signups} --concurrency {args.concurrency} --slow-receiver {args.slow_receiver}"
    return {
        "latency": f'make bench ARGS="--only latency {latency}"',
        "batch": f'make bench ARGS="--only batch --batch-users {args.batch_users} --batch-delay {args.batch_delay}"',
        "burst": f'make bench ARGS="--only burst --burst {args.burst} --burst-concurrency {args.burst_concurrency}"',
        "cold_start": f'make bench ARGS="--only cold_start --repeats {args.repeats}"',
        "slow_receiver": (
            f'make bench ARGS="--only slow_receiver --steady-rate {args.steady_rate:g} --steady-seconds'
            f' {args.steady_seconds:g} --steady-receiver {args.steady_receiver:g}"'
        ),
        "memory": f'make bench ARGS="--only memory --memory-records {args.memory_records}"',
        "outage": (
            f'make bench ARGS="--only outage --outage-seconds {args.outage_seconds:g} --outage-rate'
            f' {args.outage_rate:g} --outage-schedule {args.outage_schedule}"'
        ),
        "fanout": f'make bench ARGS="--only fanout --fanout-repeats {args.fanout_repeats}"',
    }


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def git_state() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603,S607
        return done.stdout.strip()

    dirty = " with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    return f"{git('rev-parse', '--short', 'HEAD')}{dirty}"


def show(name: str, figure: Any) -> None:
    print(f"\n== {name}\n{json.dumps(figure, indent=2)}", flush=True)


def latency_figures(args: argparse.Namespace) -> dict[str, Any]:
    kinds = {"instant": 0.0, f"slow_{args.slow_receiver:g}s": args.slow_receiver, "down": None}
    receivers = {
        kind: flow.signup_latency(kind, delay, args.signups, args.concurrency) for kind, delay in kinds.items()
    }
    base = receivers["instant"]["latency_ms"]
    ratios = {
        kind: {p: round(f["latency_ms"][p] / base[p], 2) for p in ("p50", "p95", "p99") if base[p]}
        for kind, f in receivers.items()
        if kind != "instant" and f["latency_ms"]["n"]
    }
    return {
        "receivers": receivers,
        "ratios_to_instant": ratios,
        "note": (
            "Each receiver gets a fresh stack. The local stack serves signups from one execution environment, so"
            f" with {args.concurrency} client thread(s) a signup's latency is its own Argon2id hash plus any queueing;"
            " the notifier, moto and the signups share the same cores here, unlike on Lambda."
        ),
        "e2e_note": (
            "The stream mapping's batching window is 0 (NotifierBatchingWindowSeconds in template.yaml), so a"
            " notification waits only for the local poller's next read (every 0.1 s; Lambda reads a DynamoDB stream"
            " four times a second), the notifier's invocation and the POST."
        ),
    }


def _without_series(figure: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in figure.items() if k != "series"}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    wanted = set(args.only or FIGURES)
    started, load_before = time.monotonic(), os.getloadavg()
    figures: dict[str, Any] = {}
    if "cold_start" in wanted:
        figures["cold_start"] = static.cold_start(args.repeats)
        figures["sizes"] = static.built_sizes()
        show("5. cold start", figures["cold_start"])
        show("5. built sizes", figures["sizes"])
    if "memory" in wanted:
        receiver = TimedReceiver().start()
        try:
            with local_stack(receiver.url) as stack:
                figures["memory"] = static.notifier_memory(stack, args.memory_records)
        finally:
            receiver.stop()
        show("6. notifier memory", figures["memory"])
    if "batch" in wanted:
        figures["batch"] = flow.batch_drain(args.batch_users, args.batch_delay)
        show("3. batch drain", figures["batch"])
    if "latency" in wanted:
        figures["latency"] = latency_figures(args)
        show("1-2. signup and end-to-end latency", figures["latency"])
        usage = figures["latency"]["receivers"]["instant"]["lambda"]
        figures["cost"] = cost.per_million_signups(usage)
        figures["cost"]["note"] = (
            "Durations are measured on this machine's CPU, not on Lambda's arm64 at the configured memory"
            " (1024 MB is about 0.6 vCPU): Argon2id there may take longer, so read the signup compute line as a"
            " lower bound. Log volume is the bytes each function printed per signup in that run."
        )
        show("7. cost per million signups", figures["cost"])
    if "slow_receiver" in wanted:
        steady = (args.steady_rate, args.steady_seconds, args.steady_receiver)
        if args.before_from:
            figures["slow_receiver_before"] = sustained.slow_receiver(*steady, root=args.before_from.resolve())
            show("9. slow receiver, before", _without_series(figures["slow_receiver_before"]))
        figures["slow_receiver"] = sustained.slow_receiver(*steady)
        show("9. slow receiver, sustained rate", _without_series(figures["slow_receiver"]))
    if "burst" in wanted:
        figures["burst"] = flow.burst(args.burst, args.burst_concurrency)
        show("4. burst", figures["burst"])
    if "outage" in wanted:
        figures["outage"] = outage.outage(args.outage_seconds, args.outage_rate, args.outage_schedule)
        show("8. receiver outage", figures["outage"])
    if "fanout" in wanted:
        figures["fanout"] = fanout.fanout(args.fanout_repeats)
        show("10. fan-out: 1 vs 10 endpoints", figures["fanout"])

    seconds = round(time.monotonic() - started, 1)
    results = {
        "run": {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "git": git_state(),
            "machine": machine(),
            "command": "make bench" + (f' ARGS="{shlex.join(argv or sys.argv[1:])}"' if (argv or sys.argv[1:]) else ""),
            "seconds": seconds,
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        },
        "commands": commands(args),
        "figures": figures,
    }
    print(f"\nbenchmark done in {seconds} s", flush=True)
    previous = _load(args.out / "benchmarks.json") if args.out else None
    if args.out and args.merge:
        results = merged(results, args.out / "benchmarks.json")
    if previous and "slow_receiver_before" not in results["figures"] and "slow_receiver_before" in previous["figures"]:
        # The "before" line of the plot was measured once, on an earlier commit's stack: it stays until replaced.
        results["figures"]["slow_receiver_before"] = previous["figures"]["slow_receiver_before"]
    if args.merge and previous and "goals" in previous:
        # A merge completes the run it merges into: its "previous run" column stays the one that run was compared to.
        results["goals"] = goals.evaluate(results["figures"], None)
        prior = {row["goal"]: row["previous"] for row in previous["goals"]}
        for row in results["goals"]:
            row["previous"] = prior.get(row["goal"])
        results["previous_run"] = previous.get("previous_run")
    else:
        results["goals"] = goals.evaluate(results["figures"], previous["figures"] if previous else None)
        results["previous_run"] = {k: previous["run"][k] for k in ("date", "git", "command")} if previous else None
    for row in results["goals"]:
        mark = {True: "met", False: "NOT met", None: "-"}[row["met"]]
        print(f"goal: {row['goal']}: {row['value']} (target {row['target']}, previous {row['previous']}) {mark}")
    if args.out:
        for path in report.write(results, args.out):
            print(f"wrote {path}")
        drawn = plot.slow_receiver(results, args.out / "benchmarks.png")
        if drawn:
            print(f"wrote {drawn}")
    return 0


def _load(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def merged(results: dict[str, Any], earlier_path: Path) -> dict[str, Any]:
    """The earlier results with this run's figures in place of theirs, each noted with the run that measured it
    (`figure_runs`), so a figure measured alone says when, on which commit and under which load."""
    if not earlier_path.exists():
        return results
    earlier: dict[str, Any] = json.loads(earlier_path.read_text(encoding="utf-8"))
    run = results["run"]
    for name, figure in results["figures"].items():
        earlier["figures"][name] = figure
        if name in results["commands"]:  # cost and sizes come with latency and cold_start
            earlier["commands"][name] = results["commands"][name]
        earlier.setdefault("figure_runs", {})[name] = {
            key: run[key] for key in ("date", "git", "command", "seconds", "load_before", "load_after")
        }
    return earlier


if __name__ == "__main__":
    sys.exit(main())
