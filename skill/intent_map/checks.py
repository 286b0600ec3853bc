"""The cross-checks, once every intent is read: declared notifiers and slot types, names templates use."""

from __future__ import annotations

from collections.abc import Iterator

from .. import const
from ..render import CONTEXT_NAMES, SPEECH_NAMES, Template, slot_key
from .checker import Checker
from .household import check_recipients
from .names import is_application_id, is_session_end_name
from .spec import ALERT_STATUS_NAMES, SESSION_END_NAMES, IntentMap, IntentSpec, Pos, SlotSpec


def check_references(c: Checker, imap: IntentMap) -> None:
    """Notifiers and slot types used but not declared, intents that do nothing."""
    for spec in imap.specs():
        for notification in spec.notifications:
            if notification.notifier != const.DEFAULT_NOTIFIER and notification.notifier not in imap.notifiers:
                c.error(
                    notification.pos,
                    f"{spec.name}: notifier {notification.notifier!r} is not declared under notifiers: "
                    f"(add `notifiers: {{{notification.notifier}: {{token_env: …, user_env: …}}}}`)",
                )
        if (
            spec.cancel
            and spec.cancel.notifier != const.DEFAULT_NOTIFIER
            and spec.cancel.notifier not in imap.notifiers
        ):
            c.error(spec.cancel.pos, f"{spec.name}: notifier {spec.cancel.notifier!r} is not declared")
        if spec.alert_status is not None:
            check_alert_status(c, imap, spec)
        if is_session_end_name(spec.name):
            if not spec.notifications:
                c.warn(spec.pos, f"{spec.name} sends nothing: Alexa speaks no answer when a session ends")
        elif not spec.notifications and not spec.cancel and not spec.alert_status and spec.speech is None:
            c.warn(spec.pos, f"intent {spec.name} sends nothing and says nothing")
        for slot in spec.slots.values():
            if slot.type and not slot.type.startswith("AMAZON.") and slot.type not in imap.slot_types:
                c.error(slot.pos, f"slot {spec.name}.{slot.name}: type {slot.type!r} is not declared under slot_types")
        check_variables(c, spec)
    check_recipients(c, imap)


def check_alert_status(c: Checker, imap: IntentMap, spec: IntentSpec) -> None:
    """``alert_status`` names an intent of the map that sends emergency alerts, and does nothing else."""
    target = imap.intents.get(spec.alert_status or "")
    if target is None:
        c.error(spec.alert_status_pos, f"{spec.name}.alert_status: no intent {spec.alert_status!r} in this map")
    elif not any(n.priority == const.EMERGENCY_PRIORITY for n in target.notifications):
        c.warn(
            spec.alert_status_pos,
            f"{spec.name}.alert_status: {target.name} sends no priority 2 alert, so there is never a receipt to report",
        )
    if spec.notifications or spec.cancel:
        c.error(spec.alert_status_pos, f"{spec.name}: alert_status answers a question; it neither sends nor cancels")


def check_variables(c: Checker, spec: IntentSpec) -> None:
    """Names templates read: declared slots, known names, or (undeclared) new slots."""
    known = set(CONTEXT_NAMES) | (SESSION_END_NAMES if is_session_end_name(spec.name) else set())
    speech_known = known | SPEECH_NAMES | (ALERT_STATUS_NAMES if spec.alert_status else frozenset())
    declared = {slot_key(n) for n in spec.slots}
    declared |= {k + "_Id" for k in declared}
    for template, pos, in_speech in _templates_of(spec):
        for var in sorted(template.variables):
            if var in declared or var in known or (in_speech and var in speech_known):
                continue
            base = var.removesuffix("_Id")
            if spec.slots_declared:  # an error everywhere: serve, simulate and Lambda refuse it as check does
                c.error(
                    pos,
                    f"{spec.name}: template names {var!r}, which is neither a slot of the intent "
                    f"({', '.join(sorted(spec.slots)) or 'none declared'}) nor a known name",
                    "undeclared-slot",
                )
            elif base not in spec.slots:
                spec.slots[base] = SlotSpec(base, declared=False, pos=pos)
            declared |= {base, base + "_Id"}


def _templates_of(spec: IntentSpec) -> Iterator[tuple[Template, Pos, bool]]:
    """Every template of an intent, where it stands, and whether it is speech."""
    for notification in spec.notifications:
        for field_ in [*notification.fields.values(), *notification.targets]:
            for tmpl in field_.templates.all():
                yield tmpl, field_.pos, False
    for speech in (spec.speech, spec.reprompt):
        if speech:
            for tmpl in speech.text.templates.all():
                yield tmpl, speech.text.pos, True
    if spec.card:
        for field_ in (spec.card.title, spec.card.content):
            for tmpl in field_.templates.all():
                yield tmpl, field_.pos, True
    if spec.confirm:
        for tmpl in spec.confirm.templates.all():
            yield tmpl, spec.confirm.pos, False
    if spec.cancel:
        for tmpl in spec.cancel.tag.templates.all():
            yield tmpl, spec.cancel.tag.pos, False
    for slot in spec.slots.values():
        if slot.prompt:
            for tmpl in slot.prompt.templates.all():
                yield tmpl, slot.prompt.pos, False


def add_intent(c: Checker, imap: IntentMap, spec: IntentSpec | None) -> bool:
    """Add ``spec`` (an intent, a launch answer or a session end) to the map, unless another form or entry
    defined that name."""
    if spec is None:
        return False
    if is_application_id(spec.name):
        target = imap.launch_answers
    else:
        target = imap.session_ends if is_session_end_name(spec.name) else imap.intents
    if spec.name in target:
        first = target[spec.name].pos
        c.error(spec.pos, f"intent {spec.name} is defined twice (first at line {first.line})")
        return False
    target[spec.name] = spec
    return True
