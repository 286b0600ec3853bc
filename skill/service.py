"""The pure core: an intent and its slots in, an Outcome (what was sent, what to say) out.

No ASK SDK and no Flask here: the same core serves the web endpoint, Lambda and ``simulate``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import builtin_answers, routing
from .alert_intents import alert_status, cancel_alerts
from .builtin_answers import spoken_name
from .config import Credentials, Settings
from .deadline import DEFAULT_WORK_S, Deadline
from .errors import RenderError
from .intent_map import IntentMap, IntentSpec, SpeechSpec
from .notifier_keys import NotifierKeys
from .outcome import SEVERITY, Delivery, Outbox, Outcome, Status
from .people import People, Speaker, person_of
from .phrases import phrase
from .render import (
    SPEECH_NAMES,
    RenderedNotification,
    SlotValue,
    build_context,
    render_notification,
    render_speech,
    render_text,
    response_templates,
    speech_context,
)
from .render import escape_ssml as _escape

__all__ = ["Delivery", "Outbox", "Outcome", "Service", "Status"]

if TYPE_CHECKING:
    from .attachments import AttachmentLoader
    from .delivery import Sender
    from .pushover import PushoverClient
    from .receipts import ReceiptBook

logger = logging.getLogger(__name__)


class Service:
    """Built once per process: the intent map, the Pushover client, the attachment loader, the outbox."""

    def __init__(
        self,
        intent_map: IntentMap,
        settings: Settings,
        *,
        client: PushoverClient | None = None,
        loader: AttachmentLoader | None = None,
        outbox: Outbox | None = None,
        dry_run: bool | None = None,
        receipts: ReceiptBook | None = None,
    ) -> None:
        self.intent_map = intent_map
        self.settings = settings
        self.keys = NotifierKeys(intent_map, settings)
        if dry_run is None:
            # Missing default keys imply a dry run only when no notifier the map uses can send:
            # a map whose intents all use named notifiers needs no PUSHOVER_TOKEN.
            dry_run = settings.dry_run and (settings.dry_run_requested or not self.keys.can_send())
        self.dry_run = dry_run
        #: made on first use (``client``, ``loader``, ``sender``), once even when requests race to it
        self._client, self._loader, self._sender = client, loader, None
        self._making = threading.Lock()
        self.outbox = outbox
        #: who is speaking and where; the unknown ids seen (for /healthz)
        self.people = People(intent_map.people, intent_map.rooms)
        #: How long a request's calls may take when the host gives no deadline (simulate, tests).
        self.deadline_s = DEFAULT_WORK_S
        #: Receipts of emergency alerts (skill.receipts); the web service and Lambda give one.
        self.receipts = receipts
        #: per intent, the names of what was sent (``SPEECH_NAMES``) its speech, reprompt or card templates read
        self._reads_sent = {
            spec.name: frozenset().union(*(t.variables for t in response_templates(spec))) & SPEECH_NAMES
            for spec in intent_map.specs()
        }

    # -- made on first use: a request that sends nothing (a LaunchRequest) does not load their modules

    @property
    def client(self) -> PushoverClient:
        """The Pushover client (``skill.pushover``)."""
        return self._client if self._client is not None else self._make("_client")

    @property
    def loader(self) -> AttachmentLoader:
        """The attachment loader (``skill.attachments``)."""
        return self._loader if self._loader is not None else self._make("_loader")

    @property
    def sender(self) -> Sender:
        """Device checks, attachments and sends, run at once under each request's deadline (``skill.delivery``)."""
        return self._sender if self._sender is not None else self._make("_sender")

    def _make(self, part: str) -> Any:
        with self._making:
            made = getattr(self, part)
            if made is None:
                made = _PARTS[part](self)
                setattr(self, part, made)
            return made

    # -- credentials (skill/notifier_keys.py)

    def credentials_for(self, notifier: str) -> Credentials | None:
        """The token and user key(s) of a notifier or ``person:<name>`` route; None while a variable is missing."""
        return self.keys.credentials_for(notifier)

    def missing_variables(self, notifier: str) -> list[str]:
        """The environment variables a notifier (or ``person:<name>`` route) still needs."""
        return self.keys.missing_variables(notifier)

    def setup_warnings(self) -> list[str]:
        """A line for each notifier the map uses that cannot send: half its keys set, or none while others send."""
        return self.keys.setup_warnings(dry_run=self.dry_run)

    # -- built-in requests (skill/builtin_answers.py)

    def launch(
        self,
        locale: str | None,
        application_id: str | None = None,
        *,
        person_id: str | None = None,
        device_id: str | None = None,
    ) -> Outcome:
        """The greeting for "Alexa, open …" (``builtin_answers.launch``)."""
        return builtin_answers.launch(self, locale, application_id, person_id=person_id, device_id=device_id)

    def help(self, locale: str | None) -> Outcome:
        """What the skill can do, with examples from the map's samples."""
        return builtin_answers.help_answer(self, locale)

    def goodbye(self, intent: str, locale: str | None) -> Outcome:
        """Stop, cancel."""
        return builtin_answers.goodbye(intent, locale)

    def fallback(self, locale: str | None) -> Outcome:
        """Alexa heard nothing it could map."""
        return builtin_answers.fallback(locale)

    def name_for_user_key(self, user_key: str) -> str | None:
        """The person of ``people:`` with this Pushover user key (who acknowledged an alert), or None."""
        return self.people.name_for_user_key(user_key, self.settings.environ)

    # -- mapped intents

    def handle_intent(
        self,
        name: str,
        slots: Mapping[str, SlotValue],
        *,
        locale: str | None = None,
        dialog_state: str | None = None,
        confirmation: str | None = None,
        person_id: str | None = None,
        device_id: str | None = None,
        deadline: Deadline | None = None,
    ) -> Outcome:
        """Run one intent: ask for what is missing, find whom it is for, render, check devices, send, answer.

        ``person_id`` and ``device_id`` are ``context.System.person.personId`` and ``….device.deviceId``.
        Pushover's calls end by ``deadline`` (default: ``deadline_s`` from now); see skill.delivery.
        """
        speaker = self.people.identify(person_id, device_id)
        spec = self.intent_map.intents.get(name)
        if spec is None:
            return Outcome(
                name, Status.UNKNOWN_INTENT, phrase(locale, "unknown_intent", intent=_escape(spoken_name(name)))
            )
        return self.handle_spec(spec, slots, locale, confirmation, speaker, deadline)

    def handle_spec(
        self,
        spec: IntentSpec,
        slots: Mapping[str, SlotValue],
        locale: str | None,
        confirmation: str | None,
        speaker: Speaker | None = None,
        deadline: Deadline | None = None,
        names: Mapping[str, Any] | None = None,
    ) -> Outcome:
        """Run ``spec`` (an intent, launch answer or session end) with ``slots`` and more template ``names``;
        a template that fails to render becomes what the person hears."""
        name = spec.name
        speaker = speaker or Speaker()
        known = speaker.template_names()  # a new dict each time
        if names:
            known.update(names)
        context = build_context(slots, spec.defaults(), intent_name=name, locale=locale or "", names=known)
        try:
            return self._run(spec, context, locale, confirmation, speaker, deadline or Deadline.after(self.deadline_s))
        except RenderError as err:
            # The reason may quote what was said (a device name, a number): slot values stay at DEBUG.
            logger.warning("intent %s: cannot render a template", name)
            logger.debug("intent %s: cannot render: %s", name, err)
            return Outcome(name, Status.RENDER_FAILED, phrase(locale, "render_failed", reason=_escape(str(err))))

    def _run(
        self,
        spec: IntentSpec,
        context: dict[str, Any],
        locale: str | None,
        confirmation: str | None,
        speaker: Speaker | None = None,
        deadline: Deadline | None = None,
    ) -> Outcome:
        """Ask for what is missing, find whom it is for, confirm, then cancel or send; a RenderError ends it early."""
        deadline = deadline or Deadline.after(self.deadline_s)
        name = spec.name
        for slot in spec.slots.values():
            if slot.required and slot.default is None and not context.get(slot.name.replace(".", "_")):
                prompt = render_text(slot.prompt, context, locale) if slot.prompt else ""
                speech = _escape(prompt) if prompt else phrase(locale, "elicit", slot=_escape(spoken_name(slot.name)))
                return Outcome(name, Status.ELICIT_SLOT, speech, speech, end_session=False, elicit_slot=slot.name)
        routes = routing.routes(self.people, spec, context, locale, speaker or Speaker())
        if isinstance(routes, Outcome):
            return routes
        if spec.confirm is not None:
            if confirmation == "DENIED":
                return Outcome(name, Status.DENIED, phrase(locale, "confirm_denied"))
            if confirmation != "CONFIRMED":
                prompt = _escape(render_text(spec.confirm, context, locale))
                return Outcome(name, Status.CONFIRM, prompt, prompt, end_session=False)
        if spec.cancel is not None:
            return cancel_alerts(self, spec, context, locale, deadline)
        if spec.alert_status is not None:
            return alert_status(self, spec, context, locale, deadline)
        rendered = [
            routing.routed(render_notification(n, context, locale, intent_name=name), route, self.intent_map.people)
            for n, route in zip(spec.notifications, routes, strict=True)
        ]
        return self._deliver(spec, rendered, context, locale, deadline)

    def _deliver(
        self,
        spec: IntentSpec,
        rendered: list[RenderedNotification],
        context: dict[str, Any],
        locale: str | None,
        deadline: Deadline,
    ) -> Outcome:
        name = spec.name
        credentials: dict[str, Credentials | None] = {}
        for item in rendered:
            credentials[item.notifier] = self.credentials_for(item.notifier)
            if credentials[item.notifier] is None and not self.dry_run:
                missing = self.missing_variables(item.notifier)
                logger.error("intent %s: not configured: set %s", name, ", ".join(missing))
                person = person_of(item.notifier)
                if person and self.intent_map.people[person].user_env in missing:
                    speech = phrase(locale, "person_not_configured", name=_escape(person))
                else:
                    speech = phrase(locale, "not_configured")
                return Outcome(name, Status.NOT_CONFIGURED, speech)
        checked: list[RenderedNotification] | Outcome = rendered
        if any(item.validate_devices for item in rendered):  # else there is nothing to check
            checked = self.sender.check_devices(name, rendered, spec.notifications, credentials, deadline, locale)
        if isinstance(checked, Outcome):
            return checked
        if self.receipts is not None:  # emergency alerts carry the callback URL (PUBLIC_URL)
            checked = [dataclasses.replace(i, message=self.receipts.prepare(i.message)) for i in checked]
        deliveries = self.sender.send_all(name, checked, credentials, deadline)
        if self.receipts is not None:
            for delivery in deliveries:
                if delivery.receipt:
                    self.receipts.record(name, delivery.notifier, delivery.message, delivery.receipt)
        return self._answer(spec, deliveries, context, locale)

    def _answer(
        self, spec: IntentSpec, deliveries: list[Delivery], context: dict[str, Any], locale: str | None
    ) -> Outcome:
        name = spec.name
        status = max((d.status for d in deliveries), key=_RANK.__getitem__, default=Status.SPOKEN)
        if status in _SPOKEN_AFTER_SENDING:
            said = speech_context(context, deliveries, self._reads_sent.get(name, SPEECH_NAMES))
            speech = self.speak(spec.speech, said, locale)
            if not speech:
                speech = (
                    phrase(locale, "sent_many", count=len(deliveries))
                    if len(deliveries) > 1
                    else phrase(locale, "sent")
                )
                if status == Status.SPOKEN:
                    speech = ""
            if status == Status.DRY_RUN and spec.speech is None:
                speech = phrase(locale, "dry_run")
            dropped = [d for d in deliveries if d.attachment_error]
            if dropped:
                key = "attachment_dropped_dry_run" if dropped[0].status == Status.DRY_RUN else "attachment_dropped"
                speech += " " + phrase(locale, key, reason=_escape(dropped[0].attachment_error or ""))
            outcome = Outcome(name, status, speech, deliveries=deliveries)
            outcome.reprompt = self.speak(spec.reprompt, said, locale) or None
            # A reprompt that renders empty is no reprompt (as in Home Assistant): unless the map says
            # `end_session: false`, the session ends rather than wait in silence.
            outcome.end_session = spec.end_session if spec.end_session is not None else outcome.reprompt is None
            if spec.card:
                try:  # the notification is out: a broken card must not make the person send it again
                    outcome.card = (
                        render_text(spec.card.title, said, locale),
                        render_text(spec.card.content, said, locale),
                    )
                except RenderError as err:
                    logger.warning("intent %s: card template failed: %s", name, err)
            return outcome
        worst = next(d for d in deliveries if d.status == status)
        if status == Status.QUEUED:
            speech = phrase(locale, "queued")
        elif status == Status.UNAVAILABLE:
            unconfirmed = any(d.unconfirmed for d in deliveries if d.status == status)
            speech = phrase(locale, "unconfirmed" if unconfirmed else "unavailable")
        elif status == Status.QUOTA:
            speech = phrase(locale, "quota")
        else:
            speech = (
                phrase(locale, "refused", reason=_escape(worst.error))
                if worst.error
                else phrase(locale, "refused_generic")
            )
        return Outcome(name, status, speech, deliveries=deliveries)

    def speak(self, spec: SpeechSpec | None, context: Mapping[str, Any], locale: str | None) -> str:
        if spec is None:
            return ""
        try:
            return render_speech(spec.text.pick(locale), context)
        except RenderError as err:
            logger.warning("speech template failed: %s", err)
            return ""

    def close(self) -> None:
        """Release the HTTP sessions (of the client and loader made or given)."""
        for part in (self._client, self._loader):
            if part is not None:
                part.close()


def _new_client(service: Service) -> PushoverClient:
    from .pushover import PushoverClient

    s = service.settings
    return PushoverClient(s.pushover_api_url, connect_timeout_s=s.connect_timeout_s, read_timeout_s=s.read_timeout_s)


def _new_loader(service: Service) -> AttachmentLoader:
    from .attachments import AttachmentLoader

    dirs = [*service.settings.attachment_dirs, *service.intent_map.attachment_dirs]
    return AttachmentLoader(dirs, service.intent_map.attachment_hosts)


def _new_sender(service: Service) -> Sender:
    from .delivery import Sender

    return Sender(service)


_PARTS: dict[str, Callable[[Service], Any]] = {"_client": _new_client, "_loader": _new_loader, "_sender": _new_sender}


#: Statuses after which the intent's own speech is said.
_SPOKEN_AFTER_SENDING = frozenset({Status.SENT, Status.DRY_RUN, Status.ATTACHMENT_DROPPED, Status.SPOKEN})
#: A delivery status's place in ``SEVERITY``.
_RANK = {status: i for i, status in enumerate(SEVERITY)}
