"""The pure core: an intent and its slots in, an Outcome (what was sent, what to say) out.

No ASK SDK and no Flask here: the same core serves the web endpoint, Lambda and ``simulate``.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import const
from .attachments import AttachmentLoader
from .config import Credentials, Settings
from .deadline import DEFAULT_WORK_S, Deadline
from .delivery import Sender
from .errors import (
    OutboxError,
    PushoverError,
    QuotaExceededError,
    ReceiptError,
    RenderError,
    TransientError,
    UnknownDeviceError,
)
from .intent_map import IntentMap, IntentSpec, SpeechSpec
from .outcome import SEVERITY, Delivery, Outbox, Outcome, Status
from .people import People, Refusal, Speaker, person_of, person_route
from .phrases import join_words, phrase
from .pushover import PushoverClient
from .render import (
    SPEECH_NAMES,
    RenderedNotification,
    SlotValue,
    Template,
    build_context,
    escape_ssml,
    render_notification,
    render_speech,
    render_text,
)

__all__ = ["Delivery", "Outbox", "Outcome", "Service", "Status"]

if TYPE_CHECKING:
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
        #: Device checks, attachments and sends, run at once under each request's deadline.
        self.sender = Sender(self)
        #: How long a request's calls may take when the host gives no deadline (simulate, tests).
        self.deadline_s = DEFAULT_WORK_S
        #: Receipts of emergency alerts (skill.receipts); the web service and Lambda give one.
        self.receipts = receipts
        #: per intent, the names of what was sent (``SPEECH_NAMES``) its speech, reprompt or card templates read
        self._reads_sent = {
            spec.name: frozenset().union(*(t.variables for t in _response_templates(spec))) & SPEECH_NAMES
            for spec in intent_map.specs()
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
        speech = self._open_alert_note(locale) + speech
        return Outcome("LaunchRequest", Status.LAUNCH, speech, reprompt, end_session=False)

    def _open_alert_note(self, locale: str | None) -> str:
        """What the greeting says first while an alert repeats unacknowledged (``LAUNCH_OPEN_ALERTS=0``: never)."""
        if self.receipts is None or not self.settings.launch_open_alerts:
            return ""
        from .receipts.speech import launch_sentence

        try:
            alerts = self.receipts.open_alerts(refresh=True)
        except ReceiptError as err:
            logger.warning("launch: cannot read the open alerts: %s", err)
            return ""
        return _escape(launch_sentence(alerts[0], locale, self.receipts.zone)) + " " if alerts else ""

    def name_for_user_key(self, user_key: str) -> str | None:
        """The person of ``people:`` with this Pushover user key (who acknowledged an alert), or None."""
        return self.people.name_for_user_key(user_key, self.settings.environ)

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
                name, Status.UNKNOWN_INTENT, phrase(locale, "unknown_intent", intent=_escape(_spoken_name(name)))
            )
        return self._handle(spec, slots, locale, confirmation, speaker, deadline)

    def _handle(
        self,
        spec: IntentSpec,
        slots: Mapping[str, SlotValue],
        locale: str | None,
        confirmation: str | None,
        speaker: Speaker | None = None,
        deadline: Deadline | None = None,
    ) -> Outcome:
        """Run ``spec`` with ``slots``; a template that fails to render becomes what the person hears."""
        name = spec.name
        speaker = speaker or Speaker()
        context = build_context(
            slots, spec.defaults(), intent_name=name, locale=locale or "", names=speaker.template_names()
        )
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
            return self._cancel(spec, context, locale, deadline)
        if spec.alert_status is not None:
            return self._alert_status(spec, context, locale, deadline)
        rendered = [
            self._routed(render_notification(n, context, locale, intent_name=name), route)
            for n, route in zip(spec.notifications, routes, strict=True)
        ]
        return self._deliver(spec, rendered, context, locale, deadline)

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
            speech_context = _speech_context(context, deliveries, self._reads_sent.get(name, SPEECH_NAMES))
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

    def _failed(self, name: str, deliveries: list[Delivery], err: PushoverError, locale: str | None) -> Outcome:
        if isinstance(err, QuotaExceededError):
            return Outcome(name, Status.QUOTA, phrase(locale, "quota"), deliveries=deliveries)
        if isinstance(err, TransientError):
            return Outcome(name, Status.UNAVAILABLE, phrase(locale, "unavailable"), deliveries=deliveries)
        reason = _reason(err)
        speech = phrase(locale, "refused", reason=_escape(reason)) if reason else phrase(locale, "refused_generic")
        return Outcome(name, Status.REFUSED, speech, deliveries=deliveries)

    def _unknown_device(self, name: str, err: UnknownDeviceError, locale: str | None) -> Outcome:
        device = _escape(err.device)
        if err.known:
            speech = phrase(locale, "unknown_device", device=device, devices=_escape(join_words(err.known, locale)))
        else:
            speech = phrase(locale, "unknown_device_none", device=device)
        return Outcome(name, Status.UNKNOWN_DEVICE, speech)

    def _cancel(self, spec: IntentSpec, context: dict[str, Any], locale: str | None, deadline: Deadline) -> Outcome:
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
                cancel = lambda: self.client.cancel_by_tag(creds.token, tag)  # noqa: E731
                count = self.sender.in_time(cancel, deadline, "cancel by tag") + waiting
            except PushoverError as err:
                if not waiting:
                    return self._failed(spec.name, [], err, locale)
                logger.warning("intent %s: cancel by tag failed at Pushover: %s", spec.name, err)
                count = waiting
        if self.receipts is not None and not self.dry_run:
            self.receipts.cancel_tagged(tag)
        speech_context = {**context, "canceled": count}
        speech = self._speak(spec.speech, speech_context, locale)
        if not speech:
            key = "canceled_none" if count == 0 else "canceled_one" if count == 1 else "canceled"
            speech = phrase(locale, key, count=count)
        if self.dry_run and spec.speech is None:
            speech = phrase(locale, "dry_run_cancel")
        return Outcome(spec.name, Status.CANCELED, speech, canceled=count, cancel_tag=tag)

    def _alert_status(
        self, spec: IntentSpec, context: dict[str, Any], locale: str | None, deadline: Deadline
    ) -> Outcome:
        """ "Did anyone acknowledge my alert?": the newest alert of the intent ``alert_status`` names."""
        from .receipts.speech import status_context, status_sentence

        assert spec.alert_status is not None
        book = self.receipts
        if book is None:
            logger.warning("intent %s: no receipts are kept here (web service or RECEIPTS_TABLE)", spec.name)
            return Outcome(spec.name, Status.UNAVAILABLE, phrase(locale, "alert_status_unavailable"))
        try:
            receipt = book.latest(spec.alert_status, wait_s=deadline.remaining())
        except ReceiptError as err:
            logger.error("intent %s: cannot read the receipts: %s", spec.name, err)
            return Outcome(spec.name, Status.UNAVAILABLE, phrase(locale, "alert_status_unavailable"))
        now = book.clock()
        speech_context = {**context, **status_context(receipt, now, locale, book.zone)}
        speech = self._speak(spec.speech, speech_context, locale) or _escape(
            status_sentence(receipt, now, locale, book.zone)
        )
        outcome = Outcome(spec.name, Status.SPOKEN, speech, end_session=not spec.keeps_session_open)
        outcome.reprompt = self._speak(spec.reprompt, speech_context, locale) or None
        if spec.card:
            try:
                outcome.card = (
                    render_text(spec.card.title, speech_context, locale),
                    render_text(spec.card.content, speech_context, locale),
                )
            except RenderError as err:
                logger.warning("intent %s: card template failed: %s", spec.name, err)
        return outcome

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


#: Statuses after which the intent's own speech is said.
_SPOKEN_AFTER_SENDING = frozenset({Status.SENT, Status.DRY_RUN, Status.ATTACHMENT_DROPPED, Status.SPOKEN})
#: A delivery status's place in ``SEVERITY``.
_RANK = {status: i for i, status in enumerate(SEVERITY)}


def _speech_context(context: dict[str, Any], deliveries: list[Delivery], reads: frozenset[str]) -> dict[str, Any]:
    """What speech, reprompt and card templates see: the request's context and what was sent.

    ``reads``: the names of what was sent that those templates read; when none, ``context`` as it is
    (templates see only the names they read, so nothing else could tell the difference).
    """
    if not reads:
        return context
    result = dict(context)
    if deliveries:
        first = deliveries[0].message
        result.update(
            message=first.message, title=first.title or "", devices=list(first.devices), priority=first.priority,
            retry=first.retry, expire=first.expire, receipt=deliveries[0].receipt or "",
        )  # fmt: skip
    if "notifications" in reads:  # building the list costs more than the rest of the answer
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
