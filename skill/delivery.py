"""Devices checked, attachments read and notifications sent for one request, all at once, inside its deadline.

:class:`Sender` is the half of :class:`~skill.service.Service` that talks to Pushover. Every
call runs as a :class:`~skill.deadline.Call`, so a request with three notifications, a device
check and a camera snapshot waits as long as its slowest call, and never past its deadline.
At the deadline (docs/reliability.md, "The deadline"):

- a device check still running: the notification waits in the outbox *unsent* (its devices are
  checked before the retry); the check goes on and fills the device cache;
- a send not started yet: the notification goes to the outbox as any transient failure does;
- a send still running: the outbox gets a row *held* until that send has surely ended
  (``hold_s``), the person hears "I'll keep trying", and the send goes on. When it ends, it
  settles the row (delivered or refused: nothing more to do) or releases it (failed: the outbox
  retries from then on). So a Pushover that is merely slow delivers once, not twice.

Without an outbox (Lambda, ``simulate``), sends wait no longer than the deadline, and a send
that may have reached Pushover without saying so is heard as exactly that ("unconfirmed").
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeVar

from . import attachments, const
from .config import Credentials
from .deadline import DONE, HANDED_OVER, Call, CallPool, Deadline
from .errors import (
    AttachmentError,
    OutboxError,
    PermanentError,
    PushoverConnectionError,
    PushoverError,
    PushoverTimeoutError,
    QuotaExceededError,
    TransientError,
    UnknownDeviceError,
)
from .outcome import Delivery, Outcome, Status, failure_outcome, refusal_reason, unknown_device_outcome
from .phrases import join_words, phrase
from .pushover import Message, SendResult
from .render import RenderedNotification, escape_ssml

if TYPE_CHECKING:
    from .intent_map import NotificationSpec
    from .service import Service

#: The core's log lines keep the one name people filter on (``skill.service``), wherever the code lives.
logger = logging.getLogger("skill.service")

T = TypeVar("T")

#: The longest an attachment can take to read (connect, the loader's own deadline, one more read).
ATTACHMENT_WORST_S: Final = (
    const.DEFAULT_CONNECT_TIMEOUT_S + attachments.DEFAULT_DEADLINE_S + attachments.DEFAULT_READ_TIMEOUT_S
)
#: Added to every hold, for the scheduling of threads on a busy machine.
HOLD_MARGIN_S: Final = 5.0


@dataclass
class _Try:
    """What one notification's call did: the message (with its attachment, if read) and Pushover's answer."""

    message: Message
    attachment_error: str | None = None
    #: The attachment's refusal with its detail, for the log only.
    attachment_detail: str | None = None
    result: SendResult | None = None
    error: PushoverError | None = None


class Sender:
    """Runs a request's Pushover calls concurrently under its deadline; see the module docstring."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.pool = CallPool()
        #: How long a send waits for Pushover when the outbox backs it (nobody waits for the answer then).
        self.background_read_timeout_s = const.BACKGROUND_READ_TIMEOUT_S

    @property
    def hold_s(self) -> float:
        """How long the outbox leaves alone a row whose send was still running at the deadline."""
        client = self.service.client
        return ATTACHMENT_WORST_S + client.connect_timeout_s + self.background_read_timeout_s + HOLD_MARGIN_S

    def in_time(self, work: Callable[[], T], deadline: Deadline, what: str) -> T:
        """``work()``'s result, or PushoverTimeoutError when it has not ended by the deadline (it goes on)."""
        call = self.pool.start(lambda _call: work(), deadline, what)
        self.pool.wait([call], deadline)
        if call.hand_over() != DONE:
            raise PushoverTimeoutError(f"no answer from Pushover to {what} before the deadline")
        return call.result()

    # -- devices -----------------------------------------------------------

    def check_devices(
        self,
        name: str,
        rendered: Sequence[RenderedNotification],
        notes: Sequence[NotificationSpec],
        credentials: Mapping[str, Credentials | None],
        deadline: Deadline,
        locale: str | None,
    ) -> list[RenderedNotification] | Outcome:
        """Every device from speech checked before anything is sent (a misheard name must not broadcast)."""
        service = self.service
        calls: dict[int, Call[tuple[str, ...]]] = {}
        for i, (item, note) in enumerate(zip(rendered, notes, strict=True)):
            creds = credentials[item.notifier]
            if creds is None or not item.validate_devices:
                continue
            if not item.message.devices:
                if note.targets:  # the target came from speech and named no device ("," or nothing)
                    return self._no_device(name, creds, deadline, locale)
                continue  # no target at all: every device, as the map says

            def check(call: Call[tuple[str, ...]], creds: Credentials = creds, item: RenderedNotification = item):
                return service.client.resolve_devices(creds, item.message.devices)

            calls[i] = self.pool.start(check, deadline, "the device check")
        self.pool.wait(calls.values(), deadline)
        checked: list[RenderedNotification] = []
        for i, item in enumerate(rendered):
            call = calls.get(i)
            if call is None and item.validate_devices and not item.message.devices:
                item = dataclasses.replace(item, validate_devices=False)  # nothing to check
            if call is not None and call.hand_over() != DONE:
                logger.warning("intent %s: the device check did not end in time; the notification waits", name)
            elif call is not None:
                try:
                    devices: tuple[str, ...] | None = call.result()
                except UnknownDeviceError as err:
                    logger.debug("intent %s: unknown device %r; nothing sent", name, err.device)
                    return unknown_device_outcome(name, err, locale)
                except TransientError as err:
                    logger.warning("intent %s: cannot check devices: %s", name, err)
                    devices = None
                except PushoverError as err:
                    return failure_outcome(name, err, locale)
                if devices is not None:
                    message = dataclasses.replace(item.message, devices=devices)
                    item = dataclasses.replace(item, message=message, validate_devices=False)
            checked.append(item)
        return checked

    def _no_device(self, name: str, creds: Credentials, deadline: Deadline, locale: str | None) -> Outcome:
        try:
            known = self.in_time(lambda: self.service.client.devices(creds), deadline, "the device list")
        except PushoverError:
            known = []
        if known:
            speech = phrase(locale, "no_device_known", devices=escape_ssml(join_words(known, locale)))
        else:
            speech = phrase(locale, "no_device")
        return Outcome(name, Status.UNKNOWN_DEVICE, speech)

    # -- sending -----------------------------------------------------------

    def send_all(
        self,
        intent: str,
        checked: Sequence[RenderedNotification],
        credentials: Mapping[str, Credentials | None],
        deadline: Deadline,
    ) -> list[Delivery]:
        """Read attachments and send, all at once; what became of each notification, in order."""
        service = self.service
        read_timeout: float | None = None  # worked out for the first call (a dry run may make none)
        plans: list[tuple[RenderedNotification, bool, Call[_Try] | None]] = []
        for item in checked:
            creds = credentials[item.notifier]
            send = not (service.dry_run or creds is None or item.validate_devices)
            call = None
            if send or item.attachment_ref:
                if read_timeout is None:
                    read_timeout = self._read_timeout(deadline)
                call = self.pool.start(self._work(item, creds if send else None, read_timeout), deadline, "the send")
            plans.append((item, send, call))
        if read_timeout is not None:
            self.pool.wait([call for _, _, call in plans if call is not None], deadline)
        return [self._delivery(intent, item, credentials[item.notifier], send, call) for item, send, call in plans]

    def _read_timeout(self, deadline: Deadline) -> float:
        """How long a send waits for Pushover's answer."""
        if self.service.outbox is not None:
            return self.background_read_timeout_s
        # nothing can pick it up after the answer: wait no longer than the deadline
        return max(0.05, min(self.service.client.read_timeout_s, deadline.remaining()))

    def _work(
        self, item: RenderedNotification, creds: Credentials | None, read_timeout: float
    ) -> Callable[[Call[_Try]], _Try]:
        service, hold_s = self.service, self.hold_s

        def work(call: Call[_Try]) -> _Try:
            attempt = _Try(item.message)
            if item.attachment_ref:
                try:
                    attempt.message = dataclasses.replace(
                        attempt.message, attachment=service.loader.load(item.attachment_ref)
                    )
                except AttachmentError as err:
                    attempt.attachment_error, attempt.attachment_detail = err.reason, str(err)
            if creds is None:
                return attempt
            late = call.late_by()
            if late is not None and late + service.client.connect_timeout_s + read_timeout > hold_s - 1.0:
                # The outbox may take over before this send could end: leave it to the outbox.
                attempt.error = PushoverConnectionError("not sent: the attachment took too long")
                return attempt
            try:
                attempt.result = service.client.send(attempt.message, creds, read_timeout_s=read_timeout)
            except PushoverError as err:
                attempt.error = err
            return attempt

        return work

    def _delivery(
        self, intent: str, item: RenderedNotification, creds: Credentials | None, send: bool, call: Call[_Try] | None
    ) -> Delivery:
        state = DONE
        if call is not None:
            keep = (lambda: self._keep(intent, item)) if send else None
            state = call.hand_over(keep, self._late_end(intent, item.notifier) if send else None)
        attempt = call.result() if call is not None and state == DONE else _Try(item.message)
        if state != DONE:
            logger.warning("intent %s: a send %s at the deadline", intent, "still ran" if state == HANDED_OVER else
                           "had not started")  # fmt: skip
        if attempt.attachment_error:
            logger.warning("intent %s: attachment dropped: %s", intent, attempt.attachment_detail)
        delivery = Delivery(item.notifier, attempt.message, Status.SENT, attachment_ref=item.attachment_ref,
                            attachment_error=attempt.attachment_error)  # fmt: skip
        if not send and (self.service.dry_run or creds is None):
            return self._dry_run(intent, item, delivery)
        if item.validate_devices:
            # The devices could not be checked (Pushover unreachable or slow). Sending unchecked names
            # could broadcast to every device, so only the outbox may send, after it has checked them.
            return self._queue(intent, delivery, TransientError("device check pending"), validate_devices=True)
        if state == HANDED_OVER:
            assert call is not None
            delivery.error = "no answer from Pushover before the deadline"
            delivery.outbox_id = call.kept
            delivery.status = Status.QUEUED if delivery.outbox_id else Status.UNAVAILABLE
            delivery.unconfirmed = not delivery.outbox_id
            return delivery
        if state != DONE:
            return self._queue(intent, delivery, PushoverConnectionError("not started before the deadline"))
        if attempt.error is None:
            assert attempt.result is not None
            delivery.request_id, delivery.receipt = attempt.result.request_id, attempt.result.receipt
            if delivery.receipt:
                logger.info("intent %s: alert sent: receipt %s", intent, delivery.receipt)
                logger.debug("intent %s: alert %s carries tags %s", intent, delivery.receipt, delivery.message.tags)
            if attempt.attachment_error:
                delivery.status = Status.ATTACHMENT_DROPPED
        elif isinstance(attempt.error, QuotaExceededError):
            delivery.status, delivery.error = Status.QUOTA, refusal_reason(attempt.error)
        elif isinstance(attempt.error, PermanentError):
            delivery.status, delivery.error = Status.REFUSED, refusal_reason(attempt.error)
            delivery.request_id = attempt.error.request_id
        else:
            assert isinstance(attempt.error, TransientError)
            return self._queue(intent, delivery, attempt.error)
        return delivery

    def _dry_run(self, intent: str, item: RenderedNotification, delivery: Delivery) -> Delivery:
        message = delivery.message
        delivery.status = Status.DRY_RUN
        if item.validate_devices and message.devices:
            delivery.note = "devices from speech are checked against your Pushover account only when sending"
        # What was said may be private: the text itself only at DEBUG (`serve -v` shows it).
        logger.info(
            "dry run: intent %s would send a %d-character message through notifier %s%s",
            intent, len(message.message), item.notifier, " with an attachment" if message.attachment else "",
        )  # fmt: skip
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("dry run: would send %s", _describe(message))
        return delivery

    def _queue(
        self, intent: str, delivery: Delivery, err: TransientError, *, validate_devices: bool = False
    ) -> Delivery:
        delivery.error = str(err)
        outbox = self.service.outbox
        if outbox is None:
            delivery.status = Status.UNAVAILABLE
            delivery.unconfirmed = err.maybe_delivered
            return delivery
        try:
            delivery.outbox_id = outbox.put(
                delivery.notifier, delivery.message, validate_devices=validate_devices, intent=intent
            )
        except OutboxError as exc:
            logger.error("intent %s: could not queue for retry: %s", intent, exc)
            delivery.status = Status.UNAVAILABLE
            delivery.unconfirmed = err.maybe_delivered
        else:
            delivery.status = Status.QUEUED
        return delivery

    # -- a send that ends after the answer --------------------------------

    def _keep(self, intent: str, item: RenderedNotification) -> str | None:
        """The outbox row for a send still running at the deadline, held until that send has ended."""
        outbox = self.service.outbox
        if outbox is None:
            return None
        try:
            return outbox.put(item.notifier, item.message, intent=intent, hold_s=self.hold_s)
        except OutboxError as err:
            logger.error("intent %s: could not queue the notification still being sent: %s", intent, err)
            return None

    def _late_end(self, intent: str, notifier: str) -> Callable[[Call[_Try], str | None], None]:
        def ended(call: Call[_Try], outbox_id: str | None) -> None:
            attempt = call.result()
            outbox = self.service.outbox if outbox_id else None
            try:
                if attempt.error is None:
                    request_id = attempt.result.request_id if attempt.result else None
                    logger.info("intent %s: delivered after the answer; pushover=%s", intent, request_id or "-")
                    self._keep_receipt(intent, notifier, attempt)  # before the row goes: its receipt is there then
                    if outbox is not None and outbox_id is not None and not outbox.settle(outbox_id):
                        logger.warning("intent %s: delivered after the answer, but the outbox retried it too", intent)
                elif isinstance(attempt.error, PermanentError):
                    if outbox is not None and outbox_id is not None:
                        outbox.settle(outbox_id)
                    logger.error("intent %s: Pushover refused the notification after the answer: %s", intent,
                                 attempt.error)  # fmt: skip
                else:
                    if outbox is not None and outbox_id is not None:
                        outbox.release(outbox_id, attempt.message)
                    logger.warning("intent %s: the send still running at the answer failed: %s%s", intent,
                                   attempt.error, "; the outbox retries it" if outbox_id else "")  # fmt: skip
            except OutboxError as err:
                logger.error("intent %s: the outbox could not record how the late send ended: %s", intent, err)

        return ended

    def _keep_receipt(self, intent: str, notifier: str, attempt: _Try) -> None:
        """An emergency alert accepted after the answer keeps its receipt, as one accepted in time does."""
        receipt = attempt.result.receipt if attempt.result else None
        if not receipt:
            return
        logger.info("intent %s: alert sent: receipt %s", intent, receipt)
        logger.debug("intent %s: alert %s carries tags %s", intent, receipt, attempt.message.tags)
        if self.service.receipts is not None:
            self.service.receipts.record(intent, notifier, attempt.message, receipt)


def _describe(message: Message) -> str:
    parts = [f"message={message.message[:80]!r}"]
    if message.devices:
        parts.append(f"device={','.join(message.devices)}")
    if message.priority is not None:
        parts.append(f"priority={message.priority}")
    if message.attachment is not None:
        parts.append(f"attachment={message.attachment.filename}")
    return " ".join(parts)
