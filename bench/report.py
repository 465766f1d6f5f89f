"""docs/benchmarks.json and docs/benchmarks.md from one run's results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write(results: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "benchmarks.json", out / "benchmarks.md"
    json_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(markdown(results), encoding="utf-8")
    return json_path, md_path


def _ms(figure: dict[str, Any] | None) -> str:
    if not figure or not figure.get("n"):
        return "-"
    return f"{figure['p50']} / {figure['p95']} / {figure['p99']}"


def markdown(results: dict[str, Any]) -> str:
    run, figures, commands = results["run"], results["figures"], results["commands"]
    machine = run["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Measured by `make bench` (`bench/`) against the local stack on loopback (`python -m local run`: moto for AWS,",
        "one worker process per function, the stream mapping emulated with the template's settings) and a receiver",
        "in the benchmark's process whose answer time the benchmark sets. Absolute times depend on the machine and on",
        "what else runs on it; the ratios within one run are the figures to compare. Nothing here asserts a speed.",
        "",
        f"- Date: {run['date']}; git {run['git']}",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']} ({machine['platform']});"
        f" load average {run['load_before']} before, {run['load_after']} after",
        f"- Command: `{run['command']}` ({run['seconds']} s)",
    ]
    for name, measured in results.get("figure_runs", {}).items():
        lines.append(
            f"- Measured on its own afterwards, `{name}`: {measured['date']}; git {measured['git']}; load average"
            f" {measured['load_before']} before, {measured['load_after']} after; `{measured['command']}`"
            f" ({measured['seconds']} s)"
        )
    lines += [
        "",
        "The default sizes (150 signups per receiver, a burst of 300) keep figures 1-7 under 5 minutes on 2 cores,"
        " where one Argon2id signup takes about 0.2 s and the local stack runs one execution environment per function;"
        " the outage scenario (figure 8, a 60 s outage and its recovery) adds about 2 minutes. The issue's sizes:"
        ' `make bench ARGS="--signups 500 --burst 1000"` (about 6 minutes on this machine, plus the outage).',
        "",
    ]
    if "latency" in figures:
        latency = figures["latency"]
        lines += [
            "## 1. Signup latency by receiver",
            "",
            f"Reproduce: `{commands['latency']}`",
            "",
            "| Receiver | Signups | p50 / p95 / p99 (ms) | Ratio to instant (p50 / p95 / p99) | Failed | Signups/s |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for kind, figure in latency["receivers"].items():
            ratio = latency["ratios_to_instant"].get(kind, {})
            ratio_text = " / ".join(str(ratio.get(p, "-")) for p in ("p50", "p95", "p99")) if ratio else "1"
            lines.append(
                f"| {kind} | {figure['latency_ms']['n']} | {_ms(figure['latency_ms'])} | {ratio_text} |"
                f" {figure['failed_signups']} | {figure['signups_per_second']} |"
            )
        lines += ["", f"Goal: every ratio ≤ 1.1 (the webhook is off the signup path). {latency['note']}", ""]
        e2e = latency["receivers"].get("instant", {}).get("end_to_end")
        if e2e:
            lines += [
                "## 2. End-to-end latency (signup response → webhook received)",
                "",
                f"Reproduce: `{commands['latency']}`",
                "",
                "| Notifications | p50 / p95 / p99 (ms) | Not delivered |",
                "| --- | --- | --- |",
                f"| {e2e['latency_ms']['n']} | {_ms(e2e['latency_ms'])} | {e2e['not_delivered']} |",
                "",
                latency["e2e_note"],
                "",
            ]
    if "batch" in figures:
        b = figures["batch"]
        lines += [
            "## 3. Batch delivery",
            "",
            f"Reproduce: `{commands['batch']}`",
            "",
            "| Users queued | Receiver | Drain (s) | Sequential bound (s) | Ratio | Invocations | Not delivered |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            f"| {b['users']} | {b['receiver_delay_ms']} ms/request | {b['drain_seconds']} |"
            f" {b['sequential_bound_seconds']} | {b['ratio_to_sequential']} | {b['invocations']} |"
            f" {b['not_delivered']} |",
            "",
            f"Records per invocation: {b['records_per_invocation']}. Drain is measured from the first of the"
            f" {b['users']} profile writes (straight to the table, {b['write_seconds']} s for all) to the last"
            " webhook.",
            "",
        ]
    if "burst" in figures:
        u = figures["burst"]
        lines += [
            "## 4. Burst",
            "",
            f"Reproduce: `{commands['burst']}`",
            "",
            "| Signups | Client threads | Accepted | Signups/s | All delivered after (s) | Lag after last signup (s)"
            " | Duplicates | Lost | Dead letters |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            f"| {u['signups']} | {u['concurrency']} | {u['accepted']} | {u['signups_per_second']} |"
            f" {u['all_delivered_seconds']} | {u['lag_after_last_signup_seconds']} | {u['duplicates']} |"
            f" {u['lost']} | {u['dead_letters']} |",
            "",
        ]
    if "cold_start" in figures:
        c = figures["cold_start"]
        lines += [
            "## 5. Cold start and size",
            "",
            f"Reproduce: `{commands['cold_start']}`",
            "",
            f"Import time of each handler module in a fresh process with the function's environment (median of"
            f" {c['repeats']}, wall clock around the import, bytecode cached), beside a bare `import boto3`:",
            "",
            "| Module | Import median (ms) | Min (ms) | RSS after import (MB) |",
            "| --- | --- | --- | --- |",
        ]
        for name, m in c["modules"].items():
            lines.append(f"| {name} | {m['import_ms_median']} | {m['import_ms_min']} | {m['rss_after_import_mb']} |")
        sizes = figures.get("sizes", {})
        lines.append("")
        if sizes.get("built"):
            lines += [
                f"Built sizes (`.aws-sam/build`, built {sizes['built_at']}; zipped with deflate, as deployed):",
                "",
                "| Artifact | Files | Unzipped (KB) | Zipped (KB) |",
                "| --- | --- | --- | --- |",
            ]
            for name, s in sizes["artifacts"].items():
                lines.append(f"| {name} | {s['files']} | {s['unzipped_kb']} | {s['zipped_kb']} |")
        else:
            lines.append(f"Built sizes: {sizes.get('note', 'not built')}.")
        lines.append("")
    if "memory" in figures:
        m = figures["memory"]
        lines += [
            "## 6. Memory",
            "",
            f"Reproduce: `{commands['memory']}`",
            "",
            "| Records in the batch | RSS after import (MB) | Peak RSS (MB) | Batch time (s) | Delivered | Failures |",
            "| --- | --- | --- | --- | --- | --- |",
            f"| {m['records']} | {m['rss_after_import_mb']} | {m['peak_rss_mb']} | {m['batch_seconds']} |"
            f" {m['delivered']} | {m['failures']} |",
            "",
            "A fresh process imports the notifier's handler with its environment and runs one batch against the"
            " stack's moto and an instant receiver; peak RSS is the process's VmHWM (ru_maxrss is inherited"
            " from the parent across fork and exec on Linux, so it would report the benchmark's own size).",
            "",
        ]
    if "cost" in figures:
        cost = figures["cost"]
        lines += [
            "## 7. Cost on paper, per million signups",
            "",
            f"Reproduce: `{commands['latency']}` (durations and log volume come from its instant-receiver run)",
            "",
            "| Line | USD |",
            "| --- | --- |",
        ]
        lines += [f"| {name} | {usd:.2f} |" for name, usd in cost["usd"].items()]
        lines += [
            f"| **total** | **{cost['total_usd']:.2f}** |",
            "",
            f"Fixed: Secrets Manager ${cost['fixed_monthly_usd']['secrets_manager_admin_token']:.2f} a month for the"
            " admin token (the authorizer's calls are admin requests, cached, not per signup).",
            "",
            f"Inputs: {json.dumps(cost['inputs'])}",
            "",
            f"Prices ({cost['prices_as_of']}):",
            "",
            "| Price | USD |",
            "| --- | --- |",
        ]
        lines += [f"| {name} | {value} |" for name, value in cost["prices"].items()]
        lines += ["", cost["note"], ""]
    if "outage" in figures:
        lines += _outage(figures["outage"], commands["outage"])
    return "\n".join(lines)


def _outage(o: dict[str, Any], command: str) -> list[str]:
    latency = o["latency_seconds"]
    during, after = o["health_during"], o["health_after"]
    return [
        "## 8. Receiver outage",
        "",
        f"Reproduce: `{command}` (the scenario alone: {o['scenario_seconds']} s, a fresh stack included)",
        "",
        f"The receiver answers 503 for {o['outage_measured_seconds']} s while users sign up ({o['signup_rate']} a"
        " second),"
        f" then 200 again. Retry schedule `{o['retry_schedule']}` (RETRY_SCHEDULE; {o['schedule_total_seconds']:g} s"
        " in all, after the notifier's quick first try): no redrive, no admin call.",
        "",
        "| Signups in the outage | Delivered | Lost | Duplicates (same id) | Duplicates (new id) | Dead letters"
        " | Full recovery after return (s) | First after return (s) | Signup → delivered p50 / max (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {o['signups']} | {o['delivered']} | {o['lost']} | {o['duplicates']} | {o['duplicates_new_id']} |"
        f" {o['dead_letters']} | {o['recovery_seconds']} | {o['first_after_return_seconds']} |"
        f" {latency['p50']} / {latency['max']} |",
        "",
        f"Lost: not delivered within {o['wait_bound_seconds']:g} s of the return (the schedule's longest wait plus a"
        " margin). Duplicates: a webhook-id answered 2xx more than once; with a new id: one user delivered under two"
        f" ids. The receiver answered {o['refused_by_receiver']} attempts with 503 ({o['receiver_requests']} requests"
        f" in all, at most {o['attempts_per_notification_max']} for one notification). Health"
        f" (`GET /api/v1/admin/webhook`) near the outage's end: {during.get('status')}, {during.get('retrying')}"
        f" retrying, {during.get('consecutive_failures')} consecutive failures; after recovery:"
        f" {after.get('status')}, {after.get('retrying')} retrying, {after.get('dead_letters')} dead letters.",
        "",
        "Full recovery is bounded by the schedule's wait that straddles the return: a notification whose retry fell"
        " just before it waits one more step. A day-long schedule recovers the same way, in minutes to hours.",
        "",
    ]
