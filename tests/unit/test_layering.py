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
