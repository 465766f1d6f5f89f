"""Standard Webhooks signatures (verified with the reference library), the custom header, the admin API for
these secrets and the message template, and redaction of secrets from logs, responses and dead letters."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import secrets
import textwrap
from pathlib import Path
from typing import Any

import pytest
from signup_hooks.endpoints import registry
from signup_hooks.sending import signing
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from functions.notifier import app as notifier
from tests.helpers import call_admin as call
from tests.helpers import load_event
from tests.helpers import put_settings as put


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


SECRET = new_secret()
HEADER_VALUE = "Bearer sk-live-TOPSECRETHEADERVALUE"


def notify(receiver: Any, monkeypatch: pytest.MonkeyPatch, context: Any, event: dict[str, Any] | None = None) -> Any:
    monkeypatch.setattr(notifier, "config", dataclasses.replace(notifier.config, webhook_url_env=receiver.url))
    return notifier.lambda_handler(event or load_event("notifier_new_user"), context)


# ---------------------------------------------------------------------------------------------------------------------
# Signatures
# ---------------------------------------------------------------------------------------------------------------------


def test_signed_request_verifies_with_the_reference_library(aws, lambda_context, receiver, monkeypatch):
    # Given a signing secret set through the admin API for the receiver's URL
    assert put({"url": receiver.url, "signing_secret": SECRET}, lambda_context)[0] == 200
    # When a new user is notified
    notify(receiver, monkeypatch, lambda_context)
    # Then the request carries Standard Webhooks headers that the reference library accepts
    [request] = receiver.wait_for(1)
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["webhook-signature"].startswith("v1,")
    Webhook(SECRET).verify(request.body, headers, json_parse=False)  # raises when the signature does not match
    assert request.body == b"New user signed up: Tim"


def formats_doc_verification_snippet(secret: str) -> str:
    """The Python verification snippet of docs/formats.md, with `secret` for its placeholder."""
    text = (Path(__file__).parents[2] / "docs" / "formats.md").read_text(encoding="utf-8")
    [snippet] = [block for block in re.findall(r"```python\n(.*?)```", text, re.DOTALL) if "standardwebhooks" in block]
    return textwrap.dedent(snippet).replace('"whsec_..."', repr(secret))


def test_the_docs_verification_snippet_accepts_a_genuine_text_delivery(aws, lambda_context, receiver, monkeypatch):
    # Given a signed delivery in the text format (a body that is not JSON)
    put({"url": receiver.url, "signing_secret": SECRET}, lambda_context)
    notify(receiver, monkeypatch, lambda_context)
    [request] = receiver.wait_for(1)
    assert request.body == b"New user signed up: Tim"
    # When a receiver runs docs/formats.md's snippet on it, then it passes; and it refuses a tampered body
    snippet = compile(formats_doc_verification_snippet(SECRET), "docs/formats.md", "exec")
    exec(snippet, {"body_bytes": request.body, "headers": dict(request.headers)})  # noqa: S102 (our docs' code)
    with pytest.raises(WebhookVerificationError):
        exec(snippet, {"body_bytes": request.body + b"!", "headers": dict(request.headers)})  # noqa: S102


def test_a_tampered_body_is_rejected_by_the_reference_library(aws, lambda_context, receiver, monkeypatch):
    put({"url": receiver.url, "signing_secret": SECRET}, lambda_context)
    notify(receiver, monkeypatch, lambda_context)
    [request] = receiver.wait_for(1)
    headers = {k.lower(): v for k, v in request.headers.items()}
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(request.body + b"!", headers, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(request.body, headers, json_parse=False)
    forged = {**headers, "webhook-id": "msg_other"}
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(request.body, forged, json_parse=False)


def test_signed_json_payload_verifies_and_parses(aws, lambda_context, receiver, monkeypatch):
    put({"url": receiver.url, "signing_secret": SECRET, "format": "json"}, lambda_context)
    notify(receiver, monkeypatch, lambda_context)
    [request] = receiver.wait_for(1)
    headers = {k.lower(): v for k, v in request.headers.items()}
    payload = Webhook(SECRET).verify(request.body, headers)
    assert payload["event"] == "user.created"
    assert payload["id"] == headers["webhook-id"]


def test_webhook_id_is_the_same_on_every_retry_of_one_event(aws, lambda_context, receiver, monkeypatch):
    # Given a receiver that fails once, then accepts
    put({"url": receiver.url, "signing_secret": SECRET}, lambda_context)
    receiver.respond_with(500, times=1)
    # When the same stream event is delivered twice (the retry), and another user's once
    notify(receiver, monkeypatch, lambda_context)
    notify(receiver, monkeypatch, lambda_context)
    other = load_event("notifier_new_user")
    other["Records"][0]["eventID"] = "ffffffffffffffffffffffffffffffff"
    other["Records"][0]["dynamodb"]["NewImage"]["id"]["S"] = "another-user"
    notify(receiver, monkeypatch, lambda_context, other)
    first, retry, different = receiver.wait_for(3)
    # Then the retry has the same webhook-id; another user's notification has another
    assert first.headers["webhook-id"] == retry.headers["webhook-id"]
    assert different.headers["webhook-id"] != first.headers["webhook-id"]
    # The id follows from what the notification is about (the user's signup, this endpoint), not the stream event
    user_id = load_event("notifier_new_user")["Records"][0]["dynamodb"]["NewImage"]["id"]["S"]
    key = registry.notification_key("user.created", user_id, "default")
    assert first.headers["webhook-id"] == signing.webhook_id(key)


def test_without_a_secret_no_signature_headers_are_sent(aws, lambda_context, receiver, monkeypatch):
    notify(receiver, monkeypatch, lambda_context)
    [request] = receiver.wait_for(1)
    assert not {k.lower() for k in request.headers} & {"webhook-id", "webhook-signature", "webhook-timestamp"}


@pytest.mark.parametrize(
    "secret",
    ["not-a-secret", "whsec_", "whsec_!!!!", "whsec_" + base64.b64encode(b"short").decode(), 42, ["whsec_x"]],
)
def test_an_invalid_signing_secret_is_refused_naming_the_field(aws, lambda_context, secret):
    status, body = put({"signing_secret": secret}, lambda_context)
    assert (status, body["field"]) == (422, "signing_secret")
    assert aws.ssm.describe_parameters()["Parameters"] == []
    if isinstance(secret, str) and len(secret) > 8:
        assert secret not in json.dumps(body)


def test_the_signing_secret_is_stored_as_a_secure_string_rotated_and_cleared(aws, lambda_context):
    # Set
    status, body = put({"signing_secret": SECRET}, lambda_context)
    assert (status, body["signing_secret"]) == (200, "set")
    stored = aws.settings_document()
    assert stored["Type"] == "SecureString"
    assert stored["signing_secret"] == SECRET
    # Rotate
    rotated = new_secret()
    assert put({"signing_secret": rotated}, lambda_context)[1]["signing_secret"] == "set"
    assert aws.settings_document()["signing_secret"] == rotated
    # Clear
    assert put({"signing_secret": None}, lambda_context)[1]["signing_secret"] == "unset"
    assert aws.settings_document()["signing_secret"] is None


# ---------------------------------------------------------------------------------------------------------------------
# Custom header
# ---------------------------------------------------------------------------------------------------------------------


def test_the_custom_header_is_sent_and_shown_only_as_set(aws, lambda_context, receiver, monkeypatch):
    header = {"name": "Authorization", "value": HEADER_VALUE}
    status, body = put({"url": receiver.url, "custom_header": header}, lambda_context)
    assert status == 200
    assert body["custom_header"] == {"name": "Authorization", "value": "set"}
    stored = aws.settings_document()
    assert stored["Type"] == "SecureString"
    assert stored["custom_header_value"] == HEADER_VALUE
    notify(receiver, monkeypatch, lambda_context)
    [request] = receiver.wait_for(1)
    assert request.headers["Authorization"] == HEADER_VALUE


def test_the_custom_header_can_be_cleared(aws, lambda_context, receiver, monkeypatch):
    put({"url": receiver.url, "custom_header": {"name": "X-Api-Key", "value": "k" * 20}}, lambda_context)
    status, body = put({"custom_header": None}, lambda_context)
    assert (status, body["custom_header"]) == (200, None)
    notify(receiver, monkeypatch, lambda_context)
    assert "X-Api-Key" not in receiver.wait_for(1)[0].headers


@pytest.mark.parametrize(
    "header",
    [
        {"name": "Bad Name", "value": "x"},
        {"name": "X-Key", "value": "line\r\nInjected: yes"},
        {"name": "X-Key", "value": ""},
        {"name": "Host", "value": "evil.example"},
        {"name": "Content-Length", "value": "0"},
        {"name": "webhook-signature", "value": "v1,forged"},
        {"name": "X-Key"},
        "Authorization: Bearer x",
    ],
)
def test_an_invalid_custom_header_is_refused_naming_the_field(aws, lambda_context, header):
    status, body = put({"custom_header": header}, lambda_context)
    assert (status, body["field"]) == (422, "custom_header")
    assert aws.ssm.describe_parameters()["Parameters"] == []


# ---------------------------------------------------------------------------------------------------------------------
# Format and message template through the admin API
# ---------------------------------------------------------------------------------------------------------------------


def test_format_and_template_are_saved_and_shown(aws, lambda_context):
    status, body = put({"format": "discord", "message_template": "Nuevo usuario registrado: {name}"}, lambda_context)
    assert status == 200
    assert body["format"] == "discord"
    assert body["message_template"] == "Nuevo usuario registrado: {name}"
    status, body = call(load_event("admin_get_webhook"), lambda_context)
    assert body["format"] == "discord"


def test_clearing_format_and_template_goes_back_to_the_defaults(aws, lambda_context):
    put({"format": "json", "message_template": "Hi {email}"}, lambda_context)
    _, body = put({"format": None, "message_template": None}, lambda_context)
    assert (body["format"], body["message_template"]) == ("auto", None)


@pytest.mark.parametrize(
    "template",
    ["Hello {unknown}", "{name.__class__}", "{name[0]}", "{name!r}", "{name:>10}", "{", "", "x" * 501, 42],
)
def test_a_bad_template_is_a_422_naming_the_field_at_save_time(aws, lambda_context, template):
    status, body = put({"message_template": template}, lambda_context)
    assert (status, body["field"]) == (422, "message_template")
    assert aws.ssm.describe_parameters()["Parameters"] == []


@pytest.mark.parametrize("chosen", ["xml", "", "SLACK", 3])
def test_an_unknown_format_is_refused(aws, lambda_context, chosen):
    status, body = put({"format": chosen}, lambda_context)
    assert (status, body["field"]) == (422, "format")


def test_one_bad_field_changes_nothing(aws, lambda_context):
    status, body = put(
        {"url": "https://hooks.example.com/x", "signing_secret": SECRET, "format": "xml"}, lambda_context
    )
    assert (status, body["field"]) == (422, "format")
    assert aws.ssm.describe_parameters()["Parameters"] == []


def test_the_template_placeholders_email_and_role_are_rendered(aws, lambda_context, receiver, monkeypatch):
    put({"message_template": "{name} <{email}> as {role}"}, lambda_context)
    notify(receiver, monkeypatch, lambda_context)
    assert receiver.wait_for(1)[0].text == "Tim <tim@example.com> as pending"


# ---------------------------------------------------------------------------------------------------------------------
# Redaction: secrets never reach logs, responses or dead letters
# ---------------------------------------------------------------------------------------------------------------------

SECRET_URL_PART = "T000/B000/URLSECRETPART"


def test_secrets_never_reach_admin_responses_or_logs(aws, lambda_context, logs):
    # Given every secret set through the admin API
    url = f"https://hooks.slack.com/services/{SECRET_URL_PART}"
    responses = [
        put(
            {
                "url": url,
                "signing_secret": SECRET,
                "custom_header": {"name": "Authorization", "value": HEADER_VALUE},
            },
            lambda_context,
        ),
        call(load_event("admin_get_webhook"), lambda_context),
        call(load_event("admin_test_webhook"), lambda_context),
        call(load_event("admin_delete_webhook"), lambda_context),
    ]
    # Then no answer and no log line holds one in clear
    text = json.dumps(responses) + logs.getvalue()
    for secret in (SECRET, SECRET.removeprefix("whsec_"), HEADER_VALUE, SECRET_URL_PART):
        assert secret not in text
    assert responses[0][1]["signing_secret"] == "set"
    assert "webhook URL set" in logs.getvalue()


def test_secrets_never_reach_notifier_logs_or_dead_letters(aws, lambda_context, receiver, monkeypatch, logs):
    # Given every secret configured and a receiver that fails
    url = f"{receiver.url}/{SECRET_URL_PART}"
    put(
        {"url": url, "signing_secret": SECRET, "custom_header": {"name": "Authorization", "value": HEADER_VALUE}},
        lambda_context,
    )
    receiver.respond_with(401)
    monkeypatch.setattr(
        notifier, "config", dataclasses.replace(notifier.config, webhook_url_env=f"{receiver.url}/{SECRET_URL_PART}")
    )
    # When a notification fails and is dead-lettered
    notifier.lambda_handler(load_event("notifier_new_user"), lambda_context)
    [letter] = aws.dead_letters()
    assert letter["reason"] == "auth_rejected"
    # Then neither the letter nor the logs hold a secret or the URL's path
    text = json.dumps(letter) + logs.getvalue()
    for secret in (SECRET, SECRET.removeprefix("whsec_"), HEADER_VALUE, SECRET_URL_PART):
        assert secret not in text
    assert "auth_rejected" in logs.getvalue()


def test_the_payload_carries_no_secret(aws, lambda_context, receiver, monkeypatch):
    put(
        {
            "url": receiver.url,
            "signing_secret": SECRET,
            "format": "json",
            "custom_header": {"name": "X-Key", "value": HEADER_VALUE},
        },
        lambda_context,
    )
    notify(receiver, monkeypatch, lambda_context)
    body = receiver.wait_for(1)[0].text
    assert SECRET not in body
    assert HEADER_VALUE not in body
    assert "password" not in body
