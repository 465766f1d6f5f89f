"""The delivery log through the admin API: list newest first with a status filter and a cursor, one record, resend,
replay of a window found through the users index, and the health in GET /api/v1/admin/webhook."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from signup_hooks import signup
from signup_hooks.model import clock, cursors, delivery_log
from signup_hooks.model.user import User
from signup_hooks.signup import HashProfile, SignupForm
from signup_hooks.storage.deliveries_table import DeliveriesTable
from signup_hooks.storage.users_table import UsersTable

from functions.notifier import app as notifier
from functions.retry import app as retry_function
from tests import sandbox
from tests.helpers import call_admin as call
from tests.helpers import load_event

TABLE = sandbox.DELIVERIES_TABLE_NAME
SIGNING_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # 24 bytes of base64, a test value


def listing(context: Any, **query: str) -> tuple[int, dict[str, Any]]:
    event = load_event("admin_list_deliveries")
    event["queryStringParameters"] = query or None
    event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    return call(event, context)


def one(context: Any, delivery_id: str, action: str = "") -> tuple[int, dict[str, Any]]:
    event = load_event("admin_resend_delivery" if action == "resend" else "admin_get_delivery")
    path = f"/api/v1/admin/webhook/deliveries/{delivery_id}" + ("/resend" if action else "")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"id": delivery_id}
    return call(event, context)


def replay(context: Any, body: Any) -> tuple[int, dict[str, Any]]:
    event = load_event("admin_replay_webhook")
    event["body"] = json.dumps(body)
    return call(event, context)


def logged(user_id: str, name: str, status: delivery_log.Status, reason: str | None = None) -> str:
    """A record written as the notifier writes it."""
    subject = delivery_log.Subject(user_id, name, f"event-{user_id}", f"msg_{user_id}")
    attempt = delivery_log.Attempt(
        clock.to_the_millisecond(), 500 if reason else 200, reason, 5, delivery_log.Trigger.STREAM
    )
    DeliveriesTable(TABLE).record(
        subject, status, target_host="hooks.example.com", format="text", attempts=[attempt], reason=reason
    )
    return subject.id


def sign_up(name: str) -> User:
    form = SignupForm(name=name, email=f"{name.lower()}@example.com", password="correct horse battery")
    return UsersTable(sandbox.TABLE_NAME).create(signup.new_account(form, "pending", HashProfile.OWASP_MINIMUM))


def test_the_log_lists_newest_first_and_pages_with_a_cursor(aws, lambda_context):
    for index in range(5):
        logged(f"user-{index}", f"User {index}", delivery_log.Status.DELIVERED)
        time.sleep(0.002)  # distinct creation times
    status, first = listing(lambda_context, limit="2")
    assert status == 200
    assert [item["user"]["name"] for item in first["items"]] == ["User 4", "User 3"]
    status, second = listing(lambda_context, limit="2", cursor=first["cursor"])
    assert [item["user"]["name"] for item in second["items"]] == ["User 2", "User 1"]


def test_the_log_filters_by_status(aws, lambda_context):
    logged("a", "Ann", delivery_log.Status.DELIVERED)
    logged("b", "Bob", delivery_log.Status.RETRYING, "server_error")
    logged("c", "Cat", delivery_log.Status.FAILED, "not_found")
    status, body = listing(lambda_context, status="failed")
    assert status == 200
    [item] = body["items"]
    assert (item["user"]["name"], item["status"], item["last_reason"]) == ("Cat", "failed", "not_found")
    assert item["attempts"][0]["status"] == 500 and item["attempts"][0]["trigger"] == "stream"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"cursor": "!!"}, "cursor"),
    ],
)
def test_bad_log_queries_get_422_naming_the_field(aws, lambda_context, query, field):
    status, body = listing(lambda_context, **query)
    assert status == 422 and body["field"] == field


def log_cursor(**key: dict[str, str]) -> str:
    """A cursor shaped as the log's pages hand out, with `key` changing or adding attributes."""
    base = {"id": {"S": "dlv_" + "0" * 32}, "entity": {"S": "delivery"}, "sort_key": {"S": "2026-01-01T00:00:00Z"}}
    return cursors.encode({**base, **key})


def status_cursor(status: dict[str, str]) -> str:
    """A cursor shaped as a page of one status hands out, with `status` as its status attribute."""
    return cursors.encode({"id": {"S": "dlv_1"}, "status": status, "sort_key": {"S": "2026-01-01T00:00:00Z"}})


def test_a_superscript_limit_is_422_naming_limit(aws, lambda_context):
    # '²'.isdigit() is True, int('²') raises: it was a 500
    status, body = listing(lambda_context, limit="\u00b2")
    assert status == 422 and body["field"] == "limit"


@pytest.mark.parametrize(
    ("query", "cursor"),
    [
        ({}, log_cursor(id={"N": "1"})),  # a string key given as a number
        ({}, log_cursor(sort_key={"S": ""})),  # DynamoDB refuses an empty key string
        ({}, log_cursor(entity={"S": "user"})),  # another partition than the query's
        ({}, log_cursor(id={"S": "\ud800"})),  # a lone surrogate: not UTF-8, boto3 cannot even send it
        ({}, cursors.encode({"id": {"S": "dlv_1"}})),  # a key missing
        ({}, log_cursor(status={"S": "failed"})),  # a key of the other index too
        ({"status": "failed"}, log_cursor()),  # the every-status index's cursor on the status index
        (
            {"status": "failed"},
            cursors.encode({"id": {"S": "x"}, "status": {"S": "delivered"}, "sort_key": {"S": "x"}}),
        ),
        ({"status": "failed"}, cursors.encode({"id": {"S": "x"}, "status": {"N": "1"}, "sort_key": {"S": "x"}})),
    ],
    ids=[
        "number-for-string",
        "empty-string",
        "other-partition",
        "lone-surrogate",
        "key-missing",
        "extra-key",
        "other-index",
        "other-status",
        "status-as-number",
    ],
)
def test_a_tampered_log_cursor_is_422_naming_cursor(aws, lambda_context, query, cursor):
    logged("a", "Ann", delivery_log.Status.FAILED, "server_error")
    status, body = listing(lambda_context, **query, cursor=cursor)
    assert status == 422 and body["field"] == "cursor", body


def test_a_cursor_of_the_status_index_pages_it(aws, lambda_context):
    for index in range(3):
        logged(f"user-{index}", f"User {index}", delivery_log.Status.FAILED, "server_error")
        time.sleep(0.002)
    status, first = listing(lambda_context, status="failed", limit="2")
    assert status == 200 and first["cursor"]
    status, second = listing(lambda_context, status="failed", limit="2", cursor=first["cursor"])
    assert status == 200 and [item["user"]["name"] for item in second["items"]] == ["User 0"]


def test_one_record_by_id_and_404_for_an_unknown_one(aws, lambda_context):
    record_id = logged("a", "Ann", delivery_log.Status.FAILED, "server_error")
    status, body = one(lambda_context, record_id)
    assert status == 200 and body["id"] == record_id and body["webhook_id"] == "msg_a"
    assert one(lambda_context, "dlv_" + "0" * 32)[0] == 404
    assert one(lambda_context, "nonsense")[0] == 404


def test_the_log_holds_no_email_no_url_path_and_no_secret(aws, lambda_context, receiver, configure):
    configure(webhook_url_env=receiver.url + "/T000/SECRETPATH")
    receiver.respond_with(500)
    notifier.lambda_handler(load_event("notifier_new_user"), lambda_context)
    _status, body = listing(lambda_context)
    text = json.dumps(body)
    assert body["items"] and "tim@example.com" not in text and "SECRETPATH" not in text
    assert body["items"][0]["target_host"] == "127.0.0.1"


def test_resend_sends_again_now_with_the_same_webhook_id_and_records_the_attempt(
    aws, lambda_context, receiver, configure_all
):
    # Given a signed notification (the signature brings the webhook-id header) that failed for good (a 404)
    aws.ssm.put_parameter(Name=sandbox.SIGNING_SECRET_PARAMETER, Value=SIGNING_SECRET, Type="SecureString")
    receiver.respond_with(404, times=1)
    configure_all(webhook_url_env=receiver.url)
    notifier.lambda_handler(load_event("notifier_new_user"), lambda_context)
    [failed] = listing(lambda_context, status="failed")[1]["items"]
    # When the administrator fixes the receiver and resends
    status, body = one(lambda_context, failed["id"], "resend")
    # Then it is delivered now, under the same webhook-id, as an attempt of its own
    assert status == 200
    assert body["status"] == "delivered"
    assert [a["trigger"] for a in body["attempts"]] == ["stream", "resend"]
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == failed["webhook_id"]
    # And a second resend of a delivered notification sends it again, as asked
    assert one(lambda_context, failed["id"], "resend")[0] == 200
    assert len(receiver.wait_for(3)) == 3


def test_resend_without_a_url_is_422_and_sends_nothing(aws, lambda_context):
    record_id = logged("a", "Ann", delivery_log.Status.FAILED, "server_error")
    status, body = one(lambda_context, record_id, "resend")
    assert status == 422 and body["code"] == "not_configured"


def test_replay_since_notifies_the_users_created_while_no_url_was_set(aws, lambda_context, receiver, configure_all):
    # Given two users signed up while no URL was set (logged as skipped), and one delivered before
    since = datetime.now(UTC).isoformat()
    delivered = sign_up("Ann")
    logged(delivered.id, delivered.name, delivery_log.Status.DELIVERED)
    missed = [sign_up("Bob"), sign_up("Cat")]
    for user in missed:
        DeliveriesTable(TABLE).record(
            delivery_log.Subject(user.id, user.name, f"event-{user.id}", f"msg-{user.id}"),
            delivery_log.Status.SKIPPED,
            target_host="",
            format="",
            reason="not_configured",
        )
    # When the URL is set and the administrator replays since then
    configure_all(webhook_url_env=receiver.url)
    status, body = replay(lambda_context, {"since": since})
    # Then the two missed users are queued, the delivered one is not
    assert status == 200
    assert (body["users"], body["queued"], body["already_delivered"], body["cursor"]) == (3, 2, 1, None)
    # And the retry function delivers them
    messages = aws.sqs.receive_message(
        QueueUrl=sandbox.os.environ["RETRY_QUEUE_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=1
    )["Messages"]
    event = load_event("retry_due")
    template = event["Records"][0]
    event["Records"] = [
        {**template, "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]}
        for m in messages
    ]
    assert retry_function.lambda_handler(event, lambda_context)["batchItemFailures"] == []
    assert sorted(r.text for r in receiver.wait_for(2)) == ["New user signed up: Bob", "New user signed up: Cat"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"since": "2026-01-01T00:00:00Z", "cursor": "not-a-cursor"}, "cursor"),
        ({"since": "2026-01-01T00:00:00Z", "window": 3}, "window"),
    ],
)
def test_bad_replay_windows_get_422_naming_the_field(aws, lambda_context, configure, body, field):
    configure(webhook_url_env="https://hooks.example.com/x")
    status, answer = replay(lambda_context, body)
    assert status == 422 and answer["field"] == field


def users_cursor(**key: dict[str, str]) -> str:
    """A cursor shaped as a replay hands out, within 2026-01-01..2026-01-02, with `key` changing attributes."""
    base = {"pk": {"S": "USER#x"}, "entity": {"S": "user"}, "created_at": {"N": "1767268800"}}
    return cursors.encode({**base, **key})


@pytest.mark.parametrize(
    "cursor",
    [
        users_cursor(created_at={"S": "1767268800"}),  # a number given as a string
        users_cursor(created_at={"N": "\u00b2"}),
        users_cursor(created_at={"N": "--5"}),
        users_cursor(created_at={"N": "1767225599"}),  # before the window: outside the query's range
        users_cursor(created_at={"N": "1767312001"}),  # after it
        users_cursor(entity={"S": "auth"}),  # another partition
        users_cursor(pk={"S": ""}),
        users_cursor(pk={"N": "1"}),
        cursors.encode({"entity": {"S": "user"}, "created_at": {"N": "1767268800"}}),  # the table's key missing
        log_cursor(),  # the delivery log's cursor
    ],
    ids=[
        "string-for-number",
        "superscript-number",
        "double-minus",
        "before-window",
        "after-window",
        "other-partition",
        "empty-string",
        "number-for-string",
        "key-missing",
        "log-cursor",
    ],
)
def test_a_tampered_replay_cursor_is_422_naming_cursor(aws, lambda_context, configure_all, receiver, cursor):
    configure_all(webhook_url_env=receiver.url)
    window = {"since": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00Z", "cursor": cursor}
    status, body = replay(lambda_context, window)
    assert status == 422 and body["field"] == "cursor", body


def test_a_replay_cursor_within_the_window_is_taken(aws, lambda_context, configure_all, receiver):
    configure_all(webhook_url_env=receiver.url)
    window = {"since": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00Z", "cursor": users_cursor()}
    status, body = replay(lambda_context, window)
    assert status == 200 and body["users"] == 0


def test_replay_without_a_url_is_422(aws, lambda_context):
    status, body = replay(lambda_context, {"since": "2026-01-01T00:00:00Z"})
    assert status == 422 and body["code"] == "not_configured"


def test_get_webhook_shows_the_health_and_what_is_waiting(aws, lambda_context, receiver, configure):
    status, body = call(load_event("admin_get_webhook"), lambda_context)
    assert status == 200 and body["health"]["status"] == "unknown"
    receiver.respond_with(500)
    configure(webhook_url_env=receiver.url)
    notifier.lambda_handler(load_event("notifier_new_user"), lambda_context)
    health = call(load_event("admin_get_webhook"), lambda_context)[1]["health"]
    assert health["status"] == "failing" and health["failing_since"] and health["consecutive_failures"] == 1
    assert health["retrying"] == 1 and health["dead_letters"] == 0
