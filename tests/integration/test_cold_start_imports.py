"""What each handler loads at its cold start: a function imports only the code it needs on every invocation.

Each handler is imported in a fresh process with its own environment, as Lambda does (bench/static.py gives the
template's variables); the test reads which modules were loaded. Nothing here is timed.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.static import function_environments
from local.template import ROOT

HANDLERS = ("admin", "authorizer", "notifier", "retry", "signup")
DELIVERY_CODE = {
    "signup_hooks.pipeline.dispatch",
    "signup_hooks.pipeline.exactly_once",
    "signup_hooks.pipeline.attempts",
    "signup_hooks.pipeline.prepare",
    "signup_hooks.sending.http",
    "signup_hooks.sending.backoff",
    "signup_hooks.sending.targets",
}


@pytest.fixture(scope="module")
def loaded() -> dict[str, set[str]]:
    environments = function_environments()
    found = {}
    for name in HANDLERS:
        paths = [str(ROOT / "functions" / name), str(ROOT / "layers" / "shared")]  # as Lambda: code, then the layer
        code = f"import json, sys; sys.path[0:0] = {paths!r}; import app; print(json.dumps(sorted(sys.modules)))"
        done = subprocess.run(  # noqa: S603 - our interpreter on our own handler
            [sys.executable, "-c", code],
            env=environments[f"functions/{name}"],
            cwd=ROOT / "functions" / name,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        found[name] = set(json.loads(done.stdout.strip().splitlines()[-1]))
    return found


def test_no_handler_loads_argon2_before_its_first_signup(loaded: dict[str, set[str]]) -> None:
    assert {name for name, modules in loaded.items() if "argon2" in modules} == set()


def test_the_signup_and_the_authorizer_load_no_delivery_code(loaded: dict[str, set[str]]) -> None:
    assert loaded["signup"] & DELIVERY_CODE == set()
    assert loaded["authorizer"] & DELIVERY_CODE == set()


def test_the_functions_that_deliver_load_the_delivery_code_at_their_cold_start(loaded: dict[str, set[str]]) -> None:
    assert loaded["notifier"] >= DELIVERY_CODE | {"signup_hooks.pipeline.stream_batch"}
    assert loaded["retry"] >= DELIVERY_CODE | {"signup_hooks.pipeline.retries"}


def test_the_admin_function_loads_the_sending_code_only_for_the_routes_that_send(loaded: dict[str, set[str]]) -> None:
    sending = {
        "signup_hooks.pipeline.dispatch",
        "signup_hooks.pipeline.stream_batch",
        "signup_hooks.pipeline.exactly_once",
        "signup_hooks.pipeline.attempts",
        "signup_hooks.pipeline.prepare",
    }
    assert (
        sending | {"signup_hooks.admin.redrive", "signup_hooks.pipeline.retries", "signup_hooks.admin.resend"}
    ) & loaded["admin"] == set()
