"""`make redrive`: replay the dead-letter queue through the admin API's redrive route, until it is empty or stuck.

Where the API is:
- the local stack (`make run`): its ready file, `.local-stack.json`, gives the API URL and the admin token;
- a deployed stack (`make redrive STACK=<name>`): boto3 reads the stack's outputs (ApiUrl, AdminTokenSecretArn)
  with the caller's AWS credentials, then the admin token from Secrets Manager;
- or `--api URL` with the token in ADMIN_TOKEN.
The route does the work (delete after delivery, idempotent, bounded per call); this only calls it until it reports
nothing more to do, and prints what happened: delivered, skipped as already delivered, still failing.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from local.template import ROOT

READY_FILE = ROOT / ".local-stack.json"
ROUTE = "/api/v1/admin/webhook/redrive"
MAX_CALLS = 20  # each call replays at most 100 messages within the admin function's timeout


def endpoint_of_stack(stack_name: str) -> tuple[str, str]:
    import boto3  # only for a deployed stack

    stack = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    secret = outputs["AdminTokenSecretArn"]
    token = boto3.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"]
    return outputs["ApiUrl"], str(token)


def endpoint_of_ready_file(path: Path) -> tuple[str, str]:
    if not path.exists():
        raise SystemExit(f"error: {path.name} not found: start the local stack with `make run`, or pass STACK=<name>")
    info = json.loads(path.read_text(encoding="utf-8"))
    return str(info["api_url"]), str(info["admin_token"])


def call(api: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - the stack's own API
        api.rstrip("/") + ROUTE,
        data=b"{}",
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=40) as response:  # noqa: S310
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        raise SystemExit(
            f"error: the redrive route answered {exc.code}: {exc.read().decode(errors='replace')}"
        ) from None


def redrive(api: str, token: str, echo: Any = print) -> dict[str, int]:
    totals = {"delivered": 0, "already_delivered": 0, "still_failing": 0, "unreadable": 0}
    for _ in range(MAX_CALLS):
        report = call(api, token)
        for key in totals:
            totals[key] += int(report.get(key, 0))
        echo(
            f"  delivered {report['delivered']}, already delivered {report['already_delivered']}, "
            f"still failing {report['still_failing']}" + (f" {report['reasons']}" if report.get("reasons") else "")
        )
        if not report.get("more"):
            break
    return totals


def main(stack: str | None, api: str | None, ready_file: Path | None) -> int:
    if stack:
        url, token = endpoint_of_stack(stack)
    elif api:
        url, token = api, os.environ.get("ADMIN_TOKEN", "")
    else:
        url, token = endpoint_of_ready_file(ready_file or READY_FILE)
    print(f"redriving the dead-letter queue through {url}{ROUTE}")
    totals = redrive(url, token)
    print(
        f"done: {totals['delivered']} delivered, {totals['already_delivered']} skipped as already delivered, "
        f"{totals['still_failing']} still failing (left in the queue)"
    )
    return 0 if totals["still_failing"] == 0 else 1
