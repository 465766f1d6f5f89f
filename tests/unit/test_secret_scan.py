"""The suite-wide secret scan (tests/secret_scan.py) flags what it must and lets the functions' usual lines pass."""

from __future__ import annotations

import json

import pytest

from tests import secret_scan

LITERALS = {"correct horse battery staple": "a test user's password", "tok3n-value-xyz": "the admin token"}


def line(**fields: object) -> str:
    return json.dumps({"level": "INFO", "service": "signup-webhooks", **fields}, ensure_ascii=False)  # as Powertools


@pytest.mark.parametrize(
    ("text", "what"),
    [
        (line(message="pw correct horse battery staple"), "a test user's password"),
        (line(message="token tok3n-value-xyz"), "the admin token"),
        (line(header="Bearer abcdef123"), "bearer token"),
        (line(secret="whsec_c2VjcmV0c2VjcmV0"), "signing secret"),
        (line(hash="$argon2id$v=19$m=65536"), "password hash"),
        (line(email="ada@example.com"), "email address"),
        (line(url="https://hooks.slack.com/services/T000/B000/XXXX"), "webhook URL path"),
        (line(target="http://127.0.0.1:8080/hook/SECRETPATH"), "URL with a path"),
    ],
)
def test_each_kind_of_secret_is_flagged(text, what):
    assert secret_scan.scan(text, LITERALS, ours=True) == what


@pytest.mark.parametrize(
    "text",
    [
        line(message="webhook delivery failed", target_host="hooks.slack.com", reason="auth_rejected"),
        line(message="webhook URL set", target="https://hooks.slack.com/…"),
        line(message="user signed up", user_id="6f1c2a3e-8b4d-4e2f-9a7b-1c2d3e4f5a6b"),
    ],
)
def test_the_functions_usual_lines_pass(text):
    assert secret_scan.scan(text, LITERALS, ours=True) is None


def test_another_librarys_aws_endpoint_is_no_webhook_url():
    text = "Retrying http://127.0.0.1:5000/123456789012/queue"
    assert secret_scan.scan(text, LITERALS, ours=False) is None


def test_only_function_lines_are_taken_from_printed_output():
    collector = secret_scan.Collector()
    collector.add_output("banner: token tok3n-value-xyz\n[SignupFunction] " + line(message="ok") + "\nSTART RequestId")
    assert [text for _test, text, _ours in collector.lines] == ["[SignupFunction] " + line(message="ok")]
