"""``serve`` and ``model``: the web service, and the interaction models written from the map."""

from __future__ import annotations

import argparse

from ..config import Settings
from ..intent_map import load_intent_map
from .common import UsageError


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the web service on the production WSGI server."""
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0-65535, not {args.port}")
    from ..web_runner import run_server

    if args.no_verify:
        settings = settings.with_overrides(alexa_verify=False)
    if args.dry_run:
        settings = settings.with_overrides(dry_run=True, dry_run_requested=True)
    return run_server(settings, host=args.host, port=args.port, ngrok=args.ngrok, reload=not args.no_reload)


def cmd_model(args: argparse.Namespace, settings: Settings) -> int:
    """Write the interaction models generated from the map."""
    if args.ask_cli and not args.endpoint:
        raise UsageError("--ask-cli needs --endpoint https://…/alexa")
    if args.endpoint and not args.ask_cli:
        raise UsageError("--endpoint is used only in the ASK CLI package: add --ask-cli DIR (or leave --endpoint out)")
    from ..model import write_models

    imap = load_intent_map(settings.intent_map_path)
    return write_models(imap, args.out, ask_cli=args.ask_cli, endpoint=args.endpoint)
