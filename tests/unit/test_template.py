"""template.yaml, translated offline by the SAM translator and linted with cfn-lint: the resources, their wiring
and the least privilege of each function's role.

The wiring is read from the translated CloudFormation, which is what gets deployed. Intrinsics there are resolved to
readable placeholders (`<UsersTable.StreamArn>`, `<DeadLetterQueue>`) and fixed pseudo parameters, so assertions name
exactly which resource each permission, route and destination points at.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file
from cfnlint.config import ManualArgs
from cfnlint.match import Match

from local.filters import passes
from local.template import TEMPLATE, load_template, stream_filters
from tests.helpers import (
    KMS_KEY_ARN,
    REGION,
    Template,
    as_list,
    deployed,
    environment,
    load_event,
    properties,
    resolve,
    resources,
    role_of,
    statements,
    translate,
)

PARAMETER_NAME = "/signup-webhooks/webhooks/default"  # the settings document
PARAMETER_ARN = f"arn:aws:ssm:us-east-1:123456789012:parameter{PARAMETER_NAME}"
# Every endpoint's settings document: ids are made at run time, so the admin's rights on them are a pattern of
# one path of the stack's own; the path itself is what GetParametersByPath is allowed on.
WEBHOOKS_PATH_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/signup-webhooks/webhooks"
ENDPOINT_DOCUMENTS_ARN = f"{WEBHOOKS_PATH_ARN}/*"
FUNCTIONS = {"SignupFunction", "NotifierFunction", "RetryFunction", "AdminFunction", "AuthorizerFunction"}

# Actions IAM cannot scope to one resource, so a statement holding only these may use Resource "*".
UNSCOPABLE_ACTIONS = {
    # Lambda's stream poller lists the table's streams before it reads one; ListStreams has no resource type in IAM.
    "dynamodb:ListStreams",
}
# What a role needs for Lambda to send its function's trace segments (Tracing Active), as AWS's Lambda guide says.
TRACING_POLICY = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"


# ---------------------------------------------------------------------------------------------------------------------
# Translating, linting and reading templates
# ---------------------------------------------------------------------------------------------------------------------


def lint_errors(path: Path) -> list[Match]:
    """cfn-lint's errors (E rules) for a template file; warnings and informational matches are left out."""
    return [match for match in lint_file(path, config=ManualArgs(regions=[REGION])) if match.rule.id.startswith("E")]


def describe(match: Match) -> str:
    return f"{match.rule.id} line {match.linenumber}: {match.message}"


def permissions(template: Template, function_id: str) -> dict[str, set[str]]:
    """Every action the function's role allows, with the resources (resolved) it allows it on."""
    allowed: dict[str, set[str]] = {}
    for statement in statements(template, role_of(template, function_id)):
        if statement["Effect"] != "Allow":
            continue
        for action in as_list(statement["Action"]):
            allowed.setdefault(action, set()).update(str(resolve(item)) for item in as_list(statement["Resource"]))
    return allowed


def notifier_mapping(template: Template) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (name, body)
        for name, body in resources(template, "AWS::Lambda::EventSourceMapping").items()
        if resolve(body["Properties"]["FunctionName"]) == "<NotifierFunction>"
    ]
    return found


def parameter_names(template: Template, function_id: str) -> set[str]:
    """The SSM parameter names a function is told about through its *_PARAMETER environment variables."""
    return {str(value) for name, value in environment(template, function_id).items() if name.endswith("_PARAMETER")}


def parameter_arns(template: Template, function_id: str) -> set[str]:
    return {f"arn:aws:ssm:{REGION}:123456789012:parameter{name}" for name in parameter_names(template, function_id)}


def routes(template: Template) -> dict[str, dict[str, Any]]:
    """The HTTP API's routes, as "METHOD /path" -> OpenAPI operation (SAM writes routes into the API's Body)."""
    (api,) = resources(template, "AWS::ApiGatewayV2::Api").values()
    return {
        f"{method.upper()} {path}": operation
        for path, operations in api["Properties"]["Body"]["paths"].items()
        for method, operation in operations.items()
    }


def authorizers(template: Template) -> dict[str, dict[str, Any]]:
    (api,) = resources(template, "AWS::ApiGatewayV2::Api").values()
    schemes = api["Properties"]["Body"]["components"]["securitySchemes"]
    return {name: scheme["x-amazon-apigateway-authorizer"] for name, scheme in schemes.items()}


# ---------------------------------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sam_template() -> Template:
    return load_template()


@pytest.fixture(scope="module")
def translated() -> Template:
    return translate(load_template())


@pytest.fixture(scope="module")
def most_rights(translated: Template) -> Template:
    """The stack with every optional right its roles may hold: a KMS key and Active tracing."""
    return deployed(translated, KmsKeyArn=KMS_KEY_ARN, Tracing="Active")


@pytest.fixture(scope="module")
def translated_path(translated: Template, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "translated.json"
    path.write_text(json.dumps(translated, indent=1), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------------------------------
# Translation and lint
# ---------------------------------------------------------------------------------------------------------------------


def test_translation_yields_the_five_functions_and_no_sam_types(translated: Template) -> None:
    # Given template.yaml translated offline
    # When its resource types are listed
    types = {body["Type"] for body in translated["Resources"].values()}
    # Then every SAM type became CloudFormation, and the five functions exist
    assert not [name for name in types if name.startswith("AWS::Serverless::")]
    assert set(resources(translated, "AWS::Lambda::Function")) == FUNCTIONS


def test_translated_template_has_no_lint_errors(translated_path: Path) -> None:
    # Given the translated template written to a file
    # When cfn-lint checks it
    errors = lint_errors(translated_path)
    # Then it reports no error (warnings are allowed)
    assert [describe(match) for match in errors] == []


def test_sam_template_has_no_lint_errors() -> None:
    # Given template.yaml as written, with its SAM transform
    # When cfn-lint checks it (1.53 still expands the transform itself)
    errors = lint_errors(TEMPLATE)
    # Then it reports no error (warnings are allowed)
    assert [describe(match) for match in errors] == []


def test_every_resource_of_the_sam_template_has_a_description(sam_template: Template) -> None:
    # Given the resources of template.yaml as written
    # When each is searched for a description, wherever the type keeps it
    undocumented = [
        name
        for name, body in sam_template["Resources"].items()
        if not (body.get("Properties", {}).get("Description") or body.get("Metadata", {}).get("Description"))
    ]
    # Then none lacks one
    assert undocumented == []


# ---------------------------------------------------------------------------------------------------------------------
# Data: users table, dead-letter queue, admin token
# ---------------------------------------------------------------------------------------------------------------------


def test_users_table_is_on_demand_streamed_recoverable_and_encrypted(translated: Template) -> None:
    # Given the users table
    table = properties(translated, "UsersTable")
    # Then it bills per request, streams new images, keeps point-in-time recovery and encrypts at rest
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True


def test_users_table_is_kept_when_the_stack_is_deleted_or_the_table_replaced(translated: Template) -> None:
    # Given the users table
    table = translated["Resources"]["UsersTable"]
    # Then CloudFormation retains it on deletion and on replacement
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


def test_dead_letter_queue_keeps_messages_14_days_encrypted(translated: Template) -> None:
    # Given the dead-letter queue, deployed without a customer managed key
    queue = properties(deployed(translated), "DeadLetterQueue")
    # Then messages stay 14 days, the maximum, and are encrypted with SQS-managed keys
    assert queue["MessageRetentionPeriod"] == 1_209_600
    assert queue["SqsManagedSseEnabled"] is True


def test_admin_token_is_a_secret_generated_at_deploy_time(translated: Template) -> None:
    # Given the secret the authorizer reads
    secret_ref = environment(translated, "AuthorizerFunction")["ADMIN_TOKEN_SECRET"]
    secret_id = secret_ref.strip("<>")
    secret = translated["Resources"][secret_id]
    # Then it is a Secrets Manager secret whose value is generated, never written in the template
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    assert "SecretString" not in secret["Properties"]


def test_no_default_token_or_password_in_the_template(sam_template: Template) -> None:
    # Given template.yaml as written
    secretish = re.compile(r"token|password|secret", re.IGNORECASE)
    # When its parameters, secrets and environment variables are searched for written-out credentials
    parameter_defaults = [  # a Number (SigningSecretOverlapHours) cannot hold a credential
        name
        for name, body in sam_template["Parameters"].items()
        if secretish.search(name) and "Default" in body and body.get("Type") != "Number"
    ]
    written_secrets = [
        name for name, body in sam_template["Resources"].items() if "SecretString" in body.get("Properties", {})
    ]
    literal_variables = [
        f"{name}.{variable}"
        for name, body in sam_template["Resources"].items()
        for variable, value in body.get("Properties", {}).get("Environment", {}).get("Variables", {}).items()
        if secretish.search(variable) and isinstance(value, str)
    ]
    # Then there are none
    assert parameter_defaults == []
    assert written_secrets == []
    assert literal_variables == []


# ---------------------------------------------------------------------------------------------------------------------
# The notifier's stream
# ---------------------------------------------------------------------------------------------------------------------


def test_stream_mapping_feeds_the_users_table_stream_to_the_notifier_from_the_start(translated: Template) -> None:
    # Given the notifier's event source mapping
    _, mapping = notifier_mapping(translated)
    # Then it reads the users table's stream from its oldest record
    assert resolve(mapping["Properties"]["EventSourceArn"]) == "<UsersTable.StreamArn>"
    assert mapping["Properties"]["StartingPosition"] == "TRIM_HORIZON"


def test_stream_mapping_reports_partial_failures_and_bisects_failing_batches(translated: Template) -> None:
    # Given the notifier's event source mapping
    _, mapping = notifier_mapping(translated)
    # Then a failed record is retried alone, not with the records that succeeded
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["Properties"]["BisectBatchOnFunctionError"] is True


def test_stream_mapping_bounds_retries_record_age_and_batch_size(translated: Template) -> None:
    # Given the notifier's event source mapping (-1, the default for retries and age, means forever)
    _, mapping = notifier_mapping(translated)
    settings = mapping["Properties"]
    # Then each is set and finite
    assert 1 <= settings["MaximumRetryAttempts"] <= 10
    assert 60 <= settings["MaximumRecordAgeInSeconds"] <= 86_400
    assert 1 <= settings["BatchSize"] <= 100


def test_stream_mapping_sends_what_it_gives_up_on_to_the_retry_queue(translated: Template) -> None:
    # Given the notifier's event source mapping
    _, mapping = notifier_mapping(translated)
    # Then its failure destination is the retry queue, whose function reads the batch back from this stream
    assert resolve(mapping["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]) == "<RetryQueue.Arn>"
    assert environment(translated, "NotifierFunction")["RETRY_QUEUE_URL"] == "<RetryQueue>"
    assert environment(translated, "RetryFunction")["USERS_STREAM_ARN"] == resolve(
        mapping["Properties"]["EventSourceArn"]
    )


def test_stream_mapping_waits_for_the_notifier_role_and_its_policies(translated: Template) -> None:
    # Given the notifier's event source mapping
    _, mapping = notifier_mapping(translated)
    # Then CloudFormation creates it after the role (whose inline policies let Lambda read the stream)
    assert role_of(translated, "NotifierFunction") in as_list(mapping.get("DependsOn", []))


def test_stream_filter_lets_a_new_user_profile_through(translated: Template) -> None:
    # Given the mapping's filter and a stream batch holding a new user profile
    mapping_id, _ = notifier_mapping(translated)
    filters = stream_filters(translated, mapping_id)
    records = load_event("notifier_new_user")["Records"]
    # Then every record passes
    assert records
    assert all(passes(filters, record) for record in records)


def test_stream_filter_drops_credentials_and_profile_updates(translated: Template) -> None:
    # Given the mapping's filter and a stream batch with a credential insert and a profile update
    mapping_id, _ = notifier_mapping(translated)
    filters = stream_filters(translated, mapping_id)
    records = load_event("notifier_filtered_out")["Records"]
    # Then no record passes
    assert records
    assert [record["eventID"] for record in records if passes(filters, record)] == []


@pytest.mark.parametrize("change", ["removed", "no entity"])
def test_stream_filter_drops_removals_and_items_without_entity(translated: Template, change: str) -> None:
    # Given the mapping's filter and a new user record, changed
    mapping_id, _ = notifier_mapping(translated)
    filters = stream_filters(translated, mapping_id)
    (record,) = load_event("notifier_new_user")["Records"]
    if change == "removed":
        record["eventName"] = "REMOVE"
    else:
        del record["dynamodb"]["NewImage"]["entity"]
    # Then it does not pass
    assert not passes(filters, record)


# ---------------------------------------------------------------------------------------------------------------------
# Functions and the layer
# ---------------------------------------------------------------------------------------------------------------------


def test_every_function_runs_python313_on_arm64(translated: Template) -> None:
    # Given every Lambda function
    functions = resources(translated, "AWS::Lambda::Function")
    # When their runtimes and architectures are listed
    platforms = {
        name: (body["Properties"]["Runtime"], body["Properties"]["Architectures"]) for name, body in functions.items()
    }
    # Then each runs Python 3.13 on Graviton
    assert platforms == {name: ("python3.13", ["arm64"]) for name in FUNCTIONS}


def test_every_function_uses_the_one_shared_layer(translated: Template) -> None:
    # Given the template's single layer
    (layer_id,) = resources(translated, "AWS::Lambda::LayerVersion")
    # When each function's layers are listed
    layers = {
        name: body["Properties"].get("Layers") for name, body in resources(translated, "AWS::Lambda::Function").items()
    }
    # Then each uses that layer, and nothing else
    assert layers == {name: [{"Ref": layer_id}] for name in FUNCTIONS}


def test_layer_is_built_for_python313_on_arm64(sam_template: Template, translated: Template) -> None:
    # Given the layer as written and as translated
    (source,) = resources(sam_template, "AWS::Serverless::LayerVersion").values()
    (layer,) = resources(translated, "AWS::Lambda::LayerVersion").values()
    # Then SAM builds it with python3.13 for arm64, and Lambda accepts it for that runtime and architecture
    assert source["Metadata"]["BuildMethod"] == "python3.13"
    assert source["Metadata"].get("BuildArchitecture", "arm64") == "arm64"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_every_function_logs_to_its_own_log_group_with_retention(translated: Template) -> None:
    # Given every function's logging configuration
    log_groups = {
        name: body["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        for name, body in resources(translated, "AWS::Lambda::Function").items()
    }
    # Then each names an explicit log group of its own, which expires its logs
    assert set(log_groups) == FUNCTIONS
    assert len(set(log_groups.values())) == len(FUNCTIONS)
    for group in log_groups.values():
        assert translated["Resources"][group]["Type"] == "AWS::Logs::LogGroup"
        assert translated["Resources"][group]["Properties"]["RetentionInDays"]


# ---------------------------------------------------------------------------------------------------------------------
# HTTP API
# ---------------------------------------------------------------------------------------------------------------------


def test_api_routes_signup_to_signup_and_admin_paths_to_admin(translated: Template) -> None:
    # Given the HTTP API's routes
    targets = {
        route: resolve(operation["x-amazon-apigateway-integration"]["uri"])
        for route, operation in routes(translated).items()
    }
    # Then signup reaches the signup function, every admin path the admin function, and no other route exists
    invoke = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/<{}.Arn>/invocations"
    assert targets.pop("POST /api/v1/auths/signup") == invoke.format("SignupFunction")
    assert {"GET", "PUT", "DELETE"} <= {
        route.split()[0] for route in targets if route.endswith(" /api/v1/admin/webhook")
    }
    assert {
        route: target
        for route, target in targets.items()
        if not route.split()[1].startswith("/api/v1/admin/") and route not in ADMIN_PAGE_ROUTES
    } == {}
    assert set(targets.values()) == {invoke.format("AdminFunction")}


# The admin settings page: public because they serve static files only (no data); the page calls the API with the token.
ADMIN_PAGE_ROUTES = {"GET /admin", "GET /admin/app.js", "GET /admin/js/{name}", "GET /admin/app.css"}


def test_admin_page_routes_are_public_static_files_served_by_the_admin_function(translated: Template) -> None:
    # Given the settings page's routes
    page = {route: operation for route, operation in routes(translated).items() if route in ADMIN_PAGE_ROUTES}
    # Then each exists, reaches the admin function, and needs no authorizer
    invoke = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/<AdminFunction.Arn>/invocations"
    assert set(page) == ADMIN_PAGE_ROUTES
    assert {resolve(op["x-amazon-apigateway-integration"]["uri"]) for op in page.values()} == {invoke}
    assert [route for route, operation in page.items() if operation.get("security")] == []


def test_signup_route_needs_no_authorizer(translated: Template) -> None:
    # Given the signup route
    operation = routes(translated)["POST /api/v1/auths/signup"]
    # Then anyone may call it
    assert not operation.get("security")


# The API's description: public, as it holds no data (functions/admin/app.py).
PUBLIC_ADMIN_ROUTES = {"GET /api/v1/admin/openapi.json"}


def test_every_admin_route_goes_through_the_token_authorizer(translated: Template) -> None:
    # Given the admin routes (GET, PUT, DELETE /api/v1/admin/webhook and any added since), but the API's description
    admin = {
        route: operation
        for route, operation in routes(translated).items()
        if " /api/v1/admin/" in route and route not in PUBLIC_ADMIN_ROUTES
    }
    # When their security requirements are listed
    security = {route: operation.get("security") for route, operation in admin.items()}
    # Then the Lambda authorizer checks each
    assert len(admin) >= 3
    assert security == {route: [{"AdminTokenAuthorizer": []}] for route in admin}
    assert "AdminTokenAuthorizer" in authorizers(translated)


def test_the_api_description_is_public(translated: Template) -> None:
    # Given the route of the API's OpenAPI document
    (operation,) = [operation for route, operation in routes(translated).items() if route in PUBLIC_ADMIN_ROUTES]
    # Then anyone may fetch it
    assert not operation.get("security")


def test_authorizer_reads_the_authorization_header_with_payload_2_and_simple_responses(translated: Template) -> None:
    # Given the admin token authorizer
    authorizer = authorizers(translated)["AdminTokenAuthorizer"]
    # Then it is the authorizer function, given the Authorization header, answering {"isAuthorized": ...}
    assert authorizer["type"] == "request"
    assert "<AuthorizerFunction.Arn>" in resolve(authorizer["authorizerUri"])
    assert authorizer["identitySource"] == ["$request.header.Authorization"]
    assert authorizer["authorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["enableSimpleResponses"] is True


def test_api_gateway_may_invoke_the_authorizer(translated: Template) -> None:
    # Given the Lambda permissions
    grants = [
        resolve(body["Properties"])
        for body in resources(translated, "AWS::Lambda::Permission").values()
        if resolve(body["Properties"]["FunctionName"]) == "<AuthorizerFunction.Arn>"
    ]
    # Then API Gateway, and only this API, may invoke the authorizer
    assert len(grants) == 1
    assert grants[0]["Principal"] == "apigateway.amazonaws.com"
    assert "<HttpApi>" in grants[0]["SourceArn"]


# ---------------------------------------------------------------------------------------------------------------------
# Parameters and outputs
# ---------------------------------------------------------------------------------------------------------------------


def test_webhook_url_parameter_is_hidden(translated: Template) -> None:
    # Given the WebhookUrl parameter (Slack and Discord URLs carry their tokens)
    parameter = translated["Parameters"]["WebhookUrl"]
    # Then CloudFormation never shows its value, and it becomes the notifier's WEBHOOK_URL
    assert parameter["NoEcho"] is True
    assert environment(translated, "NotifierFunction")["WEBHOOK_URL"] == "<WebhookUrl>"


def test_default_user_role_is_one_of_open_webuis_roles(translated: Template) -> None:
    # Given the DefaultUserRole parameter
    parameter = translated["Parameters"]["DefaultUserRole"]
    # Then only Open WebUI's roles are accepted, pending by default, and signup receives it
    assert set(parameter["AllowedValues"]) == {"pending", "user", "admin"}
    assert parameter["Default"] == "pending"
    assert environment(translated, "SignupFunction")["DEFAULT_USER_ROLE"] == "<DefaultUserRole>"


def test_tracing_parameter_is_off_by_default(translated: Template) -> None:
    # Given the Tracing parameter (X-Ray records cost money: docs/deploy.md)
    parameter = translated["Parameters"]["Tracing"]
    # Then it is Disabled unless asked, or Active
    assert set(parameter["AllowedValues"]) == {"Disabled", "Active"}
    assert parameter["Default"] == "Disabled"


@pytest.mark.parametrize(("tracing", "mode"), [(None, "PassThrough"), ("Active", "Active")], ids=["default", "Active"])
def test_every_function_traces_as_the_tracing_parameter_says(
    translated: Template, tracing: str | None, mode: str
) -> None:
    # Given the stack deployed with the Tracing parameter's default, or Active
    stack = deployed(translated, **({"Tracing": tracing} if tracing else {}))
    functions = resources(stack, "AWS::Lambda::Function")
    # Then every function has that tracing mode
    assert set(functions) == FUNCTIONS
    assert {name: body["Properties"]["TracingConfig"]["Mode"] for name, body in functions.items()} == dict.fromkeys(
        FUNCTIONS, mode
    )
    # And its role may send trace segments only when tracing is Active (Lambda checks it when it creates the function)
    managed = {name: resolve(properties(stack, role_of(stack, name)).get("ManagedPolicyArns")) for name in FUNCTIONS}
    assert managed == dict.fromkeys(FUNCTIONS, [TRACING_POLICY] if mode == "Active" else None)


def test_outputs_name_the_api_table_queue_parameter_and_admin_token(translated: Template) -> None:
    # Given the stack's outputs
    values = [str(resolve(output["Value"])) for output in translated["Outputs"].values()]
    # Then they give the API URL, the table, the queue, the parameter name and where the admin token lives
    assert "https://<HttpApi>.execute-api.us-east-1.amazonaws.com" in values
    assert "<UsersTable>" in values
    assert "<DeadLetterQueue>" in values
    assert PARAMETER_NAME in values
    assert "<AdminTokenSecret>" in values


# ---------------------------------------------------------------------------------------------------------------------
# Least privilege
# ---------------------------------------------------------------------------------------------------------------------


def is_broad(statement: dict[str, Any]) -> bool:
    """An Allow that names no single resource, or a pattern of them, or allows by exclusion (NotAction, NotResource)."""
    if "NotAction" in statement or "NotResource" in statement:
        return True
    targets = as_list(statement.get("Resource", "*"))
    if len(targets) != 1:
        return True
    unscopable = set(as_list(statement["Action"])) <= UNSCOPABLE_ACTIONS
    target = str(resolve(targets[0]))
    return "*" in target and not unscopable and target != ENDPOINT_DOCUMENTS_ARN


def test_every_inline_allow_is_scoped_to_one_resource(most_rights: Template) -> None:
    # Given every Allow statement of every IAM role's inline policies, with every optional right
    allows = [
        (role_id, statement)
        for role_id in resources(most_rights, "AWS::IAM::Role")
        for statement in statements(most_rights, role_id)
        if statement["Effect"] == "Allow"
    ]
    # When the broad ones are picked out
    broad = [f"{role_id}: {statement}" for role_id, statement in allows if is_broad(statement)]
    # Then there are none, except statements made only of actions IAM cannot scope
    assert allows
    assert broad == []


def test_roles_carry_no_managed_policy_but_x_rays_when_tracing(most_rights: Template) -> None:
    # Given every IAM role, with every optional right
    roles = resources(most_rights, "AWS::IAM::Role")
    # When their managed policies are listed (AWSLambdaBasicExecutionRole would let a function write any log group)
    managed = {role_id: resolve(body["Properties"].get("ManagedPolicyArns")) for role_id, body in roles.items()}
    # Then none has one but X-Ray's narrow write policy, for Active tracing: every other right is a statement here
    assert {role_id: arns for role_id, arns in managed.items() if arns not in (None, [TRACING_POLICY])} == {}


def test_no_function_has_a_wildcard_action(most_rights: Template) -> None:
    # Given every function's allowed actions
    # When the patterns among them are listed, leaving out the named narrow ones
    wildcards = {
        f"{function_id}: {action}"
        for function_id in FUNCTIONS
        for action in permissions(most_rights, function_id)
        if "*" in action
    }
    # Then there are none, such as dynamodb:* or *
    assert wildcards == set()


def test_signup_can_only_put_items_in_the_users_table(translated: Template) -> None:
    # Given the signup function's permissions
    allowed = permissions(deployed(translated), "SignupFunction")
    # Then it may only put items (the two Puts of its transaction) into the users table
    assert allowed == {"dynamodb:PutItem": {"<UsersTable.Arn>"}, **own_logs("SignupFunction")}
    assert environment(translated, "SignupFunction")["USERS_TABLE"] == "<UsersTable>"


def test_functions_are_told_only_about_parameters_of_their_own_stack(translated: Template) -> None:
    # Given the parameter names the notifier and the admin function are told about
    names = parameter_names(translated, "NotifierFunction") | parameter_names(translated, "AdminFunction")
    # Then the webhook URL parameter is one, and each lives under /<stack name>/
    assert PARAMETER_NAME in names
    assert [name for name in names if not name.startswith("/signup-webhooks/")] == []


def test_admin_writes_the_parameters_the_notifier_reads(translated: Template) -> None:
    # Given the parameter names each function is told about
    # Then they are the same: every setting the admin API stores reaches the notifier
    assert parameter_names(translated, "AdminFunction") == parameter_names(translated, "NotifierFunction")


def own_logs(function_id: str) -> dict[str, set[str]]:
    """What every function may do with logs: write streams and events to its own log group, nothing else."""
    group = {f"<{function_id}LogGroup.Arn>"}
    return {"logs:CreateLogStream": group, "logs:PutLogEvents": group}


# Powertools idempotency's calls, on the one idempotency table.
IDEMPOTENCY_RECORDS = {
    action: {"<IdempotencyTable.Arn>"}
    for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
}


def test_notifier_reads_its_parameters_sends_to_one_queue_and_reads_one_stream(translated: Template) -> None:
    # Given the notifier's permissions
    allowed = permissions(deployed(translated), "NotifierFunction")
    # Then it reads only the parameters it is told about, sends only to the dead-letter, retry and announcement
    # queues, writes the delivery log, reads only the stream
    stream = {"<UsersTable.StreamArn>"}
    assert allowed == {
        # the older parameters; every endpoint's document, the default one's too, comes through the path
        "ssm:GetParameters": parameter_arns(translated, "NotifierFunction") - {PARAMETER_ARN}
        | {ENDPOINT_DOCUMENTS_ARN},
        "ssm:GetParametersByPath": {WEBHOOKS_PATH_ARN},
        "ssm:PutParameter": {ENDPOINT_DOCUMENTS_ARN},  # disabling an endpoint whose receiver answered 410 Gone
        "sqs:SendMessage": {"<DeadLetterQueue.Arn>", "<RetryQueue.Arn>", "<AnnouncementQueue.Arn>"},
        **IDEMPOTENCY_RECORDS,
        "dynamodb:GetItem": {"<IdempotencyTable.Arn>", "<DeliveriesTable.Arn>"},
        "dynamodb:UpdateItem": {"<IdempotencyTable.Arn>", "<DeliveriesTable.Arn>"},
        "dynamodb:DescribeStream": stream,
        "dynamodb:GetRecords": stream,
        "dynamodb:GetShardIterator": stream,
        "dynamodb:ListStreams": {"*"},
        **own_logs("NotifierFunction"),
    }


def test_admin_can_only_manage_its_parameters_and_redrive_the_one_queue(translated: Template) -> None:
    # Given the admin function's permissions
    allowed = permissions(deployed(translated), "AdminFunction")
    # Then it may read the parameters it is told about, read, write and delete only the endpoints' settings
    # documents and delete the older parameters the first save replaces; for the redrive, read and delete messages of
    # the dead-letter queue, use the idempotency table and read the users stream's records; nothing else
    arns = parameter_arns(translated, "AdminFunction")
    assert PARAMETER_ARN in arns
    older = arns - {PARAMETER_ARN}  # the default endpoint's document is one of the endpoints' documents
    queue, stream = {"<DeadLetterQueue.Arn>"}, {"<UsersTable.StreamArn>"}
    log, users = "<DeliveriesTable.Arn>", "<UsersTable.Arn>"
    assert allowed == {
        "ssm:GetParametersByPath": {WEBHOOKS_PATH_ARN},
        "ssm:GetParameters": older | {ENDPOINT_DOCUMENTS_ARN},
        "ssm:PutParameter": {ENDPOINT_DOCUMENTS_ARN},
        "ssm:DeleteParameter": older | {ENDPOINT_DOCUMENTS_ARN},
        "sqs:ReceiveMessage": queue,
        "sqs:DeleteMessage": queue,
        "sqs:ChangeMessageVisibility": queue,
        "sqs:GetQueueAttributes": queue,  # the health's count of dead letters
        # a replay queues its users for the retry function; a resend or redrive may announce
        "sqs:SendMessage": {"<RetryQueue.Arn>", "<AnnouncementQueue.Arn>"},
        **IDEMPOTENCY_RECORDS,
        "dynamodb:GetItem": {"<IdempotencyTable.Arn>", log, users},
        "dynamodb:UpdateItem": {"<IdempotencyTable.Arn>", log},
        "dynamodb:BatchGetItem": {log},
        "dynamodb:Query": {f"{log}/index/ByCreated", f"{log}/index/ByStatus", f"{users}/index/ByCreated"},
        "dynamodb:GetShardIterator": stream,
        "dynamodb:GetRecords": stream,
        **own_logs("AdminFunction"),
    }
    assert environment(translated, "AdminFunction")["IDEMPOTENCY_TABLE"] == "<IdempotencyTable>"
    assert environment(translated, "AdminFunction")["USERS_STREAM_ARN"] == "<UsersTable.StreamArn>"


def test_retry_function_consumes_its_two_queues_and_reads_and_writes_only_what_a_retry_needs(
    translated: Template,
) -> None:
    # Given the retry function's permissions
    allowed = permissions(deployed(translated), "RetryFunction")
    # Then it consumes and feeds the retry and announcement queues, dead-letters, reads its settings and users, reads
    # the stream mapping's failed batches back from the users stream, and keeps the log
    retries, log, stream = (
        {"<RetryQueue.Arn>", "<AnnouncementQueue.Arn>"},
        "<DeliveriesTable.Arn>",
        {"<UsersTable.StreamArn>"},
    )
    assert allowed == {
        "ssm:GetParameters": parameter_arns(translated, "RetryFunction") - {PARAMETER_ARN} | {ENDPOINT_DOCUMENTS_ARN},
        "ssm:GetParametersByPath": {WEBHOOKS_PATH_ARN},
        "ssm:PutParameter": {ENDPOINT_DOCUMENTS_ARN},  # disabling an endpoint whose receiver answered 410 Gone
        "sqs:ReceiveMessage": retries,
        "sqs:DeleteMessage": retries,
        "sqs:ChangeMessageVisibility": retries,
        "sqs:GetQueueAttributes": retries,
        "sqs:SendMessage": retries | {"<DeadLetterQueue.Arn>"},
        **IDEMPOTENCY_RECORDS,
        "dynamodb:GetItem": {"<IdempotencyTable.Arn>", log, "<UsersTable.Arn>"},
        "dynamodb:UpdateItem": {"<IdempotencyTable.Arn>", log},
        "dynamodb:GetShardIterator": stream,
        "dynamodb:GetRecords": stream,
        **own_logs("RetryFunction"),
    }
    assert parameter_arns(translated, "RetryFunction") == parameter_arns(translated, "NotifierFunction")


def test_the_retry_queue_feeds_the_retry_function_and_hands_poison_messages_to_the_dead_letter_queue(
    translated: Template,
) -> None:
    resources_ = deployed(translated)["Resources"]
    mapping = resources_["RetryQueueMapping"]["Properties"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert resolve(mapping["EventSourceArn"]) == "<RetryQueue.Arn>"
    queue = resources_["RetryQueue"]["Properties"]
    assert resolve(queue["RedrivePolicy"]["deadLetterTargetArn"]) == "<DeadLetterQueue.Arn>"
    assert queue["VisibilityTimeout"] >= 6 * resources_["RetryFunction"]["Properties"]["Timeout"]
    # Longer than the longest schedule one message can wait (20 steps of at most 12 hours would not fit: the
    # schedule's default is about 28 hours)
    assert queue["MessageRetentionPeriod"] >= 4 * 24 * 3600


def test_announcements_have_their_own_queue_and_mapping_bounded_below_the_retry_queues_concurrency(
    translated: Template,
) -> None:
    # Given the two mappings of the retry function
    resources_ = deployed(translated)["Resources"]
    retries = resources_["RetryQueueMapping"]["Properties"]
    announcements = resources_["AnnouncementQueueMapping"]["Properties"]
    # Then announcements come from their own queue, at most 2 invocations at once (the least SQS allows), so the
    # retry queue's 5 are never theirs; each message is reported on its own, as the retry queue's
    assert resolve(announcements["EventSourceArn"]) == "<AnnouncementQueue.Arn>"
    assert resolve(announcements["FunctionName"]) == resolve(retries["FunctionName"]) == "<RetryFunction>"
    assert announcements["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert retries["ScalingConfig"] == {"MaximumConcurrency": 5}
    assert announcements["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # And the queue keeps the retry queue's retention, visibility, redrive and encryption, with a TLS-only policy
    queue, retry_queue = resources_["AnnouncementQueue"]["Properties"], resources_["RetryQueue"]["Properties"]
    for key in ("MessageRetentionPeriod", "VisibilityTimeout", "RedrivePolicy", "SqsManagedSseEnabled"):
        assert resolve(queue[key]) == resolve(retry_queue[key]), key
    policy = resources_["AnnouncementQueuePolicy"]["Properties"]
    assert resolve(policy["Queues"]) == ["<AnnouncementQueue>"]
    # And every function that settles deliveries (it has the retry queue) is told where announcements go
    for function_id in ("NotifierFunction", "RetryFunction", "AdminFunction"):
        assert environment(translated, function_id)["ANNOUNCEMENT_QUEUE_URL"] == "<AnnouncementQueue>"


def test_an_endpoints_settings_lease_outlasts_the_admin_function(translated: Template) -> None:
    # Lambda stops an admin invocation at its timeout, before the lease it holds ends: never two holders at once
    from signup_hooks.storage import settings_lease

    timeout = deployed(translated)["Resources"]["AdminFunction"]["Properties"]["Timeout"]
    assert timeout + 10 <= settings_lease.LEASE_SECONDS


def test_idempotency_table_is_on_demand_encrypted_and_expires_its_records(translated: Template) -> None:
    # Given the idempotency table
    props = deployed(translated)["Resources"]["IdempotencyTable"]["Properties"]
    # Then it is keyed by Powertools' `id`, billed on demand, encrypted, and its records expire by TTL
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert "StreamSpecification" not in props
    assert environment(translated, "NotifierFunction")["IDEMPOTENCY_TABLE"] == "<IdempotencyTable>"


def test_redrive_route_goes_through_the_token_authorizer_to_the_admin_function(translated: Template) -> None:
    operation = routes(translated)["POST /api/v1/admin/webhook/redrive"]
    uri = resolve(operation["x-amazon-apigateway-integration"]["uri"])
    assert uri == "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/<AdminFunction.Arn>/invocations"
    assert operation["security"] == [{"AdminTokenAuthorizer": []}]


def test_authorizer_can_only_read_the_admin_token_secret(translated: Template) -> None:
    # Given the authorizer's permissions
    allowed = permissions(deployed(translated), "AuthorizerFunction")
    # Then it may only read the admin token secret
    assert allowed == {"secretsmanager:GetSecretValue": {"<AdminTokenSecret>"}, **own_logs("AuthorizerFunction")}


def test_the_sam_local_env_file_sets_exactly_each_functions_variables(sam_template: Template) -> None:
    # Given events/env.json, the file `sam local invoke --env-vars` reads
    env_file = json.loads((TEMPLATE.parent / "events" / "env.json").read_text(encoding="utf-8"))
    # Then it names every function and, for each, exactly the variables the template declares
    declared = {
        name: set(body["Properties"].get("Environment", {}).get("Variables", {}))
        for name, body in sam_template["Resources"].items()
        if body["Type"] == "AWS::Serverless::Function"
    }
    assert {name: set(variables) for name, variables in env_file.items()} == declared
