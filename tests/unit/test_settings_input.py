"""What an administrator may set, checked field by field (settings_input.py), without AWS."""

from __future__ import annotations

import pytest
from signup_hooks.endpoints import custom_header
from signup_hooks.errors import InvalidInput


@pytest.mark.parametrize("name", ["X-Api-Key\n", "X-Api-Key\r\n", "X Api", "", "X-Api-Key:", "Ä-Key"])
def test_a_custom_header_name_must_be_a_whole_http_token(name: str) -> None:
    # A name with a trailing newline passed `^...$` (which matches before a final newline): a header injection
    with pytest.raises(InvalidInput) as refused:
        custom_header.validate_custom_header({"name": name, "value": "v"})
    assert refused.value.field == "custom_header"


def test_a_custom_header_name_that_is_a_token_is_taken() -> None:
    header = custom_header.validate_custom_header({"name": "X-Api-Key", "value": "v"})
    assert (header.name, header.value) == ("X-Api-Key", "v")
