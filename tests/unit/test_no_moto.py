"""No unit test reaches moto through the project's modules, in any session.

The unit conftest's finder refuses moto to an import that runs. In the full suite, though, tests/integration/ has
imported moto and local/ before tests/unit/ is collected: an import from a unit test finds them loaded and no finder
hears of it. So here files are parsed, never imported: a unit test file's imports (its functions' too, which run with
the tests) are followed through the project's modules by what each runs when imported (module level, outside
`if TYPE_CHECKING:`; a function's import runs only if it is called, and the finder sees that one).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from local.template import ROOT
from tests.unit.conftest import MotoImported, _RefuseMoto

UNIT_TESTS = Path(__file__).resolve().parent
SEARCH_PATH = (
    ROOT,
    ROOT / "layers" / "shared",
)  # pyproject.toml's pytest pythonpath; the project has no relative imports


def imported_names(path: Path, *, in_functions: bool) -> Iterator[str]:
    """The dotted names `path` imports (`from a import b` gives a and a.b); its functions' only if `in_functions`."""

    def visit(node: ast.AST) -> Iterator[str]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) and not in_functions:
                continue
            if isinstance(child, ast.If) and ast.unparse(child.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
                for statement in child.orelse:
                    yield from visit(ast.Module(body=[statement], type_ignores=[]))
                continue
            if isinstance(child, ast.Import):
                yield from (alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module:
                yield child.module
                yield from (f"{child.module}.{alias.name}" for alias in child.names)
            yield from visit(child)

    yield from visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))


def project_files(name: str) -> list[Path]:
    """The project's files that importing `name` runs (its packages' __init__.py too); none for a library."""
    parts = name.split(".")
    found = []
    for end in range(1, len(parts) + 1):
        for root in SEARCH_PATH:
            base = root.joinpath(*parts[:end])
            found += [file for file in (base.with_suffix(".py"), base / "__init__.py") if file.is_file()]
    return found


def _label(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name


def path_to_moto(start: Path) -> list[str] | None:
    """The files from `start` (a unit test file) to one that imports moto, then the moto module; None if none does."""
    chains: dict[Path, list[str]] = {start: [_label(start)]}
    waiting = [start]
    while waiting:
        path = waiting.pop()
        for name in imported_names(path, in_functions=path == start):
            if name.split(".", 1)[0] == "moto":
                return [*chains[path], name]
            for found in project_files(name):
                if found not in chains:
                    chains[found] = [*chains[path], _label(found)]
                    waiting.append(found)
    return None


def test_no_unit_test_file_reaches_moto_through_the_project() -> None:
    # Given every file of tests/unit/
    files = sorted(UNIT_TESTS.glob("*.py"))
    assert len(files) > 10
    # Then none reaches a module that imports moto when imported
    chains = [" -> ".join(chain) for chain in map(path_to_moto, files) if chain]
    assert chains == [], "import a pure module of local/ instead, or move the test to tests/integration/"


@pytest.mark.parametrize(
    ("source", "through"),
    [
        ("from local.faults import service_of\n", "local/faults.py"),
        ("def test_it():\n    from local.__main__ import environments_of\n", "local/__main__.py"),
        ("import moto\n", None),
    ],
    ids=["module-level", "in-a-test-function", "direct"],
)
def test_the_check_finds_moto_behind_the_imports_unit_tests_used_to_make(
    tmp_path: Path, source: str, through: str | None
) -> None:
    # Given a unit test file with an import that reaches moto
    test_file = tmp_path / "test_example.py"
    test_file.write_text(source, encoding="utf-8")
    # Then the check finds the way there
    chain = path_to_moto(test_file)
    assert chain is not None and chain[-1].split(".")[0] == "moto"
    assert through is None or chain[1] == through


def test_the_check_ignores_type_checking_imports_and_the_functions_of_the_modules_reached(tmp_path: Path) -> None:
    # Given a test file that imports tests/sandbox.py, which imports moto under TYPE_CHECKING and inside start()
    test_file = tmp_path / "test_example.py"
    test_file.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import moto\nfrom tests import sandbox\n"
    )
    # Then nothing it runs when imported reaches moto
    assert path_to_moto(test_file) is None


def test_the_finder_refuses_moto_to_unit_tests_and_only_to_them() -> None:
    finder = _RefuseMoto()
    # Given a lookup made from a unit test: moto and its submodules are refused, other names are left to the others
    with pytest.raises(MotoImported):
        finder.find_spec("moto", None)
    with pytest.raises(MotoImported):
        finder.find_spec("moto.server", None)
    assert finder.find_spec("motor", None) is None
    # Given the same lookup where no unit test file is among the callers (as for the integration conftest's imports)
    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(finder.find_spec, "moto", None).result(timeout=5)
    # Then the finder leaves it to the others
    assert answer is None
