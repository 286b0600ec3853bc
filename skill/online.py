"""``check --online``: ask the live Pushover API about what the intent map names.

For every notifier (the default one, ``notify.notify``, when the map uses it; every declared one) and
every person of ``people:`` (their own user key, with their notifier's token, and their devices):

- its variables are set, and its user variable holds at most ``const.MAX_USER_KEYS`` keys;
- its application token is valid (``sounds.json`` answers only to a valid token);
- each of its user or group keys is valid (``users/validate.json``, one call per key);
- each literal target is a device of those keys (templated targets are checked per request);
- each literal sound that is not built in is a custom sound of the account.

This replaces the offline ``custom-sound`` warnings: a caller drops those and keeps what
:func:`check_online` returns, which repeats the warning for a sound it could not ask about.
When Pushover cannot be reached, one problem says so and nothing more is asked.
Keys and tokens never appear in a problem; a key of several is named by its place and :func:`mask`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import const
from .config import Credentials, Settings, mask
from .errors import PermanentError, Problem, TransientError
from .intent_map import IntentMap, NotificationSpec, Pos
from .phrases import join_words
from .pushover import PushoverClient

_SEPARATORS_RE = re.compile(r"[\s_-]+")


@dataclass
class _Notifier:
    """A notifier, and the literal devices and sounds the map sends through it."""

    label: str
    pos: Pos
    token_var: str
    user_var: str
    default: bool = False
    #: a person who sends with the default application (PUSHOVER_TOKEN) and their own user key
    default_app: bool = False
    #: (device name, where it stands, whether the map asked to match it forgivingly)
    devices: list[tuple[str, Pos, bool]] = field(default_factory=list)
    #: (sound name, where it stands), custom sounds only
    sounds: list[tuple[str, Pos]] = field(default_factory=list)


class _Unreachable(Exception):
    """Pushover did not answer, or the API URL does not lead to it: stop asking."""


def check_online(imap: IntentMap, settings: Settings) -> list[Problem]:
    """Problems that only the live API can find, each at the map position it concerns."""
    notifiers = _notifiers(imap)
    problems: list[Problem] = []
    checked_sounds: set[tuple[int, int]] = set()
    client = PushoverClient(
        settings.pushover_api_url,
        connect_timeout_s=settings.connect_timeout_s,
        read_timeout_s=settings.read_timeout_s,
    )
    try:
        for notifier in notifiers:
            token, user = _variables(notifier, settings)
            missing = [var for var, value in ((notifier.token_var, token), (notifier.user_var, user)) if not value]
            if missing:
                problems.append(
                    _error(
                        notifier.pos,
                        f"{notifier.label} needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
                        "not set; its keys, devices and sounds were not checked",
                    )
                )
                continue
            problems.extend(_check_notifier(client, notifier, token, user, checked_sounds))
    except _Unreachable as err:
        problems.append(Problem(imap.path, 0, 0, str(err)))
    finally:
        client.close()
    unchecked = [w for w in imap.warnings if w.code == "custom-sound" and (w.line, w.col) not in checked_sounds]
    return sorted(problems + unchecked, key=lambda p: (p.line, p.col))


def _notifiers(imap: IntentMap) -> list[_Notifier]:
    """Every notifier to check, with what the map sends through it, in map order."""
    found: dict[str, _Notifier] = {}
    for name, spec in imap.notifiers.items():
        found[name] = _Notifier(f"notifier {name}", spec.pos or Pos(imap.path, 1, 1), spec.token_env, spec.user_env)

    def use(name: str, pos: Pos) -> _Notifier:
        if name not in found:  # only the default notifier is undeclared
            found[name] = _Notifier("notify.notify", pos, "PUSHOVER_TOKEN", "PUSHOVER_USER", default=True)
        return found[name]

    for person in imap.people.values():  # their own key (and their notifier's token), and their devices
        pos = person.pos or Pos(imap.path, 1, 1)
        spec = imap.notifiers.get(person.notifier)
        entry = _Notifier(f"person {person.name}", pos, spec.token_env if spec else "PUSHOVER_TOKEN", person.user_env)
        entry.default_app = spec is None
        entry.devices = [(device, pos, False) for device in person.devices]
        found["person:" + person.name] = entry
    for intent in imap.intents.values():
        for notification in intent.notifications:
            if notification.to is not None:
                continue  # it goes to a person's key, checked above
            _collect(use(notification.notifier, notification.pos), notification)
        if intent.cancel is not None:
            use(intent.cancel.notifier, intent.cancel.pos)
    return sorted(found.values(), key=lambda n: (n.pos.line, n.pos.col))


def _collect(notifier: _Notifier, notification: NotificationSpec) -> None:
    for target in notification.targets:
        for tmpl in target.templates.all():
            if tmpl.literal:
                notifier.devices.append((tmpl.source, target.pos, notification.validate_devices))
    sound = notification.fields.get("sound")
    if sound is None:
        return
    for tmpl in sound.templates.all():
        if tmpl.literal and tmpl.source not in const.BUILTIN_SOUNDS:
            notifier.sounds.append((tmpl.source, sound.pos))


def _variables(notifier: _Notifier, settings: Settings) -> tuple[str, str]:
    if notifier.default:
        return settings.pushover_token or "", settings.pushover_user or ""
    env = settings.environ
    token = (settings.pushover_token or "") if notifier.default_app else env.get(notifier.token_var, "").strip()
    return token, env.get(notifier.user_var, "").strip()


def _check_notifier(
    client: PushoverClient, notifier: _Notifier, token: str, user: str, checked_sounds: set[tuple[int, int]]
) -> list[Problem]:
    problems: list[Problem] = []
    try:
        sounds = client.sounds(token)
    except PermanentError as err:
        if err.status != 400:
            raise _unreachable(client, err) from err
        return [
            _error(notifier.pos, f"{notifier.label}: {notifier.token_var} is not a valid application token{_says(err)}")
        ]
    except TransientError as err:
        raise _unreachable(client, err) from err

    for name, pos in notifier.sounds:
        checked_sounds.add((pos.line, pos.col))
        if name not in sounds:
            custom = sorted(set(sounds) - const.BUILTIN_SOUNDS)
            known = f"its custom sounds are {join_words(custom, None)}" if custom else "it has no custom sounds"
            problems.append(
                _error(pos, f"sound {name!r} is neither built in nor a custom sound of this account ({known})")
            )

    keys = [key.strip() for key in user.split(",") if key.strip()]
    if len(keys) > const.MAX_USER_KEYS:
        problems.append(
            _error(
                notifier.pos,
                f"{notifier.label}: {notifier.user_var} holds {len(keys)} user keys; "
                f"Pushover takes at most {const.MAX_USER_KEYS} in one message",
            )
        )
        return problems
    devices: dict[str, None] = {}
    valid_keys = groups = 0
    for index, key in enumerate(keys, 1):
        which = (
            notifier.user_var if len(keys) == 1 else f"key {index} of {len(keys)} in {notifier.user_var} ({mask(key)})"
        )
        try:
            own = client.validate(Credentials(token, key))
        except PermanentError as err:
            if err.status != 400:
                raise _unreachable(client, err) from err
            problems.append(
                _error(notifier.pos, f"{notifier.label}: {which} is not a valid user or group key{_says(err)}")
            )
            continue
        except TransientError as err:
            raise _unreachable(client, err) from err
        valid_keys += 1
        groups += not own  # a group key lists no devices of its own
        devices.update(dict.fromkeys(own))
    if valid_keys and notifier.devices:
        problems.extend(_check_devices(notifier, list(devices), groups=groups > 0))
    return problems


def _check_devices(notifier: _Notifier, known: list[str], *, groups: bool) -> list[Problem]:
    problems: list[Problem] = []
    by_norm = {_normalize(device): device for device in reversed(known)}
    for name, pos, forgiving in notifier.devices:
        if name in known:
            continue
        near = by_norm.get(_normalize(name))
        if near is not None and forgiving:
            continue  # validate_devices: the name is matched forgivingly when sending
        if groups and near is None:
            problems.append(
                _warning(
                    pos,
                    f"device {name!r} was not checked: {notifier.user_var} holds a group key, "
                    "and Pushover does not list the devices of a group's members",
                    "device-unchecked",
                )
            )
            continue
        hint = f"; did you mean {near!r}?" if near else f"; the devices are {join_words(known, None)}"
        problems.append(
            _error(
                pos,
                f"device {name!r} is not a device of {notifier.user_var} (Pushover would send to every device)" + hint,
            )
        )
    return problems


def _unreachable(client: PushoverClient, err: Exception) -> _Unreachable:
    hint = "" if isinstance(err, TransientError) else "; check PUSHOVER_API_URL"
    return _Unreachable(
        f"Pushover could not be asked at {client.api_url}: {err}{hint}; nothing more was checked online"
    )


def _says(err: PermanentError) -> str:
    return f" (Pushover says: {'; '.join(err.errors)})" if err.errors else ""


def _normalize(name: str) -> str:
    return _SEPARATORS_RE.sub("", name).casefold()


def _error(pos: Pos, message: str) -> Problem:
    return Problem(pos.path, pos.line, pos.col, message)


def _warning(pos: Pos, message: str, code: str) -> Problem:
    return Problem(pos.path, pos.line, pos.col, message, "warning", code)
