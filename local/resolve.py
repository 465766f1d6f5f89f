"""Resolve the template's intrinsic functions the way CloudFormation would for one local stack.

Covers what a SAM template of this size uses: Ref (parameters, pseudo parameters, resources), Fn::Sub (both forms),
Fn::GetAtt, Fn::Join, Fn::Select, Fn::If with Fn::Equals / Fn::Not / Fn::And / Fn::Or conditions.
Physical names are deterministic (`<stack>-<LogicalId>`) unless the stack records the real ones as it creates them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
NO_VALUE = object()

_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


class TemplateError(Exception):
    """The template uses something the local resolver does not support."""


@dataclass
class Resolver:
    template: dict[str, Any]
    stack_name: str
    overrides: dict[str, str] = field(default_factory=dict)  # parameter values, as `--parameter-overrides`
    region: str = REGION
    account_id: str = ACCOUNT_ID
    refs: dict[str, str] = field(default_factory=dict)  # logical id -> what Ref returns, once known
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)  # logical id -> GetAtt values, once known

    # ---- values -------------------------------------------------------------------------------------------------

    def parameter(self, name: str) -> str:
        spec = self.template.get("Parameters", {})[name]
        value = self.overrides.get(name, spec.get("Default"))
        if value is None:
            raise TemplateError(f"parameter {name} has no default: give it a value")
        return str(value)

    def physical_name(self, logical_id: str) -> str:
        return f"{self.stack_name}-{logical_id}"

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        if name in self.refs:
            return self.refs[name]
        resource = self.template.get("Resources", {}).get(name)
        if resource is None:
            raise TemplateError(f"!Ref {name}: no such parameter or resource")
        kind = resource["Type"]
        if kind in ("AWS::Serverless::Function", "AWS::Lambda::Function", "AWS::DynamoDB::Table"):
            return self.physical_name(name)
        if kind == "AWS::Logs::LogGroup":
            return self.resolve(resource["Properties"].get("LogGroupName", self.physical_name(name)))
        if kind == "AWS::SQS::Queue":
            return self.get_att(name, "QueueUrl")
        return self.physical_name(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        known = self.attributes.get(logical_id, {})
        if attribute in known:
            return known[attribute]
        resource = self.template.get("Resources", {}).get(logical_id)
        if resource is None:
            raise TemplateError(f"!GetAtt {logical_id}.{attribute}: no such resource")
        name, kind, prefix = self.physical_name(logical_id), resource["Type"], f"{self.region}:{self.account_id}"
        derived = {
            ("AWS::Serverless::Function", "Arn"): f"arn:aws:lambda:{prefix}:function:{name}",
            ("AWS::Lambda::Function", "Arn"): f"arn:aws:lambda:{prefix}:function:{name}",
            ("AWS::DynamoDB::Table", "Arn"): f"arn:aws:dynamodb:{prefix}:table/{name}",
            ("AWS::SQS::Queue", "Arn"): f"arn:aws:sqs:{prefix}:{name}",
            ("AWS::SQS::Queue", "QueueName"): name,
            ("AWS::SQS::Queue", "QueueUrl"): f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{name}",
        }
        if (kind, attribute) in derived:
            return derived[(kind, attribute)]
        raise TemplateError(f"!GetAtt {logical_id}.{attribute} is not known before the resource exists locally")

    # ---- intrinsic functions ------------------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """`value` with every intrinsic function replaced by its result; AWS::NoValue entries dropped."""
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), *_ = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key.startswith("Fn::") or key == "Condition":
                return self._function(key, arg)
        return {k: r for k, v in value.items() if (r := self.resolve(v)) is not NO_VALUE}

    def _function(self, key: str, arg: Any) -> Any:
        if key == "Fn::GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return self.get_att(logical_id, attribute)
        if key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
            return self._sub(text, variables)
        if key == "Fn::Join":
            separator, items = arg
            return separator.join(str(item) for item in self.resolve(items))
        if key == "Fn::Select":
            index, items = self.resolve(arg)
            return items[int(index)]
        if key == "Fn::If":
            condition, if_true, if_false = arg
            return self.resolve(if_true if self.condition(condition) else if_false)
        if key in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"):
            return self._condition_function(key, arg)
        raise TemplateError(f"{key} is not supported by the local stack")

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template.get("Conditions", {})[name]))

    def _condition_function(self, key: str, arg: Any) -> bool:
        if key == "Condition":
            return self.condition(arg)
        if key == "Fn::Equals":
            left, right = self.resolve(arg)
            return str(left) == str(right)
        results = [bool(self.resolve(item)) for item in arg]
        if key == "Fn::Not":
            return not results[0]
        return all(results) if key == "Fn::And" else any(results)
