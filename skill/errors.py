"""Exceptions of the skill backend.

The tree, and whether an error is safe to retry::

    SkillError
     +-- ConfigError                 the intent map or environment is wrong; the user must act
     +-- RenderError                 a template failed on this request's data; not retried
     +-- AttachmentError             an attachment was refused; the notification goes without it
     +-- InvalidRequestError         a body that is not an Alexa request envelope (HTTP 400)
     |    +-- VerificationError      an incoming Alexa request failed verification (HTTP 400)
     +-- OutboxError                 the outbox could not store a pending notification
     +-- ReceiptError                the receipt store could not be read or written (never stops a send)
     +-- PushoverError               anything from the Pushover API or the way to it
          +-- PermanentError         4xx: never retried (bad token, bad user key, bad parameter)
          |    +-- QuotaExceededError   429: the application's monthly limit is spent
          |    +-- UnknownDeviceError   a device name the account does not have (checked before sending)
          +-- TransientError         5xx, timeouts, connection failures: safe to retry later
               +-- PushoverTimeoutError     no answer within the read timeout (may have been delivered)
               +-- PushoverConnectionError  no connection was made (certainly not delivered)

Messages never contain the Pushover token or user key.
"""

from __future__ import annotations

from dataclasses import dataclass


class SkillError(Exception):
    """Base class of every error this package raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a configuration file, with its position."""

    path: str
    line: int
    col: int
    message: str
    severity: str = "error"  # "error" or "warning"
    #: A short name for the kind of problem, for callers that treat some warnings as errors.
    code: str = ""

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        where = f"{self.path}:{self.line}:{self.col}" if self.line else self.path
        return f"{where}: {prefix}{self.message}" if where else f"{prefix}{self.message}"


class ConfigError(SkillError):
    """The configuration is invalid; ``problems`` lists each with its file position."""

    def __init__(self, problems: list[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("", 0, 0, problems)]
        self.problems: list[Problem] = [p for p in problems if p.severity == "error"] or problems
        super().__init__("\n".join(str(p) for p in self.problems))


class RenderError(SkillError):
    """A template could not be rendered for this request (e.g. a rendered field is too long)."""


class AttachmentError(SkillError):
    """An attachment was refused; ``reason`` is short and safe to speak, ``detail`` is for the log only."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason} ({detail})" if detail else reason)


class InvalidRequestError(SkillError):
    """The request body is not an Alexa request envelope; the reason is one short line."""


class VerificationError(InvalidRequestError):
    """An incoming request failed Alexa request verification."""


class OutboxError(SkillError):
    """The outbox could not store or read a pending notification."""


class ReceiptError(SkillError):
    """The store of emergency receipts could not be read or written."""


class PushoverError(SkillError):
    """Base class for failures talking to Pushover."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        errors: list[str] | None = None,
        request_id: str | None = None,
    ) -> None:
        self.status = status
        self.errors: list[str] = list(errors or [])
        self.request_id = request_id
        super().__init__(message)


class PermanentError(PushoverError):
    """Pushover refused the request (4xx); retrying cannot help."""


class QuotaExceededError(PermanentError):
    """HTTP 429: the application's monthly message limit is spent."""


class UnknownDeviceError(PermanentError):
    """A target device the account does not have; nothing was sent."""

    def __init__(self, device: str, known: list[str]) -> None:
        self.device = device
        self.known = list(known)
        super().__init__(f"unknown device {device!r}; known devices: {', '.join(known) or 'none'}")


class TransientError(PushoverError):
    """Pushover could not be reached or failed on its side (5xx); safe to retry later."""

    retryable = True
    #: True when the request may have reached Pushover (e.g. a read timeout).
    maybe_delivered: bool = False


class PushoverTimeoutError(TransientError):
    """No answer within the read timeout; the message may have been delivered."""

    maybe_delivered = True


class PushoverConnectionError(TransientError):
    """No connection could be made; the message was certainly not delivered."""
