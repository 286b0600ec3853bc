"""What the core returns: how a request ended (Status), each notification's Delivery, the Outcome."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from .errors import PushoverError, QuotaExceededError, TransientError, UnknownDeviceError
from .people import person_of
from .phrases import join_words, phrase
from .ssml import escape_ssml

if TYPE_CHECKING:
    from .pushover import Message


class Status(StrEnum):
    """How a request ended, worst last within each group."""

    SENT = "sent"
    DRY_RUN = "dry_run"
    SPOKEN = "spoken"
    CANCELED = "canceled"
    ATTACHMENT_DROPPED = "attachment_dropped"
    QUEUED = "queued"
    UNAVAILABLE = "unavailable"
    REFUSED = "refused"
    QUOTA = "quota"
    UNKNOWN_DEVICE = "unknown_device"
    UNKNOWN_SPEAKER = "unknown_speaker"
    UNKNOWN_PERSON = "unknown_person"
    RENDER_FAILED = "render_failed"
    NOT_CONFIGURED = "not_configured"
    ELICIT_SLOT = "elicit_slot"
    CONFIRM = "confirm"
    DENIED = "denied"
    UNKNOWN_INTENT = "unknown_intent"
    LAUNCH = "launch"
    HELP = "help"
    GOODBYE = "goodbye"
    FALLBACK = "fallback"


#: Which delivery status speaks for the whole request when several notifications end differently.
SEVERITY = [
    Status.SENT, Status.DRY_RUN, Status.ATTACHMENT_DROPPED, Status.QUEUED,
    Status.UNAVAILABLE, Status.REFUSED, Status.QUOTA,
]  # fmt: skip


class Outbox(Protocol):
    """Where transiently failed notifications wait for a retry (see skill.outbox)."""

    def put(
        self, notifier: str, message: Message, *, validate_devices: bool = False, intent: str = "", hold_s: float = 0.0
    ) -> str: ...

    def settle(self, item_id: str) -> bool: ...

    def release(self, item_id: str, message: Message | None = None) -> bool: ...

    def discard_tagged(self, tag: str) -> int: ...


@dataclass
class Delivery:
    """One notification of a request and what became of it."""

    notifier: str
    message: Message
    status: Status
    request_id: str | None = None
    receipt: str | None = None
    attachment_ref: str | None = None
    attachment_error: str | None = None
    error: str | None = None
    outbox_id: str | None = None
    note: str | None = None
    #: The send may have reached Pushover, but no answer said so (and no outbox retries it).
    unconfirmed: bool = False

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly view (what ``simulate --json`` prints); no secrets in it."""
        data = {k: v for k, v in dataclasses.asdict(self.message).items() if v not in (None, False, ())}
        data.pop("attachment", None)
        if self.message.devices:
            data["device"] = ",".join(self.message.devices)
            data.pop("devices", None)
        if self.message.attachment is not None:
            data["attachment"] = {
                "filename": self.message.attachment.filename,
                "content_type": self.message.attachment.content_type,
                "bytes": len(self.message.attachment.data),
            }
        result: dict[str, Any] = {"notifier": self.notifier, "status": str(self.status), "params": data}
        if person_of(self.notifier) is not None:
            result["to"] = person_of(self.notifier)
        for key in (
            "request_id",
            "receipt",
            "attachment_ref",
            "attachment_error",
            "error",
            "outbox_id",
            "note",
            "unconfirmed",
        ):
            if getattr(self, key):
                result[key] = getattr(self, key)
        return result


@dataclass
class Outcome:
    """What the skill did for one request and what the person hears."""

    intent: str
    status: Status
    speech: str  # SSML body, without <speak>
    reprompt: str | None = None
    card: tuple[str, str] | None = None
    end_session: bool = True
    deliveries: list[Delivery] = field(default_factory=list)
    elicit_slot: str | None = None
    canceled: int | None = None
    #: the tag a ``cancel_alerts`` intent stopped (or, in a dry run, would stop) alerts by
    cancel_tag: str | None = None

    @property
    def request_ids(self) -> list[str]:
        """Pushover request ids of what was sent."""
        return [d.request_id for d in self.deliveries if d.request_id]


def failure_outcome(
    intent: str, err: PushoverError, locale: str | None, deliveries: list[Delivery] | None = None
) -> Outcome:
    """What the person hears when Pushover refused a call or could not be reached: quota, try later, or why."""
    deliveries = deliveries or []
    if isinstance(err, QuotaExceededError):
        return Outcome(intent, Status.QUOTA, phrase(locale, "quota"), deliveries=deliveries)
    if isinstance(err, TransientError):
        return Outcome(intent, Status.UNAVAILABLE, phrase(locale, "unavailable"), deliveries=deliveries)
    reason = refusal_reason(err)
    speech = phrase(locale, "refused", reason=escape_ssml(reason)) if reason else phrase(locale, "refused_generic")
    return Outcome(intent, Status.REFUSED, speech, deliveries=deliveries)


def refusal_reason(err: PushoverError) -> str:
    """Pushover's own words for a refusal (its ``errors``), at most 200 characters; "" without any."""
    return "; ".join(err.errors)[:200] if err.errors else ""


def unknown_device_outcome(intent: str, err: UnknownDeviceError, locale: str | None) -> Outcome:
    """Nothing is sent to a device the account does not have: the person hears which devices it has."""
    device = escape_ssml(err.device)
    if err.known:
        devices = escape_ssml(join_words(err.known, locale))
        speech = phrase(locale, "unknown_device", device=device, devices=devices)
    else:
        speech = phrase(locale, "unknown_device_none", device=device)
    return Outcome(intent, Status.UNKNOWN_DEVICE, speech)
