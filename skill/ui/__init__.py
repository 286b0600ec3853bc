"""The dashboard (``/ui``): status, recent requests, the outbox, the intents, "try it", unknown ids.

Off unless ``UI_PASSWORD`` is set (``web.create_app`` registers it only then). Every page asks for HTTP
Basic credentials (any user name, that password), failed logins are rate limited per address, POST
forms carry a CSRF token, and every answer sends a strict Content-Security-Policy. Pages are rendered on
the server with autoescaping: nothing a slot value holds is executed. State is read through the same
objects ``/healthz`` uses (``health``), so the two never disagree.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from flask import Blueprint, Flask, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from ..errors import OutboxError
from .guard import SECURITY_HEADERS, CsrfTokens, LoginLimiter, password_matches
from .tryit import try_intent

if TYPE_CHECKING:
    from ..web import SkillExtension

logger = logging.getLogger(__name__)

UI_PREFIX: Final = "/ui"
REALM: Final = 'Basic realm="alexa-pushover dashboard", charset="UTF-8"'
#: The pages that refresh themselves (a meta refresh: no script needed).
REFRESH_S: Final = 5
#: Longest slot value "try it" takes (what a person could say).
MAX_SLOT_CHARS: Final = 500


def register_ui(
    app: Flask, ext: SkillExtension, *, password: str, health: Callable[[SkillExtension], dict[str, Any]]
) -> None:
    """Add the dashboard to ``app`` under /ui."""
    bp = Blueprint("ui", __name__, url_prefix=UI_PREFIX, template_folder="templates", static_folder="static")
    limiter = LoginLimiter()
    csrf = CsrfTokens(password)
    show_slots = ext.settings.environ.get("UI_SHOW_SLOTS", "").strip() == "1"

    @bp.before_request
    def _authenticate() -> ResponseReturnValue | None:
        address = request.remote_addr or "-"
        wait = limiter.retry_after_s(address)
        if wait:
            return Response("too many failed logins; try again later\n", 429, {"Retry-After": str(wait)})
        auth = request.authorization
        if auth is None or auth.type != "basic":
            return _ask_for_login()
        if not password_matches(auth.password, password):
            limiter.failed(address)
            logger.warning("dashboard: failed login from %s", address)
            return _ask_for_login()
        limiter.succeeded(address)
        if request.method == "POST" and not csrf.valid(request.form.get("csrf")):
            logger.warning("dashboard: POST %s without a valid CSRF token from %s", request.path, address)
            return Response("the form is out of date; reload the page and try again\n", 400)
        return None

    @bp.after_request
    def _secure(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        return response

    def page(template: str, **values: Any) -> str:
        return render_template(template, csrf=csrf.token, show_slots=show_slots, **values)

    @bp.get("/")
    def status() -> ResponseReturnValue:
        data = health(ext)
        known = {"status", "version", "intents", "intent_map", "dry_run", "verification", "skill_id_set"}
        known |= {"pushover_quota", "outbox", "people"}
        extra = {k: json.dumps(v, indent=2, sort_keys=True) for k, v in data.items() if k not in known}
        return page("status.html", h=data, extra=extra, now=time.time(), refresh=REFRESH_S, fmt_time=_fmt_time)

    @bp.get("/requests")
    def requests_page() -> ResponseReturnValue:
        return page("requests.html", items=ext.recent.newest_first(), refresh=REFRESH_S)

    @bp.get("/outbox")
    def outbox_page() -> ResponseReturnValue:
        items, error = [], ""
        if ext.outbox is None:
            error = "there is no outbox in this process"
        else:
            try:
                items = ext.outbox.pending()
            except OutboxError as err:
                error = str(err)
        return page("outbox.html", items=items, error=error, now=time.time(), fmt_time=_fmt_time)

    @bp.post("/outbox/<item_id>/<action>")
    def outbox_action(item_id: str, action: str) -> ResponseReturnValue:
        if ext.outbox is None or action not in {"retry", "discard"}:
            abort(404)
        done = ext.outbox.retry_now(item_id) if action == "retry" else ext.outbox.discard(item_id)
        logger.info("dashboard: %s outbox item %s: %s", action, item_id, "done" if done else "not found")
        return redirect(url_for("ui.outbox_page"), code=303)

    @bp.get("/intents")
    def intents_page() -> ResponseReturnValue:
        imap = ext.holder.current.intent_map
        return page("intents.html", imap=imap, sources=_sources)

    @bp.route("/try", methods=["GET", "POST"])
    def try_page() -> ResponseReturnValue:
        generation = ext.holder.current
        names = sorted(generation.intent_map.intents)
        chosen = request.values.get("intent") or (names[0] if names else "")
        if chosen and chosen not in generation.intent_map.intents:
            abort(404)
        spec = generation.intent_map.intents.get(chosen)
        slots = {name: request.form.get(f"slot_{name}", "")[:MAX_SLOT_CHARS] for name in (spec.slots if spec else {})}
        result = None
        if request.method == "POST" and spec is not None:
            send = request.form.get("send") == "1"
            locale = request.form.get("locale") or "en-US"
            result = try_intent(
                generation, chosen, slots, locale=locale, send=send, recent=ext.recent, show_slots=show_slots
            )
        return page("try.html", names=names, chosen=chosen, spec=spec, slots=slots, result=result)

    @bp.get("/ids")
    def ids_page() -> ResponseReturnValue:
        people = health(ext).get("people") or {}
        return page(
            "ids.html",
            persons=(people.get("unknown_person_ids") or {}).get("ids") or {},
            devices=(people.get("unknown_device_ids") or {}).get("ids") or {},
            voice_profiles="people" in health(ext),
        )

    app.register_blueprint(bp)


def _ask_for_login() -> Response:
    return Response("the dashboard needs the password set in UI_PASSWORD\n", 401, {"WWW-Authenticate": REALM})


def _fmt_time(stamp: float | None) -> str:
    if not stamp:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def _sources(field: Any) -> str:
    """The template text(s) of a TemplateField, one per locale."""
    if field is None:
        return ""
    values = field.templates.values
    if len(values) == 1:
        return str(next(iter(values.values())).source)
    return "; ".join(f"{locale}: {t.source}" for locale, t in values.items())
