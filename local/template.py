"""Read template.yaml, the single source of truth for the local stack and the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, !GetAtt ...) read as their long JSON forms."""


def _short_tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    key = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    return {key: value}


_CfnLoader.add_multi_constructor("!", _short_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return dict(yaml.load(handle, Loader=_CfnLoader))  # noqa: S506 - a SafeLoader subclass


def resource(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return dict(template["Resources"][logical_id])


def stream_filters(template: dict[str, Any], mapping_id: str = "NotifierStreamMapping") -> list[dict[str, Any]]:
    """The event source mapping's filter patterns, parsed."""
    filters = resource(template, mapping_id)["Properties"].get("FilterCriteria", {}).get("Filters", [])
    return [json.loads(item["Pattern"]) for item in filters]


def table_definition(template: dict[str, Any], logical_id: str = "UsersTable") -> dict[str, Any]:
    """CreateTable arguments for a table, taken from its template definition (name aside)."""
    props = resource(template, logical_id)["Properties"]
    definition = {
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        "StreamSpecification": {"StreamEnabled": True, **props["StreamSpecification"]}
        if "StreamSpecification" in props
        else {"StreamEnabled": False},
    }
    if "GlobalSecondaryIndexes" in props:
        definition["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    return definition
