"""Admin invocations side by side on the local stack (`python -m local run --environments AdminFunction=4`), as
they run on AWS: a secret rotation and a PATCH of the same endpoint fired at once, round after round. Whenever the
rotation answered 200, its secret is the one saved: a test send to a loopback receiver is signed with it.
tests/integration/test_admin_races.py makes each interleaving exact in process."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from local.receiver import Receiver
from tests.helpers import RunningStack, auth, call

ROUNDS = 12
ENVIRONMENTS = 4  # the admin function's and its authorizer's, so that both requests of a round run at once
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a test value


@pytest.fixture(scope="module")
def stack(start_stack: Callable[..., RunningStack], stack_receiver: Receiver) -> RunningStack:
    return start_stack(
        "admin-races",
        stack_receiver.url,
        environments={"AdminFunction": ENVIRONMENTS, "AuthorizerFunction": ENVIRONMENTS},
    )


def at_once(*requests: Callable[[], tuple[int, Any]]) -> list[tuple[int, Any]]:
    """Run the requests in threads released together; their answers in order."""
    answers: list[tuple[int, Any]] = [(0, None)] * len(requests)
    start = threading.Barrier(len(requests))

    def run(index: int) -> None:
        start.wait(timeout=10)
        answers[index] = requests[index]()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_a_rotation_beside_a_patch_is_the_secret_saved_every_time_it_answered_200(stack, stack_receiver):
    # Given an endpoint with a secret, sending JSON (what the verifier parses) to a loopback receiver
    api, headers = f"{stack.api}/api/v1/admin/webhooks", auth(stack)
    fields = {"url": stack_receiver.url, "format": "json", "signing_secret": SECRET}
    status, created = call("POST", api, fields, headers)
    assert status == 201, created
    endpoint = f"{api}/{created['id']}"
    rotated = 0
    for round_ in range(ROUNDS):
        # When a rename and a rotation of it are sent at the same time
        patched, rotation = at_once(
            lambda round_=round_: call("PATCH", endpoint, {"name": f"Round {round_}"}, headers),
            lambda: call("POST", f"{endpoint}/rotate-secret", None, headers),
        )
        # Then each is saved or refused as a conflict, never lost
        assert patched[0] in (200, 409) and rotation[0] in (200, 409), (patched, rotation)
        if rotation[0] != 200:
            continue
        rotated += 1
        # And a rotation that answered 200 is the secret the endpoint signs with now
        before = len(stack_receiver.received)
        status, sent = call("POST", f"{endpoint}/test", {}, headers)
        assert status == 200 and sent["delivered"], sent
        request = stack_receiver.received[before]
        Webhook(rotation[1]["signing_secret"]).verify(request.body, request.headers)
    assert rotated >= ROUNDS // 2
    # And the rounds really ran side by side: the admin function has more than one execution environment
    assert len(stack.worker_pids("AdminFunction")) >= 2
