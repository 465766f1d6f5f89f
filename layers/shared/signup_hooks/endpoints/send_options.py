"""What one delivery uses: the URL a notification goes to now and its `SendOptions` (format, template, and the
credentials only when the URL has the origin they were saved for). Derived from an endpoint's stored settings
(settings.py) and, for the default endpoint, WEBHOOK_URL from the environment (config.py).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field

from signup_hooks.endpoints.custom_header import CustomHeader
from signup_hooks.endpoints.settings import Snapshot, StoredSettings
from signup_hooks.model.names import Format
from signup_hooks.model.urls import origin_of, redact_url


class UrlSource(enum.StrEnum):
    PARAMETER = "parameter"
    ENVIRONMENT = "environment"
    UNSET = "unset"


class Credentials(enum.StrEnum):
    """Whether a delivery carries the saved custom header and signing secret."""

    NONE = "none"  # none are saved
    SENT = "sent"
    WITHHELD = "withheld: saved for another origin"
    FROM_REQUEST = "from this request"  # a test send that supplied its own


@dataclass(frozen=True)
class WebhookTarget:
    url: str | None
    source: UrlSource

    @property
    def redacted(self) -> str | None:
        return redact_url(self.url) if self.url else None


@dataclass(frozen=True)
class SendOptions:
    """What one delivery uses. Credentials are present only when they were saved for the delivery's origin."""

    format: Format = Format.AUTO
    message_template: str | None = None  # None: the MESSAGE_TEMPLATE default of the deployment
    signing_secret: str | None = field(default=None, repr=False)
    custom_header: CustomHeader | None = None
    # The secret a rotation replaced, while its overlap lasts: requests are signed with both.
    previous_signing_secret: str | None = field(default=None, repr=False)

    @property
    def signing_secrets(self) -> tuple[str, ...]:
        """Newest first: what the webhook-signature header is made of."""
        return tuple(secret for secret in (self.signing_secret, self.previous_signing_secret) if secret)


@dataclass(frozen=True)
class Effective:
    """The URL a notification goes to now, and the options it is sent with."""

    target: WebhookTarget
    options: SendOptions
    credentials: Credentials


def effective(snapshot: Snapshot, environment_url: str) -> Effective:
    """The document's (or older parameter's) URL if set, else WEBHOOK_URL, with the credentials its origin may get."""
    stored = snapshot.stored
    if stored.url:
        target = WebhookTarget(stored.url, UrlSource.PARAMETER)
    elif environment_url:
        target = WebhookTarget(environment_url, UrlSource.ENVIRONMENT)
    else:
        target = WebhookTarget(None, UrlSource.UNSET)
    options, credentials = options_for(stored, target.url)
    return Effective(target, options, credentials)


def options_for(stored: StoredSettings, url: str | None) -> tuple[SendOptions, Credentials]:
    """The options a delivery to `url` uses: the credentials only when `url` has the origin they were saved for."""
    plain = SendOptions(stored.format, stored.message_template)
    if stored.signing_secret is None and stored.custom_header is None:
        return plain, Credentials.NONE
    origin = origin_of(url)
    if origin is None or origin != stored.credentials_origin:
        return plain, Credentials.WITHHELD
    previous = stored.previous_signing_secret if stored.previous_secret_active() else None
    with_credentials = dataclasses.replace(
        plain,
        signing_secret=stored.signing_secret,
        custom_header=stored.custom_header,
        previous_signing_secret=previous if stored.signing_secret else None,
    )
    return with_credentials, Credentials.SENT
