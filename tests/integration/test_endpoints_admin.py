"""/api/v1/admin/webhooks: several webhook endpoints, each with its own URL, events, format and secret, managed
through the admin function's handler against moto. The single-URL API is the endpoint `default`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from signup_hooks.endpoints import registry
from signup_hooks.errors import StorageUnavailable
from signup_hooks.model import delivery_log
from signup_hooks.sending import signing
from signup_hooks.storage import settings_store
from signup_hooks.storage.deliveries_table import DeliveriesTable

from tests import sandbox
from tests.helpers import call_admin, call_endpoints_api, load_event, put_settings

API = "/api/v1/admin/webhooks"
SLACK_URL = "https://hooks.slack.com/services/T000/B000/PATHSECRET"
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a test value
HEADER_VALUE = "header-credential-value"
WEBHOOKS_PATH = sandbox.SETTINGS_PARAMETER.rsplit("/", 1)[0]


def create(context: Any, **fields: Any) -> dict[str, Any]:
    status, body = call_endpoints_api(context, "POST", body={"url": "https://hooks.example.com/a", **fields})
    assert status == 201, body
    return body


def documents(aws: Any) -> dict[str, dict[str, Any]]:
    """Every endpoint's settings document in SSM, decrypted, by id."""
    found = aws.ssm.get_parameters_by_path(Path=WEBHOOKS_PATH, WithDecryption=True)["Parameters"]
    return {item["Name"].rsplit("/", 1)[1]: json.loads(item["Value"]) for item in found}


def single_url_state(context: Any) -> dict[str, Any]:
    return call_admin(load_event("admin_get_webhook"), context)[1]


@pytest.fixture
def environment_url(configure: Any) -> str:
    url = "https://env.example.com/hook"
    configure(webhook_url_env=url)
    return url


# ---- create, list, get, patch, delete --------------------------------------------------------------------------------


def test_create_stores_a_document_of_its_own_and_answers_it_redacted(aws, lambda_context):
    # When an admin adds an endpoint with its own events, format and credentials
    body = create(
        lambda_context,
        url=SLACK_URL,
        name="Sales Slack",
        events=["user.created", "delivery.failed"],
        format="slack",
        signing_secret=SECRET,
        custom_header={"name": "X-Api-Key", "value": HEADER_VALUE},
    )
    # Then it gets a new id and is answered with the URL redacted and the credentials as "set"
    assert body["id"].startswith("ep_")
    assert body["name"] == "Sales Slack"
    assert body["url"] == "https://hooks.slack.com/…"
    assert body["source"] == "parameter"
    assert body["enabled"] is True
    assert body["events"] == ["user.created", "delivery.failed"]
    assert body["format"] == "slack"
    assert body["signing_secret"] == "set"
    assert body["custom_header"] == {"name": "X-Api-Key", "value": "set"}
    assert body["credentials_origin"] == "https://hooks.slack.com:443"
    assert body["created_at"] and body["signing_secret_rotation"] is None and body["problem"] is None
    assert body["health"]["status"] == "unknown"
    # And it is stored, encrypted, in a document of its own next to the default endpoint's
    stored = aws.ssm.get_parameter(Name=f"{WEBHOOKS_PATH}/{body['id']}", WithDecryption=True)["Parameter"]
    assert stored["Type"] == "SecureString"
    assert json.loads(stored["Value"])["url"] == SLACK_URL
    assert aws.settings_document() is None  # the default endpoint is untouched


def test_a_new_endpoint_receives_signups_unless_told_otherwise(aws, lambda_context):
    body = create(lambda_context)
    assert body["events"] == ["user.created"]
    assert body["name"] == body["id"]  # an endpoint without a name shows its id


def test_list_shows_every_endpoint_in_creation_order_and_the_limit(aws, lambda_context):
    first, second = create(lambda_context, name="one"), create(lambda_context, name="two")
    status, body = call_endpoints_api(lambda_context, "GET")
    assert status == 200
    assert body["max"] == registry.MAX_ENDPOINTS == 10
    # The default endpoint has nothing configured: it is not listed
    assert [item["id"] for item in body["items"]] == [first["id"], second["id"]]
    assert body["items"][0] == {**first, "health": body["items"][0]["health"]}


def test_list_shows_the_default_endpoint_once_it_exists(aws, lambda_context, environment_url):
    # Given only WEBHOOK_URL
    status, body = call_endpoints_api(lambda_context, "GET")
    # Then the default endpoint is listed, from the environment
    assert status == 200
    (default,) = body["items"]
    assert default["id"] == "default"
    assert default["name"] == "Default"
    assert default["url"] == "https://env.example.com/…"
    assert default["source"] == "environment"
    assert default["events"] == ["user.created"]


def test_get_answers_one_endpoint(aws, lambda_context):
    created = create(lambda_context, name="Ops")
    status, body = call_endpoints_api(lambda_context, "GET", f"/{created['id']}")
    assert status == 200
    assert body["name"] == "Ops"
    assert body["id"] == created["id"]


@pytest.mark.parametrize("endpoint_id", ["ep_000000000000", "x" * 65, "bad$id", "ep_1%2F..%2Fdefault"])
def test_unknown_or_malformed_ids_are_not_found(aws, lambda_context, endpoint_id):
    for method, path in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/rotate-secret"), ("POST", "/test")):
        body = {"name": "x"} if method == "PATCH" else None
        status, answer = call_endpoints_api(lambda_context, method, f"/{endpoint_id}{path}", body)
        assert (status, answer["code"]) == (404, "not_found"), (method, path)
    assert aws.ssm.describe_parameters()["Parameters"] == []


def test_patch_changes_only_the_fields_given_in_one_write(aws, lambda_context):
    created = create(lambda_context, name="Ops", message_template="Hi {name}", format="text")
    status, body = call_endpoints_api(
        lambda_context,
        "PATCH",
        f"/{created['id']}",
        {"name": "Ops team", "enabled": False, "events": ["*"], "message_template": None},
    )
    assert status == 200
    assert body["name"] == "Ops team"
    assert body["enabled"] is False
    assert body["events"] == ["*"]
    assert body["message_template"] is None  # null cleared it
    assert body["format"] == "text"  # left out: kept
    assert body["url"] == "https://hooks.example.com/…"
    stored = documents(aws)[created["id"]]
    assert (stored["name"], stored["enabled"], stored["events"]) == ("Ops team", "false", "*")
    assert stored["created_at"] == created["created_at"]


def test_patch_with_nothing_to_change_is_refused(aws, lambda_context):
    created = create(lambda_context)
    status, body = call_endpoints_api(lambda_context, "PATCH", f"/{created['id']}", {})
    assert (status, body["code"]) == (422, "missing_field")


def test_delete_removes_the_document(aws, lambda_context):
    created = create(lambda_context)
    status, body = call_endpoints_api(lambda_context, "DELETE", f"/{created['id']}")
    assert (status, body) == (200, {"deleted": created["id"]})
    assert documents(aws) == {}
    assert call_endpoints_api(lambda_context, "GET", f"/{created['id']}")[0] == 404


def test_deleting_the_default_endpoint_clears_it_and_webhook_url_still_applies(aws, lambda_context, environment_url):
    put_settings({"url": SLACK_URL, "format": "slack"}, lambda_context)
    status, body = call_endpoints_api(lambda_context, "DELETE", "/default")
    assert (status, body) == (200, {"deleted": "default"})
    assert aws.settings_document() is None
    state = single_url_state(lambda_context)
    assert (state["source"], state["url"], state["format"]) == ("environment", "https://env.example.com/…", "auto")


# ---- refused input: 422 naming the field, nothing written -----------------------------------------------------------

BAD_FIELDS = [
    ({"name": ""}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": "two\nlines"}, "name"),
    ({"name": 7}, "name"),
    ({"enabled": "yes"}, "enabled"),
    ({"enabled": None}, "enabled"),
    ({"events": []}, "events"),
    ({"events": "user.created"}, "events"),
    ({"events": ["user.created", "user.created"]}, "events"),
    ({"events": ["user.deleted"]}, "events"),
    ({"events": ["*", "user.created"]}, "events"),
    ({"events": None}, "events"),
    ({"url": "ftp://example.com/hook"}, "url"),
    ({"url": None}, "url"),
    ({"format": "xml"}, "format"),
    ({"message_template": "{password}"}, "message_template"),
    ({"signing_secret": "not-a-secret"}, "signing_secret"),
    ({"custom_header": {"name": "Host", "value": "x"}}, "custom_header"),
    ({"colour": "blue"}, "colour"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_FIELDS)
def test_create_refuses_each_bad_field_and_writes_nothing(aws, lambda_context, fields, field):
    status, body = call_endpoints_api(lambda_context, "POST", body={"url": "https://hooks.example.com/a", **fields})
    assert (status, body["field"]) == (422, field)
    assert aws.ssm.describe_parameters()["Parameters"] == []


def test_create_needs_a_url(aws, lambda_context):
    status, body = call_endpoints_api(lambda_context, "POST", body={"name": "no URL"})
    assert (status, body["field"], body["code"]) == (422, "url", "missing_field")
    assert aws.ssm.describe_parameters()["Parameters"] == []


@pytest.mark.parametrize(("fields", "field"), BAD_FIELDS)
def test_patch_refuses_each_bad_field_and_changes_nothing(aws, lambda_context, fields, field):
    created = create(lambda_context, name="Kept")
    before = documents(aws)
    status, body = call_endpoints_api(lambda_context, "PATCH", f"/{created['id']}", {"name": "Changed", **fields})
    assert (status, body["field"]) == (422, field)
    assert documents(aws) == before


# ---- the limit ------------------------------------------------------------------------------------------------------


def test_at_most_ten_endpoints_the_eleventh_is_refused_and_nothing_written(aws, lambda_context):
    for index in range(registry.MAX_ENDPOINTS):
        create(lambda_context, name=f"endpoint {index}")
    status, body = call_endpoints_api(lambda_context, "POST", body={"url": "https://hooks.example.com/eleven"})
    assert (status, body["code"]) == (409, "too_many_endpoints")
    assert len(documents(aws)) == registry.MAX_ENDPOINTS


@pytest.mark.parametrize("method, path, body", [("PATCH", "", {"name": "Renamed"}), ("POST", "/rotate-secret", None)])
def test_a_change_racing_a_delete_does_not_bring_the_endpoint_back(
    aws, lambda_context, monkeypatch, method, path, body
):
    # Given an endpoint that another admin deletes between this change's read and its write
    created = create(lambda_context, name="Doomed", signing_secret=SECRET)
    write = settings_store.write_document

    def write_after_a_delete(name: str, *args: Any, **options: Any) -> int:
        aws.ssm.delete_parameter(Name=name)
        return write(name, *args, **options)

    monkeypatch.setattr(settings_store, "write_document", write_after_a_delete)
    # When the change is written
    status, answer = call_endpoints_api(lambda_context, method, f"/{created['id']}{path}", body)
    # Then it answers that the endpoint is gone, and it stays gone
    assert (status, answer["code"]) == (404, "not_found"), answer
    assert documents(aws) == {}


def test_two_creates_at_once_never_make_more_endpoints_than_the_limit(aws, lambda_context, monkeypatch):
    # Given one place left, and another create that writes its endpoint while this one writes its own
    for index in range(registry.MAX_ENDPOINTS - 1):
        create(lambda_context, name=f"endpoint {index}")
    rival = f"{WEBHOOKS_PATH}/ep_rival0000000"
    save = settings_store.save

    def save_beside_a_rival(names: Any, stored: Any, **options: Any) -> None:
        aws.ssm.put_parameter(
            Name=rival, Value=json.dumps({"url": "https://hooks.example.com/rival"}), Type="SecureString"
        )
        save(names, stored, **options)

    monkeypatch.setattr(settings_store, "save", save_beside_a_rival)
    # When this create counts again after its write
    status, body = call_endpoints_api(lambda_context, "POST", body={"url": "https://hooks.example.com/mine"})
    # Then it finds the limit passed, takes its endpoint back and says to try again
    assert (status, body["code"]) == (409, "conflict"), body
    assert len(documents(aws)) == registry.MAX_ENDPOINTS
    assert rival.rsplit("/", 1)[1] in documents(aws)


def test_a_create_whose_recount_cannot_be_read_keeps_the_endpoint_it_made(aws, lambda_context, monkeypatch):
    # Given SSM that answers the count before the write and fails the one after it
    read = settings_store.read_documents
    reads: list[int] = []

    def read_then_fail(*args: Any, **options: Any) -> Any:
        reads.append(1)
        if len(reads) > 1:
            raise StorageUnavailable("SSM could not be reached: ThrottlingException")
        return read(*args, **options)

    monkeypatch.setattr(settings_store, "read_documents", read_then_fail)
    # When an endpoint is created, then it is answered created, as it is
    status, body = call_endpoints_api(lambda_context, "POST", body={"url": "https://hooks.example.com/kept"})
    assert status == 201, body
    assert list(documents(aws)) == [body["id"]]


def test_the_default_endpoint_counts_toward_the_limit_once_it_exists(aws, lambda_context, environment_url):
    for index in range(registry.MAX_ENDPOINTS - 1):
        create(lambda_context, name=f"endpoint {index}")
    status, body = call_endpoints_api(lambda_context, "POST", body={"url": "https://hooks.example.com/ten"})
    assert (status, body["code"]) == (409, "too_many_endpoints")
    assert len(documents(aws)) == registry.MAX_ENDPOINTS - 1


# ---- secrets --------------------------------------------------------------------------------------------------------


def test_no_answer_but_rotate_secrets_shows_a_secret(aws, lambda_context, logs):
    created = create(
        lambda_context, url=SLACK_URL, signing_secret=SECRET, custom_header={"name": "X-Key", "value": HEADER_VALUE}
    )
    endpoint = f"/{created['id']}"
    answers = [
        created,
        call_endpoints_api(lambda_context, "GET")[1],
        call_endpoints_api(lambda_context, "GET", endpoint)[1],
        call_endpoints_api(lambda_context, "PATCH", endpoint, {"name": "renamed"})[1],
    ]
    status, rotated = call_endpoints_api(lambda_context, "POST", f"{endpoint}/rotate-secret")
    assert status == 200
    answers += [call_endpoints_api(lambda_context, "GET")[1], call_endpoints_api(lambda_context, "GET", endpoint)[1]]
    shown = json.dumps(answers) + logs.getvalue()
    for secret in (SECRET, HEADER_VALUE, rotated["signing_secret"], "PATHSECRET"):
        assert secret not in shown
    assert rotated["signing_secret"] in json.dumps(rotated)


def test_rotating_keeps_the_old_secret_for_the_overlap_and_twice_drops_the_oldest(aws, lambda_context):
    created = create(lambda_context, signing_secret=SECRET)
    endpoint = f"/{created['id']}"
    # When the secret is rotated
    before = datetime.now(UTC)
    status, first = call_endpoints_api(lambda_context, "POST", f"{endpoint}/rotate-secret")
    # Then a new whsec_ secret is answered once, and the old one signs beside it for 24 hours
    assert status == 200
    signing.secret_key(first["signing_secret"])
    assert first["signing_secret"] != SECRET
    until = datetime.fromisoformat(first["previous_until"])
    assert before + timedelta(hours=24) - timedelta(seconds=5) <= until <= before + timedelta(hours=24, seconds=5)
    stored = documents(aws)[created["id"]]
    assert (stored["signing_secret"], stored["signing_secret_previous"]) == (first["signing_secret"], SECRET)
    assert call_endpoints_api(lambda_context, "GET", endpoint)[1]["signing_secret_rotation"] == {
        "previous_until": first["previous_until"]
    }
    # When it is rotated again during the overlap
    second = call_endpoints_api(lambda_context, "POST", f"{endpoint}/rotate-secret")[1]
    # Then the first secret is dropped: the newest and the one it replaced sign
    stored = documents(aws)[created["id"]]
    assert (stored["signing_secret"], stored["signing_secret_previous"]) == (
        second["signing_secret"],
        first["signing_secret"],
    )
    assert SECRET not in json.dumps(stored)


def test_rotating_without_a_secret_just_sets_one(aws, lambda_context):
    created = create(lambda_context)
    status, body = call_endpoints_api(lambda_context, "POST", f"/{created['id']}/rotate-secret")
    assert status == 200
    assert body["previous_until"] is None
    stored = documents(aws)[created["id"]]
    assert stored["signing_secret"] == body["signing_secret"]
    assert stored["signing_secret_previous"] is None
    assert call_endpoints_api(lambda_context, "GET", f"/{created['id']}")[1]["signing_secret"] == "set"


def test_the_overlap_is_configurable(aws, lambda_context, configure):
    configure(signing_secret_overlap_hours=1)
    created = create(lambda_context, signing_secret=SECRET)
    before = datetime.now(UTC)
    until = datetime.fromisoformat(
        call_endpoints_api(lambda_context, "POST", f"/{created['id']}/rotate-secret")[1]["previous_until"]
    )
    assert abs((until - before) - timedelta(hours=1)) < timedelta(seconds=5)


# ---- the single-URL API is the endpoint `default` --------------------------------------------------------------------


def test_a_patch_of_default_shows_through_the_single_url_api_and_back(aws, lambda_context):
    # When the default endpoint is changed through the new API
    status, body = call_endpoints_api(
        lambda_context, "PATCH", "/default", {"url": SLACK_URL, "events": ["*"], "name": "Main"}
    )
    assert status == 200
    assert body["id"] == "default"
    # Then the single-URL API shows it
    state = single_url_state(lambda_context)
    assert (state["url"], state["source"]) == ("https://hooks.slack.com/…", "parameter")
    # And a change through the single-URL API shows in the new one, keeping the events and name
    assert put_settings({"format": "slack"}, lambda_context)[0] == 200
    default = call_endpoints_api(lambda_context, "GET", "/default")[1]
    assert (default["format"], default["events"], default["name"]) == ("slack", ["*"], "Main")
    assert [item["id"] for item in call_endpoints_api(lambda_context, "GET")[1]["items"]] == ["default"]


def test_patching_default_retires_the_older_parameters(aws, lambda_context):
    aws.ssm.put_parameter(Name=sandbox.PARAMETER_NAME, Value="https://older.example.com/x", Type="SecureString")
    status, body = call_endpoints_api(
        lambda_context, "PATCH", "/default", {"events": ["user.created", "endpoint.failing"]}
    )
    assert status == 200
    assert body["url"] == "https://older.example.com/…"
    assert aws.settings_document()["url"] == "https://older.example.com/x"
    assert [p["Name"] for p in aws.ssm.describe_parameters()["Parameters"]] == [sandbox.SETTINGS_PARAMETER]


def test_a_url_of_another_origin_clears_the_custom_header_as_the_single_url_api_does(aws, lambda_context):
    created = create(
        lambda_context, url="https://a.example.com/hook", custom_header={"name": "X-Key", "value": HEADER_VALUE}
    )
    # A new path at the same origin keeps the header
    same = call_endpoints_api(lambda_context, "PATCH", f"/{created['id']}", {"url": "https://a.example.com/other"})[1]
    assert same["custom_header"] == {"name": "X-Key", "value": "set"}
    assert same["custom_header_cleared"] is False
    # Another origin clears it: it was saved for the first receiver only
    status, moved = call_endpoints_api(
        lambda_context, "PATCH", f"/{created['id']}", {"url": "https://b.example.com/hook"}
    )
    assert status == 200
    assert moved["custom_header"] is None
    assert moved["custom_header_cleared"] is True
    assert moved["credentials_origin"] == "https://b.example.com:443"
    assert documents(aws)[created["id"]]["custom_header_value"] is None


# ---- test sends and the delivery log ---------------------------------------------------------------------------------


def test_a_test_send_goes_to_the_endpoints_url_signed_with_its_secret(aws, lambda_context, receiver):
    created = create(lambda_context, url=receiver.url, signing_secret=SECRET, format="json")
    status, body = call_endpoints_api(lambda_context, "POST", f"/{created['id']}/test")
    assert status == 200
    assert (body["delivered"], body["credentials"], body["format"]) == (True, "sent", "json")
    (received,) = receiver.wait_for(1)
    headers = {name.lower(): value for name, value in received.headers.items()}
    expected = signing.signature(
        signing.secret_key(SECRET), headers["webhook-id"], int(headers["webhook-timestamp"]), received.body
    )
    assert headers["webhook-signature"] == expected
    assert single_url_state(lambda_context)["configured"] is False  # the default endpoint was not used


def test_the_delivery_log_filters_by_endpoint(aws, lambda_context):
    for endpoint in ("default", "ep_aaaaaaaaaaaa"):
        subject = delivery_log.Subject("user-1", "Tim", f"event-{endpoint}", f"msg_{endpoint}", endpoint=endpoint)
        DeliveriesTable(sandbox.DELIVERIES_TABLE_NAME).record(
            subject, delivery_log.Status.DELIVERED, target_host="h", format="text"
        )
    event = load_event("admin_list_deliveries")
    for wanted in ("default", "ep_aaaaaaaaaaaa"):
        event["queryStringParameters"] = {"endpoint": wanted}
        status, body = call_admin(event, lambda_context)
        assert status == 200
        assert [item["endpoint"] for item in body["items"]] == [wanted]
    event["queryStringParameters"] = None
    assert len(call_admin(event, lambda_context)[1]["items"]) == 2
    event["queryStringParameters"] = {"endpoint": "no such/id"}
    status, body = call_admin(event, lambda_context)
    assert (status, body["field"]) == (422, "endpoint")


def test_a_page_of_one_endpoints_records_reads_past_the_other_endpoints_newer_ones(aws, lambda_context):
    # Given the default endpoint's two records, then twelve newer ones of another endpoint
    table = DeliveriesTable(sandbox.DELIVERIES_TABLE_NAME)
    for index, endpoint in enumerate(["default"] * 2 + ["ep_aaaaaaaaaaaa"] * 12):
        subject = delivery_log.Subject(f"user-{index}", "Tim", f"event-{index}", f"msg_{index}", endpoint=endpoint)
        table.record(subject, delivery_log.Status.DELIVERED, target_host="h", format="text")
        time.sleep(0.002)  # records of one millisecond would sort by id
    event = load_event("admin_list_deliveries")
    # When the admin asks for a page of two of the default endpoint's records
    event["queryStringParameters"] = {"endpoint": "default", "limit": "2"}
    status, body = call_admin(event, lambda_context)
    # Then the page holds both, not an empty page with a cursor
    assert status == 200, body
    assert [item["user"]["id"] for item in body["items"]] == ["user-1", "user-0"]
    # And a page of the other endpoint's is filled from its newest, with a cursor to the rest
    event["queryStringParameters"] = {"endpoint": "ep_aaaaaaaaaaaa", "limit": "5"}
    body = call_admin(event, lambda_context)[1]
    assert [item["user"]["id"] for item in body["items"]] == [f"user-{index}" for index in range(13, 8, -1)]
    assert body["cursor"]


def test_an_unreadable_document_is_listed_with_its_problem_and_can_be_deleted(aws, lambda_context):
    created = create(lambda_context, name="Fine")
    broken = f"{WEBHOOKS_PATH}/ep_broken00000"
    aws.ssm.put_parameter(Name=broken, Value="not json", Type="SecureString")
    items = call_endpoints_api(lambda_context, "GET")[1]["items"]
    assert {item["id"]: item["problem"] is not None for item in items} == {created["id"]: False, "ep_broken00000": True}
    # A change would build on what cannot be read: refused; a delete is how it is fixed
    assert call_endpoints_api(lambda_context, "PATCH", "/ep_broken00000", {"name": "x"})[0] == 503
    assert call_endpoints_api(lambda_context, "DELETE", "/ep_broken00000")[0] == 200
    assert list(documents(aws)) == [created["id"]]
