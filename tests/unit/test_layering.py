"""The storage layer is the only part of the package that talks to AWS, and it decides nothing about a delivery.

Every module of signup_hooks is parsed (never imported): boto3, botocore, Powertools' AWS-backed utilities and
`aws.client(...)` appear only under signup_hooks/storage/, and no storage module imports the delivery logic.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "shared" / "signup_hooks"
AWS_MODULES = (
    "boto3",
    "botocore",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.parameters",
)
DELIVERY_LOGIC = {
    "admin",
    "admin_test_send",
    "attempts",
    "delivery",
    "delivery_log_admin",
    "dispatch",
    "endpoints_admin",
    "exactly_once",
    "operational",
    "pacing",
    "prepare",
    "redrive",
    "resend",
    "retries",
    "retry",
    "settle",
    "stream_batch",
    "targets",
}


def modules() -> dict[str, ast.Module]:
    return {
        path.relative_to(PACKAGE).as_posix(): ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def imported(tree: ast.Module) -> set[str]:
    """Every module a file imports, as dotted names (`from signup_hooks import x` counts as signup_hooks.x)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def calls_aws_client(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.Attribute)
        and node.attr == "client"
        and isinstance(node.value, ast.Name)
        and node.value.id in ("aws", "boto3")
        for node in ast.walk(tree)
    )


def is_storage(name: str) -> bool:
    return name.startswith("storage/")


def test_the_package_is_found() -> None:
    found = modules()
    assert "storage/aws.py" in found and "stream_batch.py" in found


def test_only_storage_modules_import_aws_libraries() -> None:
    offenders = {
        name: sorted(module for module in imported(tree) if module.startswith(AWS_MODULES))
        for name, tree in modules().items()
        if not is_storage(name)
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_only_storage_modules_make_aws_calls() -> None:
    offenders = [name for name, tree in modules().items() if not is_storage(name) and calls_aws_client(tree)]
    assert offenders == []


def test_only_storage_modules_use_the_aws_clients_module() -> None:
    offenders = [
        name
        for name, tree in modules().items()
        if not is_storage(name) and "signup_hooks.storage.aws" in imported(tree)
    ]
    assert offenders == []


def test_storage_modules_import_no_delivery_logic() -> None:
    logic = {f"signup_hooks.{name}" for name in DELIVERY_LOGIC}
    offenders = {name: sorted(imported(tree) & logic) for name, tree in modules().items() if is_storage(name)}
    assert {name: found for name, found in offenders.items() if found} == {}


# The stages of sending a notification, by the module that defines each. Only dispatch.py (the one path) and the
# stages themselves (a stage calls the next) may use them.
STAGES = {
    "prepare": {"prepare"},
    "exactly_once": {"deliver_exactly_once"},
    "attempts": {"post_round", "post_attempt"},
    "settle": {"settle"},
}
STAGE_MODULES = {"dispatch.py", "prepare.py", "exactly_once.py", "attempts.py", "settle.py"}


def stage_uses(tree: ast.Module) -> set[str]:
    """The stages a module imports or calls (`from signup_hooks.pipeline.prepare import prepare`, `settle.settle(...)`)."""
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("signup_hooks."):
            stage = node.module.removeprefix("signup_hooks.")
            used.update(f"{stage}.{a.name}" for a in node.names if a.name in STAGES.get(stage, set()))
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.attr in STAGES.get(node.value.id, set())
        ):
            used.add(f"{node.value.id}.{node.attr}")
    return used


def test_only_the_dispatch_path_calls_the_stages_of_sending() -> None:
    offenders = {
        name: sorted(uses)
        for name, tree in modules().items()
        if name not in STAGE_MODULES and (uses := stage_uses(tree))
    }
    assert offenders == {}, f"send through dispatch.dispatch instead: {offenders}"


def test_the_stage_check_sees_a_module_that_calls_a_stage() -> None:
    tree = ast.parse(
        "from signup_hooks.pipeline.prepare import prepare\nfrom signup_hooks import settle\nsettle.settle(1)"
    )
    assert stage_uses(tree) == {"prepare.prepare", "settle.settle"}
