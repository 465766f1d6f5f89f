"""An admin change is one write of the settings document: every field is stored or none is; a template with a
literal brace (`{{`) saves and renders exactly although Parameter Store refuses `{{ ... }}` in a value; older
deployments' parameters keep working until the first save replaces them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.ssm.models import SimpleSystemManagerBackend
from moto.ssm.responses import SimpleSystemManagerResponse

from functions.notifier import app as notifier
from tests import sandbox
from tests.helpers import call_admin as call
from tests.helpers import load_event
from tests.helpers import put_settings as put

OLD_SECRET = "whsec_" + "A" * 44  # 32 bytes of zeros, base64


def test_moto_refuses_a_value_with_double_braces_as_parameter_store_does(aws):
    with pytest.raises(aws.ssm.exceptions.ClientError) as refused:
        aws.ssm.put_parameter(Name="/x", Value="Hello {{literal}}", Type="String")
    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_a_template_with_literal_braces_saves_and_renders_exactly(aws, lambda_context, receiver, configure):
    # Given a template with a literal brace pair, which Parameter Store would refuse written as is
    template = "Hello {{literal}} {name}"
    # When the admin saves it
    status, body = put({"url": receiver.url, "message_template": template}, lambda_context)
    # Then it is stored and shown unchanged, and a notification renders it exactly
    assert (status, body["message_template"]) == (200, template)
    assert aws.settings_document()["message_template"] == template
    configure(webhook_url_env="")
    assert notifier.lambda_handler(load_event("notifier_new_user"), lambda_context) == {"batchItemFailures": []}
    assert receiver.wait_for(1)[0].text == "Hello {literal} Tim"


def test_a_failed_write_changes_nothing_and_answers_503(aws, lambda_context, monkeypatch):
    # Given saved settings
    assert put({"url": "https://first.example.com/a", "format": "slack"}, lambda_context)[0] == 200
    before = aws.settings_document()

    # When SSM refuses the next write
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        from moto.core.exceptions import JsonRESTError

        raise JsonRESTError("ThrottlingException", "Rate exceeded")

    monkeypatch.setattr(SimpleSystemManagerBackend, "put_parameter", refuse)
    status, body = put({"url": "https://second.example.com/b", "format": "discord"}, lambda_context)
    # Then the answer says it failed, and neither field changed
    assert (status, body["code"]) == (503, "unavailable")
    monkeypatch.undo()
    assert aws.settings_document() == before
    _, state = call(load_event("admin_get_webhook"), lambda_context)
    assert (state["url"], state["format"]) == ("https://first.example.com/…", "slack")


def test_every_field_of_a_change_is_one_write(aws, lambda_context, monkeypatch):
    writes: list[str] = []
    original = SimpleSystemManagerResponse.put_parameter

    def counted(self: Any) -> Any:
        writes.append(self._get_param("Name"))
        return original(self)

    monkeypatch.setattr(SimpleSystemManagerResponse, "put_parameter", counted)
    status, _ = put(
        {"url": "https://hooks.example.com/x", "format": "json", "message_template": "Hi {name}"}, lambda_context
    )
    assert status == 200
    assert writes == [sandbox.SETTINGS_PARAMETER]
    stored = aws.settings_document()
    assert stored["Type"] == "SecureString"
    assert (stored["url"], stored["format"], stored["message_template"]) == (
        "https://hooks.example.com/x",
        "json",
        "Hi {name}",
    )


# ---- older deployments ---------------------------------------------------------------------------------------------


def put_legacy(aws: Any, receiver_url: str) -> None:
    aws.ssm.put_parameter(Name=sandbox.PARAMETER_NAME, Value=receiver_url, Type="SecureString")
    aws.ssm.put_parameter(Name=sandbox.FORMAT_PARAMETER, Value="slack", Type="String")
    aws.ssm.put_parameter(Name=sandbox.TEMPLATE_PARAMETER, Value="Old {name}", Type="String")
    aws.ssm.put_parameter(Name=sandbox.SIGNING_SECRET_PARAMETER, Value=OLD_SECRET, Type="SecureString")
    header = json.dumps({"name": "X-Key", "value": "old-key"})
    aws.ssm.put_parameter(Name=sandbox.CUSTOM_HEADER_PARAMETER, Value=header, Type="SecureString")


def test_an_older_deployments_parameters_are_used_until_the_first_save(aws, lambda_context, receiver, configure):
    # Given the five parameters of an older deployment and no settings document
    put_legacy(aws, receiver.url)
    configure(webhook_url_env="")
    # When a new user is notified, then every old setting applies, the credentials too (bound to the old URL)
    assert notifier.lambda_handler(load_event("notifier_new_user"), lambda_context) == {"batchItemFailures": []}
    [request] = receiver.wait_for(1)
    assert json.loads(request.body) == {"text": "Old Tim"}
    assert request.headers["X-Key"] == "old-key"
    assert "webhook-signature" in {name.lower() for name in request.headers}
    _, state = call(load_event("admin_get_webhook"), lambda_context)
    assert (state["source"], state["format"], state["signing_secret"]) == ("parameter", "slack", "set")


def test_the_first_save_moves_the_older_parameters_into_the_document_and_deletes_them(aws, lambda_context, receiver):
    # Given an older deployment's parameters
    put_legacy(aws, receiver.url)
    # When the admin changes only the format
    status, body = put({"format": "json"}, lambda_context)
    # Then the document holds every setting, with the change, and the older parameters are gone
    assert (status, body["custom_header_cleared"]) == (200, False)
    stored = aws.settings_document()
    assert stored["url"] == receiver.url
    assert (stored["format"], stored["message_template"], stored["signing_secret"]) == (
        "json",
        "Old {name}",
        OLD_SECRET,
    )
    assert (stored["custom_header_name"], stored["custom_header_value"]) == ("X-Key", "old-key")
    assert stored["credentials_origin"] == receiver.url.rsplit("/", 1)[0]
    names = {p["Name"] for p in aws.ssm.describe_parameters()["Parameters"]}
    assert names == {sandbox.SETTINGS_PARAMETER}
