"""Command line: ``python -m skill serve | check | simulate | model``."""

from __future__ import annotations

import argparse
import html
import json
import logging
import re
import sys
from collections.abc import Sequence
from typing import Any

from . import const
from .config import Settings, load_settings
from .errors import ConfigError, InvalidRequestError, Problem
from .intent_map import IntentMap, load_intent_map
from .logs import configure_logging

FAILED_STATUSES = {
    "refused", "quota", "unavailable", "not_configured", "render_failed", "unknown_device", "unknown_intent",
}  # fmt: skip


class UsageError(Exception):
    """A mistake in how the command was called (exit status 2)."""


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--intent-map", metavar="PATH", help=f"the YAML intent map (default: $INTENT_MAP or {const.DEFAULT_INTENT_MAP})"
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    parser = argparse.ArgumentParser(
        prog="python -m skill",
        description="Alexa custom-skill backend that turns voice intents into Pushover notifications.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {const.VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", parents=[common], help="run the web service (POST /alexa, GET /healthz)")
    serve.add_argument(
        "--host", default=const.DEFAULT_HOST, help=f"address to listen on (default {const.DEFAULT_HOST})"
    )
    serve.add_argument("--port", type=int, default=const.DEFAULT_PORT, help=f"port (default {const.DEFAULT_PORT})")
    serve.add_argument("--no-verify", action="store_true", help="skip signature and timestamp checks (local testing)")
    serve.add_argument("--dry-run", action="store_true", help="render and log notifications, send nothing")
    serve.add_argument("--ngrok", action="store_true", help="open an ngrok tunnel (needs the optional pyngrok)")

    check = sub.add_parser("check", parents=[common], help="validate the intent map and interaction models")
    check.add_argument("--online", action="store_true", help="also ask Pushover about keys, devices and sounds")
    check.add_argument("--models", metavar="DIR", default="interaction_models", help="interaction models to compare")

    sim = sub.add_parser(
        "simulate",
        parents=[common],
        help="run one request through the skill, without an Echo",
        description="Build a real Alexa request envelope and run it through the same skill the endpoint uses. "
        "Nothing is sent unless --send is given.",
    )
    sim.add_argument("intent", nargs="?", help="intent name, e.g. LocateIntent")
    sim.add_argument("slots", nargs="*", metavar="SLOT=VALUE", help="slot values as spoken, e.g. User=Paulus")
    sim.add_argument("--locale", default=const.DEFAULT_LOCALE, help="request locale (default en-US)")
    sim.add_argument("--send", action="store_true", help="really send through Pushover")
    sim.add_argument("--json", action="store_true", help='print {"response": …, "notifications": […]}')
    sim.add_argument("--launch", action="store_true", help="send a LaunchRequest instead of an intent")
    sim.add_argument("--dialog-state", choices=["STARTED", "IN_PROGRESS", "COMPLETED"], help="request.dialogState")
    sim.add_argument("--confirm", choices=["yes", "no"], help="the person's answer to a confirmation prompt")

    model = sub.add_parser("model", parents=[common], help="write interaction_models/<locale>.json from the map")
    model.add_argument("--out", metavar="DIR", default="interaction_models", help="output folder")
    model.add_argument("--ask-cli", metavar="DIR", help="also write an ASK CLI skill package into DIR")
    model.add_argument("--endpoint", metavar="URL", help="HTTPS endpoint for the ASK CLI skill package")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage line
        return int(exc.code or 0)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    try:
        settings = load_settings()
    except ConfigError as err:
        _error(str(err))
        return 1
    if args.intent_map:
        settings = settings.with_overrides(intent_map_path=args.intent_map)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.command in {"check", "model"} else logging.INFO
    if args.command == "simulate" and not args.verbose:
        level = logging.WARNING
    configure_logging(settings.log_format, level=level, secrets=(settings.pushover_token, settings.pushover_user))
    handler = {"check": cmd_check, "simulate": cmd_simulate, "serve": cmd_serve, "model": cmd_model}[args.command]
    try:
        return handler(args, settings)
    except UsageError as err:
        _error(str(err))
        return 2
    except ConfigError as err:
        for problem in err.problems:
            print(problem if problem.path else f"error: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


# --------------------------------------------------------------------------- check


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Validate the intent map (and the interaction models against it)."""
    imap = load_intent_map(settings.intent_map_path)
    problems: list[Problem] = list(imap.warnings)
    try:
        from .model import check_models
    except ImportError:  # the model module is optional until it exists
        check_models = None
    if check_models is not None:
        problems.extend(check_models(imap, args.models))
    if args.online:
        from .online import check_online

        # Pushover knows the account's custom sounds: the online check has the last word on them.
        problems = [p for p in problems if p.code != "custom-sound"]
        problems.extend(check_online(imap, settings))
    strict = {"undeclared-slot"}
    errors = [p for p in problems if p.severity == "error" or p.code in strict]
    for problem in problems:
        if problem.severity == "error" or problem.code in strict:
            print(Problem(problem.path, problem.line, problem.col, problem.message), file=sys.stderr)
        else:
            print(problem, file=sys.stderr)
    if errors:
        return 1
    warnings = len(problems) - len(errors)
    notifications = sum(len(i.notifications) for i in imap.intents.values())
    print(
        f"{imap.path}: OK ({imap.form} form): {len(imap.intents)} intents, {notifications} notifications, "
        f"{warnings} warning{'s' if warnings != 1 else ''}"
    )
    return 0


# --------------------------------------------------------------------------- simulate


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    """Run one envelope through the skill and show what Alexa says and what would be sent."""
    from .alexa import build_request_envelope, build_skill, invoke, resolved_slot
    from .service import Service

    if not args.launch and not args.intent:
        raise UsageError("simulate needs an intent name (or --launch), e.g. simulate LocateIntent User=Paulus")
    slots: dict[str, str] = {}
    for item in args.slots:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"slot values look like NAME=VALUE, not {item!r}")
        slots[name] = value
    imap = load_intent_map(settings.intent_map_path)
    if args.send:
        _require_credentials(imap, settings, args.intent)
    service = Service(imap, settings, dry_run=not args.send)
    try:
        skill = build_skill(service)
        if args.launch:
            envelope = build_request_envelope("LaunchRequest", locale=args.locale)
        else:
            resolved = {name: _resolve(imap, args.intent, name, value, args.locale) for name, value in slots.items()}
            envelope = build_request_envelope(
                "IntentRequest",
                args.intent,
                {
                    n: (resolved_slot(n, v, *r) if r else v)
                    for (n, v), r in zip(slots.items(), resolved.values(), strict=True)
                },
                locale=args.locale,
                dialog_state=args.dialog_state,
                confirmation={"yes": "CONFIRMED", "no": "DENIED"}.get(args.confirm or "", "NONE"),
            )
        try:
            result = invoke(skill, envelope)
        except InvalidRequestError as err:
            _error(str(err))
            return 1
    finally:
        service.close()
    notifications = [d.as_dict() for o in result.outcomes for d in o.deliveries]
    if args.json:
        print(json.dumps({"response": result.response, "notifications": notifications}, indent=2, ensure_ascii=False))
    else:
        _print_simulation(result.response, notifications, dry_run=not args.send)
    statuses = {str(o.status) for o in result.outcomes}
    return 1 if statuses & FAILED_STATUSES else 0


def _require_credentials(imap: IntentMap, settings: Settings, intent: str | None) -> None:
    missing = list(settings.missing_credentials)
    spec = imap.intents.get(intent or "")
    for notification in spec.notifications if spec else []:
        notifier = imap.notifiers.get(notification.notifier)
        if notifier:
            missing += [v for v in (notifier.token_env, notifier.user_env) if not settings.environ.get(v, "").strip()]
    if missing:
        raise ConfigError(
            [Problem("", 0, 0, f"--send needs Pushover credentials; set {', '.join(dict.fromkeys(missing))}")]
        )


def _resolve(imap: IntentMap, intent: str, slot: str, spoken: str, locale: str) -> tuple[str, str | None] | None:
    """Entity resolution as Alexa does it for a custom slot type: value or synonym -> (canonical, id)."""
    spec = imap.intents.get(intent)
    slot_spec = spec.slots.get(slot) if spec else None
    slot_type = imap.slot_types.get(slot_spec.type or "") if slot_spec else None
    if slot_type is None:
        return None
    wanted = " ".join(spoken.lower().split())
    for value in slot_type.pick(locale):
        if wanted in {value.value.lower(), *(s.lower() for s in value.synonyms)}:
            return value.value, value.id
    return None


def _print_simulation(response: dict[str, Any], notifications: list[dict[str, Any]], *, dry_run: bool) -> None:
    body = response.get("response", {})
    if dry_run:
        print("(dry run: nothing is sent; add --send to send through Pushover)")
    speech = _spoken_text(body.get("outputSpeech"))
    print(f"Alexa says: {speech}" if speech else "Alexa says nothing.")
    reprompt = _spoken_text((body.get("reprompt") or {}).get("outputSpeech"))
    if reprompt:
        print(f"Reprompt:   {reprompt}")
    for directive in body.get("directives") or []:
        detail = directive.get("slotToElicit") or ""
        print(f"Directive:  {directive.get('type')} {detail}".rstrip())
    card = body.get("card")
    if card:
        print(f"Card:       {card.get('title', '')} / {card.get('content', '')}")
    print(f"Session:    {'ends' if body.get('shouldEndSession', True) else 'stays open'}")
    for index, note in enumerate(notifications, 1):
        print(f"Notification {index} (notifier {note['notifier']}, {note['status']}):")
        for key, value in note["params"].items():
            if isinstance(value, dict):
                value = ", ".join(f"{k}={v}" for k, v in value.items())
            print(f"  {key}: {value}")
        for key in ("attachment_ref", "attachment_error", "request_id", "receipt", "error", "outbox_id", "note"):
            if key in note:
                print(f"  ({key.replace('_', ' ')}: {note[key]})")


def _spoken_text(speech: dict[str, Any] | None) -> str:
    if not speech:
        return ""
    text = speech.get("ssml") or speech.get("text") or ""
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


# --------------------------------------------------------------------------- serve, model


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the web service on the production WSGI server."""
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0-65535, not {args.port}")
    from .web import run_server

    if args.no_verify:
        settings = settings.with_overrides(alexa_verify=False)
    if args.dry_run:
        settings = settings.with_overrides(dry_run=True, dry_run_requested=True)
    return run_server(settings, host=args.host, port=args.port, ngrok=args.ngrok)


def cmd_model(args: argparse.Namespace, settings: Settings) -> int:
    """Write the interaction models generated from the map."""
    if args.ask_cli and not args.endpoint:
        raise UsageError("--ask-cli needs --endpoint https://…/alexa")
    from .model import write_models

    imap = load_intent_map(settings.intent_map_path)
    return write_models(imap, args.out, ask_cli=args.ask_cli, endpoint=args.endpoint)


if __name__ == "__main__":
    sys.exit(main())
