"""What the skill says on its own, in English and German (``{name}`` fields are plain text)."""

from __future__ import annotations

from typing import Final

PHRASES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "launch": "Welcome. Tell me what to send, or say help.",
        "launch_reprompt": "What should I send?",
        "help": "I send notifications to your phones with Pushover. You can say: {examples}.",
        "help_no_examples": "I send notifications to your phones with Pushover. Tell me what to send.",
        "help_reprompt": "What should I send?",
        "goodbye": "Goodbye.",
        "fallback": "Sorry, I can't help with that. Say help to hear what I can do.",
        "unknown_intent": "Sorry, I don't know what to do for {intent}.",
        "sent": "OK, I sent the notification.",
        "sent_many": "OK, I sent {count} notifications.",
        "dry_run": "OK. I'm in test mode, so I didn't really send it.",
        "dry_run_cancel": "OK. I'm in test mode, so I didn't really stop any alert.",
        "attachment_dropped": "I sent it without the picture, because {reason}.",
        "attachment_dropped_dry_run": "It would go without the picture, because {reason}.",
        "refused": "Pushover refused the notification: {reason}. Please check the skill's Pushover keys.",
        "refused_generic": "Pushover refused the notification. Please check the skill's Pushover keys.",
        "quota": "Pushover's monthly message limit for this skill is used up, so nothing was sent.",
        "queued": "Pushover isn't answering right now; I'll keep trying.",
        "unavailable": "Pushover isn't answering right now, so the notification was not sent. Please try again later.",
        "not_configured": "This skill is not set up yet: its Pushover keys are missing.",
        "unknown_device": "I don't know a device called {device}. Your devices are {devices}.",
        "unknown_device_none": "I don't know a device called {device}, and your account has no devices.",
        "no_device": "I didn't catch which device to send it to, so I sent nothing.",
        "no_device_known": "I didn't catch which device to send it to, so I sent nothing. Your devices are {devices}.",
        "unconfirmed": "Pushover didn't confirm the notification in time, so it may not have arrived. "
        "Please check before you ask again.",
        "render_failed": "I couldn't put that notification together: {reason}.",
        "error": "Sorry, something went wrong. Please try again.",
        "elicit": "What is the {slot}?",
        "confirm_denied": "OK, I won't send it.",
        "canceled": "I stopped {count} alerts.",
        "canceled_one": "I stopped one alert.",
        "canceled_none": "There was no alert to stop.",
        "voice_unknown": (
            "I don't know whose voice this is. Set up a voice profile in the Alexa app and turn on "
            "personalization for this skill."
        ),
        "voice_not_in_map": (
            "I recognize your voice, but you aren't one of this skill's people yet, so I sent nothing. "
            "The skill's log says which id to add."
        ),
        "person_unknown": "I don't know anyone called {name}, so I sent nothing. I can send to {people}.",
        "person_unknown_nobody": "I don't know anyone called {name}, and this skill has no people set up.",
        "person_missing": "I didn't catch whom to send it to, so I sent nothing. I can send to {people}.",
        "person_not_configured": "{name} is not set up yet: the skill has no Pushover key for {name}.",
        "alert_acknowledged_by": "{name} acknowledged your alert from {sent} on {device}, {after} after it was sent.",
        "alert_acknowledged_by_nodevice": "{name} acknowledged your alert from {sent}, {after} after it was sent.",
        "alert_acknowledged_on": "Your alert from {sent} was acknowledged on {device}, {after} after it was sent.",
        "alert_acknowledged": "Your alert from {sent} was acknowledged {after} after it was sent.",
        "alert_open": "Nobody has acknowledged the alert from {sent} yet; Pushover repeats it every {retry} seconds "
        "until {expires}.",
        "alert_expired": "The alert from {sent} expired without an acknowledgement.",
        "alert_cancelled": "You cancelled the alert at {cancelled}.",
        "alert_none": "There's no recent alert.",
        "alert_status_unavailable": "I can't look up your alerts right now.",
        "launch_open_alert": "Your alert from {sent} hasn't been acknowledged yet.",
        "duration_second": "one second",
        "duration_seconds": "{n} seconds",
        "duration_minute": "one minute",
        "duration_minutes": "{n} minutes",
        "duration_hour": "one hour",
        "duration_hours": "{n} hours",
        "and": "and",
    },
    "de": {
        "launch": "Willkommen. Sag mir, was ich senden soll, oder sag Hilfe.",
        "launch_reprompt": "Was soll ich senden?",
        "help": "Ich sende Benachrichtigungen mit Pushover an deine Telefone. Du kannst sagen: {examples}.",
        "help_no_examples": "Ich sende Benachrichtigungen mit Pushover an deine Telefone. Sag mir, was ich senden soll.",
        "help_reprompt": "Was soll ich senden?",
        "goodbye": "Tschüss.",
        "fallback": "Das kann ich leider nicht. Sag Hilfe, um zu hören, was ich kann.",
        "unknown_intent": "Ich weiß leider nicht, was ich für {intent} tun soll.",
        "sent": "OK, ich habe die Benachrichtigung gesendet.",
        "sent_many": "OK, ich habe {count} Benachrichtigungen gesendet.",
        "dry_run": "OK. Ich bin im Testmodus und habe nichts wirklich gesendet.",
        "dry_run_cancel": "OK. Ich bin im Testmodus und habe keinen Alarm wirklich gestoppt.",
        "attachment_dropped": "Ich habe sie ohne das Bild gesendet, weil {reason}.",
        "attachment_dropped_dry_run": "Sie ginge ohne das Bild hinaus, weil {reason}.",
        "refused": "Pushover hat die Benachrichtigung abgelehnt: {reason}. Bitte prüfe die Pushover-Schlüssel des Skills.",
        "refused_generic": "Pushover hat die Benachrichtigung abgelehnt. Bitte prüfe die Pushover-Schlüssel des Skills.",
        "quota": "Das monatliche Nachrichtenlimit bei Pushover ist aufgebraucht, deshalb wurde nichts gesendet.",
        "queued": "Pushover antwortet gerade nicht; ich versuche es weiter.",
        "unavailable": "Pushover antwortet gerade nicht, die Benachrichtigung wurde nicht gesendet. Bitte versuch es später.",
        "not_configured": "Dieser Skill ist noch nicht eingerichtet: die Pushover-Schlüssel fehlen.",
        "unknown_device": "Ich kenne kein Gerät namens {device}. Deine Geräte sind {devices}.",
        "unknown_device_none": "Ich kenne kein Gerät namens {device}, und dein Konto hat keine Geräte.",
        "no_device": "Ich habe nicht verstanden, an welches Gerät, deshalb habe ich nichts gesendet.",
        "no_device_known": "Ich habe nicht verstanden, an welches Gerät, deshalb habe ich nichts gesendet. "
        "Deine Geräte sind {devices}.",
        "unconfirmed": "Pushover hat die Benachrichtigung nicht rechtzeitig bestätigt, vielleicht ist sie nicht "
        "angekommen. Bitte schau nach, bevor du es noch einmal versuchst.",
        "render_failed": "Ich konnte die Benachrichtigung nicht zusammenstellen: {reason}.",
        "error": "Entschuldigung, da ist etwas schiefgegangen. Bitte versuch es noch einmal.",
        "elicit": "Was ist {slot}?",
        "confirm_denied": "OK, ich sende sie nicht.",
        "canceled": "Ich habe {count} Alarme gestoppt.",
        "canceled_one": "Ich habe einen Alarm gestoppt.",
        "canceled_none": "Es gab keinen Alarm zum Stoppen.",
        "voice_unknown": (
            "Ich weiß nicht, wessen Stimme das ist. Richte in der Alexa-App ein Stimmprofil ein und schalte "
            "die Personalisierung für diesen Skill ein."
        ),
        "voice_not_in_map": (
            "Ich erkenne deine Stimme, aber du gehörst noch nicht zu den Personen dieses Skills, deshalb habe "
            "ich nichts gesendet. Im Protokoll des Skills steht, welche ID fehlt."
        ),
        "person_unknown": "Ich kenne niemanden namens {name}, deshalb habe ich nichts gesendet. Ich kann an {people} senden.",
        "person_unknown_nobody": "Ich kenne niemanden namens {name}, und für diesen Skill sind keine Personen eingerichtet.",
        "person_missing": "Ich habe nicht verstanden, an wen es gehen soll, deshalb habe ich nichts gesendet. Ich kann an {people} senden.",
        "person_not_configured": "{name} ist noch nicht eingerichtet: dem Skill fehlt der Pushover-Schlüssel für {name}.",
        "alert_acknowledged_by": "{name} hat deinen Alarm von {sent} auf {device} bestätigt, {after} nach dem Senden.",
        "alert_acknowledged_by_nodevice": "{name} hat deinen Alarm von {sent} bestätigt, {after} nach dem Senden.",
        "alert_acknowledged_on": "Dein Alarm von {sent} wurde auf {device} bestätigt, {after} nach dem Senden.",
        "alert_acknowledged": "Dein Alarm von {sent} wurde {after} nach dem Senden bestätigt.",
        "alert_open": "Noch niemand hat den Alarm von {sent} bestätigt; Pushover wiederholt ihn alle {retry} Sekunden "
        "bis {expires}.",
        "alert_expired": "Der Alarm von {sent} ist abgelaufen, ohne dass ihn jemand bestätigt hat.",
        "alert_cancelled": "Du hast den Alarm um {cancelled} abgebrochen.",
        "alert_none": "Es gibt keinen aktuellen Alarm.",
        "alert_status_unavailable": "Ich kann deine Alarme gerade nicht nachsehen.",
        "launch_open_alert": "Dein Alarm von {sent} ist noch nicht bestätigt.",
        "duration_second": "eine Sekunde",
        "duration_seconds": "{n} Sekunden",
        "duration_minute": "eine Minute",
        "duration_minutes": "{n} Minuten",
        "duration_hour": "eine Stunde",
        "duration_hours": "{n} Stunden",
        "and": "und",
    },
}


def phrase(locale: str | None, key: str, **fields: object) -> str:
    """The built-in phrase ``key`` in the request's language (English when we have no other)."""
    lang = (locale or "en").split("-")[0].lower()
    table = PHRASES.get(lang, PHRASES["en"])
    return table.get(key, PHRASES["en"][key]).format(**fields)


def join_words(items: list[str], locale: str | None) -> str:
    """Join words as "a, b and c" in the language of the request."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {phrase(locale, 'and')} " + items[-1]


def counted(count: int, one: str, many: str | None = None) -> str:
    """A count with its noun, as the command line prints it: "1 intent", "2 intents", "0 warnings"."""
    return f"{count} {one if count == 1 else many or one + 's'}"
