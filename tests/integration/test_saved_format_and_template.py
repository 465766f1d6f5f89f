"""The format and the message template an administrator saves reach the receiver: the notifier in process, its
settings in moto's Parameter Store, a real receiver on loopback."""

from __future__ import annotations

import dataclasses
import json

import pytest

from functions.notifier import app as notifier
from tests.helpers import load_event


@pytest.mark.parametrize(
    ("chosen", "content_type", "check"),
    [
        ("slack", "application/json", lambda body: json.loads(body) == {"text": "New user signed up: Tim"}),
        ("discord", "application/json", lambda body: json.loads(body)["allowed_mentions"] == {"parse": []}),
        ("json", "application/json", lambda body: json.loads(body)["event"] == "user.created"),
        ("text", "text/plain; charset=utf-8", lambda body: body == b"New user signed up: Tim"),
    ],
)
def test_the_format_set_in_ssm_reaches_the_receiver(
    aws, lambda_context, receiver, monkeypatch, chosen, content_type, check
):
    # Given a format chosen by an administrator
    monkeypatch.setattr(notifier, "config", dataclasses.replace(notifier.config, webhook_url_env=receiver.url))
    aws.ssm.put_parameter(Name=notifier.config.format_parameter, Value=chosen, Type="String")
    # When a new user is notified
    notifier.lambda_handler(load_event("notifier_new_user"), lambda_context)
    # Then the receiver gets that format
    [request] = receiver.wait_for(1)
    assert request.headers["Content-Type"] == content_type
    assert check(request.body)


def test_the_message_template_set_in_ssm_is_used(aws, lambda_context, receiver, monkeypatch):
    monkeypatch.setattr(notifier, "config", dataclasses.replace(notifier.config, webhook_url_env=receiver.url))
    aws.ssm.put_parameter(
        Name=notifier.config.message_template_parameter, Value="Nuevo usuario registrado: {name}", Type="String"
    )
    notifier.lambda_handler(load_event("notifier_new_user"), lambda_context)
    assert receiver.wait_for(1)[0].body == b"Nuevo usuario registrado: Tim"
