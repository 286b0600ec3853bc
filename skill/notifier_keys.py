"""Which Pushover keys each notifier of the map has: its token and user key(s), or the variables it still needs."""

from __future__ import annotations

from . import const
from .config import Credentials, Settings
from .intent_map import IntentMap
from .people import person_of, person_route


class NotifierKeys:
    """The keys of the map's notifiers and people, read from the settings' environment."""

    def __init__(self, intent_map: IntentMap, settings: Settings) -> None:
        self.intent_map = intent_map
        self.settings = settings

    def credentials_for(self, notifier: str) -> Credentials | None:
        """The token and user key(s) of a notifier (or ``person:<name>`` route), or None when a variable is missing.

        Raises KeyError for a notifier or person the map does not have (the outbox keeps such an item waiting).
        """
        name = person_of(notifier)
        if name is not None:
            person = self.intent_map.people[name]
            token, user = self.app_token(person.notifier), self.settings.environ.get(person.user_env, "").strip()
            return Credentials(token, user) if token and user else None
        if notifier == const.DEFAULT_NOTIFIER:
            return self.settings.credentials
        spec = self.intent_map.notifiers[notifier]
        env = self.settings.environ
        token, user = env.get(spec.token_env, "").strip(), env.get(spec.user_env, "").strip()
        return Credentials(token, user) if token and user else None

    def can_send(self) -> bool:
        """True when some notifier the map uses has its token and user key."""
        used = {n.notifier for spec in self.intent_map.specs() for n in spec.notifications}
        used |= {spec.cancel.notifier for spec in self.intent_map.specs() if spec.cancel}
        if any(n.to for spec in self.intent_map.specs() for n in spec.notifications):
            used |= {person_route(name) for name in self.intent_map.people}
        return any(self.credentials_for(name) is not None for name in used)

    def app_token(self, notifier: str) -> str:
        """A notifier's application token (empty when its variable is not set)."""
        if notifier == const.DEFAULT_NOTIFIER:
            return self.settings.pushover_token or ""
        return self.settings.environ.get(self.intent_map.notifiers[notifier].token_env, "").strip()

    def token_variable(self, notifier: str) -> str:
        """The variable holding a notifier's application token."""
        return "PUSHOVER_TOKEN" if notifier == const.DEFAULT_NOTIFIER else self.intent_map.notifiers[notifier].token_env

    def missing_variables(self, notifier: str) -> list[str]:
        """The environment variables a notifier (or ``person:<name>`` route) still needs."""
        name = person_of(notifier)
        if name is not None:
            person = self.intent_map.people[name]
            needed = {self.token_variable(person.notifier): self.app_token(person.notifier)}
            needed[person.user_env] = self.settings.environ.get(person.user_env, "").strip()
            return [variable for variable, value in needed.items() if not value]
        if notifier == const.DEFAULT_NOTIFIER:
            return self.settings.missing_credentials
        spec = self.intent_map.notifiers[notifier]
        env = self.settings.environ
        return [name for name in (spec.token_env, spec.user_env) if not env.get(name, "").strip()]

    def setup_warnings(self, *, dry_run: bool) -> list[str]:
        """A line for each notifier the map uses that cannot send: half its keys set, or none while others send."""
        lines = []
        for name in sorted({n.notifier for spec in self.intent_map.specs() for n in spec.notifications}):
            missing = self.missing_variables(name)
            if not missing or (len(missing) == 2 and dry_run):
                continue
            intents = [s.name for s in self.intent_map.specs() if any(n.notifier == name for n in s.notifications)]
            who = "the default notifier" if name == const.DEFAULT_NOTIFIER else f"notifier {name!r}"
            lines.append(
                f"{who} is not set up: {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set, "
                f'so {", ".join(intents)} will answer "This skill is not set up yet"'
            )
        return lines
