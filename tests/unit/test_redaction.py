"""A receiver that quotes our credentials back ("invalid api key ...") never gets them into an excerpt, and a dead
letter never holds an e-mail address, whatever the template."""

from __future__ import annotations

import json

from signup_hooks.model import dead_letter
from signup_hooks.model.results import DeliveryResult, Reason
from signup_hooks.model.user import User
from signup_hooks.sending import http, redaction

HEADER_VALUE = "sk_live_QUOTEDBACK1234"
SIGNING_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a test value
SLACK_URL = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/XXXXXXXXXXXXXXXXXXXXXXXX"
TOKEN = "XXXXXXXXXXXXXXXXXXXXXXXX"
CREDENTIALS = redaction.credentials(
    SLACK_URL + "?key=GOOGLECHATKEY1234567",
    {"Content-Type": "application/json", "X-Api-Key": HEADER_VALUE},
    [SIGNING_SECRET],
)


def test_the_credentials_are_the_header_values_the_secrets_and_the_urls_path_and_query():
    assert HEADER_VALUE in CREDENTIALS and "application/json" not in CREDENTIALS
    assert SIGNING_SECRET in CREDENTIALS and SIGNING_SECRET.removeprefix("whsec_") in CREDENTIALS
    assert "/services/T0AAAAAAA/B0BBBBBBB/" + TOKEN in CREDENTIALS and TOKEN in CREDENTIALS
    assert "key=GOOGLECHATKEY1234567" in CREDENTIALS and "GOOGLECHATKEY1234567" in CREDENTIALS
    assert redaction.credentials("https://example.com/", {}, []) == ()  # a bare "/" is no credential


def test_an_answer_quoting_each_credential_plainly_or_json_escaped_is_redacted():
    body = json.dumps(
        {
            "error": f"invalid api key {HEADER_VALUE}",
            "url": "/services/T0AAAAAAA/B0BBBBBBB/" + TOKEN,
            "key": SIGNING_SECRET.removeprefix("whsec_"),
        }
    ).replace("/", "\\/")  # as PHP's json_encode writes a slash
    excerpt = http._excerpt(body.encode(), CREDENTIALS)
    assert excerpt.count("[redacted]") == 3, excerpt
    for secret in (HEADER_VALUE, TOKEN, "T0AAAAAAA", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"):
        assert secret not in excerpt
    assert excerpt.startswith('{"error": "invalid api key [redacted]"')


def test_a_credential_cut_where_the_answer_was_read_to_is_redacted_and_none_straddles_the_excerpts_end():
    filler = "x" * (http.MAX_EXCERPT_CHARS - 10)
    excerpt = http._excerpt(f"{filler} {HEADER_VALUE} more".encode(), CREDENTIALS)
    assert "sk_live" not in excerpt and excerpt.endswith(" [redacted")  # cut after redaction: no part of the value
    read_to_limit = ("y" * 20 + " " + HEADER_VALUE[:12]).encode()
    assert http._excerpt(read_to_limit, CREDENTIALS).endswith(" [redacted]")


def test_an_answer_without_credentials_is_left_as_it_was():
    assert http._excerpt(b'{"error": "no_service"}', CREDENTIALS) == '{"error": "no_service"}'


def letter_of(message: str | None, email: str = "tim@example.com") -> dead_letter.DeadLetter:
    user = User("u-1", "Tim", email, "pending", 1767225600, "")
    result = DeliveryResult(False, 404, Reason.NOT_FOUND, 3)
    return dead_letter.DeadLetter("event-1", user, message, "https://hooks.example.net/x", result)


def test_a_dead_letter_whose_message_holds_the_email_keeps_no_message():
    for message in ("New user: Tim <tim@example.com>", "New user: TIM@EXAMPLE.COM", "ask bob@corp.example"):
        body = letter_of(message).to_json()
        assert json.loads(body)["message"] is None
        assert "@" not in body and "example.com" not in body.lower()
        parsed = dead_letter.parse(body)
        assert isinstance(parsed, dead_letter.Notification) and parsed.message is None


def test_a_dead_letter_without_an_address_keeps_its_message():
    body = letter_of("@here New user signed up: Tim").to_json()
    parsed = dead_letter.parse(body)
    assert isinstance(parsed, dead_letter.Notification) and parsed.message == "@here New user signed up: Tim"


def test_an_older_letter_holding_an_address_or_no_message_reads_as_none():
    body = json.loads(letter_of("New user signed up: Tim").to_json())
    for message in ("Tim <tim@example.com>", None, 7):
        parsed = dead_letter.parse(json.dumps({**body, "message": message}))
        assert isinstance(parsed, dead_letter.Notification) and parsed.message is None
    del body["message"]
    parsed = dead_letter.parse(json.dumps(body))
    assert isinstance(parsed, dead_letter.Notification) and parsed.message is None
