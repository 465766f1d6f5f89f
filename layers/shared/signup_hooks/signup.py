"""The signup: its form, its validation and a new account (the user, model/user.py, and its password hash).
storage/users_table.py keeps accounts in the users table."""

from __future__ import annotations

import enum
import functools
import re
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from signup_hooks.api import bodies
from signup_hooks.errors import InvalidInput
from signup_hooks.model.user import DEFAULT_PROFILE_IMAGE_URL, LINE_BREAKING_CATEGORIES, User

if TYPE_CHECKING:
    from argon2 import PasswordHasher

logger = Logger(child=True)

MAX_BODY_BYTES = 16 * 1024
MAX_NAME_LENGTH = 100
MAX_EMAIL_LENGTH = 254
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
MAX_PROFILE_IMAGE_URL_LENGTH = 2048
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
    r"@(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


class HashProfile(enum.StrEnum):
    """Argon2id cost settings. Both are recommended settings; the lighter one costs a fifth of the CPU and memory."""

    RFC9106_LOW_MEMORY = "rfc9106-low-memory"  # t=3, m=64 MiB, p=4: argon2-cffi's default, RFC 9106's second choice
    OWASP_MINIMUM = "owasp-minimum"  # t=2, m=19 MiB, p=1: OWASP's password storage cheat sheet minimum


@functools.cache
def _hasher(profile: HashProfile) -> PasswordHasher:
    """Made on the first signup: argon2 is loaded by the function that hashes passwords only, not by every function
    that reads a user (its import is part of each one's cold start)."""
    from argon2 import PasswordHasher

    if profile is HashProfile.OWASP_MINIMUM:
        return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
    return PasswordHasher()


@dataclass(frozen=True)
class SignupForm:
    """Open WebUI's SignupForm."""

    name: str
    email: str
    password: str
    profile_image_url: str = DEFAULT_PROFILE_IMAGE_URL

    def __repr__(self) -> str:  # never print the password, even by accident
        return f"SignupForm(name={self.name!r}, email=<redacted>, password=<redacted>)"


def parse_signup(body: str | None) -> SignupForm:
    """Validate a raw request body into a SignupForm, or raise an error that names the problem."""
    data = bodies.json_object(body, MAX_BODY_BYTES)
    name = _string_field(data, "name").strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise InvalidInput("name", f"name must have 1 to {MAX_NAME_LENGTH} characters")
    if any(unicodedata.category(ch) in LINE_BREAKING_CATEGORIES for ch in name):
        raise InvalidInput("name", "name must not contain control characters such as line breaks")

    email = _string_field(data, "email").strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise InvalidInput("email", "email is not a valid address")

    password = _string_field(data, "password")
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput("password", f"password must have {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters")

    image = data.get("profile_image_url")
    if image is None or image == "":
        image = DEFAULT_PROFILE_IMAGE_URL
    elif not isinstance(image, str):
        raise InvalidInput("profile_image_url", "profile_image_url must be a string")
    elif len(image) > MAX_PROFILE_IMAGE_URL_LENGTH or not image.startswith(("https://", "http://", "/")):
        raise InvalidInput(
            "profile_image_url",
            f"profile_image_url must be an http(s) URL or a path, at most {MAX_PROFILE_IMAGE_URL_LENGTH} characters",
        )
    elif any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in image):
        raise InvalidInput("profile_image_url", "profile_image_url must not contain spaces or control characters")

    return SignupForm(name=name, email=email, password=password, profile_image_url=image)


def _string_field(data: dict[str, Any], field: str) -> str:
    value = data.get(field)
    if value is None:
        raise InvalidInput(field, f"{field} is required", code="missing_field")
    if not isinstance(value, str):
        raise InvalidInput(field, f"{field} must be a string")
    return value


def new_account(form: SignupForm, role: str, hash_profile: HashProfile = HashProfile.RFC9106_LOW_MEMORY) -> Account:
    """The user a signup creates, with a new id, and the hash of its password."""
    user = User(
        id=str(uuid.uuid4()),
        name=form.name,
        email=form.email,
        role=role,
        created_at=int(time.time()),
        profile_image_url=form.profile_image_url,
    )
    return Account(user, _hasher(hash_profile).hash(form.password))


@dataclass(frozen=True)
class Account:
    """A new user and its credential: what a signup stores (the hash never reaches a notification)."""

    user: User
    password_hash: str = field(repr=False)
