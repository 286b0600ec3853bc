"""Settings read from the environment; nothing here does I/O beyond ``os.environ``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from . import const
from .errors import ConfigError


def mask(secret: str | None) -> str:
    """Show that a secret is set without showing it."""
    if not secret:
        return "<unset>"
    return f"<{len(secret)} chars, ends …{secret[-2:]}>" if len(secret) > 8 else "<set>"


@dataclass(frozen=True)
class Credentials:
    """A Pushover application token and user/group key(s); never shown in reprs."""

    token: str = field(repr=False)
    user: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(token={mask(self.token)}, user={mask(self.user)})"


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be 0 or 1, not {raw!r}")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, not {raw!r}")
    return value


def _public_url(env: Mapping[str, str]) -> str | None:
    raw = env.get("PUBLIC_URL", "").strip().rstrip("/")
    if not raw:
        return None
    scheme, sep, rest = raw.partition("://")
    if scheme.lower() not in {"http", "https"} or not sep or not rest or any(c in rest for c in "?# "):
        raise ConfigError(f"PUBLIC_URL must be the service's base URL, such as https://skill.example.net, not {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    """Everything the environment configures (see DESIGN.md, "Environment")."""

    intent_map_path: str = const.DEFAULT_INTENT_MAP
    pushover_token: str | None = field(default=None, repr=False)
    pushover_user: str | None = field(default=None, repr=False)
    pushover_api_url: str = const.DEFAULT_PUSHOVER_API_URL
    attachment_dirs: tuple[str, ...] = ()
    alexa_skill_id: str | None = None
    alexa_verify: bool = True
    alexa_ca_bundle: str | None = None
    outbox_path: str = const.DEFAULT_OUTBOX_PATH
    outbox_max_age_s: float = const.DEFAULT_OUTBOX_MAX_AGE_S
    log_format: str = "text"
    connect_timeout_s: float = const.DEFAULT_CONNECT_TIMEOUT_S
    read_timeout_s: float = const.DEFAULT_READ_TIMEOUT_S
    dry_run: bool = False
    #: The service's public base URL (``PUBLIC_URL``); emergency alerts then carry a callback under it.
    public_url: str | None = None
    #: The IANA time zone spoken times are in (``TIMEZONE``); None: the host's local time.
    timezone: str | None = None
    #: The launch greeting mentions an alert nobody has acknowledged yet (``LAUNCH_OPEN_ALERTS=0``: not).
    launch_open_alerts: bool = True
    #: True when dry run was asked for (``--dry-run``, ``DRY_RUN=1``), not merely implied by missing keys.
    dry_run_requested: bool = False
    #: The environment the settings came from; named notifiers read their variables here.
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __repr__(self) -> str:
        return (
            f"Settings(intent_map_path={self.intent_map_path!r}, "
            f"pushover_token={mask(self.pushover_token)}, pushover_user={mask(self.pushover_user)}, "
            f"pushover_api_url={self.pushover_api_url!r}, dry_run={self.dry_run}, "
            f"alexa_verify={self.alexa_verify}, alexa_skill_id={self.alexa_skill_id!r})"
        )

    @property
    def credentials(self) -> Credentials | None:
        """The default notifier's credentials, or None when either half is missing."""
        if self.pushover_token and self.pushover_user:
            return Credentials(self.pushover_token, self.pushover_user)
        return None

    @property
    def missing_credentials(self) -> list[str]:
        """Names of the credential variables that are not set."""
        return [
            name
            for name, value in (("PUSHOVER_TOKEN", self.pushover_token), ("PUSHOVER_USER", self.pushover_user))
            if not value
        ]

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields changed (for CLI flags and tests)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Read Settings from ``environ`` (default ``os.environ``); ``overrides`` win."""
    env = dict(os.environ if environ is None else environ)
    token = env.get("PUSHOVER_TOKEN", "").strip() or None
    user = env.get("PUSHOVER_USER", "").strip() or None
    dirs = tuple(d for d in env.get("ATTACHMENT_DIRS", "").split(os.pathsep) if d.strip())
    log_format = env.get("LOG_FORMAT", "text").strip().lower() or "text"
    if log_format not in {"text", "json"}:
        raise ConfigError(f"LOG_FORMAT must be 'json' or unset, not {log_format!r}")
    settings = Settings(
        intent_map_path=env.get("INTENT_MAP", "").strip() or const.DEFAULT_INTENT_MAP,
        pushover_token=token,
        pushover_user=user,
        pushover_api_url=(env.get("PUSHOVER_API_URL", "").strip() or const.DEFAULT_PUSHOVER_API_URL).rstrip("/"),
        attachment_dirs=dirs,
        alexa_skill_id=env.get("ALEXA_SKILL_ID", "").strip() or None,
        alexa_verify=_flag(env, "ALEXA_VERIFY", True),
        alexa_ca_bundle=env.get("ALEXA_CA_BUNDLE", "").strip() or None,
        outbox_path=env.get("OUTBOX_PATH", "").strip() or const.DEFAULT_OUTBOX_PATH,
        outbox_max_age_s=_float(env, "OUTBOX_MAX_AGE_S", const.DEFAULT_OUTBOX_MAX_AGE_S),
        log_format=log_format,
        connect_timeout_s=_float(env, "PUSHOVER_CONNECT_TIMEOUT_S", const.DEFAULT_CONNECT_TIMEOUT_S),
        read_timeout_s=_float(env, "PUSHOVER_READ_TIMEOUT_S", const.DEFAULT_READ_TIMEOUT_S),
        dry_run=not (token and user),
        public_url=_public_url(env),
        timezone=env.get("TIMEZONE", "").strip() or None,
        launch_open_alerts=_flag(env, "LAUNCH_OPEN_ALERTS", True),
        environ=env,
    )
    return replace(settings, **overrides) if overrides else settings  # type: ignore[arg-type]
