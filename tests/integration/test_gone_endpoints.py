"""A receiver that answers 410 Gone says its webhook is gone for good: the notification is not retried, its endpoint
is disabled (once, with why and when), the other endpoints subscribed to `endpoint.disabled` are told once, and what
comes for it later is skipped until an administrator enables it again and replays what it missed. Real receivers on
loopback; the sandbox's schedule is RETRY_SCHEDULE=1s,2s,3s."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from signup_hooks import signup
from signup_hooks.endpoints import registry
from signup_hooks.model import delivery_log
from signup_hooks.model.names import Format
from signup_hooks.model.user import User
from signup_hooks.signup import HashProfile, SignupForm
from signup_hooks.storage import settings_store
from signup_hooks.storage.users_table import UsersTable

from functions.notifier import app as notifier
from local.receiver import Receiver
from tests import sandbox
from tests.helpers import batch_of, call_admin, call_endpoints_api, load_event, notifier_failures, put_settings
from tests.integration.test_several_endpoints import LOG, add_endpoint, run_retries


@pytest.fixture
def gone_and_ops() -> Any:
    gone, operations = Receiver().start(), Receiver().start()
    yield gone, operations
    gone.stop()
    operations.stop()


def stored(endpoint_id: str = "default") -> Any:
    names = registry.settings_names(notifier.config, endpoint_id)
    return settings_store.read_for_change(names, "")[0].stored


def signups(*users: User) -> dict[str, Any]:
    """The notifier's stream event for these users (created in the users table, as a signup does)."""
    event = batch_of(len(users))
    for record, user in zip(event["Records"], users, strict=True):
        image = record["dynamodb"]["NewImage"]
        image["id"]["S"], image["name"]["S"], image["created_at"]["N"] = user.id, user.name, str(user.created_at)
        image["email"]["S"] = user.email
    return event


def sign_up(name: str) -> User:
    form = SignupForm(name=name, email=f"{name.lower()}@example.com", password="correct horse battery")
    return UsersTable(sandbox.TABLE_NAME).create(signup.new_account(form, "pending", HashProfile.OWASP_MINIMUM))


def record(endpoint: str, user_id: str) -> delivery_log.Record | None:
    return LOG.get(delivery_log.record_id(endpoint, "user.created", user_id))


def test_a_410_disables_its_endpoint_once_and_the_others_are_told_once(aws, lambda_context, gone_and_ops):
    gone, operations = gone_and_ops
    gone.respond_with(410)
    add_endpoint("default", gone.url, format=Format.TEXT, name="Slack")
    add_endpoint("ops", operations.url, format=Format.TEXT, events=("endpoint.disabled",))
    before = datetime.now(UTC).replace(microsecond=0)

    # two 410s in one batch: each notification has one attempt, no retry; the endpoint is disabled once
    assert notifier_failures(batch_of(2), lambda_context) == []
    assert len(gone.wait_for(2)) == 2
    assert aws.scheduled_retries() == []
    settings = stored()
    assert (settings.enabled, settings.disabled_reason) == (False, "gone")
    assert settings.disabled_at is not None
    disabled_at = datetime.fromisoformat(settings.disabled_at)
    assert settings.disabled_at == disabled_at.isoformat(timespec="seconds")  # to the second, with its offset
    assert before <= disabled_at <= datetime.now(UTC)
    for user_id in ("user-0", "user-1"):  # failed for good, in the dead-letter queue for a replay
        found = record("default", user_id)
        assert found is not None and (found.status, found.last_reason) == (delivery_log.Status.FAILED, "gone")
        assert len(found.attempts) == 1

    handled = run_retries(aws, lambda_context)
    assert [(b["event"], b["endpoint"]) for b in handled] == [("endpoint.disabled", "ops")]
    [told] = operations.wait_for(1)
    assert told.text == (
        'Webhook endpoint "Slack" (127.0.0.1) was disabled: its receiver answered 410 Gone. '
        "Nothing is sent to it until an administrator enables it again."
    )

    # the admin API shows why and when, in the endpoints API and the single-URL GET
    status, shown = call_endpoints_api(lambda_context, "GET", "/default")
    assert status == 200
    assert (shown["enabled"], shown["disabled_reason"], shown["disabled_at"]) == (False, "gone", settings.disabled_at)
    status, state = call_admin(load_event("admin_get_webhook"), lambda_context)
    assert status == 200 and (state["disabled_reason"], state["disabled_at"]) == ("gone", settings.disabled_at)

    # a later signup is skipped and logged so, and nothing more is sent to the receiver or announced
    later = batch_of(3)
    later["Records"] = later["Records"][2:]
    assert notifier_failures(later, lambda_context) == []
    skipped = record("default", "user-2")
    assert skipped is not None and (skipped.status, skipped.last_reason) == (
        delivery_log.Status.SKIPPED,
        "endpoint_disabled",
    )
    assert run_retries(aws, lambda_context, quiet_polls=1) == []
    assert len(gone.received) == 2 and len(operations.received) == 1


@pytest.mark.parametrize("how", ["patch", "put"])
def test_enabling_it_again_clears_why_and_a_replay_brings_back_what_it_missed(aws, lambda_context, gone_and_ops, how):
    gone, _ = gone_and_ops
    gone.respond_with(410, times=1)  # the receiver is set up again afterwards
    add_endpoint("default", gone.url, format=Format.TEXT)
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    ann, bob = sign_up("Ann"), sign_up("Bob")
    assert notifier_failures(signups(ann), lambda_context) == []
    assert notifier_failures(signups(bob), lambda_context) == []
    assert stored().disabled_reason == "gone"
    assert [r.status for r in (record("default", ann.id), record("default", bob.id))] == [
        delivery_log.Status.FAILED,
        delivery_log.Status.SKIPPED,
    ]

    if how == "patch":
        status, answer = call_endpoints_api(lambda_context, "PATCH", "/default", {"enabled": True})
    else:
        status, answer = put_settings({"url": gone.url}, lambda_context)
    assert status == 200
    assert (answer["enabled"], answer["disabled_reason"], answer["disabled_at"]) == (True, None, None)
    settings = stored()
    assert (settings.enabled, settings.disabled_reason, settings.disabled_at) == (True, None, None)

    replay = load_event("admin_replay_webhook")
    replay["body"] = json.dumps({"since": since})
    status, queued = call_admin(replay, lambda_context)
    assert status == 200 and queued["queued"] == 2
    run_retries(aws, lambda_context, quiet_polls=1)
    assert sorted(r.text for r in gone.received[1:]) == ["New user signed up: Ann", "New user signed up: Bob"]


def test_a_scheduled_retry_answered_410_disables_the_endpoint_and_ends_the_schedule(aws, lambda_context, gone_and_ops):
    gone, operations = gone_and_ops
    gone.respond_with(410)
    gone.respond_with(503, times=3)  # the quick first try's attempts fail for a while; the retry meets the 410
    add_endpoint("default", gone.url, format=Format.TEXT)
    add_endpoint("ops", operations.url, format=Format.TEXT, events=("endpoint.disabled",))

    assert notifier_failures(batch_of(1), lambda_context) == []
    assert stored().enabled
    handled = run_retries(aws, lambda_context)

    assert [(b["event"], b["endpoint"]) for b in handled] == [("user.created", "default"), ("endpoint.disabled", "ops")]
    assert [r.status for r in gone.received] == [503, 503, 503, 410]
    assert stored().disabled_reason == "gone"
    found = record("default", "user-0")
    assert found is not None and (found.status, found.last_reason) == (delivery_log.Status.FAILED, "gone")
    assert len(operations.wait_for(1)) == 1
