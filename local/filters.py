"""Lambda event filtering, as the event source mapping applies FilterCriteria before invoking a function.

Supports the pattern forms the template uses and the common ones around them: exact values, nested keys,
`prefix`, `exists`, `anything-but` and `numeric` comparisons. A record passes when any filter matches.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()


def passes(filters: list[dict[str, Any]], record: dict[str, Any]) -> bool:
    return not filters or any(matches(pattern, record) for pattern in filters)


def matches(pattern: dict[str, Any], data: Any) -> bool:
    for key, expected in pattern.items():
        value = data.get(key, _MISSING) if isinstance(data, dict) else _MISSING
        if isinstance(expected, dict):
            if value is _MISSING or not matches(expected, value):
                return False
        elif not any(_matches_value(rule, value) for rule in expected):
            return False
    return True


def _matches_value(rule: Any, value: Any) -> bool:
    if not isinstance(rule, dict):
        return value is not _MISSING and value == rule
    if "exists" in rule:
        return (value is not _MISSING) == bool(rule["exists"])
    if value is _MISSING:
        return False
    if "prefix" in rule:
        return isinstance(value, str) and value.startswith(rule["prefix"])
    if "anything-but" in rule:
        excluded = rule["anything-but"]
        return value not in (excluded if isinstance(excluded, list) else [excluded])
    if "numeric" in rule:
        return _numeric(rule["numeric"], value)
    raise ValueError(f"unsupported filter rule: {rule}")


def _numeric(conditions: list[Any], value: Any) -> bool:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    checks = {"=": number.__eq__, "<": number.__lt__, "<=": number.__le__, ">": number.__gt__, ">=": number.__ge__}
    return all(checks[op](float(bound)) for op, bound in zip(conditions[::2], conditions[1::2], strict=True))
