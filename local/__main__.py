"""`python -m local run` (make run) and `python -m local demo` (make demo).

run   starts the stack in the foreground on 127.0.0.1 and prints a banner; Ctrl-C stops it and exits 0.
      API_PORT (default 3000) or --port picks the API's port; WEBHOOK_URL sends to your own receiver instead of
      the demo one; --env-vars takes a `sam local` style JSON file of variable overrides; the functions' logs
      show as level and message, whole with --json-logs (LOGS=json).
demo  starts the stack on free ports, signs up Tim, waits for the webhook, prints it and stops:
      exit 0 only if the notification arrived.
invoke runs one function once on one event (make invoke), as `sam local invoke` does, without Docker.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

from local import faults, invoke, redrive
from local.api import PortInUse
from local.arguments import environments_of
from local.stack import LOCAL_RETRY_SCHEDULE, Options, Stack

DEMO_TIMEOUT_SECONDS = 20.0
FAULTS_EXAMPLE = {"ssm": 1.0, "sqs": 0.2}
SAMPLE_SIGNUP = {"name": "Tim", "email": "tim@example.com", "password": "correct horse battery staple"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description="The signup-webhooks stack on loopback.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start the stack in the foreground")
    run.add_argument("--port", type=int, default=int(os.environ.get("API_PORT") or 3000), help="API port (3000)")
    run.add_argument("--env-vars", type=Path, help="JSON overrides, as sam local's --env-vars")
    run.add_argument("--ready-file", type=Path, help="write the stack's URLs and token here (JSON) once ready")
    run.add_argument(
        "--environments",
        action="append",
        default=[],
        metavar="FUNCTION=N",
        help="run up to N execution environments of a function at once, e.g. AdminFunction=4 (repeatable)",
    )
    run.add_argument(
        "--json-logs",
        action="store_true",
        default=os.environ.get("LOGS") == "json",
        help="print the functions' log records whole (LOGS=json), not as level and message",
    )
    commands.add_parser("demo", help="sign up Tim and show the webhook it sends")
    replay = commands.add_parser("redrive", help="replay the dead-letter queue (make redrive)")
    replay.add_argument("--stack", help="a deployed stack's name (AWS credentials needed)")
    replay.add_argument("--api", help="an API URL (token in ADMIN_TOKEN)")
    replay.add_argument("--ready-file", type=Path, help="a local stack's ready file (default .local-stack.json)")
    once = commands.add_parser("invoke", help="run one function once on one event, as sam local invoke (make invoke)")
    once.add_argument("function", nargs="?", help="the function's logical id, e.g. SignupFunction")
    once.add_argument("--event", type=Path, help="the event file, e.g. events/signup_valid.json")
    once.add_argument("--ready-file", type=Path, help="a running stack's ready file (default .local-stack.json)")
    args = parser.parse_args(argv)

    if args.command == "demo":
        return demo()
    if args.command == "redrive":
        return redrive.main(args.stack, args.api, args.ready_file)
    if args.command == "invoke":
        return invoke.main(args.function, args.event, args.ready_file)
    env_vars = json.loads(args.env_vars.read_text(encoding="utf-8")) if args.env_vars else {}
    options = Options(
        api_port=args.port,
        webhook_url=os.environ.get("WEBHOOK_URL") or None,
        env_vars=env_vars,
        retry_schedule=os.environ.get("RETRY_SCHEDULE") or LOCAL_RETRY_SCHEDULE,
        environments=environments_of(parser, args.environments),
        json_logs=args.json_logs,
    )
    return serve(options, args.ready_file)


def serve(options: Options, ready_file: Path | None) -> int:
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    stack = _start(options)
    if stack is None:
        return 2
    default_ready = ready_file is None
    ready_file = ready_file or redrive.READY_FILE  # `make redrive` finds the stack here
    try:
        print(banner(stack), flush=True)
        if ready_file:
            partial = ready_file.with_suffix(".partial")
            partial.write_text(json.dumps(stack.info()), encoding="utf-8")
            partial.replace(ready_file)  # appears whole: a script waiting for it never reads half of it
        stopping.wait()
        print("\nstopping...", flush=True)
    finally:
        stack.stop()
        if default_ready:
            ready_file.unlink(missing_ok=True)
    return 0


def _start(options: Options) -> Stack | None:
    try:
        return Stack(options).start()
    except PortInUse as exc:
        print(f"error: {exc}.\nStop what uses it, or pick another port: API_PORT=3001 make run", file=sys.stderr)
    except RuntimeError as exc:
        print(f"error: the local stack could not start: {exc}", file=sys.stderr)
    return None


def banner(stack: Stack) -> str:
    api, token = stack.api_url, stack.admin_token
    signup = json.dumps(SAMPLE_SIGNUP)
    hook = json.dumps({"url": stack.webhook_url})
    routes = "\n".join(
        f"    {r.method:<6} {api}{r.path}  ->  {r.function_id}"
        + (f" (after {r.authorizer.function_id})" if r.authorizer else "")
        for r in stack.routes
    )
    receiver = " (the demo receiver: it prints what it gets)" if stack.receiver else ""
    return f"""
signup-webhooks is running locally (ready in {stack.startup_seconds:.1f} s). Ctrl-C stops it.

  API           {api}
{routes}
  Admin page    {api}/admin   (paste the admin token there)
  Admin token   {token}
  Webhook URL   {stack.webhook_url}{receiver}
  Retries       {stack.options.retry_schedule} after the first try, then the dead-letter queue (RETRY_SCHEDULE=...)
  AWS (moto)    {stack.aws_endpoint}   region us-east-1, credentials testing/testing

Sign up a user (the webhook follows within about a second):
  curl -s -X POST {api}/api/v1/auths/signup -H 'Content-Type: application/json' -d {shlex.quote(signup)}

Set the webhook URL (admin API; here the one above, or your own receiver's):
  curl -s -X PUT {api}/api/v1/admin/webhook -H 'Authorization: Bearer {token}' \\
       -H 'Content-Type: application/json' -d {shlex.quote(hook)}

Make a share of the functions' AWS calls fail as AWS throttles (ssm, sqs, dynamodb, secretsmanager; 0 to 1;
GET shows the shares in force, DELETE clears them):
  curl -s -X POST {api}{faults.ROUTE} -d {shlex.quote(json.dumps(FAULTS_EXAMPLE))}
  curl -s -X DELETE {api}{faults.ROUTE}
"""


def demo() -> int:
    stack = _start(Options(api_port=0, webhook_url=None))
    if stack is None:
        return 2
    try:
        assert stack.receiver is not None
        print(f"local stack ready in {stack.startup_seconds:.1f} s; signing up Tim...", flush=True)
        status, body = _post(f"{stack.api_url}/api/v1/auths/signup", SAMPLE_SIGNUP)
        print(f"signup answered {status}: {body}", flush=True)
        received = stack.receiver.wait_for(1, timeout=DEMO_TIMEOUT_SECONDS) if status == 200 else []
    finally:
        stack.stop()
    if not received:
        print(f"FAILED: no webhook arrived within {DEMO_TIMEOUT_SECONDS:.0f} s", file=sys.stderr)
        return 1
    hook = received[0]
    print(f"\nthe receiver got: {hook.method} {hook.path}")
    for name, value in hook.headers.items():
        print(f"  {name}: {value}")
    print(f"\n  {hook.text}\n\nOK: the notification arrived.")
    return 0


def _post(url: str, payload: dict[str, Any]) -> tuple[int, str]:
    request = urllib.request.Request(  # noqa: S310 - our own loopback API
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


if __name__ == "__main__":
    sys.exit(main())
