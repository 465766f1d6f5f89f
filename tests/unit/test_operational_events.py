"""Operational events (an endpoint failing or recovered, a notification dead-lettered): their SQS form, their sentence
and their payload in every shape, safe with a hostile endpoint name and never carrying an e-mail address."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
from signup_hooks.model import events
from signup_hooks.model.events import OperationalEvent
from signup_hooks.model.names import USER_CREATED, Shape
from signup_hooks.sending import content, formats

from tests.helpers import USER, all_strings

MESSAGE_ID = "msg_fedcba9876543210fedcba9876543210"

FAILING = OperationalEvent(
    type=events.ENDPOINT_FAILING,
    endpoint_id="ops",
    endpoint_name="Ops channel",
    target_host="hooks.slack.com",
    occurred_at=1795845600,
    reason="server_error",
    failing_since="2026-11-28T05:00:00.000+00:00",
)
RECOVERED = dataclasses.replace(FAILING, type=events.ENDPOINT_RECOVERED, occurred_at=1795849200)
DELIVERY_FAILED = dataclasses.replace(
    FAILING,
    type=events.DELIVERY_FAILED,
    reason="connect_timeout",
    attempts=8,
    user_id=USER.id,
    user_name=USER.name,
    webhook_id="msg_0123456789abcdef0123456789abcdef",
)
DISABLED = dataclasses.replace(FAILING, type=events.ENDPOINT_DISABLED, reason="gone", failing_since=None)
EVENTS = {event.type: event for event in (FAILING, RECOVERED, DELIVERY_FAILED, DISABLED)}
HOSTILE_ENDPOINT_NAME = "<!channel> *x*"


def build(shape: Shape, event: OperationalEvent) -> tuple[formats.Payload, Any]:
    payload = formats.build_event(shape, event, MESSAGE_ID)
    text = payload.body.decode("utf-8")
    return payload, json.loads(text) if payload.content_type == formats.JSON_CONTENT_TYPE else text


def test_the_event_types():
    assert events.OPERATIONAL == ("endpoint.failing", "endpoint.recovered", "delivery.failed", "endpoint.disabled")
    assert events.ALL[0] == "user.created"
    assert events.ALL[1:] == events.OPERATIONAL
    assert USER_CREATED == USER_CREATED


# ---------------------------------------------------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "sentence"),
    [
        (
            FAILING,
            'Webhook endpoint "Ops channel" (hooks.slack.com) is failing: server error. '
            "Notifications to it are retried on the schedule.",
        ),
        (
            RECOVERED,
            'Webhook endpoint "Ops channel" (hooks.slack.com) has recovered; '
            "it had been failing since 2026-11-28 05:00 UTC.",
        ),
        (
            DELIVERY_FAILED,
            'The signup notification of Tim to webhook endpoint "Ops channel" (hooks.slack.com) failed for good '
            "after 8 attempts (connect timeout); it is in the dead-letter queue.",
        ),
        (
            DISABLED,
            'Webhook endpoint "Ops channel" (hooks.slack.com) was disabled: its receiver answered 410 Gone. '
            "Nothing is sent to it until an administrator enables it again.",
        ),
    ],
    ids=list(EVENTS),
)
def test_each_event_reads_as_one_sentence_and_is_the_text_payload(event, sentence):
    assert content.event_message(event) == sentence
    payload, body = build(Shape.TEXT, event)
    assert payload.content_type == "text/plain; charset=utf-8"
    assert body == sentence


def test_a_failing_since_in_another_offset_is_shown_in_utc():
    event = dataclasses.replace(RECOVERED, failing_since="2026-11-28T07:00:00+02:00")
    assert content.event_message(event).endswith("failing since 2026-11-28 05:00 UTC.")


def test_a_single_attempt_and_a_missing_reason_still_read_plainly():
    event = dataclasses.replace(DELIVERY_FAILED, attempts=1, reason=None)
    assert "failed for good after 1 attempt (unknown);" in content.event_message(event)
    assert content.event_message(dataclasses.replace(RECOVERED, failing_since=None)).endswith("has recovered.")


def test_values_are_cleaned_before_they_meet_the_sentence():
    event = dataclasses.replace(FAILING, endpoint_name="Ops\r\nWebhook endpoint \u202eforged")
    assert content.event_message(event).startswith('Webhook endpoint "Ops  Webhook endpoint forged" (hooks.slack.com)')


# ---------------------------------------------------------------------------------------------------------------------
# Payloads in every shape
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", list(Shape))
@pytest.mark.parametrize("event", list(EVENTS.values()), ids=list(EVENTS))
def test_every_event_builds_a_valid_payload_in_every_shape(shape, event):
    payload, body = build(shape, event)
    assert payload.shape is shape
    if shape is Shape.TEXT:
        assert payload.content_type == formats.TEXT_CONTENT_TYPE
        assert body == content.event_message(event)
        return
    assert payload.content_type == formats.JSON_CONTENT_TYPE
    assert isinstance(body, dict)
    assert "Ops channel" in json.dumps(body, ensure_ascii=False)
    if shape is Shape.DISCORD:
        assert body["allowed_mentions"] == {"parse": []}


def test_slack_escapes_a_hostile_endpoint_name_so_that_it_pings_nobody():
    _, body = build(Shape.SLACK, dataclasses.replace(FAILING, endpoint_name=HOSTILE_ENDPOINT_NAME))
    assert body == {
        "text": 'Webhook endpoint "&lt;!channel&gt; *x*" (hooks.slack.com) is failing: server error. '
        "Notifications to it are retried on the schedule."
    }


@pytest.mark.parametrize("shape", list(Shape))
@pytest.mark.parametrize("event", list(EVENTS.values()), ids=list(EVENTS))
def test_a_hostile_endpoint_name_pings_nobody_and_breaks_no_line_in_any_shape(shape, event):
    hostile = dataclasses.replace(event, endpoint_name=f"{HOSTILE_ENDPOINT_NAME} @everyone <users/all>\r\nforged")
    payload, body = build(shape, hostile)
    strings = [body] if shape is Shape.TEXT else all_strings(body)
    for value in strings:
        assert "\n" not in value
        assert "\r" not in value
    if shape not in (Shape.TEXT, Shape.JSON):  # plain text and the envelope's data are not interpreted
        assert "<!channel>" not in payload.body.decode("utf-8")
    if shape is Shape.DISCORD:
        assert "@everyone" not in body["content"]
    if shape is Shape.GOOGLECHAT:
        assert "<users/all>" not in body["text"]


def test_discord_and_googlechat_carry_the_sentence():
    _, discord = build(Shape.DISCORD, RECOVERED)
    assert discord == {
        "content": formats.discord_content(content.event_message(RECOVERED)),
        "allowed_mentions": {"parse": []},
    }
    _, chat = build(Shape.GOOGLECHAT, RECOVERED)
    assert chat == {"text": content.event_message(RECOVERED)}


@pytest.mark.parametrize(
    ("event", "title", "facts"),
    [
        (
            FAILING,
            "Webhook endpoint failing",
            [
                ("Endpoint", "Ops channel"),
                ("Target", "hooks.slack.com"),
                ("Reason", "server_error"),
                ("Failing since", "2026-11-28 05:00 UTC"),
            ],
        ),
        (
            RECOVERED,
            "Webhook endpoint recovered",
            [
                ("Endpoint", "Ops channel"),
                ("Target", "hooks.slack.com"),
                ("Reason", "server_error"),
                ("Failing since", "2026-11-28 05:00 UTC"),
            ],
        ),
        (
            DELIVERY_FAILED,
            "Webhook delivery failed",
            [
                ("Endpoint", "Ops channel"),
                ("Target", "hooks.slack.com"),
                ("Reason", "connect_timeout"),
                ("Failing since", "2026-11-28 05:00 UTC"),
                ("User", "Tim"),
            ],
        ),
        (
            DISABLED,
            "Webhook endpoint disabled",
            [("Endpoint", "Ops channel"), ("Target", "hooks.slack.com"), ("Reason", "gone")],
        ),
    ],
    ids=list(EVENTS),
)
def test_teams_cards_have_a_title_per_event_and_its_facts(event, title, facts):
    _, message_card = build(Shape.TEAMS_MESSAGE_CARD, event)
    assert message_card["title"] == title
    [section] = message_card["sections"]
    assert section["activityTitle"] == "Ops channel"
    assert section["text"] == content.event_message(event)
    assert [(fact["name"], fact["value"]) for fact in section["facts"]] == facts
    assert section["markdown"] is False
    _, adaptive = build(Shape.TEAMS_ADAPTIVE_CARD, event)
    [attachment] = adaptive["attachments"]
    text, fact_set = attachment["content"]["body"]
    assert text["text"] == formats.teams_escape(content.event_message(event))
    assert [(fact["title"], fact["value"]) for fact in fact_set["facts"]] == [
        (name, formats.teams_escape(value)) for name, value in facts
    ]


def test_teams_cards_leave_out_facts_that_do_not_apply():
    _, card = build(Shape.TEAMS_MESSAGE_CARD, dataclasses.replace(FAILING, reason=None, failing_since=None))
    assert [fact["name"] for fact in card["sections"][0]["facts"]] == ["Endpoint", "Target"]


# ---------------------------------------------------------------------------------------------------------------------
# The JSON envelope
# ---------------------------------------------------------------------------------------------------------------------


def test_the_json_envelope_of_a_delivery_failure():
    payload, body = build(Shape.JSON, DELIVERY_FAILED)
    assert payload.content_type == "application/json"
    assert body == {
        "schema": "signup-webhooks/event/v1",
        "id": MESSAGE_ID,
        "event": "delivery.failed",
        "resource": "delivery",
        "operation": "failed",
        "created_at": 1795845600,
        "version": 1,
        "source": "signup-webhooks",
        "subject": {"type": "delivery", "id": "msg_0123456789abcdef0123456789abcdef"},
        "data": {
            "endpoint": {"id": "ops", "name": "Ops channel", "target_host": "hooks.slack.com"},
            "reason": "connect_timeout",
            "failing_since": "2026-11-28T05:00:00.000+00:00",
            "attempts": 8,
            "user": {"id": "6f1c2a3e-8b4d-4e2f-9a7b-1c2d3e4f5a6b", "name": "Tim"},
        },
        "message": content.event_message(DELIVERY_FAILED),
    }


@pytest.mark.parametrize(("event", "operation"), [(FAILING, "failing"), (RECOVERED, "recovered")], ids=["f", "r"])
def test_the_json_envelope_of_an_endpoint_event(event, operation):
    _, body = build(Shape.JSON, event)
    assert list(body) == list(build(Shape.JSON, DELIVERY_FAILED)[1])  # the same fields in the same order
    assert (body["event"], body["resource"], body["operation"]) == (event.type, "endpoint", operation)
    assert body["created_at"] == event.occurred_at
    assert body["subject"] == {"type": "endpoint", "id": "ops"}
    assert body["data"] == {
        "endpoint": {"id": "ops", "name": "Ops channel", "target_host": "hooks.slack.com"},
        "reason": "server_error",
        "failing_since": "2026-11-28T05:00:00.000+00:00",
        "attempts": 0,
    }
    assert body["message"] == content.event_message(event)


def test_the_envelope_starts_as_a_signups_does():
    signup = formats.envelope("New user signed up: Tim", USER, MESSAGE_ID)
    _, event = build(Shape.JSON, FAILING)
    head = ["schema", "id", "event", "resource", "operation", "created_at", "version", "source"]
    assert list(signup)[: len(head)] == list(event)[: len(head)] == head
    assert signup["schema"] == event["schema"]
    assert signup["source"] == event["source"]


# ---------------------------------------------------------------------------------------------------------------------
# Through SQS: to_dict and from_dict
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("event", list(EVENTS.values()), ids=list(EVENTS))
def test_an_event_survives_the_trip_through_an_sqs_message(event):
    assert OperationalEvent.from_dict(event.to_dict()) == event
    assert OperationalEvent.from_dict(json.loads(json.dumps(event.to_dict()))) == event


def test_keys_of_a_newer_version_are_left_out():
    assert OperationalEvent.from_dict({**FAILING.to_dict(), "severity": "high"}) == FAILING


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"type": "user.created"}, "type"),
        ({"type": "endpoint.exploded"}, "type"),
        ({"type": None}, "type"),
        ({"endpoint_id": 7}, "endpoint_id"),
        ({"endpoint_id": ""}, "endpoint_id"),
        ({"endpoint_name": ["Ops"]}, "endpoint_name"),
        ({"target_host": "hooks.slack.com/services/T000/B000/XXXX"}, "target_host"),
        ({"target_host": "user@hooks.slack.com"}, "target_host"),
        ({"occurred_at": "1795845600"}, "occurred_at"),
        ({"occurred_at": True}, "occurred_at"),
        ({"occurred_at": -1}, "occurred_at"),
        ({"occurred_at": 1.5}, "occurred_at"),
        ({"reason": 500}, "reason"),
        ({"failing_since": "yesterday"}, "failing_since"),
        ({"failing_since": "2026-11-28T05:00:00"}, "failing_since"),  # no offset: which 05:00?
        ({"attempts": "8"}, "attempts"),
        ({"user_name": None}, "user_name"),
        ({"type": "delivery.failed"}, "webhook_id"),  # a delivery failure says which notification failed
    ],
)
def test_from_dict_refuses_malformed_input_naming_the_problem(change, named):
    with pytest.raises(ValueError, match=named):
        OperationalEvent.from_dict({**FAILING.to_dict(), **change})


@pytest.mark.parametrize("data", [None, [], "endpoint.failing", 42])
def test_from_dict_refuses_anything_but_an_object(data):
    with pytest.raises(ValueError, match="JSON object"):
        OperationalEvent.from_dict(data)


def test_from_dict_names_missing_fields():
    data = FAILING.to_dict()
    del data["target_host"], data["occurred_at"]
    with pytest.raises(ValueError, match="missing target_host, occurred_at"):
        OperationalEvent.from_dict(data)


# ---------------------------------------------------------------------------------------------------------------------
# No e-mail address, no secret
# ---------------------------------------------------------------------------------------------------------------------

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


@pytest.mark.parametrize("event", list(EVENTS.values()), ids=list(EVENTS))
def test_no_email_address_appears_anywhere(event):
    documents = [json.dumps(event.to_dict()), content.event_message(event)]
    documents += [formats.build_event(shape, event, MESSAGE_ID).body.decode("utf-8") for shape in Shape]
    for document in documents:
        assert USER.email not in document
        assert not EMAIL.search(document), document
    assert "email" not in {field.name for field in dataclasses.fields(OperationalEvent)}
