"""Signing while a secret is rotated: several signatures in one header, each verified with the reference library."""

from __future__ import annotations

import re

import pytest
from signup_hooks.sending import signing
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

BODY = b"New user signed up: Tim"
EVENT_ID = "c4ca4238a0b923820dcc509a6f75849b"


def verifies(secret: str, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(BODY, headers, json_parse=False)
    except WebhookVerificationError:
        return False
    return True


def test_a_request_signed_with_new_and_old_verifies_with_either_alone():
    new, old = signing.new_secret(), signing.new_secret()
    headers = signing.headers([new, old], EVENT_ID, BODY)
    assert verifies(new, headers)
    assert verifies(old, headers)
    assert not verifies(signing.new_secret(), headers)


def test_a_request_signed_with_the_new_secret_only_fails_with_the_old():
    new, old = signing.new_secret(), signing.new_secret()
    headers = signing.headers([new], EVENT_ID, BODY)
    assert verifies(new, headers)
    assert not verifies(old, headers)


def test_one_secret_given_as_a_string_signs_once_as_before():
    secret = signing.new_secret()
    assert signing.headers(secret, EVENT_ID, BODY, now=1795842000) == signing.headers(
        [secret], EVENT_ID, BODY, now=1795842000
    )
    assert " " not in signing.headers(secret, EVENT_ID, BODY)["webhook-signature"]


def test_the_header_holds_one_signature_per_secret_in_order_separated_by_a_space():
    new, old = signing.new_secret(), signing.new_secret()
    header = signing.headers([new, old], EVENT_ID, BODY, now=1795842000)["webhook-signature"]
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]+=* v1,[A-Za-z0-9+/]+=*", header)
    message_id = signing.webhook_id(EVENT_ID)
    expected = [signing.signature(signing.secret_key(s), message_id, 1795842000, BODY) for s in (new, old)]
    assert header == " ".join(expected)


def test_a_secret_given_twice_is_signed_once():
    new, old = signing.new_secret(), signing.new_secret()
    twice = signing.headers([new, new, old], EVENT_ID, BODY, now=1795842000)["webhook-signature"]
    assert twice == signing.headers([new, old], EVENT_ID, BODY, now=1795842000)["webhook-signature"]
    assert len(twice.split(" ")) == 2


def test_no_secret_at_all_is_refused():
    with pytest.raises(signing.InvalidSecret):
        signing.headers([], EVENT_ID, BODY)


def test_new_secret_is_valid_and_different_each_call():
    fresh = [signing.new_secret() for _ in range(5)]
    assert len(set(fresh)) == 5
    for secret in fresh:
        assert secret.startswith("whsec_")
        assert len(signing.secret_key(secret)) == 32
