"""What a dead letter and a test send's answer hold when the receiver quotes our credentials back, or the template
puts the e-mail in the message: the credentials are redacted from the receiver's answer, and no e-mail is kept."""

from __future__ import annotations

import json
import socket
import threading
from typing import Any

from signup_hooks.model import dead_letter

from functions.notifier import app as notifier
from tests import sandbox
from tests.helpers import call_admin, load_event
from tests.helpers import put_settings as put
from tests.scripted_receiver import ScriptedReceiver, read_request

HEADER_VALUE = "sk_live_QUOTEDBACK1234"
SIGNING_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a test value
URL_PART = "/services/T0AAAAAAA/B0BBBBBBB/XXXXXXXXXXXXXXXXXXXXXXXX"
EMAIL = "tim@example.com"  # events/notifier_new_user.json


def answering_401(body: bytes) -> ScriptedReceiver:
    def script(connection: socket.socket, stopping: threading.Event) -> None:
        while not stopping.is_set() and read_request(connection):
            head = f"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            connection.sendall(head.encode() + body)

    return ScriptedReceiver(script)


def quoting_body() -> bytes:
    """What a chatty receiver answers: each credential quoted, the path as PHP's json_encode escapes slashes."""
    text = json.dumps({"error": f"invalid api key {HEADER_VALUE}", "url": URL_PART, "secret": SIGNING_SECRET})
    return text.replace("/", "\\/").encode()


def raw_dead_letters(aws: Any) -> list[str]:
    answer = aws.sqs.receive_message(QueueUrl=sandbox.os.environ["DEAD_LETTER_QUEUE_URL"], MaxNumberOfMessages=10)
    return [message["Body"] for message in answer.get("Messages", [])]


def leaked(text: str) -> list[str]:
    secrets = (HEADER_VALUE, SIGNING_SECRET, SIGNING_SECRET.removeprefix("whsec_"), "T0AAAAAAA", "XXXXXXXXXXXXXXXX")
    return [secret for secret in secrets if secret in text or secret in text.replace("\\/", "/")]


def test_credentials_a_receiver_quotes_back_are_redacted_in_the_dead_letter_and_the_test_send(aws, lambda_context):
    receiver = answering_401(quoting_body())
    try:
        # Given an endpoint saved with a custom header and a signing secret, whose receiver quotes them back
        settings = {
            "url": receiver.url(URL_PART),
            "custom_header": {"name": "X-Api-Key", "value": HEADER_VALUE},
            "signing_secret": SIGNING_SECRET,
        }
        assert put(settings, lambda_context)[0] == 200
        # When a new user's notification is refused (401: for good) and the admin sends a test
        notifier.lambda_handler(load_event("notifier_new_user"), lambda_context)
        status, answer = call_admin(load_event("admin_test_webhook"), lambda_context)
    finally:
        receiver.close()
    # Then the dead letter's excerpt says what the receiver said, with every credential redacted
    [body] = raw_dead_letters(aws)
    letter = json.loads(body)
    assert letter["reason"] == "auth_rejected"
    assert letter["response_excerpt"].count("[redacted]") == 3, letter["response_excerpt"]
    assert "invalid api key [redacted]" in letter["response_excerpt"]
    assert leaked(body) == []
    # And so does the test send's answer
    assert status == 200 and answer["status"] == 401
    assert "invalid api key [redacted]" in answer["detail"] and leaked(json.dumps(answer)) == []


def test_a_dead_letter_of_an_email_template_holds_no_email(aws, lambda_context):
    receiver = answering_401(b'{"error": "no"}')
    try:
        template = {"url": receiver.url(), "message_template": "New user {name} <{email}>"}
        assert put(template, lambda_context)[0] == 200
        notifier.lambda_handler(load_event("notifier_new_user"), lambda_context)
    finally:
        receiver.close()
    [body] = raw_dead_letters(aws)
    assert "@" not in body and EMAIL not in body and "tim@" not in body.lower()
    assert json.loads(body)["message"] is None
    letter = dead_letter.parse(body)
    assert isinstance(letter, dead_letter.Notification) and letter.message is None and letter.user.name == "Tim"
