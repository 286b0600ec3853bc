"""The web service: ``create_app()`` (Flask: ``POST /alexa``, ``GET /healthz``) and ``run_server()`` (skill.server).

The only module that imports Flask. ``POST /alexa`` hands the raw body to the verifier and then
to the same skill object ``simulate`` and Lambda use (``alexa.parse_envelope`` + ``alexa.invoke``).

Answers: 200 for every well-formed, verified Alexa request; 400 for anything else a client can
send to ``/alexa`` (bad JSON, not an envelope, wrong Content-Type, failed verification, another
skill id); 413 above ``const.MAX_BODY_BYTES``; 405 for other methods; 404 elsewhere. Every error
body is ``{"error": "..."}``. Each request writes one log line with its HTTP status; a refusal
writes it at WARNING with the reason, and a refused request never reaches the skill, so nothing
is sent to Pushover.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from types import FrameType, ModuleType
from typing import Any, Final

from ask_sdk_core.skill import CustomSkill
from flask import Flask, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

from . import alexa, const
from .config import Credentials, Settings, load_settings
from .deadline import Deadline
from .errors import ConfigError, InvalidRequestError, OutboxError, VerificationError
from .intent_map import IntentMap, load_intent_map
from .outbox import Outbox, PendingItem
from .pushover import Message, SendResult
from .receipts import ReceiptBook, open_web_receipts
from .receipts.callback import CALLBACK_PATH, MAX_CALLBACK_BYTES, answer_callback, masked
from .receipts.speech import load_zone
from .recent import RecentRequest, RecentRequests
from .reloader import Generation, MapHolder, MapWatcher
from .server import (
    BODY_TIMEOUT_S,
    DEFAULT_MAX_BODY_BYTES,
    HEAD_TIMEOUT_S,
    WebServer,
    raise_open_files_limit,
)
from .service import Service
from .verify import RequestVerifier

logger = logging.getLogger(__name__)

#: Alexa posts ``application/json;charset=UTF-8``. Refusing other types also means a web page
#: cannot post here from a browser without a CORS preflight, which this app never grants.
JSON_MIMETYPE: Final = "application/json"
#: The server reads a whole body before the app sees it; it refuses bodies above this unread
#: (skill.server). Smaller bodies over ``MAX_BODY_BYTES`` get the app's own 413, logged.
SERVER_MAX_BODY_BYTES: Final = DEFAULT_MAX_BODY_BYTES
READ_CHUNK_BYTES: Final = 64 * 1024
#: Signals that stop ``run_server`` cleanly (SIGTERM is what ``docker stop`` sends).
STOP_SIGNALS: Final = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None)

#: Turns the dashboard (/ui) on: its password (HTTP Basic, any user name).
UI_PASSWORD_ENV: Final = "UI_PASSWORD"  # noqa: S105 -- the variable's name, not a password
#: ``1`` shows slot values on the dashboard (speech can be private, so they are hidden by default).
UI_SHOW_SLOTS_ENV: Final = "UI_SHOW_SLOTS"

ALEXA_PATH: Final = "/alexa"
HEALTH_PATH: Final = "/healthz"


# --------------------------------------------------------------------------- the app


@dataclass
class SkillExtension:
    """What ``create_app()`` wired together, kept at ``app.extensions["skill"]``."""

    settings: Settings
    #: the current intent map with its service and skill (skill.reloader); a reload swaps it
    holder: MapHolder
    verifier: RequestVerifier
    #: The durable outbox (skill.outbox): transient failures wait there; its worker runs in ``run_server``.
    outbox: Outbox | None = None
    #: Emergency receipts (skill.receipts), in the outbox's file.
    receipts: ReceiptBook | None = None
    #: The installation's callback secret, when ``PUBLIC_URL`` is set (never logged in full).
    callback_secret: str | None = field(default=None, repr=False)
    #: Called by ``close()`` in reverse order, for whatever a later component opens.
    closers: list[Callable[[], None]] = field(default_factory=list, repr=False)
    #: The last requests, for the dashboard (skill.ui).
    recent: RecentRequests = field(default_factory=RecentRequests, repr=False)

    @property
    def service(self) -> Service:
        """The service of the current map (read once per request: a reload may swap it)."""
        service: Service = self.holder.current.service
        return service

    @property
    def skill(self) -> CustomSkill:
        """The ASK SDK skill of the current map."""
        skill: CustomSkill = self.holder.current.skill
        return skill

    def close(self) -> None:
        """Release the HTTP sessions (and anything in ``closers``); safe to call twice."""
        for close in [*reversed(self.closers), self.verifier.close, self.service.close]:
            try:
                close()
            except Exception:  # one failing close must not leak the others
                logger.warning("error while closing %r", close, exc_info=True)
        self.closers.clear()


def skill_of(app: Flask) -> SkillExtension:
    """The service, skill and verifier of an app made by ``create_app()``."""
    ext: SkillExtension = app.extensions["skill"]
    return ext


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app: defaults first (``load_settings()``), then ``test_config``.

    ``test_config`` may set any Flask key and ``SETTINGS`` (a Settings), ``SERVICE`` (a Service),
    ``VERIFIER`` (a RequestVerifier) or ``FETCH`` (the verifier's certificate fetcher). The app
    owns what it holds: ``skill_of(app).close()`` closes it. Raises ConfigError for a bad
    intent map or CA bundle.
    """
    app = Flask(__name__, static_folder=None)
    app.config.from_mapping(MAX_CONTENT_LENGTH=const.MAX_BODY_BYTES, SETTINGS=None, SERVICE=None, VERIFIER=None)
    app.config.from_mapping(test_config or {})
    settings: Settings = app.config["SETTINGS"] or load_settings()
    zone = load_zone(settings.timezone)
    if app.config["SERVICE"] is not None:
        service: Service = app.config["SERVICE"]
        holder = MapHolder.of(service.intent_map, service, alexa.build_skill(service))
    else:
        holder = MapHolder(settings.intent_map_path, load_intent_map, partial(_build_generation, settings))
        service = holder.current.service
    try:
        verifier: RequestVerifier = app.config["VERIFIER"] or RequestVerifier(
            skill_id=settings.alexa_skill_id,
            verify_signature=settings.alexa_verify,
            ca_bundle=settings.alexa_ca_bundle,
            fetch=app.config.get("FETCH"),
        )
    except BaseException:
        service.close()
        raise
    outbox = Outbox(
        settings.outbox_path, service.client, partial(_credentials_for, holder), max_age_s=settings.outbox_max_age_s
    )
    service.outbox = outbox
    ext = SkillExtension(settings, holder, verifier, outbox=outbox)
    ext.closers.append(outbox.close)  # closers run first: the worker stops before the client closes
    ext.receipts, ext.callback_secret = open_web_receipts(
        settings.outbox_path, settings.public_url, service.client, partial(_credentials_for, holder),
        partial(_name_for_user_key, holder), zone,
    )  # fmt: skip
    if service.receipts is None:
        service.receipts = ext.receipts
    ext.closers.append(ext.receipts.store.close)
    outbox.on_delivered = partial(_keep_receipt, ext.receipts)
    app.extensions["skill"] = ext
    _warn_about_checks(verifier)
    app.before_request(_start_clock)
    app.after_request(_log_request)
    app.add_url_rule(ALEXA_PATH, view_func=_alexa, methods=["POST"], provide_automatic_options=False)
    app.add_url_rule(HEALTH_PATH, view_func=_healthz, methods=["GET"])
    app.add_url_rule(
        f"{CALLBACK_PATH}<secret>", view_func=_pushover_callback, methods=["POST"], provide_automatic_options=False
    )
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    if settings.environ.get(UI_PASSWORD_ENV, ""):
        from .ui import register_ui  # the dashboard exists only when it is turned on

        register_ui(app, ext, password=settings.environ[UI_PASSWORD_ENV], health=health_of)
    return app


def _build_generation(settings: Settings, imap: IntentMap, old: Generation | None) -> tuple[Service, CustomSkill]:
    """The service and skill for a (re)loaded map; a reload keeps the Pushover client, the outbox, the
    receipts and the unknown ids seen so far."""
    if old is None:
        service = Service(imap, settings)
    else:
        previous: Service = old.service
        same_files = (imap.attachment_dirs, imap.attachment_hosts) == (
            old.intent_map.attachment_dirs,
            old.intent_map.attachment_hosts,
        )
        loader = previous.loader if same_files else None
        service = Service(
            imap, settings, client=previous.client, outbox=previous.outbox, loader=loader, receipts=previous.receipts
        )
        service.people.carry_over(previous.people)  # the unknown ids /healthz lists
    return service, alexa.build_skill(service)


def _credentials_for(holder: MapHolder, notifier: str) -> Credentials | None:
    """The outbox's credentials: those of the current map (a reload may add or drop a notifier)."""
    try:
        return holder.current.service.credentials_for(notifier)
    except KeyError:
        return None


def _keep_receipt(book: ReceiptBook, item: PendingItem, message: Message, result: SendResult) -> None:
    """An emergency alert the outbox delivered late is kept like one sent at once."""
    if result.receipt:
        book.record(item.intent, item.notifier, message, result.receipt)


def _name_for_user_key(holder: MapHolder, user_key: str) -> str | None:
    """Who acknowledged an alert: a person of the current map's ``people:``."""
    return holder.current.service.name_for_user_key(user_key)


def _warn_about_checks(verifier: RequestVerifier) -> None:
    if not verifier.verify_signature:
        logger.warning(
            "request verification is OFF (ALEXA_VERIFY=0 or --no-verify): signatures and timestamps are not "
            "checked, so anyone who can reach this server can make it send notifications; local testing only"
        )
    if not verifier.skill_id:
        logger.warning("ALEXA_SKILL_ID is not set: requests for any skill id are accepted")


def _ext() -> SkillExtension:
    return skill_of(current_app)


def _start_clock() -> None:
    g.start = time.perf_counter()


#: Alexa signs every request; one without a signature is most likely a hand-made test (curl).
_UNSIGNED_HINT: Final = " (the request has no Alexa signature; for local tests: ALEXA_VERIFY=0 or serve --no-verify)"


def _refuse(reason: str, *, public: str | None = None) -> ResponseReturnValue:
    """A 400; ``reason`` goes to the log, ``public`` (default: the reason) to the client."""
    g.refusal = reason
    return jsonify(error=public or reason), 400


def _alexa() -> ResponseReturnValue:
    """POST /alexa: read, check, verify, then run the skill."""
    ext = _ext()
    body = _read_body()
    if request.mimetype != JSON_MIMETYPE:
        return _refuse(f"Content-Type must be {JSON_MIMETYPE}, not {request.mimetype or 'none'!r}")
    try:
        envelope = alexa.parse_envelope(body)
    except InvalidRequestError as err:
        return _refuse(str(err))
    g.request_id = envelope["request"]["requestId"]
    g.envelope = envelope
    try:
        ext.verifier.verify(request.headers, body, envelope)
    except VerificationError as err:
        unsigned = "" if request.headers.get("SignatureCertChainUrl") else _UNSIGNED_HINT
        return _refuse(f"{err}{unsigned}", public="request verification failed")
    except Exception as err:  # a check that crashes must refuse the request, never let it through
        logger.error("verification failed unexpectedly", exc_info=err)
        return _refuse(f"verification failed unexpectedly ({type(err).__name__})", public="request verification failed")
    try:
        # The deadline counts from the request's arrival: reading and verifying it took part of it.
        result = alexa.invoke(ext.skill, envelope, log=False, payload=body, deadline=Deadline.for_request(g.start))
    except InvalidRequestError as err:
        return _refuse(str(err))
    except Exception as err:  # the skill's catch-all handler turns its own errors into speech; this is the rest
        logger.error("the skill failed outside its handlers", exc_info=err)
        return _refuse(f"the skill failed ({type(err).__name__})", public="the request could not be handled")
    g.result = result
    return jsonify(result.response)


def _read_body() -> bytes:
    """The raw body, at most MAX_CONTENT_LENGTH bytes (413 beyond; the limit itself is allowed).

    Read from ``wsgi.input`` itself: exactly Content-Length bytes, or, for a body the server has
    de-chunked and ends (``wsgi.input_terminated``), up to one byte past the limit to know.
    Werkzeug's wrapped stream would refuse a read past the limit even when the body ends there.
    """
    limit = current_app.config["MAX_CONTENT_LENGTH"] or const.MAX_BODY_BYTES
    length = request.content_length
    if length is not None and length > limit:
        raise RequestEntityTooLarge()
    if length is None and not request.environ.get("wsgi.input_terminated"):
        return b""  # no length and no end: WSGI offers no safe way to read it
    stream = request.environ["wsgi.input"]
    wanted = length if length is not None else limit + 1
    chunks: list[bytes] = []
    size = 0
    while size < wanted:
        chunk = stream.read(min(READ_CHUNK_BYTES, wanted - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise RequestEntityTooLarge()
    return b"".join(chunks)


def _healthz() -> ResponseReturnValue:
    """GET /healthz: what this instance runs with; never a secret."""
    return jsonify(health_of(_ext()))


def health_of(ext: SkillExtension) -> dict[str, Any]:
    """What /healthz shows (and the dashboard's status page): never a secret."""
    service = ext.service
    quota = service.client.quota
    return dict(
        status="ok",
        version=const.VERSION,
        intents=len(service.intent_map.intents),
        intent_map={"path": service.intent_map.path, **ext.holder.status.as_dict()},
        dry_run=service.dry_run,
        verification=ext.verifier.verify_signature,
        skill_id_set=bool(ext.verifier.skill_id),
        pushover_quota=None
        if quota is None
        else {"limit": quota.limit, "remaining": quota.remaining, "reset": quota.reset},
        outbox=_outbox_health(ext.outbox),
        people=ext.service.people.health(),
        alerts=ext.receipts.health() if ext.receipts is not None else None,
    )


def _outbox_health(outbox: Outbox | None) -> dict[str, Any] | None:
    """How many notifications wait for a retry, and for how long the oldest has waited."""
    if outbox is None:
        return None
    try:
        depth, oldest, set_aside = outbox.depth(), outbox.oldest_age_s(), outbox.set_aside_count()
    except OutboxError:
        logger.warning("/healthz: the outbox %s cannot be read", outbox.path, exc_info=True)
        return {"depth": None, "oldest_age_s": None, "error": "the outbox cannot be read"}
    return {"depth": depth, "oldest_age_s": None if oldest is None else round(oldest, 1), "set_aside": set_aside}


def _pushover_callback(secret: str) -> ResponseReturnValue:
    """POST /pushover/callback/<secret>: Pushover says someone acknowledged an emergency alert."""
    ext = _ext()
    length = request.content_length
    body = request.get_data() if length is not None and length <= MAX_CALLBACK_BYTES else None
    answer = answer_callback(ext.receipts, ext.callback_secret, secret, request.mimetype, body)
    if answer.refusal:
        g.refusal = answer.refusal
    return jsonify(answer.body), answer.status


def _logged_path() -> str:
    """The request's path for the log: a callback's secret shortened to its first characters."""
    path = request.path
    return CALLBACK_PATH + masked(path[len(CALLBACK_PATH) :]) if path.startswith(CALLBACK_PATH) else path


def _http_error(err: HTTPException) -> ResponseReturnValue:
    """404, 405, 413, …: the same status and headers (Allow), with a JSON body."""
    if err.code is None or err.code < 400:
        return err
    if isinstance(err, RequestEntityTooLarge):
        message = f"the body is larger than {const.MAX_BODY_BYTES} bytes"
        g.refusal = message
    else:
        message = err.name.lower()
    response = err.get_response()
    response.set_data(jsonify(error=message).get_data())
    response.mimetype = "application/json"
    return response


def _unexpected_error(err: Exception) -> ResponseReturnValue:
    """Anything not handled above: logged with its traceback; never a 500 for what a client sent to /alexa."""
    logger.error("%s %s: unexpected %s", request.method, _logged_path(), type(err).__name__, exc_info=err)
    g.logged = True
    if request.path == ALEXA_PATH:
        return jsonify(error="the request could not be handled"), 400
    return jsonify(error="internal server error"), 500


def _log_request(response: Response) -> Response:
    """The one log line of each request, with its HTTP status."""
    if g.get("logged"):
        return response
    start = g.get("start")
    ms = (time.perf_counter() - start) * 1000 if start is not None else 0.0
    extra: dict[str, Any] = {
        "method": request.method, "path": _logged_path(), "status": response.status_code, "ms": round(ms, 1),
        "request_id": g.get("request_id"),
    }  # fmt: skip
    result: alexa.Result | None = g.get("result")
    refusal: str | None = g.get("refusal")
    if request.path == ALEXA_PATH:
        _remember(response.status_code, ms, result, refusal)
    if result is not None:
        outcome = ",".join(str(o.status) for o in result.outcomes) or "-"
        ids = ",".join(i for o in result.outcomes for i in o.request_ids) or "-"
        extra.update(request_type=result.request_type, intent=result.intent, outcome=outcome, pushover_request=ids)
        extra["outbox"] = result.outbox
        extra["skill_ms"] = round(result.elapsed_ms, 1)
        logger.info(
            "%s %s %d %s %s -> %s pushover=%s %.0f ms",
            request.method, _logged_path(), response.status_code, result.request_type, result.intent or "-",
            outcome, ids, ms, extra=extra,
        )  # fmt: skip
    elif refusal is not None:
        extra["reason"] = refusal
        logger.warning(
            "refused %s %s %d: %s (%.0f ms)", request.method, _logged_path(), response.status_code, refusal, ms,
            extra=extra,
        )  # fmt: skip
    else:
        # Health probes come every few seconds; they stay out of the INFO log.
        level = logging.DEBUG if request.path == HEALTH_PATH and response.status_code == 200 else logging.INFO
        logger.log(level, "%s %s %d %.0f ms", request.method, _logged_path(), response.status_code, ms, extra=extra)
    return response


def _remember(status: int, ms: float, result: alexa.Result | None, refusal: str | None) -> None:
    """Keep the request for the dashboard's "recent requests" (slot values only with UI_SHOW_SLOTS=1)."""
    ext = _ext()
    envelope: dict[str, Any] = g.get("envelope") or {}
    req = envelope.get("request") or {}
    slots = None
    if ext.settings.environ.get(UI_SHOW_SLOTS_ENV, "").strip() == "1":
        raw = (req.get("intent") or {}).get("slots") or {}
        slots = {str(k): str((v or {}).get("value") or "") for k, v in raw.items() if isinstance(v, dict)}
    if result is not None:
        outcome = ",".join(str(o.status) for o in result.outcomes) or "-"
        ids = tuple(i for o in result.outcomes for i in o.request_ids)
        kind, intent = result.request_type, result.intent or ""
    else:
        outcome, ids = f"refused: {refusal or 'error'}", ()
        kind, intent = str(req.get("type") or "-"), str((req.get("intent") or {}).get("name") or "")
    ext.recent.add(RecentRequest(time.time(), "alexa", kind, intent, outcome, status, round(ms, 1), ids, slots))


# --------------------------------------------------------------------------- the server


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


# --------------------------------------------------------------------------- ngrok (optional)


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
