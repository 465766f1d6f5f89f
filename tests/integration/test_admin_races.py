"""Admin changes to one endpoint that run at the same time, through the admin function's handler against moto: a
change that lands between another's read and its write is never undone by it. Each race is made exact by running
the second change from inside the first one's write (its read done, its write not yet sent)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from signup_hooks.admin import endpoint_routes
from signup_hooks.storage import settings_lease, settings_store

from tests import sandbox
from tests.helpers import call_admin, call_endpoints_api, load_event

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a test value
HAND_SECRET = "whsec_" + "c2Vjb25kIHRlc3Qgc2VjcmV0IHZhbHVlISE="  # a test value
SECOND_CHANGE_SECONDS = 1.0  # how long the first change waits for the second (it finishes in far less when free)


def document(aws: Any, endpoint_id: str) -> dict[str, Any]:
    name = sandbox.SETTINGS_PARAMETER.rsplit("/", 1)[0] + "/" + endpoint_id
    return dict(json.loads(aws.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]))


def admin_config() -> Any:
    from functions.admin import app  # imported here: handlers read their settings when imported

    return app.config


@pytest.fixture
def during_first_write(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[], Any]], list[Any]]:
    """`during_first_write(second)`: the next settings write runs `second` in a thread of its own first and waits
    for it (up to SECOND_CHANGE_SECONDS), as another admin invocation would run beside this one. What `second`
    returned (or raised) is in the list returned, once the first change is over."""
    write = settings_store.write_document
    outcome: list[Any] = []
    threads: list[threading.Thread] = []

    def install(second: Callable[[], Any]) -> list[Any]:
        def run() -> None:
            try:
                outcome.append(second())
            except Exception as exc:  # the test looks at what it was
                outcome.append(exc)

        def write_with_a_change_beside(*args: Any, **options: Any) -> int:
            if not threads:
                threads.append(threading.Thread(target=run))
                threads[0].start()
                threads[0].join(SECOND_CHANGE_SECONDS)
            return write(*args, **options)

        monkeypatch.setattr(settings_store, "write_document", write_with_a_change_beside)
        return outcome

    yield install
    for thread in threads:
        thread.join(settings_lease.WAIT_SECONDS + 5)


def make_endpoint(context: Any) -> str:
    status, body = call_endpoints_api(
        context, "POST", body={"url": "https://hooks.example.com/a", "signing_secret": SECRET}
    )
    assert status == 201, body
    return str(body["id"])


def test_a_rotation_beside_a_patch_waits_for_it_and_both_stand(aws, lambda_context, during_first_write):
    # Given an endpoint, and a secret rotation that starts while a PATCH has read it and not yet written
    endpoint_id = make_endpoint(lambda_context)
    config = admin_config()
    outcome = during_first_write(lambda: endpoint_routes.rotate_secret(config, endpoint_id))
    # When the PATCH renames it
    status, body = call_endpoints_api(lambda_context, "PATCH", f"/{endpoint_id}", {"name": "Renamed"})
    # Then both answered 200, and the saved document has both: the new name and the rotated secret
    time.sleep(settings_lease.POLL_SECONDS * 3)  # the rotation, past the PATCH's lease, finishes
    assert status == 200, body
    assert len(outcome) == 1 and isinstance(outcome[0], dict), outcome
    saved = document(aws, endpoint_id)
    assert saved["name"] == "Renamed"
    assert saved["signing_secret"] == outcome[0]["signing_secret"]
    assert saved["signing_secret_previous"] == SECRET


def test_a_rename_beside_a_disable_keeps_the_endpoint_disabled(aws, lambda_context, during_first_write):
    # Given an endpoint that one admin renames while another's PATCH switching it off has read it
    endpoint_id = make_endpoint(lambda_context)
    config = admin_config()
    rename = endpoint_routes.EndpointRequest.parse(json.dumps({"name": "Renamed"}), config, creating=False)
    outcome = during_first_write(lambda: endpoint_routes.update(config, endpoint_id, rename))
    # When the switch-off is written
    status, body = call_endpoints_api(lambda_context, "PATCH", f"/{endpoint_id}", {"enabled": False})
    time.sleep(settings_lease.POLL_SECONDS * 3)
    # Then the endpoint is off and renamed: neither change undid the other
    assert status == 200, body
    assert isinstance(outcome[0], dict), outcome
    saved = document(aws, endpoint_id)
    assert (saved["enabled"], saved["name"]) == ("false", "Renamed")


def test_a_single_url_put_beside_a_rotation_of_the_default_endpoint_keeps_the_secret(
    aws, lambda_context, during_first_write
):
    # Given the default endpoint, rotated while a PUT of the single-URL API has read it
    config = admin_config()
    outcome = during_first_write(lambda: endpoint_routes.rotate_secret(config, "default"))
    event = load_event("admin_put_webhook")
    event["body"] = json.dumps({"url": "https://hooks.example.com/single"})
    # When the PUT is written
    status, body = call_admin(event, lambda_context)
    time.sleep(settings_lease.POLL_SECONDS * 3)
    # Then the saved document has the PUT's URL and the rotated secret
    assert status == 200, body
    assert isinstance(outcome[0], dict), outcome
    saved = document(aws, "default")
    assert (saved["url"], saved["signing_secret"]) == ("https://hooks.example.com/single", outcome[0]["signing_secret"])


def test_a_change_written_after_another_write_is_taken_back_and_answered_409(aws, lambda_context, monkeypatch):
    # Given an endpoint whose document is changed by hand (outside any lease) between a PATCH's read and its write
    endpoint_id = make_endpoint(lambda_context)
    by_hand = {**document(aws, endpoint_id), "signing_secret": HAND_SECRET}
    write = settings_store.write_document

    def write_after_a_hand_edit(name: str, *args: Any, **options: Any) -> int:
        aws.ssm.put_parameter(
            Name=name, Value=json.dumps(by_hand), Type="SecureString", Overwrite=True, Tier=settings_store.TIER
        )
        return write(name, *args, **options)

    monkeypatch.setattr(settings_store, "write_document", write_after_a_hand_edit)
    # When the PATCH is written
    status, body = call_endpoints_api(lambda_context, "PATCH", f"/{endpoint_id}", {"name": "Renamed"})
    # Then it is refused as a conflict, and the document is the one written by hand
    assert (status, body["code"]) == (409, "conflict"), body
    assert document(aws, endpoint_id) == by_hand


def test_a_change_while_another_holds_the_lease_answers_409_and_writes_nothing(aws, lambda_context, monkeypatch):
    # Given an endpoint whose lease another change holds for longer than a change waits
    endpoint_id = make_endpoint(lambda_context)
    before = document(aws, endpoint_id)
    monkeypatch.setattr(settings_lease, "WAIT_SECONDS", 0.3)
    with settings_lease.held(sandbox.DELIVERIES_TABLE_NAME, endpoint_id):
        # When a PATCH and a rotation come
        patched = call_endpoints_api(lambda_context, "PATCH", f"/{endpoint_id}", {"name": "Renamed"})
        rotated = call_endpoints_api(lambda_context, "POST", f"/{endpoint_id}/rotate-secret")
    # Then both answer 409 and nothing was written
    assert [(status, body["code"]) for status, body in (patched, rotated)] == [(409, "conflict")] * 2
    assert document(aws, endpoint_id) == before
    # And once the lease is given back, a change goes through
    assert call_endpoints_api(lambda_context, "PATCH", f"/{endpoint_id}", {"name": "Renamed"})[0] == 200


def test_a_lease_its_holder_never_gave_back_ends_by_itself(aws, lambda_context, monkeypatch):
    # Given an endpoint whose lease was taken by an invocation that died holding it, LEASE_SECONDS ago
    endpoint_id = make_endpoint(lambda_context)
    died_at = time.time() - settings_lease.LEASE_SECONDS - 1
    assert settings_lease._take(sandbox.DELIVERIES_TABLE_NAME, endpoint_id, "dead-owner", died_at)
    # When a change comes, it takes the lease and is saved
    status, body = call_endpoints_api(lambda_context, "PATCH", f"/{endpoint_id}", {"name": "Renamed"})
    assert status == 200, body
    assert document(aws, endpoint_id)["name"] == "Renamed"
