"""``run_server()``: the web app (skill.web) on skill.server's WebServer, with signals, reloads and ngrok."""

from __future__ import annotations

import contextlib
import errno
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType, ModuleType
from typing import Final

from .config import Settings
from .errors import ConfigError
from .receipts.callback import CALLBACK_PATH, masked
from .reloader import MapWatcher
from .server import (
    BODY_TIMEOUT_S,
    HEAD_TIMEOUT_S,
    WebServer,
    raise_open_files_limit,
)
from .web import ALEXA_PATH, HEALTH_PATH, UI_PASSWORD_ENV, create_app, skill_of
from .web_state import SkillExtension

# The web service's log lines keep its name, wherever their code lives.
logger = logging.getLogger("skill.web")

#: Signals that stop ``run_server`` cleanly (SIGTERM is what ``docker stop`` sends).
STOP_SIGNALS: Final = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None)


def run_server(settings: Settings, *, host: str, port: int, ngrok: bool = False, reload: bool = True) -> int:
    """Serve the skill on skill.server's WebServer until SIGTERM or SIGINT; 0 after a clean stop.

    With ``reload`` the intent map is loaded again when its file changes or on SIGHUP (skill.reloader).

    Raises ConfigError (one line each, printed by the CLI) for a bad intent map, an unreadable
    CA bundle, an address that cannot be bound, or ``ngrok`` without pyngrok.
    """
    tunnels = _import_pyngrok() if ngrok else None
    open_files = raise_open_files_limit()
    app = create_app({"SETTINGS": settings})
    ext = skill_of(app)
    try:
        try:
            server = WebServer(app, host=host, port=port)
        except OSError as err:
            busy = " (another program is using it: stop that one, or pick another port with --port)"
            hint = busy if err.errno == errno.EADDRINUSE else ""
            raise ConfigError(f"cannot listen on {host}:{port}: {err.strerror or err}{hint}") from err
        public_url = None
        watcher: MapWatcher | None = None
        try:
            if tunnels is not None:
                public_url = _open_tunnel(tunnels, server.port, verifying=ext.verifier.verify_signature)
            watcher = MapWatcher(ext.holder) if reload else None
            if watcher is not None:
                watcher.start()
            with _stop_on_signals(server), _reload_on_sighup(watcher):
                for warning in ext.holder.status.warnings:  # the map's warnings, as check shows them
                    logger.warning("%s", warning)
                _log_banner(ext, server, public_url, open_files, reload=reload)  # after the handlers: ready for signals
                if ext.outbox is not None:
                    ext.outbox.start()
                server.serve()
        finally:
            if watcher is not None:
                watcher.stop()
            server.stop()
            if ext.outbox is not None:
                ext.outbox.stop()
            if tunnels is not None and public_url is not None:
                _close_tunnel(tunnels, public_url)
    finally:
        ext.close()
    logger.info("stopped")
    return 0


def _log_banner(
    ext: SkillExtension, server: WebServer, public_url: str | None, open_files: int | None, *, reload: bool = False
) -> None:
    service, verifier = ext.service, ext.verifier
    if not service.dry_run:
        dry_run = "off"
    elif service.settings.dry_run_requested or not service.settings.missing_credentials:
        dry_run = "on (--dry-run)"
    else:
        dry_run = f"on ({', '.join(service.settings.missing_credentials)} not set)"
    intents = len(service.intent_map.intents)
    logger.info(
        "serving %s%s (health %s%s): intents: %d from %s (reload on change: %s), dry-run: %s, verification: %s, "
        "skill id: %s, dashboard: %s",
        server.url, ALEXA_PATH, server.url, HEALTH_PATH, intents, service.intent_map.path,
        "on" if reload else "off (--no-reload)", dry_run,
        "on" if verifier.verify_signature else "OFF", "set" if verifier.skill_id else "not set (any accepted)",
        f"{server.url}/ui (password: UI_PASSWORD)" if ext.settings.environ.get(UI_PASSWORD_ENV, "")
        else "off (set UI_PASSWORD to turn on /ui)",
        extra={
            "url": f"{server.url}{ALEXA_PATH}", "port": server.port, "intents": intents, "dry_run": service.dry_run,
            "verification": verifier.verify_signature, "skill_id_set": bool(verifier.skill_id),
        },
    )  # fmt: skip
    logger.info(
        "server: %d worker threads, open-files limit %s, request head within %.0f s, body within %.0f s",
        server.threads, open_files or "unlimited", HEAD_TIMEOUT_S, BODY_TIMEOUT_S,
    )  # fmt: skip
    for line in service.setup_warnings():
        logger.warning("%s", line)
    if public_url is not None:
        logger.info("ngrok: Alexa endpoint %s%s (HTTPS, wildcard certificate)", public_url, ALEXA_PATH)
    if ext.callback_secret is not None and service.settings.public_url:
        logger.info(
            "emergency acknowledgements: Pushover calls back %s%s%s (the secret is kept in %s)",
            service.settings.public_url, CALLBACK_PATH, masked(ext.callback_secret), service.settings.outbox_path,
        )  # fmt: skip
    elif ext.receipts is not None:
        logger.info("emergency acknowledgements: polled from Pushover when asked (set PUBLIC_URL for callbacks)")
    logger.info("stop with Ctrl-C or SIGTERM")


@contextlib.contextmanager
def _reload_on_sighup(watcher: MapWatcher | None) -> Iterator[None]:
    """SIGHUP reloads the intent map now (main thread, where the platform has SIGHUP)."""
    sighup = getattr(signal, "SIGHUP", None)
    if watcher is None or sighup is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(sighup, lambda signum, frame: watcher.request())
    try:
        yield
    finally:
        signal.signal(sighup, previous)


@contextlib.contextmanager
def _stop_on_signals(server: WebServer) -> Iterator[None]:
    """SIGINT and SIGTERM stop ``server``; the previous handlers come back afterwards (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stoppers: list[threading.Thread] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # A handler runs inside the event loop it must stop; a thread does the waiting (and the logging).
        if not stoppers:
            stopper = threading.Thread(target=_stop_after, args=(server, signum), name="skill-web-stop")
            stoppers.append(stopper)
            stopper.start()

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        for stopper in stoppers:
            stopper.join()


def _stop_after(server: WebServer, signum: int) -> None:
    logger.info("%s received: stopping", signal.Signals(signum).name)
    try:
        server.stop()
    except Exception:  # logged here: a thread's exception would otherwise go to bare stderr
        logger.error("could not stop the server cleanly", exc_info=True)


def _import_pyngrok() -> ModuleType:
    try:
        from pyngrok import ngrok
    except ImportError:
        raise ConfigError(
            "--ngrok needs the optional package pyngrok (.venv/bin/pip install pyngrok), "
            "or run `ngrok http PORT` in another terminal"
        ) from None
    return ngrok  # type: ignore[no-any-return]


def _open_tunnel(tunnels: ModuleType, port: int, *, verifying: bool) -> str:
    try:
        tunnel = tunnels.connect(str(port), "http", bind_tls=True)
    except Exception as err:  # pyngrok raises its own errors, and OSError when the agent cannot start
        first_line = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise ConfigError(f"ngrok could not open a tunnel: {first_line}") from err
    public_url = str(tunnel.public_url)
    if not verifying:
        logger.warning("the server is public through ngrok with verification OFF: anyone can send notifications")
    return public_url


def _close_tunnel(tunnels: ModuleType, public_url: str) -> None:
    for close in (lambda: tunnels.disconnect(public_url), tunnels.kill):
        try:
            close()
        except Exception as err:  # the tunnel dies with the agent anyway
            logger.warning("ngrok: could not close the tunnel cleanly: %s", err)
