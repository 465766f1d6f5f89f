"""template.yaml as the AWS::Serverless transform turns it into CloudFormation, offline (no AWS call, no credentials).

`python scripts/sam_translate.py [OUT]` writes it as JSON (to stdout without OUT): what checkov reads in `make test`,
and what the tests read (`tests/unit/test_template.py`). Local folders (CodeUri, ContentUri) become S3 objects, as
`sam package` makes them, and the AWS managed policies SAM may look up are stubbed so that IAM is never asked.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository's `local` package

from local.template import load_template

REGION = "us-east-1"
# The AWS managed policies SAM may look up by name; a stub, so that translating never calls IAM.
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSLambdaDynamoDBExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole",
    "AWSLambdaSQSQueueExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
}


def translate(sam_template: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation for a SAM template, as the AWS::Serverless transform makes it, without network access."""
    template = copy.deepcopy(sam_template)
    for definition in template["Resources"].values():
        properties = definition.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                # What `sam package` does: local folders become S3 objects.
                properties[key] = f"s3://artifacts/{properties[key].strip('/')}.zip"
    parameter_values: dict[str, Any] = {}
    to_py27_compatible_template(template, parameter_values)
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    translated = translator.translate(template, parameter_values, get_managed_policy_map=lambda: MANAGED_POLICIES)
    return dict(undo_mark_unicode_str_in_template(translated))


def main(argv: list[str]) -> int:
    text = json.dumps(translate(load_template()), indent=1)
    if len(argv) > 1:
        Path(argv[1]).parent.mkdir(parents=True, exist_ok=True)
        Path(argv[1]).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
