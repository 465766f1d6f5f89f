"""A user as the API returns it and the notifier reads it (no credential in it), and how the users table's items
and stream records hold one."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

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
