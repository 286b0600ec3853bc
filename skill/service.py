"""The pure core: an intent and its slots in, an Outcome (what was sent, what to say) out.

No ASK SDK and no Flask here: the same core serves the web endpoint, Lambda and ``simulate``.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from . import const
from .attachments import AttachmentLoader
from .config import Credentials, Settings
from .errors import (
    AttachmentError,
    OutboxError,
    PermanentError,
    PushoverError,
    QuotaExceededError,
    RenderError,
    TransientError,
    UnknownDeviceError,
)
from .intent_map import IntentMap, IntentSpec, SpeechSpec
from .people import People, Refusal, Speaker, person_of, person_route
from .phrases import join_words, phrase
from .pushover import Message, PushoverClient
from .render import (
    RenderedNotification,
    SlotValue,
    Template,
    build_context,
    escape_ssml,
    render_notification,
    render_speech,
    render_text,
)

logger = logging.getLogger(__name__)


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
_SEVERITY = [
    Status.SENT, Status.DRY_RUN, Status.ATTACHMENT_DROPPED, Status.QUEUED,
    Status.UNAVAILABLE, Status.REFUSED, Status.QUOTA,
]  # fmt: skip


class Outbox(Protocol):
    """Where transiently failed notifications wait for a retry (see skill.outbox)."""

    def put(self, notifier: str, message: Message, *, validate_devices: bool = False, intent: str = "") -> str: ...

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
        for key in ("request_id", "receipt", "attachment_ref", "attachment_error", "error", "outbox_id", "note"):
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

    @property
    def request_ids(self) -> list[str]:
        """Pushover request ids of what was sent."""
        return [d.request_id for d in self.deliveries if d.request_id]


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
    ) -> None:
        self.intent_map = intent_map
        self.settings = settings
        if dry_run is None:
            # Missing default keys imply a dry run only when no notifier the map uses can send:
            # a map whose intents all use named notifiers needs no PUSHOVER_TOKEN.
            dry_run = settings.dry_run and (settings.dry_run_requested or not self._can_send())
        self.dry_run = dry_run
        self.client = client or PushoverClient(
            settings.pushover_api_url,
            connect_timeout_s=settings.connect_timeout_s,
            read_timeout_s=settings.read_timeout_s,
        )
        self.loader = loader or AttachmentLoader(
            [*settings.attachment_dirs, *intent_map.attachment_dirs], intent_map.attachment_hosts
        )
        self.outbox = outbox
        #: who is speaking and where; the unknown ids seen (for /healthz)
        self.people = People(intent_map.people, intent_map.rooms)
        #: intents whose speech, reprompt or card templates read ``notifications``
        self._lists_notifications = {
            spec.name
            for spec in intent_map.specs()
            if any("notifications" in t.variables for t in _response_templates(spec))
        }

    # -- credentials

    def credentials_for(self, notifier: str) -> Credentials | None:
        """The token and user key(s) of a notifier (or ``person:<name>`` route), or None when a variable is missing.

        Raises KeyError for a notifier or person the map does not have (the outbox keeps such an item waiting).
        """
        name = person_of(notifier)
        if name is not None:
            person = self.intent_map.people[name]
            token, user = self._app_token(person.notifier), self.settings.environ.get(person.user_env, "").strip()
            return Credentials(token, user) if token and user else None
        if notifier == const.DEFAULT_NOTIFIER:
            return self.settings.credentials
        spec = self.intent_map.notifiers[notifier]
        env = self.settings.environ
        token, user = env.get(spec.token_env, "").strip(), env.get(spec.user_env, "").strip()
        return Credentials(token, user) if token and user else None

    def _can_send(self) -> bool:
        """True when some notifier the map uses has its token and user key."""
        used = {n.notifier for spec in self.intent_map.specs() for n in spec.notifications}
        used |= {spec.cancel.notifier for spec in self.intent_map.specs() if spec.cancel}
        if any(n.to for spec in self.intent_map.specs() for n in spec.notifications):
            used |= {person_route(name) for name in self.intent_map.people}
        return any(self.credentials_for(name) is not None for name in used)

    def _app_token(self, notifier: str) -> str:
        """A notifier's application token (empty when its variable is not set)."""
        if notifier == const.DEFAULT_NOTIFIER:
            return self.settings.pushover_token or ""
        return self.settings.environ.get(self.intent_map.notifiers[notifier].token_env, "").strip()

    def _token_variable(self, notifier: str) -> str:
        """The variable holding a notifier's application token."""
        return "PUSHOVER_TOKEN" if notifier == const.DEFAULT_NOTIFIER else self.intent_map.notifiers[notifier].token_env

    def missing_variables(self, notifier: str) -> list[str]:
        """The environment variables a notifier (or ``person:<name>`` route) still needs."""
        name = person_of(notifier)
        if name is not None:
            person = self.intent_map.people[name]
            needed = {self._token_variable(person.notifier): self._app_token(person.notifier)}
            needed[person.user_env] = self.settings.environ.get(person.user_env, "").strip()
            return [variable for variable, value in needed.items() if not value]
        if notifier == const.DEFAULT_NOTIFIER:
            return self.settings.missing_credentials
        spec = self.intent_map.notifiers[notifier]
        env = self.settings.environ
        return [name for name in (spec.token_env, spec.user_env) if not env.get(name, "").strip()]

    def setup_warnings(self) -> list[str]:
        """A line for each notifier the map uses that cannot send: half its keys set, or none while others send."""
        lines = []
        for name in sorted({n.notifier for spec in self.intent_map.specs() for n in spec.notifications}):
            missing = self.missing_variables(name)
            if not missing or (len(missing) == 2 and self.dry_run):
                continue
            intents = [s.name for s in self.intent_map.specs() if any(n.notifier == name for n in s.notifications)]
            who = "the default notifier" if name == const.DEFAULT_NOTIFIER else f"notifier {name!r}"
            lines.append(
                f"{who} is not set up: {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set, "
                f'so {", ".join(intents)} will answer "This skill is not set up yet"'
            )
        return lines

    # -- built-in requests

    def launch(
        self,
        locale: str | None,
        application_id: str | None = None,
        *,
        person_id: str | None = None,
        device_id: str | None = None,
    ) -> Outcome:
        """The greeting for "Alexa, open …": the skill's launch answer if the map has one, else ``launch:``.

        A launch answer (Home Assistant's ``intent_script`` entry named by the applicationId) runs like an
        intent and, as in Home Assistant, keeps the session open only with a reprompt. ``launch:`` always
        listens afterwards: a person who opened the skill by name is about to say what to send. Both may
        greet the speaker (``speaker_name``, ``room``).
        """
        speaker = self.people.identify(person_id, device_id)
        answer = self.intent_map.launch_answers.get(application_id or "")
        if answer is not None:
            return self._handle(answer, {}, locale, None, speaker)
        context = build_context({}, locale=locale or "", names=speaker.template_names())
        speech = self._speak(self.intent_map.launch, context, locale) or phrase(locale, "launch")
        reprompt = self._speak(self.intent_map.launch_reprompt, context, locale) or phrase(locale, "launch_reprompt")
        return Outcome("LaunchRequest", Status.LAUNCH, speech, reprompt, end_session=False)

    def help(self, locale: str | None) -> Outcome:
        """What the skill can do, with examples from the map's samples."""
        context = build_context({}, locale=locale or "")
        speech = self._speak(self.intent_map.help, context, locale)
        if not speech:
            examples = self._examples(locale)
            speech = (
                phrase(locale, "help", examples=join_words(examples, locale))
                if examples
                else phrase(locale, "help_no_examples")
            )
        return Outcome("AMAZON.HelpIntent", Status.HELP, speech, phrase(locale, "help_reprompt"), end_session=False)

    def goodbye(self, intent: str, locale: str | None) -> Outcome:
        """Stop, cancel."""
        return Outcome(intent, Status.GOODBYE, phrase(locale, "goodbye"))

    def fallback(self, locale: str | None) -> Outcome:
        """Alexa heard nothing it could map."""
        return Outcome(
            "AMAZON.FallbackIntent", Status.FALLBACK, phrase(locale, "fallback"), phrase(locale, "help_reprompt"),
            end_session=False,
        )  # fmt: skip

    def _examples(self, locale: str | None) -> list[str]:
        """Two things a person can say, preferring samples that need no slot value."""
        samples = []
        lang = (locale or "").split("-")[0]
        for spec in self.intent_map.intents.values():
            # The request's locale, else one of the same language (en-GB hears en-US samples), else
            # the samples for every locale; never another language's.
            same_language = [v for k, v in spec.samples.items() if k.split("-")[0] == lang]
            localized = spec.samples.get(locale or "") or next(iter(same_language), None) or spec.samples.get("default")
            samples.extend((localized or [])[:1])
        samples.sort(key=lambda s: "{" in s)
        return [re.sub(r"\{([^}]*)\}", lambda m: _spoken_name(m.group(1)), s) for s in samples[:2]]

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
    ) -> Outcome:
        """Run one intent: ask for what is missing, find whom it is for, render, check devices, send, answer.

        ``person_id`` and ``device_id`` are ``context.System.person.personId`` and ``….device.deviceId``.
        """
        speaker = self.people.identify(person_id, device_id)
        spec = self.intent_map.intents.get(name)
        if spec is None:
            return Outcome(
                name, Status.UNKNOWN_INTENT, phrase(locale, "unknown_intent", intent=_escape(_spoken_name(name)))
            )
        return self._handle(spec, slots, locale, confirmation, speaker)

    def _handle(
        self,
        spec: IntentSpec,
        slots: Mapping[str, SlotValue],
        locale: str | None,
        confirmation: str | None,
        speaker: Speaker | None = None,
    ) -> Outcome:
        """Run ``spec`` with ``slots``; a template that fails to render becomes what the person hears."""
        name = spec.name
        speaker = speaker or Speaker()
        context = build_context(
            slots, spec.defaults(), intent_name=name, locale=locale or "", names=speaker.template_names()
        )
        try:
            return self._run(spec, context, locale, confirmation, speaker)
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
    ) -> Outcome:
        """Ask for what is missing, find whom it is for, confirm, then cancel or send; a RenderError ends it early."""
        name = spec.name
        for slot in spec.slots.values():
            if slot.required and slot.default is None and not context.get(slot.name.replace(".", "_")):
                prompt = render_text(slot.prompt, context, locale) if slot.prompt else ""
                speech = _escape(prompt) if prompt else phrase(locale, "elicit", slot=_escape(_spoken_name(slot.name)))
                return Outcome(name, Status.ELICIT_SLOT, speech, speech, end_session=False, elicit_slot=slot.name)
        routes = self._routes(spec, context, locale, speaker or Speaker())
        if isinstance(routes, Outcome):
            return routes
        if spec.confirm is not None:
            if confirmation == "DENIED":
                return Outcome(name, Status.DENIED, phrase(locale, "confirm_denied"))
            if confirmation != "CONFIRMED":
                prompt = _escape(render_text(spec.confirm, context, locale))
                return Outcome(name, Status.CONFIRM, prompt, prompt, end_session=False)
        if spec.cancel is not None:
            return self._cancel(spec, context, locale)
        rendered = [
            self._routed(render_notification(n, context, locale, intent_name=name), route)
            for n, route in zip(spec.notifications, routes, strict=True)
        ]
        return self._deliver(spec, rendered, context, locale)

    # -- to whom (people: and to:)

    def _routes(
        self, spec: IntentSpec, context: dict[str, Any], locale: str | None, speaker: Speaker
    ) -> list[str] | Outcome:
        """Each notification's route: its notifier, or ``person:<name>`` for ``to:``; an Outcome when one has nobody."""
        routes = []
        for notification in spec.notifications:
            if notification.to is None:
                routes.append(notification.notifier)
                continue
            found = self.people.recipient(render_text(notification.to, context, locale), speaker)
            if isinstance(found, Refusal):
                return self._nobody(spec.name, found, locale)
            routes.append(person_route(found.name))
        return routes

    def _routed(self, item: RenderedNotification, route: str) -> RenderedNotification:
        """A notification for a person goes through their route, to their devices unless it names its own."""
        name = person_of(route)
        if name is None:
            return item
        devices = item.message.devices or self.intent_map.people[name].devices
        return dataclasses.replace(item, notifier=route, message=dataclasses.replace(item.message, devices=devices))

    def _nobody(self, intent: str, refusal: Refusal, locale: str | None) -> Outcome:
        """Nothing is sent: say why, in words that tell how to fix it."""
        logger.info("intent %s: nothing sent: %s", intent, refusal.reason)
        if refusal.reason in {"voice_unknown", "voice_not_in_map"}:
            return Outcome(intent, Status.UNKNOWN_SPEAKER, phrase(locale, refusal.reason))
        people = _escape(join_words(self.people.names(), locale))
        if refusal.reason == "person_missing":
            return Outcome(intent, Status.UNKNOWN_PERSON, phrase(locale, "person_missing", people=people))
        key = "person_unknown" if people else "person_unknown_nobody"
        return Outcome(intent, Status.UNKNOWN_PERSON, phrase(locale, key, name=_escape(refusal.name), people=people))

    def _deliver(
        self, spec: IntentSpec, rendered: list[RenderedNotification], context: dict[str, Any], locale: str | None
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
        # Every device is checked before anything is sent: a misheard name must not broadcast.
        checked: list[RenderedNotification] = []
        for item, note in zip(rendered, spec.notifications, strict=True):
            creds = credentials[item.notifier]
            if item.validate_devices and not item.message.devices and note.targets and creds is not None:
                # The target came from speech and named no device at all ("," or a blank slot):
                # sending without one would reach every device.
                return self._no_device(name, creds, locale)
            if item.validate_devices and item.message.devices and creds is not None:
                try:
                    devices = self.client.resolve_devices(creds, item.message.devices)
                except UnknownDeviceError as err:
                    logger.debug("intent %s: unknown device %r; nothing sent", name, err.device)
                    return self._unknown_device(name, err, locale)
                except TransientError as err:
                    logger.warning("intent %s: cannot check devices: %s", name, err)
                    devices = None
                except PushoverError as err:
                    return self._failed(name, [], err, locale)
                if devices is not None:
                    item = dataclasses.replace(item, message=dataclasses.replace(item.message, devices=devices))
                    item = dataclasses.replace(item, validate_devices=False)
            checked.append(item)
        deliveries = [self._send_one(name, item, credentials[item.notifier]) for item in checked]
        return self._answer(spec, deliveries, context, locale)

    def _send_one(self, intent: str, item: RenderedNotification, creds: Credentials | None) -> Delivery:
        message, attachment_error = item.message, None
        if item.attachment_ref:
            try:
                message = dataclasses.replace(message, attachment=self.loader.load(item.attachment_ref))
            except AttachmentError as err:
                attachment_error = err.reason
                logger.warning("intent %s: attachment dropped: %s", intent, err)
        delivery = Delivery(item.notifier, message, Status.SENT, attachment_ref=item.attachment_ref,
                            attachment_error=attachment_error)  # fmt: skip
        if self.dry_run or creds is None:
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
        if item.validate_devices:
            # The devices could not be checked (Pushover unreachable). Sending unchecked names could
            # broadcast to every device, so only the outbox may send, after it has checked them.
            return self._queue(intent, delivery, TransientError("device check pending"), validate_devices=True)
        try:
            result = self.client.send(message, creds)
        except QuotaExceededError as err:
            delivery.status, delivery.error = Status.QUOTA, _reason(err)
        except PermanentError as err:
            delivery.status, delivery.error = Status.REFUSED, _reason(err)
            delivery.request_id = err.request_id
        except TransientError as err:
            return self._queue(intent, delivery, err, validate_devices=item.validate_devices)
        else:
            delivery.request_id, delivery.receipt = result.request_id, result.receipt
            if result.receipt:
                logger.info("intent %s: alert sent: receipt %s", intent, result.receipt)
                logger.debug("intent %s: alert %s carries tags %s", intent, result.receipt, message.tags)
            if attachment_error:
                delivery.status = Status.ATTACHMENT_DROPPED
        return delivery

    def _queue(self, intent: str, delivery: Delivery, err: TransientError, *, validate_devices: bool) -> Delivery:
        delivery.error = str(err)
        if self.outbox is None:
            delivery.status = Status.UNAVAILABLE
            return delivery
        try:
            delivery.outbox_id = self.outbox.put(
                delivery.notifier, delivery.message, validate_devices=validate_devices, intent=intent
            )
        except OutboxError as exc:
            logger.error("intent %s: could not queue for retry: %s", intent, exc)
            delivery.status = Status.UNAVAILABLE
        else:
            delivery.status = Status.QUEUED
        return delivery

    def _answer(
        self, spec: IntentSpec, deliveries: list[Delivery], context: dict[str, Any], locale: str | None
    ) -> Outcome:
        name = spec.name
        status = max((d.status for d in deliveries), key=_SEVERITY.index, default=Status.SPOKEN)
        if status in {Status.SENT, Status.DRY_RUN, Status.ATTACHMENT_DROPPED, Status.SPOKEN}:
            speech_context = _speech_context(context, deliveries, with_list=name in self._lists_notifications)
            speech = self._speak(spec.speech, speech_context, locale)
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
            outcome.reprompt = self._speak(spec.reprompt, speech_context, locale) or None
            # A reprompt that renders empty is no reprompt (as in Home Assistant): unless the map says
            # `end_session: false`, the session ends rather than wait in silence.
            outcome.end_session = spec.end_session if spec.end_session is not None else outcome.reprompt is None
            if spec.card:
                try:  # the notification is out: a broken card must not make the person send it again
                    outcome.card = (
                        render_text(spec.card.title, speech_context, locale),
                        render_text(spec.card.content, speech_context, locale),
                    )
                except RenderError as err:
                    logger.warning("intent %s: card template failed: %s", name, err)
            return outcome
        worst = next(d for d in deliveries if d.status == status)
        if status == Status.QUEUED:
            speech = phrase(locale, "queued")
        elif status == Status.UNAVAILABLE:
            speech = phrase(locale, "unavailable")
        elif status == Status.QUOTA:
            speech = phrase(locale, "quota")
        else:
            speech = (
                phrase(locale, "refused", reason=_escape(worst.error))
                if worst.error
                else phrase(locale, "refused_generic")
            )
        return Outcome(name, status, speech, deliveries=deliveries)

    def _failed(self, name: str, deliveries: list[Delivery], err: PushoverError, locale: str | None) -> Outcome:
        if isinstance(err, QuotaExceededError):
            return Outcome(name, Status.QUOTA, phrase(locale, "quota"), deliveries=deliveries)
        if isinstance(err, TransientError):
            return Outcome(name, Status.UNAVAILABLE, phrase(locale, "unavailable"), deliveries=deliveries)
        reason = _reason(err)
        speech = phrase(locale, "refused", reason=_escape(reason)) if reason else phrase(locale, "refused_generic")
        return Outcome(name, Status.REFUSED, speech, deliveries=deliveries)

    def _no_device(self, name: str, creds: Credentials, locale: str | None) -> Outcome:
        try:
            known = self.client.devices(creds)
        except PushoverError:
            known = []
        if known:
            speech = phrase(locale, "no_device_known", devices=_escape(join_words(known, locale)))
        else:
            speech = phrase(locale, "no_device")
        return Outcome(name, Status.UNKNOWN_DEVICE, speech)

    def _unknown_device(self, name: str, err: UnknownDeviceError, locale: str | None) -> Outcome:
        device = _escape(err.device)
        if err.known:
            speech = phrase(locale, "unknown_device", device=device, devices=_escape(join_words(err.known, locale)))
        else:
            speech = phrase(locale, "unknown_device_none", device=device)
        return Outcome(name, Status.UNKNOWN_DEVICE, speech)

    def _cancel(self, spec: IntentSpec, context: dict[str, Any], locale: str | None) -> Outcome:
        assert spec.cancel is not None
        tag = render_text(spec.cancel.tag, context, locale)
        creds = self.credentials_for(spec.cancel.notifier)
        if creds is None or self.dry_run:
            if not self.dry_run:
                return Outcome(spec.name, Status.NOT_CONFIGURED, phrase(locale, "not_configured"))
            logger.debug("dry run: would cancel alerts tagged %r", tag)
            count = 0
        else:
            # An alert still waiting in the outbox has not reached Pushover: cancel it here too.
            waiting = self._discard_queued(tag)
            try:
                count = self.client.cancel_by_tag(creds.token, tag) + waiting
            except PushoverError as err:
                if not waiting:
                    return self._failed(spec.name, [], err, locale)
                logger.warning("intent %s: cancel by tag failed at Pushover: %s", spec.name, err)
                count = waiting
        speech_context = {**context, "canceled": count}
        speech = self._speak(spec.speech, speech_context, locale)
        if not speech:
            key = "canceled_none" if count == 0 else "canceled_one" if count == 1 else "canceled"
            speech = phrase(locale, key, count=count)
        if self.dry_run and spec.speech is None:
            speech = phrase(locale, "dry_run")
        return Outcome(spec.name, Status.CANCELED, speech, canceled=count)

    def _discard_queued(self, tag: str) -> int:
        if self.outbox is None:
            return 0
        try:
            return self.outbox.discard_tagged(tag)
        except OutboxError as err:
            logger.error("could not drop queued alerts tagged %s: %s", tag, err)
            return 0

    def _speak(self, spec: SpeechSpec | None, context: Mapping[str, Any], locale: str | None) -> str:
        if spec is None:
            return ""
        try:
            return render_speech(spec.text.pick(locale), context)
        except RenderError as err:
            logger.warning("speech template failed: %s", err)
            return ""

    def close(self) -> None:
        """Release the HTTP sessions."""
        self.client.close()
        self.loader.close()


def _speech_context(context: dict[str, Any], deliveries: list[Delivery], *, with_list: bool) -> dict[str, Any]:
    """What speech, reprompt and card templates see: the request's context and what was sent."""
    result = dict(context)
    if deliveries:
        first = deliveries[0].message
        result.update(
            message=first.message, title=first.title or "", devices=list(first.devices), priority=first.priority,
            retry=first.retry, expire=first.expire, receipt=deliveries[0].receipt or "",
        )  # fmt: skip
    if with_list:  # building the list costs more than the rest of the answer; only when a template reads it
        result["notifications"] = [d.as_dict() for d in deliveries]
    return result


def _response_templates(spec: IntentSpec) -> list[Template]:
    fields = [spec.speech.text if spec.speech else None, spec.reprompt.text if spec.reprompt else None]
    if spec.card:
        fields += [spec.card.title, spec.card.content]
    return [t for f in fields if f is not None for t in f.templates.all()]


def _reason(err: PushoverError) -> str:
    return "; ".join(err.errors)[:200] if err.errors else ""


def _escape(text: str) -> str:
    return escape_ssml(text)


def _spoken_name(name: str) -> str:
    """``LocateIntent`` -> "locate", ``Device.Name`` -> "device name"."""
    words = name.removesuffix("Intent").replace(".", " ").replace("_", " ")
    spaced = "".join(" " + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(words))
    return " ".join(spaced.split())


def _describe(message: Message) -> str:
    parts = [f"message={message.message[:80]!r}"]
    if message.devices:
        parts.append(f"device={','.join(message.devices)}")
    if message.priority is not None:
        parts.append(f"priority={message.priority}")
    if message.attachment is not None:
        parts.append(f"attachment={message.attachment.filename}")
    return " ".join(parts)
