"""The notification text: a template with named placeholders, rendered without attribute or index access."""

from __future__ import annotations

import string
from collections.abc import Mapping

from signup_hooks.errors import ConfigError

DEFAULT_TEMPLATE = "New user signed up: {name}"
PLACEHOLDERS = ("name", "email", "role", "id")
MAX_TEMPLATE_LENGTH = 500

_formatter = string.Formatter()


def validate_template(template: str) -> None:
    """Refuse what could fail or leak at send time: unknown fields, attribute or index access, format specs."""
    if not template or len(template) > MAX_TEMPLATE_LENGTH:
        raise ConfigError(f"the message template must have 1 to {MAX_TEMPLATE_LENGTH} characters")
    try:
        parts = list(_formatter.parse(template))
    except ValueError as exc:
        raise ConfigError(f"the message template is malformed: {exc}") from None
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in PLACEHOLDERS:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise ConfigError(f"unknown placeholder {{{field}}} in the message template; use {known}")
        if spec or conversion:
            raise ConfigError(f"placeholder {{{field}}} takes no format spec or conversion")


def render(template: str, values: Mapping[str, str]) -> str:
    """Substitute each placeholder with its value, literally (a value's own braces stay as they are)."""
    out: list[str] = []
    for literal, field, _spec, _conversion in _formatter.parse(template):
        out.append(literal)
        if field is not None:
            out.append(values.get(field, ""))
    return "".join(out)
