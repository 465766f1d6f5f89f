"""Handlers run in process against moto: the sandbox starts as pytest loads this file, before the test modules import
the handlers; every test gets fresh AWS resources (`aws`)."""

from __future__ import annotations

import dataclasses
import functools
import json
import secrets
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from signup_hooks.sending import pacing
from signup_hooks.storage import settings_store

from local.template import load_template, table_definition
from tests import sandbox

sandbox.start()


@dataclass(frozen=True)
class Aws:
    """The resources of one test, made from template.yaml's own definitions on a freshly reset moto."""

    admin_token: str

    @property
    def dynamodb(self) -> Any:
        return _client("dynamodb")

    @property
    def sqs(self) -> Any:
        return _client("sqs")

    @property
    def ssm(self) -> Any:
        return _client("ssm")

    def dead_letters(self) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=sandbox.os.environ["DEAD_LETTER_QUEUE_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        return [json.loads(message["Body"]) for message in response.get("Messages", [])]

    def settings_document(self) -> dict[str, Any] | None:
        """The webhook settings document the admin API writes (decrypted), or None when there is none."""
        try:
            stored = self.ssm.get_parameter(Name=sandbox.SETTINGS_PARAMETER, WithDecryption=True)["Parameter"]
        except self.ssm.exceptions.ParameterNotFound:
            return None
        return {"Type": stored["Type"], **json.loads(stored["Value"])}

    def scheduled_retries(self) -> list[dict[str, Any]]:
        """The retry queue's messages, delays ignored (they stay in the queue)."""
        return self._peek("RETRY_QUEUE_URL")

    def announcements(self) -> list[dict[str, Any]]:
        """The announcement queue's messages (operational events), delays ignored (they stay in the queue)."""
        return self._peek("ANNOUNCEMENT_QUEUE_URL")

    def _peek(self, queue_variable: str) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=sandbox.os.environ[queue_variable], MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=0
        )
        return [json.loads(message["Body"]) for message in response.get("Messages", [])]

    def items(self) -> list[dict[str, Any]]:
        return self.dynamodb.scan(TableName=sandbox.TABLE_NAME)["Items"]


@functools.cache
def _tables() -> dict[str, dict[str, Any]]:
    """Each table's definition from template.yaml, read once: parsing the template for every test took longer than
    the test."""
    template = load_template()
    return {
        sandbox.TABLE_NAME: table_definition(template),
        sandbox.IDEMPOTENCY_TABLE_NAME: table_definition(template, "IdempotencyTable"),
        sandbox.DELIVERIES_TABLE_NAME: table_definition(template, "DeliveriesTable"),
    }


@functools.cache
def _client(service: str) -> Any:
    """One client per service for the per-test setup (making one takes about 50 ms)."""
    return boto3.client(service)


@pytest.fixture(autouse=True)
def aws(known_secret: Callable[[str, str], None]) -> Iterator[Aws]:
    urllib.request.urlopen(urllib.request.Request(f"{sandbox.MOTO_ENDPOINT}/moto-api/reset", method="POST")).close()
    parameters.clear_caches()
    for name, definition in _tables().items():
        _client("dynamodb").create_table(TableName=name, **definition)
    settings_store.forget_last_good()
    pacing.pacer.forget()
    sqs = _client("sqs")
    dead_letters = sqs.create_queue(QueueName=sandbox.QUEUE_NAME)["QueueUrl"]
    dead_letters_arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"]
    redrive = {"deadLetterTargetArn": dead_letters_arn["QueueArn"], "maxReceiveCount": 5}
    sqs.create_queue(QueueName=sandbox.RETRY_QUEUE_NAME, Attributes={"RedrivePolicy": json.dumps(redrive)})
    sqs.create_queue(QueueName=sandbox.ANNOUNCEMENT_QUEUE_NAME, Attributes={"RedrivePolicy": json.dumps(redrive)})
    token = secrets.token_urlsafe(32)
    known_secret(token, "the admin token")
    _client("secretsmanager").create_secret(Name=sandbox.SECRET_NAME, SecretString=token)
    yield Aws(admin_token=token)
    parameters.clear_caches()


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Change the notifier's and the admin function's settings for one test, as their environment would."""
    from functions.admin import app as admin_app  # imported here: handlers read their settings when imported
    from functions.notifier import app as notifier

    def apply(**changes: Any) -> None:
        monkeypatch.setattr(notifier, "config", dataclasses.replace(notifier.config, **changes))
        monkeypatch.setattr(admin_app, "config", dataclasses.replace(admin_app.config, **changes))

    return apply


@pytest.fixture
def configure_all(configure: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """`configure` for the retry function too: it reads the same settings as the notifier and the admin function."""
    from functions.retry import app as retry_function

    def apply(**changes: Any) -> None:
        configure(**changes)
        monkeypatch.setattr(retry_function, "config", dataclasses.replace(retry_function.config, **changes))

    return apply


@pytest.fixture
def without_retry_schedule(configure: Callable[..., None]) -> None:
    """The notifier with no retry queue: what its quick first try cannot deliver goes straight to the dead-letter
    queue. For tests of that try and of dead letters; test_retry_schedule.py covers the schedule itself."""
    configure(retry_queue_url="")
