"""A settings document is checked at save against Parameter Store's size limit as it will be stored (each brace
escaped to six bytes): a change that would pass it answers 422 naming the field that takes the most room, and
writes nothing, instead of a document every later save would fail on (AWS answers 503 for it; so does the local
moto, local/moto_fixes.py)."""

from __future__ import annotations

import json
from typing import Any

from signup_hooks.storage import settings_store

from tests import sandbox
from tests.helpers import call_endpoints_api, put_settings

URL = "https://hooks.example.com/a"
WEBHOOKS_PATH = sandbox.SETTINGS_PARAMETER.rsplit("/", 1)[0]
BRACE_TEMPLATE = "{{" * 250  # 500 characters (the longest template), 500 literal braces: 3,000 bytes stored
LIMIT = 8 * 1024  # settings_store.MAX_DOCUMENT_BYTES: the Advanced tier, where Intelligent-Tiering goes


def documents(aws: Any) -> dict[str, str]:
    found = aws.ssm.get_parameters_by_path(Path=WEBHOOKS_PATH, WithDecryption=True)["Parameters"]
    return {item["Name"].rsplit("/", 1)[1]: item["Value"] for item in found}


def header(braces: int) -> dict[str, str]:
    return {"name": "X-Api-Key", "value": "{" * braces}


def test_a_change_too_large_as_stored_answers_422_naming_the_largest_field_and_writes_nothing(aws, lambda_context):
    # Given an endpoint
    status, created = call_endpoints_api(lambda_context, "POST", body={"url": URL})
    assert status == 201, created
    before = documents(aws)
    # When a PATCH sets a template and a header of braces and a URL with some: under 4 KB asked, over 8 KB stored
    change = {"message_template": BRACE_TEMPLATE, "custom_header": header(480), "url": URL + "/" + "{" * 420}
    assert len(json.dumps(change)) < 4 * 1024
    status, body = call_endpoints_api(lambda_context, "PATCH", f"/{created['id']}", change)
    # Then it answers 422 naming the template, the field that takes the most room, and nothing was written
    assert (status, body["code"], body["field"]) == (422, "too_large", "message_template"), body
    assert documents(aws) == before


def test_a_new_endpoint_or_a_single_url_put_too_large_is_refused_the_same_way(aws, lambda_context):
    # When a create, then a single-URL PUT, asks for a header of 1,024 braces (6,144 bytes) beside a brace template
    too_large = {"url": URL, "message_template": BRACE_TEMPLATE, "custom_header": header(1024)}
    created = call_endpoints_api(lambda_context, "POST", body=too_large)
    put = put_settings(too_large, lambda_context)
    # Then both answer 422 naming the header, and no document exists
    for status, body in (created, put):
        assert (status, body["code"], body["field"]) == (422, "too_large", "custom_header"), body
    assert documents(aws) == {}


def test_a_document_just_at_the_limit_saves(aws, lambda_context):
    # Given an endpoint with a brace template, and the header that brings its stored document to the limit exactly
    status, created = call_endpoints_api(lambda_context, "POST", body={"url": URL, "message_template": BRACE_TEMPLATE})
    assert status == 201, created
    stored = json.loads(documents(aws)[created["id"]])
    with_header = {**stored, "custom_header_name": "X-Api-Key", "custom_header_value": ""}
    room = LIMIT - len(settings_store.encode_document(with_header).encode())
    braces, rest = divmod(room, 6)
    value = "{" * braces + "a" * rest
    # When the admin sets it
    status, body = call_endpoints_api(
        lambda_context, "PATCH", f"/{created['id']}", {"custom_header": {"name": "X-Api-Key", "value": value}}
    )
    # Then it is saved, at the limit, and one character more is refused
    assert status == 200, body
    assert len(documents(aws)[created["id"]].encode()) == LIMIT
    status, body = call_endpoints_api(
        lambda_context, "PATCH", f"/{created['id']}", {"custom_header": {"name": "X-Api-Key", "value": value + "a"}}
    )
    assert (status, body["field"]) == (422, "custom_header"), body
