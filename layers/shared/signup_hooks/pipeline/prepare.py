"""Preparing a notification: render its message, check its target, build the payload its receiver takes and the
headers that do not change from one attempt to the next. `prepare` is the one entry point; a `Prepared` is what the
attempts (attempts.py) post and what settle.py logs, schedules or dead-letters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from signup_hooks.config import Config
from signup_hooks.endpoints.send_options import SendOptions
from signup_hooks.endpoints.settings_input import validate_webhook_url
from signup_hooks.errors import InvalidInput
from signup_hooks.model import events
from signup_hooks.model.names import DEFAULT_ENDPOINT, USER_CREATED, Shape
from signup_hooks.model.results import DeliveryResult, Reason
from signup_hooks.model.urls import host_of
from signup_hooks.model.user import User
from signup_hooks.sending import content, formats, messages, redaction, signing, targets
from signup_hooks.sending.backoff import Deadline


@dataclass(frozen=True)
class Prepared:
    """A notification ready to post: rendered, its target checked, its payload built. `failure` when it cannot be.

    A target whose name could not be resolved for now (the resolver failed temporarily or was too slow) has neither
    `checked` nor `failure`: each attempt checks it again, with `policy`, and a failed lookup is retried like a
    connection error.
    """

    url: str
    message: str
    shape: Shape
    event_id: str  # the delivery key: the idempotency record's and the webhook-id's (registry.delivery_key)
    user: User
    endpoint: str = DEFAULT_ENDPOINT
    checked: targets.CheckedTarget | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    signing_secrets: tuple[str, ...] = field(default=(), repr=False)  # newest first; two during a rotation
    failure: DeliveryResult | None = None
    policy: targets.Policy | None = None  # to check the target at each attempt, when it could not be checked yet
    operational: events.OperationalEvent | None = None  # what it announces, when it is not a signup
    test: bool = False  # an admin's test send: its payload says so

    @property
    def event(self) -> str:
        if self.test:
            return events.WEBHOOK_TEST
        return self.operational.type if self.operational else USER_CREATED

    @property
    def credentials(self) -> tuple[str, ...]:
        """What the receiver's answer must not be quoted with: the custom header, the secrets, the URL's path."""
        return redaction.credentials(self.url, self.headers, self.signing_secrets)

    @property
    def log_fields(self) -> dict[str, str]:
        """What every line about this notification says: never the URL's path, never the user's email."""
        return {
            "key": self.event_id,  # the notification's identity; `event_id` is the event that brought it (log_keys)
            "webhook_id": signing.webhook_id(self.event_id),  # what the receiver saw (header, JSON envelope's id)
            "endpoint": self.endpoint,
            "user_id": self.user.id,
            "target_host": host_of(self.url),
            "format": self.shape.value,
        }


def target_failure(exc: targets.TargetError, latency_ms: int = 0) -> DeliveryResult:
    """A target that failed its check, as a result: nothing was sent. Its reason says whether a retry may help."""
    return DeliveryResult(False, None, Reason(exc.reason), latency_ms, detail=exc.message)


def prepare(
    url: str,
    user: User,
    event_id: str,
    config: Config,
    options: SendOptions,
    deadline: Deadline | None = None,
    *,
    endpoint: str = DEFAULT_ENDPOINT,
    message: str | None = None,
    operational: events.OperationalEvent | None = None,
    test: bool = False,
) -> Prepared:
    """Render, check the target, build the payload for its receiver, and the headers that do not change per attempt.

    The message is the template's (the endpoint's, else MESSAGE_TEMPLATE) for `user`, unless `message` gives it
    rendered already (a replay keeps the text it was dead-lettered with); an `operational` event has its own sentence
    and envelope (events.py), never the signup template, and its user is only for the log's record.

    The target's lookup waits at most the connect timeout, and never past `deadline`. A refused, invalid or
    non-existent target is a failure for good; one whose name could not be resolved for now is checked again at
    each attempt.

    A `test` send's message and payload say it is a test, so that a receiver never records it as a signup.
    """
    if operational is not None:
        user = User(operational.user_id, operational.user_name, "", "", 0, "")  # never an e-mail
        message = content.event_message(operational)
    elif message is None:
        message = messages.render(options.message_template or config.message_template, _placeholders(user))
    if test:
        message = content.marked_as_test(message)
    valid = _is_valid_url(url)
    shape = formats.shape_for(options.format, url) if valid else Shape.TEXT
    base: dict[str, Any] = {
        "url": url,
        "message": message,
        "shape": shape,
        "event_id": event_id,
        "user": user,
        "endpoint": endpoint,
        "operational": operational,
        "test": test,
    }
    if not valid:
        failure = DeliveryResult(False, None, Reason.INVALID_URL, 0, detail="url is not a valid webhook URL")
        return Prepared(**base, failure=failure)
    lookup_timeout = config.connect_timeout if deadline is None else min(config.connect_timeout, deadline.remaining())
    checked: targets.CheckedTarget | None = None
    try:
        checked = targets.check(url, config.target_policy, lookup_timeout=lookup_timeout)
    except targets.ResolutionUnavailable:
        pass  # checked again at each attempt, which the retries and the deadline bound
    except targets.TargetError as exc:
        return Prepared(**base, failure=target_failure(exc))
    message_id = signing.webhook_id(event_id)
    if operational is not None:
        payload = formats.build_event(shape, operational, message_id)
    else:
        payload = formats.build(shape, message, user, message_id, test=test)
    headers = {"Content-Type": payload.content_type}
    if options.custom_header:
        headers[options.custom_header.name] = options.custom_header.value
    return Prepared(
        **base,
        checked=checked,
        body=payload.body,
        headers=headers,
        signing_secrets=options.signing_secrets,
        policy=config.target_policy,
    )


def _placeholders(user: User) -> dict[str, str]:
    """Each value cleaned (no control or bidi characters, bounded) before it meets the template."""
    values = {"name": user.name, "email": user.email, "role": user.role, "id": user.id}
    return {key: content.clean_value(value) for key, value in values.items()}


def _is_valid_url(url: str) -> bool:
    """The same rules as the admin API's, for a URL set some other way (the console, WEBHOOK_URL)."""
    try:
        validate_webhook_url(url)
    except InvalidInput:
        return False
    return True
