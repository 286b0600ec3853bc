"""Command line: ``alexa-pushover`` (or ``python -m skill``) ``init | check | simulate | serve | model``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TextIO

from .. import const
from ..config import Settings, load_settings
from ..envelope import SESSION_END_ERRORS, SESSION_END_REASONS
from ..errors import ConfigError
from ..logs import configure_logging
from .common import UsageError, error

#: The name of the installed console command (pyproject.toml, [project.scripts]).
COMMAND: str = "alexa-pushover"
MODULE_PROG: str = "python -m skill"

_EXAMPLES = {
    "serve": """\
examples:
  {prog} serve                                   # http://127.0.0.1:5000/alexa, dry run without keys
  {prog} serve --port 8080 --no-verify           # local curl tests (or ALEXA_VERIFY=0)
  {prog} --intent-map /etc/skill/intents.yaml serve --host 0.0.0.0
""",
    "check": """\
examples:
  {prog} check                                   # intents.yaml in this folder
  {prog} check --intent-map ha.yaml              # your own map (or a pasted Home Assistant block)
  {prog} check --online                          # also ask Pushover about keys, devices and sounds
  {prog} check --models build/models             # compare the map with these model files

The interaction models are compared with the map when they belong to it: the folder given with
--models, or else interaction_models/ next to the map when its invocation name is the map's.
""",
    "simulate": """\
examples:
  {prog} simulate LocateIntent User=Paulus
  {prog} simulate LocateIntent User=Paulus --send --json
  {prog} simulate --launch --locale de-DE
  {prog} simulate --session-ended --reason ERROR --error ENDPOINT_TIMEOUT

--launch and --session-ended play what the map says for ALEXA_SKILL_ID, else for the first skill id
in it (Home Assistant's <applicationId> and <applicationId>.SessionEndedRequest entries).
""",
    "model": """\
examples:
  {prog} model                                   # writes interaction_models/<locale>.json
  {prog} model --ask-cli skill-project --endpoint https://notes.example.org/alexa
""",
    "init": """\
examples:
  {prog} init                                    # intents.yaml (the example map) and .env
  {prog} init --from configuration.yaml          # convert your Home Assistant alexa:/intent_script: block
  pbpaste | {prog} init --from -                 # the same, pasted
""",
}


def _add_common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Before and after the command alike: a subcommand's own default must not overwrite what was
    # given before it, so below the top only a value actually given is stored.
    keep = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument(
        "--intent-map",
        metavar="PATH",
        help=f"the YAML intent map (default: $INTENT_MAP or {const.DEFAULT_INTENT_MAP})",
        **({"default": None} if top else keep),
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level", **keep)


def _sub(sub: argparse._SubParsersAction, name: str, prog: str, help_: str, desc: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        name,
        prog=f"{prog} {name}",
        help=help_,
        description=textwrap.fill(desc, 100),
        epilog=_EXAMPLES[name].format(prog=prog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(parser, top=False)
    return parser


def build_parser(prog: str = MODULE_PROG) -> argparse.ArgumentParser:
    """The argument parser; options such as --intent-map and -v go before or after the command."""
    parser = argparse.ArgumentParser(
        prog=prog,
        usage=f"{prog} [--intent-map PATH] [-v] COMMAND [options]",
        description="Alexa custom-skill backend that turns voice intents into Pushover notifications.",
        epilog=f"Start with `{prog} init` in an empty folder; `{prog} COMMAND --help` shows examples.",
    )
    _add_common(parser, top=True)
    parser.add_argument("--version", action="version", version=f"%(prog)s {const.VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    init = _sub(
        sub, "init", prog, "write a starter intents.yaml and a .env template for the keys",
        "Write a starter intent map (the example, or your Home Assistant block converted to our form) and "
        "a .env template for the Pushover keys, then print the next steps. Existing files are kept "
        "unless --force is given.",
    )  # fmt: skip
    init.add_argument("--from", dest="source", metavar="FILE", help="a Home Assistant YAML file to convert (- = stdin)")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")

    serve = _sub(
        sub, "serve", prog, "run the web service (POST /alexa, GET /healthz)",
        "Serve the skill on the waitress WSGI server: POST /alexa for Alexa, GET /healthz for you. Without "
        "Pushover keys it runs dry: notifications are rendered and logged, not sent.",
    )  # fmt: skip
    serve.add_argument(
        "--host", default=const.DEFAULT_HOST, help=f"address to listen on (default {const.DEFAULT_HOST})"
    )
    serve.add_argument("--port", type=int, default=const.DEFAULT_PORT, help=f"port (default {const.DEFAULT_PORT})")
    serve.add_argument("--no-verify", action="store_true", help="skip signature and timestamp checks (local testing)")
    serve.add_argument("--dry-run", action="store_true", help="render and log notifications, send nothing")
    serve.add_argument("--ngrok", action="store_true", help="open an ngrok tunnel (needs the optional pyngrok)")
    serve.add_argument(
        "--no-reload", action="store_true", help="do not reload the intent map when its file changes (or on SIGHUP)"
    )

    check = _sub(
        sub, "check", prog, "validate the intent map and interaction models",
        "Validate the intent map: one `path:line:col: message` per problem and exit status 1, else a "
        "one-line summary and exit status 0.",
    )  # fmt: skip
    check.add_argument("--online", action="store_true", help="also ask Pushover about keys, devices and sounds")
    check.add_argument("--models", metavar="DIR", help="interaction models to compare (must exist)")

    sim = _sub(
        sub, "simulate", prog, "run one request through the skill, without an Echo",
        "Build a real Alexa request envelope and run it through the same skill the endpoint uses. "
        "Nothing is sent unless --send is given.",
    )  # fmt: skip
    sim.add_argument("intent", nargs="?", help="intent name, e.g. LocateIntent")
    sim.add_argument("slots", nargs="*", metavar="SLOT=VALUE", help="slot values as spoken, e.g. User=Paulus")
    sim.add_argument("--locale", default=const.DEFAULT_LOCALE, help="request locale (default en-US)")
    sim.add_argument("--send", action="store_true", help="really send through Pushover")
    sim.add_argument("--json", action="store_true", help='print {"response": …, "notifications": […]}')
    sim.add_argument("--launch", action="store_true", help="send a LaunchRequest instead of an intent")
    sim.add_argument(
        "--session-ended", action="store_true",
        help="send a SessionEndedRequest instead of an intent: runs the map's <applicationId>.SessionEndedRequest",
    )  # fmt: skip
    sim.add_argument("--reason", choices=SESSION_END_REASONS, help="why the session ended (default USER_INITIATED)")
    sim.add_argument(
        "--error", choices=SESSION_END_ERRORS, metavar="TYPE",
        help=f"the error that ended it (implies --reason ERROR; default {SESSION_END_ERRORS[0]}): "
        + ", ".join(SESSION_END_ERRORS),
    )  # fmt: skip
    sim.add_argument("--dialog-state", choices=["STARTED", "IN_PROGRESS", "COMPLETED"], help="request.dialogState")
    sim.add_argument("--confirm", choices=["yes", "no"], help="the person's answer to a confirmation prompt")
    sim.add_argument("--person", metavar="ID", help="a recognized voice: context.System.person.personId")
    sim.add_argument("--device", metavar="ID", help="the Echo that heard it: context.System.device.deviceId")

    model = _sub(
        sub, "model", prog, "write interaction_models/<locale>.json from the map",
        "Generate the Alexa interaction model of every locale from the intent map; with --ask-cli also an "
        "ASK CLI skill package (manifest and models) for `ask deploy`.",
    )  # fmt: skip
    model.add_argument("--out", metavar="DIR", default="interaction_models", help="output folder")
    model.add_argument("--ask-cli", metavar="DIR", help="also write an ASK CLI skill package into DIR")
    model.add_argument("--endpoint", metavar="URL", help="HTTPS endpoint for the ASK CLI skill package")
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = MODULE_PROG) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage line
        return int(exc.code or 0)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    args.prog = prog
    try:
        settings = load_settings()
    except ConfigError as err:
        error(str(err))
        return 1
    if args.intent_map:
        settings = settings.with_overrides(intent_map_path=args.intent_map)
    quiet = args.command in {"check", "model", "simulate", "init"}
    level = logging.DEBUG if args.verbose else logging.WARNING if quiet else logging.INFO
    configure_logging(settings.log_format, level=level, secrets=(settings.pushover_token, settings.pushover_user))
    if args.command != "init" and _missing(settings.intent_map_path):
        # The loader would say "file not found" too; here the command also knows how to make one.
        hint = f"set INTENT_MAP or pass --intent-map; `{prog} init` writes a starter map"
        print(f"{settings.intent_map_path}: file not found ({hint})", file=sys.stderr)
        return 1
    try:
        return _handler(args.command)(args, settings)
    except UsageError as err:
        error(str(err))
        return 2
    except ConfigError as err:
        for problem in err.problems:
            print(problem if problem.path else f"error: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _missing(path: str) -> bool:
    """True when nothing is at ``path`` (one that cannot be read is the loader's to name)."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return False


def _handler(command: str) -> Callable[[argparse.Namespace, Settings], int]:
    if command == "check":
        from .check import cmd_check

        return cmd_check
    if command == "simulate":
        from .simulate import cmd_simulate

        return cmd_simulate
    if command == "init":
        from .init import cmd_init

        return cmd_init
    from .serve import cmd_model, cmd_serve

    return {"serve": cmd_serve, "model": cmd_model}[command]


def run(prog: str = MODULE_PROG) -> NoReturn:
    """Exit with main()'s status; a reader that stops early (``| head``) changes neither it nor stderr.

    ``simulate … | head -3`` does the whole run and exits as ``simulate …`` does (0, or 1 for a failed
    outcome): what the reader did not read is dropped, which is no failure of the command. No traceback.
    """
    sys.stdout = _ReaderMayLeave(sys.stdout)
    sys.exit(main(prog=prog))


class _ReaderMayLeave:
    """``sys.stdout`` for the command line: once its reader has left, the rest goes to /dev/null.

    Whether a write meets the closed pipe depends on buffering (``PYTHONUNBUFFERED``, the output's
    length), so it is caught at every write and flush, and the command runs to its end either way.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._reader_left()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._reader_left()

    def _reader_left(self) -> None:
        # Later writes, and Python's own flush at exit, then succeed into /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def console() -> NoReturn:
    """The ``alexa-pushover`` console script."""
    run(COMMAND)
