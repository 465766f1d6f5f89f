"""A user as the API returns it and the notifier reads it (no credential in it), and how the users table's items
and stream records hold one."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)

logger = Logger(child=True)

DEFAULT_PROFILE_IMAGE_URL = "/user.png"  # Open WebUI's default avatar
# Characters that can start a new line in a receiver's text: controls (line feed, vertical tab, form feed, NEL,
# U+001C..U+001E, ...) and the line and paragraph separators U+2028 and U+2029.
LINE_BREAKING_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})

USER_ENTITY = "user"
AUTH_ENTITY = "auth"


@dataclass(frozen=True)
class User:
    """A user as the API returns it and as the notifier reads it from the stream: no credential in it."""

    id: str
    name: str
    email: str
    role: str
    created_at: int
    profile_image_url: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> User:
        """From a deserialized DynamoDB image (numbers arrive as Decimal) that `is_profile` accepted. A profile edited
        by hand may lack its name: it is still a user, notified under an empty name rather than failing."""
        return cls(
            id=str(item["id"]),
            name=str(item.get("name", "")),
            email=str(item.get("email", "")),
            role=str(item.get("role", "")),
            created_at=int(item.get("created_at", 0)),
            profile_image_url=str(item.get("profile_image_url", DEFAULT_PROFILE_IMAGE_URL)),
        )


def is_profile(item: dict[str, Any]) -> bool:
    """A user profile item (as opposed to a credential item) of the table, with an id to notify about. A profile
    written by hand (an import, a console edit) may lack one: it is no new user of ours, and reading it as one would
    fail every batch and every redrive that holds it."""
    user_id = item.get("id")
    return item.get("entity") == USER_ENTITY and isinstance(user_id, str) and user_id.strip() != ""


def user_from_record(record: DynamoDBRecord) -> User | None:
    """The new user of a stream record, or None for a record that is not a new profile (the mapping's filter keeps
    those out; if it is ever missing they are skipped rather than failed or leaked)."""
    if record.event_name != DynamoDBRecordEventName.INSERT:  # an update or delete (no new image): not a signup
        logger.warning("skipped a stream record that is not a new user", extra={"event_id": record.event_id})
        return None
    image = record.dynamodb.new_image if record.dynamodb else None
    if not image:
        raise ValueError("stream record has no new image: check the table's StreamViewType")
    if not is_profile(image):
        logger.warning("skipped a stream record that is not a new user", extra={"event_id": record.event_id})
        return None
    return User.from_item(image)
