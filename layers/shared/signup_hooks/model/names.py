"""The fixed names a receiver, the delivery log and an administrator see: the signup event, the default endpoint, and
the payload formats. Each is defined here once; stored data holds their values, so a value never changes."""

from __future__ import annotations

import enum

USER_CREATED = "user.created"  # Open WebUI's name for a signup, in the envelope, the log and subscriptions
DEFAULT_ENDPOINT = "default"  # the single-URL API's endpoint (/api/v1/admin/webhook)


class Format(enum.StrEnum):
    """What an administrator can choose. `auto` picks from the URL; `teams` picks the card from the URL too."""

    AUTO = "auto"
    TEXT = "text"
    JSON = "json"
    SLACK = "slack"
    DISCORD = "discord"
    TEAMS = "teams"
    GOOGLECHAT = "googlechat"


class Shape(enum.StrEnum):
    """The concrete payload sent."""

    TEXT = "text"
    JSON = "json"
    SLACK = "slack"
    DISCORD = "discord"
    TEAMS_ADAPTIVE_CARD = "teams_adaptive_card"
    TEAMS_MESSAGE_CARD = "teams_message_card"
    GOOGLECHAT = "googlechat"
