"""Every module of the package that template.yaml, the README or docs/ names exists: a module moved to a wing (or
renamed) must not leave a reader looking for a file that is gone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_PARENT = ROOT / "layers" / "shared"
MODULE_PATH = re.compile(r"signup_hooks/[\w/]*\.py\b")
NAMING_FILES = sorted([ROOT / "template.yaml", ROOT / "README.md", *(ROOT / "docs").glob("*.md")])


def named_modules(text: str) -> list[str]:
    return MODULE_PATH.findall(text)


def test_module_paths_are_found_in_text():
    text = "see (signup_hooks/model/retry_message.py) and `signup_hooks/aws.py`, not signup_hooks/ or x.pyc"
    assert named_modules(text) == ["signup_hooks/model/retry_message.py", "signup_hooks/aws.py"]


def test_the_template_names_modules():  # so that the check below reads it at all
    assert named_modules((ROOT / "template.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("document", NAMING_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_module_a_document_names_exists(document):
    missing = [
        name for name in named_modules(document.read_text(encoding="utf-8")) if not (PACKAGE_PARENT / name).is_file()
    ]
    assert missing == []
