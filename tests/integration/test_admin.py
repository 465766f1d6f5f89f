"""GET, PUT and DELETE /api/v1/admin/webhook, driven by the events in events/, against moto."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from functions.admin import app as admin
from tests.helpers import load_event

SLACK_URL = "https://hooks.slack.com/services/T000/B000/SECRETPART"


def call(event: dict[str, Any], context: Any) -> tuple[int, dict[str, Any]]:
    response = admin.lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def put(url: Any, context: Any) -> tuple[int, dict[str, Any]]:
    event = load_event("admin_put_webhook")
    event["body"] = json.dumps({"url": url})
    return call(event, context)


@pytest.fixture
def environment_url(monkeypatch):
    monkeypatch.setattr(admin, "config", dataclasses.replace(admin.config, webhook_url_env="https://env.example.com/x"))


def test_get_reports_unset_when_nothing_is_configured(aws, lambda_context):
    status, body = call(load_event("admin_get_webhook"), lambda_context)
    assert status == 200
    assert body["source"] == "unset"
    assert body["configured"] is False
    assert body["url"] is None


def test_get_reports_the_environment_fallback(aws, lambda_context, environment_url):
    status, body = call(load_event("admin_get_webhook"), lambda_context)
    assert status == 200
    assert body["source"] == "environment"
    assert body["url"] == "https://env.example.com/…"


def test_put_stores_a_secure_string_and_get_shows_it_redacted(aws, lambda_context):
    # Given a Slack URL, whose path is its credential
    # When an admin saves it
    status, body = put(SLACK_URL, lambda_context)
    # Then it is stored as a SecureString and answered with scheme and host only
    assert status == 200
    assert body["source"] == "parameter"
    assert body["url"] == "https://hooks.slack.com/…"
    assert "SECRETPART" not in json.dumps(body)
    stored = aws.settings_document()
    assert stored["Type"] == "SecureString"
    assert stored["url"] == SLACK_URL
    assert call(load_event("admin_get_webhook"), lambda_context)[1]["source"] == "parameter"


def test_the_sample_put_event_is_accepted(aws, lambda_context):
    status, body = call(load_event("admin_put_webhook"), lambda_context)
    assert status == 200
    assert body["source"] == "parameter"


def test_put_overwrites_the_previous_url(aws, lambda_context):
    put("https://first.example.com/a", lambda_context)
    status, body = put("https://second.example.com/b", lambda_context)
    assert status == 200
    assert body["url"] == "https://second.example.com/…"


def test_the_parameter_wins_over_the_environment(aws, lambda_context, environment_url):
    status, body = put(SLACK_URL, lambda_context)
    assert status == 200
    assert body["source"] == "parameter"


def test_delete_clears_and_falls_back_to_the_environment(aws, lambda_context, environment_url):
    put(SLACK_URL, lambda_context)
    status, body = call(load_event("admin_delete_webhook"), lambda_context)
    assert status == 200
    assert body["source"] == "environment"
    assert aws.settings_document()["url"] is None


def test_delete_when_nothing_is_set_is_not_an_error(aws, lambda_context):
    status, body = call(load_event("admin_delete_webhook"), lambda_context)
    assert status == 200
    assert body["source"] == "unset"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        (None, "missing_field"),
        ("", "missing_field"),
        (42, "invalid_field"),
        ("hooks.slack.com/services/x", "invalid_field"),
        ("ftp://example.com/hook", "invalid_field"),
        ("javascript:alert(1)", "invalid_field"),
        ("https://", "invalid_field"),
        ("https://exa mple.com/hook", "invalid_field"),
        ("https://example.com/ho\nok", "invalid_field"),
        ("https://example.com/\u202ekoob", "invalid_field"),
        ("https://user:pass@example.com/hook", "invalid_field"),
        ("https://example.com:99999/hook", "invalid_field"),
        ("https://example.com/" + "a" * 2048, "invalid_field"),
    ],
)
def test_put_rejects_bad_urls_naming_the_field_and_stores_nothing(aws, lambda_context, url, code):
    status, body = put(url, lambda_context)
    assert status == 422
    assert body["field"] == "url"
    assert body["code"] == code
    assert aws.ssm.describe_parameters()["Parameters"] == []


def test_put_accepts_a_url_of_exactly_the_maximum_length(aws, lambda_context):
    url = "https://example.com/" + "a" * (2048 - len("https://example.com/"))
    assert put(url, lambda_context)[0] == 200


def test_put_with_invalid_json_is_a_400(aws, lambda_context):
    event = load_event("admin_put_webhook")
    event["body"] = "{not json"
    status, body = call(event, lambda_context)
    assert status == 400
    assert body["code"] == "invalid_json"


def test_the_full_url_is_never_logged(aws, lambda_context, logs):
    put(SLACK_URL, lambda_context)
    call(load_event("admin_get_webhook"), lambda_context)
    call(load_event("admin_delete_webhook"), lambda_context)
    output = logs.getvalue()
    assert "SECRETPART" not in output
    assert "webhook URL set" in output
