"""The web service: ``create_app()`` (Flask: ``POST /alexa``, ``GET /healthz``); ``run_server()``: skill.web_runner.

The only module that imports Flask. ``POST /alexa`` hands the raw body to the verifier and then
to the same skill object ``simulate`` and Lambda use (``alexa.parse_envelope`` + ``alexa.invoke``).

Answers: 200 for every well-formed, verified Alexa request; 400 for anything else a client can
send to ``/alexa`` (bad JSON, not an envelope, wrong Content-Type, failed verification, another
skill id); 413 above ``const.MAX_BODY_BYTES``; 405 for other methods; 404 elsewhere. Every error
body is ``{"error": "..."}``. Each request writes one log line with its HTTP status; a refusal
writes it at WARNING with the reason, and a refused request never reaches the skill, so nothing
is sent to Pushover.

What the app holds (``SkillExtension``) and what ``/healthz`` shows live in skill.web_state, without Flask.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from functools import partial
from typing import Any, Final

from flask import Flask, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

from . import alexa, const
from .config import Settings, load_settings
from .deadline import Deadline
from .errors import InvalidRequestError, VerificationError
from .intent_map import load_intent_map
from .outbox import Outbox
from .receipts import open_web_receipts
from .receipts.callback import CALLBACK_PATH, MAX_CALLBACK_BYTES, answer_callback, masked
from .receipts.speech import load_zone
from .recent import RecentRequest
from .reloader import MapHolder
from .server import DEFAULT_MAX_BODY_BYTES
from .server import WebServer as WebServer
from .service import Service
from .verify import RequestVerifier
from .web_state import SkillExtension, build_generation, credentials_for, health_of, keep_receipt, name_for_user_key

logger = logging.getLogger(__name__)

# run_server() lives in skill.web_runner, which imports this module; WebServer (skill.server) is imported
# here as before (``X as X``), for ``from skill.web import WebServer``.

#: Alexa posts ``application/json;charset=UTF-8``. Refusing other types also means a web page
#: cannot post here from a browser without a CORS preflight, which this app never grants.
JSON_MIMETYPE: Final = "application/json"

#: The server reads a whole body before the app sees it; it refuses bodies above this unread
#: (skill.server). Smaller bodies over ``MAX_BODY_BYTES`` get the app's own 413, logged.
SERVER_MAX_BODY_BYTES: Final = DEFAULT_MAX_BODY_BYTES

READ_CHUNK_BYTES: Final = 64 * 1024

#: Turns the dashboard (/ui) on: its password (HTTP Basic, any user name).
UI_PASSWORD_ENV: Final = "UI_PASSWORD"  # noqa: S105 -- the variable's name, not a password

#: ``1`` shows slot values on the dashboard (speech can be private, so they are hidden by default).
UI_SHOW_SLOTS_ENV: Final = "UI_SHOW_SLOTS"

ALEXA_PATH: Final = "/alexa"

HEALTH_PATH: Final = "/healthz"


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
        holder = MapHolder(settings.intent_map_path, load_intent_map, partial(build_generation, settings))
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
        settings.outbox_path, service.client, partial(credentials_for, holder), max_age_s=settings.outbox_max_age_s
    )
    service.outbox = outbox
    ext = SkillExtension(settings, holder, verifier, outbox=outbox)
    ext.closers.append(outbox.close)  # closers run first: the worker stops before the client closes
    ext.receipts, ext.callback_secret = open_web_receipts(
        settings.outbox_path, settings.public_url, service.client, partial(credentials_for, holder),
        partial(name_for_user_key, holder), zone,
    )  # fmt: skip
    if service.receipts is None:
        service.receipts = ext.receipts
    ext.closers.append(ext.receipts.store.close)
    outbox.on_delivered = partial(keep_receipt, ext.receipts)
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
