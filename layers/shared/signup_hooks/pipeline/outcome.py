"""What a round of attempts came to and where the notification goes next: the values the stages of the one path
(dispatch.py) hand each other."""

from __future__ import annotations

from dataclasses import dataclass

from signup_hooks.model.dead_letter import DeadLetter
from signup_hooks.model.delivery_log import Status, Trigger
from signup_hooks.model.health import Health
from signup_hooks.model.results import DeliveryResult


@dataclass(frozen=True)
class Outcome:
    """What became of one notification after a round of attempts."""

    delivered: bool
    already_delivered: bool = False
    result: DeliveryResult | None = None
    attempts: int = 0
    handed_over: bool = False  # held by another invocation or out of time: queued for the retry function


@dataclass(frozen=True)
class Next:
    """Where a notification goes after this round of attempts."""

    schedule_failures: bool = True  # False: an administrator's replay, whose failure stays where it was
    retries_done: int = 0  # scheduled retries made before this round
    first_attempt_at: str | None = None
    trigger: Trigger = Trigger.STREAM
    failure_status: Status = Status.FAILED  # what a failure not scheduled leaves the record
    counts_toward_health: bool = True  # False: a resend of a delivered notification, an administrator's extra


@dataclass(frozen=True)
class Settled:
    """What settling a notification came to, and what the other endpoints may hear of it (operational.py)."""

    status: Status
    dead_letter: DeadLetter | None = None  # what went to the dead-letter queue
    health: tuple[Health, Health] | None = None  # the endpoint's health before and after this round, when recorded
    last_reason: str | None = None  # the reason of this round's last attempt (None: it was delivered)
    disabled_at: str | None = None  # when this round disabled the endpoint (its receiver answered 410 Gone)
