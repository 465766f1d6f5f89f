"""Payloads per receiver: picked from the URL's host, safe with hostile names, within each service's limits."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
from markdown_it import MarkdownIt
from signup_hooks.model.names import Format, Shape
from signup_hooks.model.user import User
from signup_hooks.sending import content, formats, messages

from tests.helpers import USER, all_strings

MESSAGE_ID = "msg_0123456789abcdef0123456789abcdef"

HOSTILE_NAMES = {
    "everyone": "@everyone @here",
    "slack_mentions": "<!channel> <!here> <@U123>",
    "script": "<script>alert(1)</script>",
    "markdown": "**bold** [click](https://evil.example) `code` ~~x~~ # head > quote",
    "cr_lf": "Tim\r\nNew user signed up: Admin\n",
    "rtl_override": "Tim\u202egnp.exe",
    "long": "x" * 10_000,
    "emoji_cjk": "🎉 张伟 山田太郎 😀👍🏽",
    "googlechat_mention": "<users/all> <https://evil.example|bank>",
    "discord_mention": "<@123456789> <@&987654321>",
    "json_breaker": '"}, {"text": "injected',
}

SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXX"
DISCORD_URL = "https://discord.com/api/webhooks/123/abc"
GOOGLECHAT_URL = "https://chat.googleapis.com/v1/spaces/AAA/messages?key=k&token=t"
TEAMS_CONNECTOR_URL = "https://contoso.webhook.office.com/webhookb2/abc/IncomingWebhook/def/ghi"
TEAMS_WORKFLOW_URL = "https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=x"
TEAMS_POWER_AUTOMATE_URL = (
    "https://default1234.56.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/abc"
)


def hostile(name: str) -> User:
    return dataclasses.replace(USER, name=name)


def render(user: User, template: str = messages.DEFAULT_TEMPLATE) -> str:
    """As the notifier renders: values cleaned before they meet the template."""
    values = {"name": user.name, "email": user.email, "role": user.role, "id": user.id}
    return messages.render(template, {k: content.clean_value(v) for k, v in values.items()})


def build(shape: Shape, user: User = USER) -> tuple[formats.Payload, Any]:
    payload = formats.build(shape, render(user), user, MESSAGE_ID)
    if payload.content_type == formats.JSON_CONTENT_TYPE:
        return payload, json.loads(payload.body.decode("utf-8"))
    return payload, payload.body.decode("utf-8")


# ---------------------------------------------------------------------------------------------------------------------
# Picking the format from the host, exactly
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shape"),
    [
        (SLACK_URL, Shape.SLACK),
        (DISCORD_URL, Shape.DISCORD),
        ("https://discordapp.com/api/webhooks/123/abc", Shape.DISCORD),
        # Versioned API paths, which copies of a webhook URL often carry
        ("https://discord.com/api/v10/webhooks/123/abc", Shape.DISCORD),
        ("https://discordapp.com/api/v9/webhooks/123/abc", Shape.DISCORD),
        ("https://canary.discord.com/api/v10/webhooks/123/abc", Shape.DISCORD),
        ("https://ptb.discord.com/api/v10/webhooks/123/abc", Shape.DISCORD),
        ("https://hooks.slack-gov.com/services/T000/B000/XXXX", Shape.SLACK),  # GovSlack
        (GOOGLECHAT_URL, Shape.GOOGLECHAT),
        (TEAMS_CONNECTOR_URL, Shape.TEAMS_MESSAGE_CARD),
        (TEAMS_WORKFLOW_URL, Shape.TEAMS_ADAPTIVE_CARD),
        (TEAMS_POWER_AUTOMATE_URL, Shape.TEAMS_ADAPTIVE_CARD),
        ("https://HOOKS.SLACK.COM./services/x", Shape.SLACK),
        ("https://example.com/hook", Shape.TEXT),
        # Never a substring of the whole URL
        ("https://evil.example/hooks.slack.com/services/x", Shape.TEXT),
        ("https://hooks.slack.com.evil.example/services/x", Shape.TEXT),
        ("https://evil.example/?u=https://discord.com/api/webhooks/1/a", Shape.TEXT),
        ("https://evilhooks.slack.com/services/x", Shape.TEXT),
        ("https://discord.com.evil.example/api/webhooks/1/a", Shape.TEXT),
        ("https://discord.com/channels/1/2", Shape.TEXT),  # not a webhook path
        ("https://discord.com/api/v10/channels/1/messages", Shape.TEXT),
        ("https://discord.com/api/vX/webhooks/1/a", Shape.TEXT),
        ("https://discord.com/x/api/v10/webhooks/1/a", Shape.TEXT),
        ("https://discord.com.evil.example/api/v10/webhooks/1/a", Shape.TEXT),
        ("https://hooks.slack-gov.com.evil.example/services/x", Shape.TEXT),
        ("https://evil.example/hooks.slack-gov.com/services/x", Shape.TEXT),
        ("https://webhook.office.com.evil.example/x", Shape.TEXT),
        ("https://evil.example#chat.googleapis.com", Shape.TEXT),
        ("https://chat.googleapis.com@evil.example/v1", Shape.TEXT),
    ],
)
def test_auto_picks_the_format_from_the_exact_host(url, shape):
    assert formats.shape_for(Format.AUTO, url) is shape


@pytest.mark.parametrize(
    ("chosen", "url", "shape"),
    [
        (Format.TEXT, SLACK_URL, Shape.TEXT),
        (Format.JSON, SLACK_URL, Shape.JSON),
        (Format.SLACK, "https://example.com/hook", Shape.SLACK),
        (Format.DISCORD, "https://example.com/hook", Shape.DISCORD),
        (Format.GOOGLECHAT, "https://example.com/hook", Shape.GOOGLECHAT),
        (Format.TEAMS, "https://example.com/hook", Shape.TEAMS_ADAPTIVE_CARD),
        (Format.TEAMS, TEAMS_CONNECTOR_URL, Shape.TEAMS_MESSAGE_CARD),
    ],
)
def test_an_admin_can_force_the_format(chosen, url, shape):
    assert formats.shape_for(chosen, url) is shape


# ---------------------------------------------------------------------------------------------------------------------
# Golden payloads for a plain name
# ---------------------------------------------------------------------------------------------------------------------


def test_text_is_the_default_message():
    payload, body = build(Shape.TEXT)
    assert payload.content_type == "text/plain; charset=utf-8"
    assert body == "New user signed up: Tim"


def test_slack_golden():
    payload, body = build(Shape.SLACK)
    assert payload.content_type == "application/json"
    assert body == {"text": "New user signed up: Tim"}


def test_discord_golden():
    _, body = build(Shape.DISCORD)
    assert body == {"content": "New user signed up\\: Tim", "allowed_mentions": {"parse": []}}


def test_googlechat_golden():
    _, body = build(Shape.GOOGLECHAT)
    assert body == {"text": "New user signed up: Tim"}


def test_teams_adaptive_card_golden():
    _, body = build(Shape.TEAMS_ADAPTIVE_CARD)
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["body"][0]["text"] == "New user signed up: Tim"
    assert card["body"][1]["facts"] == [
        {"title": "Name", "value": "Tim"},
        {"title": "Role", "value": "pending"},
        {"title": "Signed up", "value": "2026\\-11\\-28 05:00 UTC"},
    ]


def test_teams_message_card_golden():
    _, body = build(Shape.TEAMS_MESSAGE_CARD)
    assert body["@type"] == "MessageCard"
    [section] = body["sections"]
    assert section["activityTitle"] == "Tim"
    assert section["activitySubtitle"] == "2026-11-28 05:00 UTC"
    assert {"name": "Name", "value": "Tim"} in section["facts"]
    assert {"name": "Signed up", "value": "2026-11-28 05:00 UTC"} in section["facts"]
    assert section["markdown"] is False


@pytest.mark.parametrize("shape", [Shape.TEAMS_ADAPTIVE_CARD, Shape.TEAMS_MESSAGE_CARD])
def test_teams_cards_show_nothing_undefined_even_without_a_role(shape):
    _, body = build(shape, dataclasses.replace(USER, role=""))
    text = json.dumps(body)
    assert "undefined" not in text
    assert "null" not in json.dumps([s for s in all_strings(body)])
    assert "Tim" in text


def test_json_is_an_open_webui_style_envelope_without_secrets():
    payload, body = build(Shape.JSON)
    assert payload.content_type == "application/json"
    assert body["id"] == MESSAGE_ID
    assert body["event"] == "user.created"
    assert body["created_at"] == USER.created_at
    assert body["actor"] == {
        "id": USER.id,
        "name": "Tim",
        "email": "tim@example.com",
        "role": "pending",
        "created_at": USER.created_at,
        "type": "user",
    }
    assert body["subject"] == {"type": "user", "id": USER.id}
    assert body["data"]["user"] == {
        "id": USER.id,
        "name": "Tim",
        "email": "tim@example.com",
        "role": "pending",
        "created_at": USER.created_at,
    }
    assert body["message"] == "New user signed up: Tim"
    assert "password" not in payload.body.decode()


# ---------------------------------------------------------------------------------------------------------------------
# An admin's test send says it is one, so that no receiver records a fake signup
# ---------------------------------------------------------------------------------------------------------------------

TEST_TEXT = "Test notification from Signup webhooks: New user signed up: Tim"


def build_test_send(shape: Shape) -> Any:
    payload = formats.build(shape, content.marked_as_test(render(USER)), USER, MESSAGE_ID, test=True)
    text = payload.body.decode("utf-8")
    return json.loads(text) if payload.content_type == formats.JSON_CONTENT_TYPE else text


def test_a_test_send_says_so_in_words_in_every_chat_format():
    assert build_test_send(Shape.TEXT) == TEST_TEXT
    assert build_test_send(Shape.SLACK) == {"text": TEST_TEXT}
    assert build_test_send(Shape.GOOGLECHAT) == {"text": TEST_TEXT}
    assert build_test_send(Shape.DISCORD)["content"] == TEST_TEXT.replace(":", "\\:")


def test_a_test_sends_teams_cards_are_titled_as_a_test():
    adaptive = build_test_send(Shape.TEAMS_ADAPTIVE_CARD)["attachments"][0]["content"]
    assert adaptive["body"][0]["text"] == TEST_TEXT  # an Adaptive Card has no title: its first line is the heading
    message_card = build_test_send(Shape.TEAMS_MESSAGE_CARD)
    assert message_card["title"] == "Test notification from Signup webhooks"
    assert (message_card["summary"], message_card["sections"][0]["text"]) == (TEST_TEXT, TEST_TEXT)


def test_a_test_sends_envelope_is_a_webhook_test_event_shaped_as_a_signups():
    test_send, signup = build_test_send(Shape.JSON), build(Shape.JSON)[1]
    assert (test_send["event"], test_send["resource"], test_send["operation"]) == ("webhook.test", "webhook", "test")
    assert test_send["message"] == TEST_TEXT
    different = {key for key in signup if test_send[key] != signup[key]}
    assert set(test_send) == set(signup)
    assert different == {"event", "resource", "operation", "message"}


# ---------------------------------------------------------------------------------------------------------------------
# Hostile names, every format
# ---------------------------------------------------------------------------------------------------------------------

LIMITS = {
    Shape.TEXT: 4000,
    Shape.SLACK: 40_000,
    Shape.DISCORD: 2000,
    Shape.GOOGLECHAT: 4096,
    Shape.TEAMS_ADAPTIVE_CARD: 28 * 1024,
    Shape.TEAMS_MESSAGE_CARD: 28 * 1024,
    Shape.JSON: 64 * 1024,
}


@pytest.mark.parametrize("shape", list(Shape))
@pytest.mark.parametrize("case", list(HOSTILE_NAMES))
def test_hostile_names_give_valid_bounded_payloads_without_controls(shape, case):
    payload, body = build(shape, hostile(HOSTILE_NAMES[case]))
    text = payload.body.decode("utf-8")  # valid UTF-8 ...
    if shape is Shape.TEXT:
        assert len(text) <= LIMITS[shape]
        strings = [text]
    else:
        assert isinstance(body, dict)  # ... and valid JSON (parsed in build)
        assert len(payload.body) <= LIMITS[shape]
        strings = all_strings(body)
    for value in strings:
        # No line breaks or other controls from the name, no bidi override
        assert "\r" not in value
        assert "\u202e" not in value
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", value)
    if shape is Shape.DISCORD:
        assert len(body["content"]) <= 2000
    if shape in (Shape.SLACK, Shape.GOOGLECHAT):
        assert len(body["text"]) <= 40_000 if shape is Shape.SLACK else len(body["text"]) <= 4096


def test_a_name_with_line_breaks_cannot_forge_a_second_line():
    _, body = build(Shape.TEXT, hostile(HOSTILE_NAMES["cr_lf"]))
    assert "\n" not in body
    assert body == "New user signed up: Tim  New user signed up: Admin"


LINE_BREAKING = {
    "line_separator": "\u2028",
    "paragraph_separator": "\u2029",
    "next_line": "\x85",
    "vertical_tab": "\x0b",
    "form_feed": "\x0c",
    "file_separator": "\x1c",
    "group_separator": "\x1d",
    "record_separator": "\x1e",
}


@pytest.mark.parametrize("character", list(LINE_BREAKING.values()), ids=list(LINE_BREAKING))
def test_every_line_breaking_character_in_a_name_becomes_a_space(character):
    assert content.clean_value(f"Tim{character}New user signed up: Admin") == "Tim New user signed up: Admin"


@pytest.mark.parametrize("shape", list(Shape))
@pytest.mark.parametrize("character", list(LINE_BREAKING.values()), ids=list(LINE_BREAKING))
def test_no_payload_carries_a_line_breaking_character_from_a_name(shape, character):
    payload, _ = build(shape, hostile(f"Tim{character}Admin"))
    text = payload.body.decode("utf-8")
    decoded = text if shape is Shape.TEXT else json.dumps(json.loads(text), ensure_ascii=False)
    assert not any(len(f"a{ch}b".splitlines()) > 1 for ch in decoded)


def test_the_right_to_left_override_is_removed():
    _, body = build(Shape.TEXT, hostile(HOSTILE_NAMES["rtl_override"]))
    assert body == "New user signed up: Timgnp.exe"


def test_a_10000_character_name_is_cut_with_an_ellipsis():
    _, body = build(Shape.TEXT, hostile(HOSTILE_NAMES["long"]))
    assert body.endswith("…")
    assert len(body) <= len("New user signed up: ") + content.MAX_VALUE_CHARS


def test_emoji_and_cjk_arrive_intact_in_every_format():
    name = HOSTILE_NAMES["emoji_cjk"]
    for shape in Shape:
        payload, _ = build(shape, hostile(name))
        assert "张伟" in payload.body.decode("utf-8")
        assert "🎉" in payload.body.decode("utf-8")


def test_slack_escapes_so_that_channel_mentions_ping_nobody():
    _, body = build(Shape.SLACK, hostile("<!channel> & <@U123> <https://evil.example|bank>"))
    assert body["text"] == (
        "New user signed up: &lt;!channel&gt; &amp; &lt;@U123&gt; &lt;https://evil.example|bank&gt;"
    )
    assert "<" not in body["text"]
    assert ">" not in body["text"]


def test_discord_pings_nobody_and_escapes_markdown():
    _, body = build(Shape.DISCORD, hostile("@everyone **bold** [click](https://evil.example)"))
    assert body["allowed_mentions"] == {"parse": []}
    assert "@everyone" not in body["content"]  # a zero-width space follows every @
    assert "@\u200beveryone" in body["content"]
    assert "\\*\\*bold\\*\\*" in body["content"]
    assert "\\[click\\]\\(https\\://evil.example\\)" in body["content"]


def test_discord_content_of_a_long_escaped_name_stays_within_2000():
    _, body = build(Shape.DISCORD, hostile("*" * 10_000))
    assert len(body["content"]) <= 2000
    assert body["content"].endswith("…")
    assert not body["content"].endswith("\\…")  # never cut between a backslash and what it escapes


def test_googlechat_mentions_and_links_are_defused():
    _, body = build(Shape.GOOGLECHAT, hostile(HOSTILE_NAMES["googlechat_mention"]))
    assert "<users/all>" not in body["text"]
    assert "<" not in body["text"]
    assert ">" not in body["text"]


@pytest.mark.parametrize("shape", [Shape.TEAMS_ADAPTIVE_CARD, Shape.TEAMS_MESSAGE_CARD])
def test_teams_cards_carry_no_html_or_mentions_from_a_name(shape):
    _, body = build(shape, hostile("<at>everyone</at> <script>alert(1)</script>"))
    text = json.dumps(body, ensure_ascii=False)
    assert "<at>" not in text
    assert "<script>" not in text


def markdown_view(source: str) -> tuple[str, set[str]]:
    """What a CommonMark renderer shows of `source` (its text), and every kind of element it made of it."""
    text: list[str] = []
    kinds: set[str] = set()
    for block in MarkdownIt("commonmark").parse(source):
        kinds.add(block.type)
        for token in block.children or []:
            kinds.add(token.type)
            text.append(token.content if token.type == "text" else "")
    return "".join(text), kinds


TEAMS_MARKDOWN_NAMES = [
    *HOSTILE_NAMES.values(),
    "a > b",
    "> quoted",
    "1. first",
    "+ item",
    "&lt;at&gt;everyone&lt;/at&gt; &amp;",
    "back\\slash \\*",
]


@pytest.mark.parametrize("name", TEAMS_MARKDOWN_NAMES)
def test_an_adaptive_cards_text_renders_as_written_without_markup(name):
    # Given the Adaptive Card of a hostile name, its message and its Name fact
    _, body = build(Shape.TEAMS_ADAPTIVE_CARD, hostile(name))
    text_block, fact_set = body["attachments"][0]["content"]["body"]
    shown = {
        "message": (text_block["text"], render(hostile(name))),
        "name": (fact_set["facts"][0]["value"], content.clean_value(name)),
    }
    for escaped, written in shown.values():
        # When markdown renders it, then it shows the text as written, angle brackets swapped (no stray backslash)
        visible, kinds = markdown_view(escaped)
        assert visible == formats.googlechat_escape(written)
        # And it made a plain paragraph: no HTML, no link, no emphasis, no quote, no list, no heading
        assert kinds <= {"paragraph_open", "inline", "text", "paragraph_close"}


def test_json_keeps_hostile_names_as_data_inside_valid_json():
    _, body = build(Shape.JSON, hostile(HOSTILE_NAMES["json_breaker"]))
    assert body["data"]["user"]["name"] == '"}, {"text": "injected'
    assert set(body) >= {"id", "event", "created_at", "actor", "subject", "data", "message"}
