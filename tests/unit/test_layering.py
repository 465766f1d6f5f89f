"""The package's floor plan, kept by parsing every module (never importing one).

Wings import only what is below them (LAYERS); the storage wing alone talks to AWS and the pipeline reaches it only
through its ports; a wing's `__init__.py` imports nothing; no import circle; no chain of imports deeper than nine
modules (type-only imports count); no module over 320 lines; a fixed name is defined once, never aliased; the
functions' entry points never import each other; only the one path (pipeline/dispatch.py) uses the stages of sending;
what a test patches is used through its module (a name imported from it would keep the original).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "shared" / "signup_hooks"
# Bottom to top: each may import only those before it. The four first are the foundation every wing stands on.
LAYERS = (
    "errors",
    "digits",
    "log_context",
    "metrics",
    "model",
    "api",
    "sending",
    "signup",
    "config",
    "endpoints",
    "storage",
    "pipeline",
    "admin",
)
MAX_ROOT_MODULES = 8
MAX_CHAIN = 9
MAX_LINES = 320
AWS_MODULES = (
    "boto3",
    "botocore",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.parameters",
)


@cache
def modules() -> dict[str, ast.Module]:
    """Every module by dotted name (`signup_hooks.pipeline.dispatch`; a package by its own name)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("signup_hooks", *path.relative_to(PACKAGE).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return found


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


def package_imports(name: str) -> set[str]:
    """The package's modules `name` imports, type-only imports included."""
    return {found for found in imported(modules()[name]) if found in modules() and found != name}


def wing_of(name: str) -> str:
    return name.split(".")[1] if "." in name else ""


def test_the_package_has_its_wings_and_few_modules_at_its_root() -> None:
    wings = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()}
    at_root = [path.name for path in PACKAGE.glob("*.py")]
    assert len(wings) >= 6 and wings <= set(LAYERS)
    assert len(at_root) <= MAX_ROOT_MODULES, at_root
    assert {wing_of(name) for name in modules() if name != "signup_hooks"} == set(LAYERS)


def test_each_wing_imports_only_the_wings_below_it() -> None:
    offenders = {
        name: sorted(found)
        for name in modules()
        if name != "signup_hooks"
        and (
            found := {
                other
                for other in package_imports(name)
                if wing_of(other)
                and wing_of(other) != wing_of(name)
                and LAYERS.index(wing_of(other)) > LAYERS.index(wing_of(name))
            }
        )
    }
    assert offenders == {}


def test_the_pipeline_reaches_storage_only_through_its_ports() -> None:
    offenders = {
        name: sorted(other for other in package_imports(name) if wing_of(other) == "storage")
        for name in modules()
        if wing_of(name) == "pipeline"
    }
    assert {name: found for name, found in offenders.items() if set(found) - {"signup_hooks.storage.ports"}} == {}


def test_wing_init_files_import_nothing() -> None:
    inits = [name for name in modules() if PACKAGE.joinpath(*name.split(".")[1:], "__init__.py").exists()]
    assert "signup_hooks.pipeline" in inits and len(inits) >= 7  # the package and its wings
    assert {name: sorted(imported(modules()[name])) for name in inits if imported(modules()[name])} == {}


def longest_chain(start: str, seen: tuple[str, ...] = ()) -> list[str]:
    if start in seen:
        raise AssertionError("import circle: " + " -> ".join((*seen[seen.index(start) :], start)))
    below = [longest_chain(other, (*seen, start)) for other in sorted(package_imports(start))]
    return [start, *max(below, key=len, default=[])]


def test_no_import_circle_and_no_chain_deeper_than_nine_modules() -> None:
    deepest = max((longest_chain(name) for name in modules()), key=len)
    assert len(deepest) <= MAX_CHAIN, " -> ".join(deepest)


def test_the_chain_check_finds_a_circle() -> None:
    modules.cache_clear()
    try:
        found = modules()
        found["signup_hooks.errors"] = ast.parse("from signup_hooks.model import user")
        found["signup_hooks.model.user"] = ast.parse("from signup_hooks import errors")
        try:
            longest_chain("signup_hooks.errors")
        except AssertionError as circle:
            assert "signup_hooks.errors -> signup_hooks.model.user -> signup_hooks.errors" in str(circle)
        else:
            raise AssertionError("the circle was not found")
    finally:
        modules.cache_clear()


def test_no_module_is_over_320_lines() -> None:
    sizes = {path.relative_to(PACKAGE).as_posix(): len(path.read_text().splitlines()) for path in PACKAGE.rglob("*.py")}
    assert {name: size for name, size in sizes.items() if size > MAX_LINES} == {}


def aliases(tree: ast.Module) -> list[str]:
    """Module-level names bound to another module's name as it is (`DEFAULT = delivery_log.DEFAULT_ENDPOINT`)."""
    brought = {
        alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom) for alias in node.names
    }
    found = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = node.value
            if (isinstance(value, ast.Name) and value.id in brought) or (
                isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id in brought
            ):
                found.append(node.targets[0].id)
    return found


def test_no_fixed_name_is_an_alias_of_another() -> None:
    assert {name: found for name, tree in modules().items() if (found := aliases(tree))} == {}
    assert aliases(ast.parse("from x import names\nDEFAULT = names.DEFAULT_ENDPOINT\nLIMIT = 2 * names.X")) == [
        "DEFAULT"
    ]


def test_entry_points_never_import_each_other() -> None:
    handlers = sorted((ROOT / "functions").glob("*/app.py"))
    assert len(handlers) == 5
    offenders = {
        path.parent.name: sorted(found)
        for path in handlers
        if (found := {name for name in imported(ast.parse(path.read_text())) if name.startswith("functions")})
    }
    assert offenders == {}


def test_only_storage_modules_import_aws_libraries() -> None:
    offenders = {
        name: sorted(module for module in imported(tree) if module.startswith(AWS_MODULES))
        for name, tree in modules().items()
        if wing_of(name) != "storage"
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def calls_aws_client(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.Attribute)
        and node.attr == "client"
        and isinstance(node.value, ast.Name)
        and node.value.id in ("aws", "boto3")
        for node in ast.walk(tree)
    )


def test_only_storage_modules_make_aws_calls() -> None:
    assert [name for name, tree in modules().items() if wing_of(name) != "storage" and calls_aws_client(tree)] == []


# The stages of sending a notification, by the module that defines each. Only dispatch.py (the one path) and the
# stages themselves may use them.
STAGES = {
    "prepare": {"prepare"},
    "exactly_once": {"deliver_exactly_once"},
    "attempts": {"post_round", "post_attempt"},
    "settle": {"settle"},
}
STAGE_MODULES = {
    f"signup_hooks.pipeline.{name}" for name in ("dispatch", "prepare", "exactly_once", "attempts", "settle")
}


def stage_uses(tree: ast.Module) -> set[str]:
    """The stages a module imports or calls (`from signup_hooks.pipeline.prepare import prepare`, `settle.settle()`)."""
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("signup_hooks."):
            stage = node.module.rsplit(".", 1)[-1]
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
        "from signup_hooks.pipeline.prepare import prepare\nfrom signup_hooks.pipeline import settle\nsettle.settle(1)"
    )
    assert stage_uses(tree) == {"prepare.prepare", "settle.settle"}


def patched_by_tests() -> set[tuple[str, str]]:
    """(module, name) pairs the tests replace with monkeypatch.setattr: on a module object or by a dotted string."""
    patched = set()
    for path in (ROOT / "tests").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bound = {  # a local name -> the package module it is
            alias.asname or alias.name: f"{node.module}.{alias.name}"
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("signup_hooks")
            for alias in node.names
            if f"{node.module}.{alias.name}" in modules()
        }
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "setattr"
            ):
                continue
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Name) and first.id in bound and len(node.args) > 1:
                name = node.args[1]
                if isinstance(name, ast.Constant) and isinstance(name.value, str):
                    patched.add((bound[first.id], name.value))
            elif isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("signup_"):
                module, _, name = first.value.rpartition(".")
                patched.add((module, name))
    return patched


def test_what_a_test_patches_is_used_through_its_module() -> None:
    """`from m import f` keeps the original when a test patches m.f: such a name is used as `m.f` everywhere else."""
    patched = patched_by_tests()
    assert ("signup_hooks.sending.targets", "resolve") in patched
    offenders = sorted(
        f"{name} imports {node.module}.{alias.name}"
        for name, tree in modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module != name
        for alias in node.names
        if (node.module, alias.name) in patched
    )
    assert offenders == []
