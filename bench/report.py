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


DEFAULT_SIZES = (
    "The defaults (100 signups per receiver, a burst of 200, the slow receiver at 6 signups a second for 40 s, a 30 s"
    " outage) keep the whole `make bench` under 6 minutes on 2 cores, where the local stack runs one signup"
    ' environment and an Argon2id signup takes about 0.1-0.2 s. Larger runs: `make bench ARGS="--signups 500 --burst'
    ' 1000 --outage-seconds 60"`.'
)
MEMORY_FINDING = (
    "Where the earlier 196 MB went (tracemalloc over the same batch of 100, on git b3a4eae): 105 MB were botocore's"
    " endpoint data and SSM service model, parsed once per boto3 Session. Powertools' `get_parameter` makes its default"
    " SSM provider on first use, and the batch's delivery threads all did so at once, each provider with a Session and"
    " client of its own; 37 MB more were further copies of service models loaded the same way. The rest was small:"
    " the idempotency layer 2 MB (one DynamoDB client shared by the threads, from signup_hooks/aws.py), the Logger and"
    " the response buffers (at most 1 KB of an answer is read) under 1 MB each. The settings store now"
    " reads SSM through that one shared client, once per invocation, which removes those copies."
)
BATCH_LIMIT = (
    "What bounds the drain here: each notification makes four DynamoDB writes (its idempotency record, in progress"
    " then done, its delivery-log entry and the endpoint's health), and moto answers them one at a time in the stack's"
    " process (about 3 s for 100 notifications on this machine, whatever the parallelism); the notifier environments"
    " that start as the 10 lanes fill add their cold starts on the same 2 cores. On AWS those writes run in parallel."
)
COLD_START_LIMIT = (
    "What bounds the import: a handler imports boto3 (the baseline) plus Powertools and our package. Powertools'"
    " package `__init__`s import every submodule: `event_handler` brings the AppSync, Bedrock and GraphQL resolvers and"
    " asyncio (about 25-30 ms after boto3), `utilities.batch` its async processor and asyncio (about 25 ms),"
    " `utilities.data_classes` every event class (about 10 ms); our package adds 15-30 ms of module bodies"
    " (dataclasses, enums, regular expressions) over about 25 modules. argon2 is now imported at the first signup"
    " only, and the signup and authorizer functions import no delivery code, the admin function none but for the"
    " routes that send; what remains is near Powertools' own floor (boto3 + Logger + event handler or batch is"
    " 1.1-1.25 times boto3). Lambda SnapStart for Python (a snapshot taken after init) would take the import off the"
    " cold start altogether."
)
MARKS = {True: "met", False: "**not met**", None: "reported"}


def _value(value: Any) -> str:
    return "-" if value is None else str(value)


def _goals(results: dict[str, Any]) -> list[str]:
    rows = results.get("goals") or []
    if not rows:
        return []
    previous = results.get("previous_run")
    since = f" (previous run: {previous['date']}, git {previous['git']})" if previous else ""
    lines = [
        "## Goals",
        "",
        f"Each figure of this run beside its goal and the previous run's value{since}.",
        "",
        "| Goal | Unit | Target (at most) | This run | Previous run | |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['goal']} | {row['unit']} | {_value(row['target'])} | {_value(row['value'])} |"
            f" {_value(row['previous'])} | {MARKS[row['met']] if row['value'] is not None else 'not measured'} |"
        )
    return [*lines, ""]


def _slow_receiver(after: dict[str, Any], before: dict[str, Any] | None, commands: dict[str, str]) -> list[str]:
    lines = [
        "## 9. Slow receiver at a sustained signup rate",
        "",
        f"Reproduce: `{commands.get('slow_receiver', '')}`"
        + (" (before: the same with `--before-from <a worktree at that commit>`)" if before else ""),
        "",
        f"Signups at {after['rate']:g} a second for {after['seconds']:g} s, a receiver that answers after"
        f" {after['receiver_seconds']:g} s. Latency: from the signup's response to the receiver's answer (so it"
        f" includes the receiver's own {after['receiver_seconds']:g} s). The stack runs the Argon2 profile"
        f" `{after.get('argon2_profile', 'default')}`, so that its one signup environment keeps up with the rate on 2"
        " shared cores (on Lambda each signup has an environment of its own); the notification path is the same.",
        "",
        "| Stack | Signups (achieved/s) | Signup p50 (ms) | Signup → webhook p50 / p95 / p99 (ms) | p50 / receiver |"
        " First quarter p50 (ms) | Last quarter p50 (ms) | Growth | Notifier invocations | Not delivered |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, data in (("before", before), ("after", after)):
        if not data:
            continue
        lines.append(
            f"| {label} (git {data['git']}) | {data['signups']} ({data.get('signups_per_second', '-')}) |"
            f" {data['signup_latency_ms']['p50']} | {_ms(data['latency_ms'])} | {data['p50_to_receiver']} |"
            f" {data['first_quarter_p50_ms']} | {data['last_quarter_p50_ms']} | {data['growth']} |"
            f" {data['notifier_invocations']} | {data['not_delivered']} |"
        )
    lines += [
        "",
        "![Signup → webhook latency over the run, before and after](benchmarks.png)",
        "",
        "Before, the stream mapping ran one batch of the shard at a time and waited up to 1 s to fill it: every batch"
        " waited for the one before and its slowest delivery, so the latency grew all through the run. After, the"
        " mapping runs up to 10 batches of a shard at once (NotifierParallelizationFactor, records split by partition"
        " key as Lambda does, so one user's records stay in order) with no batching window, and the local stack starts"
        " up to that many notifier environments, as Lambda does.",
        "",
    ]
    return lines


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
        "a worker process per execution environment: one per function, up to the ParallelizationFactor",
        "for the notifier; the stream mapping emulated with the template's settings) and a receiver",
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
    lines += ["", DEFAULT_SIZES, ""]
    lines += _goals(results)
    if "slow_receiver" in figures:
        lines += _slow_receiver(figures["slow_receiver"], figures.get("slow_receiver_before"), commands)
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
        goal = "Goal: the slow receiver's p50 ratio ≤ 1.05 (the webhook is off the signup path)."
        lines += ["", f"{goal} {latency['note']}", ""]
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
            BATCH_LIMIT,
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
        lines += ["", COLD_START_LIMIT]
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
            MEMORY_FINDING,
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
    if "fanout" in figures:
        lines += _fanout(figures["fanout"], commands.get("fanout", ""))
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


FANOUT_FINDING = (
    "What grows with the endpoints: each delivery writes its own idempotency record (put, then updated), its"
    " delivery log entry and its endpoint's health, so DynamoDB's write units grow ten times and are most of the"
    " notifier's bill. The wall time grows with those writes too: moto answers them one at a time in the stack's"
    " process (the bound figure 3 found), while on AWS they run in parallel, one per delivery thread. Threads: a"
    " lane per endpoint, each with up to one delivery thread per record of the batch (at most"
    " `delivery.POOL_CONNECTIONS`); a watchdog timer per attempt (time_limit.py: a receiver that trickles its answer"
    " cannot hold the attempt); and a thread per name lookup (getaddrinfo has no timeout of its own), none for these"
    " loopback addresses. SSM: one GetParametersByPath reads every endpoint, but a page holds at most 10 parameters;"
    " with 10 endpoint documents the page is full, moto answers it with a NextToken (SSM may too), and a second,"
    " empty, call follows. Up to 9 endpoints it is one call. The signup side of figure 7 does not change with the"
    " endpoints."
)


THREAD_KINDS = {"delivery": "delivery", "attempt_timer": "attempt timer", "dns_lookup": "DNS lookup", "other": "other"}


def _fanout(f: dict[str, Any], command: str) -> list[str]:
    counts = list(f["endpoints"])
    lines = [
        "## 10. Fan-out: 1 vs 10 endpoints",
        "",
        f"Reproduce: `{command}`",
        "",
        "One local stack holds the endpoints, made through the admin API, each at a loopback receiver of its own that"
        " answers at once (10 is the most there may be, the default endpoint included). A fresh notifier process"
        " (`bench/probe.py`, as in figure 6) runs warm batches of 1 and of 10 new users against the stack's moto,"
        f" {f['repeats']} of each, reading the settings at every invocation (SETTINGS_CACHE_SECONDS=0, as a cold"
        " environment or an expired cache does). AWS calls are counted by `local/aws_calls.py`'s botocore hook;"
        " HTTP requests at the receivers; threads where they start; traced memory by tracemalloc over one more"
        " batch of each size.",
        "",
        "| Endpoints | Signups in the batch | Wall time p50 / max (ms) | Per signup (ms) | Threads started"
        f" ({' + '.join(THREAD_KINDS.values())}) | Peak live threads | Traced peak (MB) | SSM calls per invocation"
        " | DynamoDB writes per signup | SQS requests per signup |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for count in counts:
        for size, b in f["endpoints"][count]["batches"].items():
            threads = " + ".join(str(b["threads_started"].get(kind, 0)) for kind in THREAD_KINDS)
            each = b["per_signup"]
            writes = each["idempotency_writes"] + each["delivery_log_and_health_writes"]
            lines.append(
                f"| {count} | {size} | {b['wall_ms_median']} / {b['wall_ms_max']} | {b['ms_per_signup']} |"
                f" {threads} | {b['peak_threads']} |"
                f" {b['traced_peak_mb']} | {b['ssm_calls_per_invocation']:g} | {writes:g} | {each['sqs_requests']:g} |"
            )
    lines += [
        "",
        "| Endpoints | Peak RSS, whole run (MB) | RSS after import (MB) | Signups | HTTP requests (per signup) |"
        " Not delivered |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for count in counts:
        e = f["endpoints"][count]
        lines.append(
            f"| {count} | {e['peak_rss_mb']} | {e['rss_after_import_mb']} | {e['signups']} |"
            f" {e['http_requests']} ({e['http_requests_per_signup']:g}) | {e['not_delivered']} |"
        )
    limits = f["limits"]
    lines += [
        "",
        f"Within the notifier's limits (template.yaml): the heaviest case, {limits['heaviest']}, took at most"
        f" {limits['wall_seconds_max']:.2f} s of its {limits['timeout_seconds']} s Timeout"
        f" ({limits['share_of_timeout']:.0%}) and peaked at {limits['peak_rss_mb']} MB of its"
        f" {limits['memory_mb']} MB MemorySize ({limits['share_of_memory']:.0%}). At {limits['memory_mb']} MB Lambda"
        f" gives about {limits['lambda_vcpu_share']:g} of a vCPU, so its CPU-bound share would take longer there than"
        " here; a slow receiver is bounded apart from this: each lane's quick first try stops after"
        " `FIRST_TRY_SECONDS` (10 s), the lanes run at once, and what is left goes to the retry schedule.",
        "",
        "Cost on paper per million signups, the notifier's share (same prices as figure 7; Lambda GB-seconds from the"
        f" median wall time above at {limits['memory_mb']} MB; DynamoDB writes a unit per started KB of the item, and"
        f" the largest written were {f['largest_item_bytes']['DeliveriesTable']} bytes (delivery log) and"
        f" {f['largest_item_bytes']['IdempotencyTable']} bytes (idempotency); SQS is used only for failures, none"
        " here):",
        "",
        "| Line (signups one at a time) | " + " | ".join(f"{count} endpoint(s), USD" for count in counts) + " |",
        "| --- |" + " --- |" * len(counts),
    ]
    costs = f["cost"]
    for name in costs[counts[0]]["usd_one_at_a_time"]:
        lines.append(f"| {name} | " + " | ".join(f"{costs[c]['usd_one_at_a_time'][name]:.2f}" for c in counts) + " |")
    for size in costs[counts[0]]["total_usd_by_batch_size"]:
        label = "one at a time" if size == "1" else f"in batches of {size}"
        totals = " | ".join(f"**{costs[c]['total_usd_by_batch_size'][size]:.2f}**" for c in counts)
        lines.append(f"| **total, signups {label}** | {totals} |")
    lines += ["", FANOUT_FINDING, ""]
    return lines
