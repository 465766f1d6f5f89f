"""What a platform team's review asks of template.yaml, checked on the translated template for every resource of a type,
so that a resource added later is checked too and a failure names what to add.

checkov itself runs in `make checkov` (its own virtualenv); the last test runs it here too when that virtualenv exists.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from local.template import ROOT, load_template
from tests.helpers import (
    KMS_KEY_ARN,
    Template,
    as_list,
    deployed,
    properties,
    resolve,
    resources,
    role_of,
    statements,
    translate,
)

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
# What an access log line may say: who asked what, and how it went. Never what was sent (headers, query, body).
FORBIDDEN_ACCESS_LOG_FIELDS = re.compile(
    r"\$context\.(requestOverride|responseOverride)|header|querystring|body|userAgent", re.I
)
REQUIRED_ACCESS_LOG_VARIABLES = {
    "$context.requestId",
    "$context.routeKey",
    "$context.status",
    "$context.responseLatency",
    "$context.integrationErrorMessage",
    "$context.authorizer.error",
    "$context.identity.sourceIp",
}


@pytest.fixture(scope="module")
def translated() -> Template:
    return translate(load_template())


@pytest.fixture(scope="module")
def with_key(translated: Template) -> Template:
    return deployed(translated, KmsKeyArn=KMS_KEY_ARN)


@pytest.fixture(scope="module")
def without_key(translated: Template) -> Template:
    return deployed(translated)


def checkov_skips(body: dict[str, Any]) -> list[dict[str, Any]]:
    return list(body.get("Metadata", {}).get("checkov", {}).get("skip", []))


# ---- checkov skips --------------------------------------------------------------------------------------------------


def test_every_checkov_skip_names_a_check_and_says_why(translated: Template) -> None:
    # Given every checkov skip in the translated template's resource metadata
    skips = [(name, skip) for name, body in translated["Resources"].items() for skip in checkov_skips(body)]
    # Then each names one check and gives a one-line reason of some substance
    assert skips
    bad = [
        f"{name}: {skip}"
        for name, skip in skips
        if not re.fullmatch(r"CKV2?_AWS_\d+", str(skip.get("id", "")))
        or len(str(skip.get("comment", "")).strip()) < 30
        or "\n" in str(skip.get("comment", ""))
    ]
    assert bad == [], "give each skip an `id` and a one-line `comment` saying why the check does not apply"


# ---- the HTTP API's access log --------------------------------------------------------------------------------------


def test_every_api_stage_writes_an_access_log_to_a_log_group_with_retention(translated: Template) -> None:
    # Given every HTTP API stage
    stages = resources(translated, "AWS::ApiGatewayV2::Stage")
    assert stages
    for name, body in stages.items():
        settings = body["Properties"].get("AccessLogSettings")
        assert settings, f"{name}: add AccessLogSettings (the HttpApi's AccessLogSettings)"
        # Then it logs to a log group of the template that expires its lines
        group = resolve(settings["DestinationArn"]).strip("<>").removesuffix(".Arn")
        assert translated["Resources"][group]["Type"] == "AWS::Logs::LogGroup", name
        assert resolve(properties(translated, group)["RetentionInDays"]) == "<LogRetentionDays>", name


def test_access_log_lines_are_json_with_ids_route_status_latency_errors_and_source_ip(translated: Template) -> None:
    for name, body in resources(translated, "AWS::ApiGatewayV2::Stage").items():
        log_format = body["Properties"]["AccessLogSettings"]["Format"]
        # When a request's variables are filled in
        line = json.loads(re.sub(r"\$context\.[A-Za-z.]+", "x", log_format))
        # Then the line is one JSON object holding each field a reader needs
        assert isinstance(line, dict), name
        missing = {variable for variable in REQUIRED_ACCESS_LOG_VARIABLES if variable not in log_format}
        assert missing == set(), f"{name}: add {sorted(missing)} to the access log format"


def test_access_log_format_has_no_header_query_string_or_body_field(translated: Template) -> None:
    for name, body in resources(translated, "AWS::ApiGatewayV2::Stage").items():
        log_format = body["Properties"]["AccessLogSettings"]["Format"]
        # Then no variable could carry an Authorization header, a token in a query string or a password in a body
        assert FORBIDDEN_ACCESS_LOG_FIELDS.findall(log_format) == [], name


# ---- logs: each function writes its own group only ------------------------------------------------------------------


def test_each_functions_log_statement_names_only_its_own_group(without_key: Template) -> None:
    for function_id, body in resources(without_key, "AWS::Lambda::Function").items():
        own = str(resolve(body["Properties"]["LoggingConfig"]["LogGroup"])).strip("<>")
        # Given every statement of the function's role that allows a logs action
        log_targets = {
            str(resolve(target))
            for statement in statements(without_key, role_of(without_key, function_id))
            if any(str(action).startswith("logs:") for action in as_list(statement["Action"]))
            for target in as_list(statement["Resource"])
        }
        # Then it names its own log group, and no other group
        assert log_targets == {f"<{own}.Arn>"}, f"{function_id} may write logs to {log_targets}"


# ---- tables, the topic, the key -------------------------------------------------------------------------------------


def test_every_table_has_point_in_time_recovery_or_a_stated_reason(translated: Template) -> None:
    undecided = [
        name
        for name, body in resources(translated, "AWS::DynamoDB::Table").items()
        if not body["Properties"].get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
        and "CKV_AWS_28" not in {skip["id"] for skip in checkov_skips(body)}
    ]
    assert undecided == [], "enable PointInTimeRecoverySpecification, or skip CKV_AWS_28 in Metadata with the reason"


@pytest.mark.parametrize("key", ["without_key", "with_key"])
def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(key: str, request: pytest.FixtureRequest) -> None:
    template = request.getfixturevalue(key)
    for name, body in resources(template, "AWS::SNS::Topic").items():
        key_id = resolve(body["Properties"].get("KmsMasterKeyId"))
        assert key_id, f"{name}: set KmsMasterKeyId"
        # Not the AWS managed key: its policy leaves CloudWatch out, so alarms would never arrive
        assert "alias/aws/sns" not in str(key_id), name
        if key == "with_key":
            assert key_id == "<KmsKeyArn>", name
        else:
            key_policy = properties(template, key_id.strip("<>"))["KeyPolicy"]["Statement"]
            services = {str(s["Principal"].get("Service")) for s in key_policy if isinstance(s["Principal"], dict)}
            assert "cloudwatch.amazonaws.com" in services, name


# Where each type keeps its key, and whether the type must use the customer key when one is given.
KEY_PROPERTIES = {
    "AWS::DynamoDB::Table": ("SSESpecification", "KMSMasterKeyId"),
    "AWS::SQS::Queue": ("KmsMasterKeyId",),
    "AWS::SNS::Topic": ("KmsMasterKeyId",),
    "AWS::Logs::LogGroup": ("KmsKeyId",),
    "AWS::SecretsManager::Secret": ("KmsKeyId",),
    "AWS::Lambda::Function": ("KmsKeyArn",),
}


def key_of(body: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = body.get("Properties", {})
    for step in path:
        value = value.get(step) if isinstance(value, dict) else None
    return resolve(value) if value is not None else None


def test_with_a_customer_key_every_table_queue_topic_log_group_secret_and_function_uses_it(with_key: Template) -> None:
    not_using = [
        f"{name} ({body['Type']}): set {'.'.join(path)} to !If [HasKmsKey, !Ref KmsKeyArn, ...]"
        for resource_type, path in KEY_PROPERTIES.items()
        for name, body in resources(with_key, resource_type).items()
        if key_of(body, path) != "<KmsKeyArn>"
    ]
    assert not_using == []


def test_without_a_customer_key_nothing_uses_one_and_aws_keys_encrypt_the_data(without_key: Template) -> None:
    # Then no resource names the (empty) parameter, and the data stays encrypted with AWS-owned or managed keys
    assert "<KmsKeyArn>" not in json.dumps(resolve(without_key["Resources"]))
    for name, body in resources(without_key, "AWS::DynamoDB::Table").items():
        assert body["Properties"]["SSESpecification"]["SSEEnabled"] is True, name
    for name, body in resources(without_key, "AWS::SQS::Queue").items():
        assert body["Properties"]["SqsManagedSseEnabled"] is True, name


def test_with_a_customer_key_each_function_may_only_decrypt_or_make_data_keys_with_it(with_key: Template) -> None:
    for function_id in resources(with_key, "AWS::Lambda::Function"):
        key_rights = {
            (action, str(resolve(target)))
            for statement in statements(with_key, role_of(with_key, function_id))
            for action in as_list(statement["Action"])
            if str(action).startswith("kms:")
            for target in as_list(statement["Resource"])
        }
        # Then it may decrypt (its environment, what it reads), maybe make data keys (what it writes), on that key only
        assert ("kms:Decrypt", "<KmsKeyArn>") in key_rights, function_id
        assert key_rights <= {("kms:Decrypt", "<KmsKeyArn>"), ("kms:GenerateDataKey", "<KmsKeyArn>")}, function_id


def test_without_a_customer_key_no_function_has_key_rights(without_key: Template) -> None:
    rights = [
        f"{function_id}: {action}"
        for function_id in resources(without_key, "AWS::Lambda::Function")
        for statement in statements(without_key, role_of(without_key, function_id))
        for action in as_list(statement["Action"])
        if str(action).startswith("kms:")
    ]
    assert rights == []


# ---- signup flood ---------------------------------------------------------------------------------------------------


def test_the_signup_route_is_throttled_by_its_own_parameters(translated: Template, without_key: Template) -> None:
    (stage,) = resources(translated, "AWS::ApiGatewayV2::Stage").values()
    route = stage["Properties"]["RouteSettings"]["POST /api/v1/auths/signup"]
    # Then the API answers 429 past the rate and burst the parameters set, before any function runs
    assert resolve(route["ThrottlingRateLimit"]) == "<SignupThrottleRate>"
    assert resolve(route["ThrottlingBurstLimit"]) == "<SignupThrottleBurst>"
    rate, burst = (
        int(translated["Parameters"][name]["Default"]) for name in ("SignupThrottleRate", "SignupThrottleBurst")
    )
    default = stage["Properties"]["DefaultRouteSettings"]
    assert 1 <= rate <= default["ThrottlingRateLimit"]
    assert rate <= burst <= default["ThrottlingBurstLimit"]


def test_signup_reserved_concurrency_is_off_by_default_and_set_by_its_parameter(translated: Template) -> None:
    assert "ReservedConcurrentExecutions" not in properties(deployed(translated), "SignupFunction")
    capped = properties(deployed(translated, SignupReservedConcurrency="20"), "SignupFunction")
    assert resolve(capped["ReservedConcurrentExecutions"]) == "<SignupReservedConcurrency>"


# ---- checkov --------------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not CHECKOV.exists(), reason="checkov's virtualenv is missing: `make checkov` creates it")
def test_checkov_finds_no_failed_check(translated: Template, tmp_path: Path) -> None:
    # Given the translated template in a file
    path = tmp_path / "translated.json"
    path.write_text(json.dumps(translated), encoding="utf-8")
    # When checkov checks it, offline
    result = subprocess.run(  # noqa: S603 - our pinned checkov on our own file
        [str(CHECKOV), "--file", str(path), "--framework", "cloudformation", "--skip-download", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(result.stdout)
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["results"]["failed_checks"]]
    # Then it reports no failed check
    assert failed == [], "fix each, or skip it in the resource's Metadata with a one-line reason"
