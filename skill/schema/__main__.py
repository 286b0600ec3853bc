"""``python -m skill.schema [--check] [PATH]``: write the intent map's JSON Schema from the loader's tables.

``--check`` writes nothing and exits 1 when the file differs from what the loader's tables give.
"""

from __future__ import annotations

import argparse
import sys

from . import SCHEMA_PATH, render_schema

EXAMPLES = """\
examples:
  python -m skill.schema                      rewrite skill/schema/intent_map.schema.json
  python -m skill.schema --check              exit 1 if that file is out of date (a pre-commit hook)
  python -m skill.schema /tmp/map.schema.json write the schema somewhere else
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``--check`` and an optional path."""
    parser = argparse.ArgumentParser(
        prog="python -m skill.schema",
        description="Write the intent map's JSON Schema (for editors), generated from the loader's own\n"
        "key tables; with --check, write nothing and exit 1 when the file differs from them.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when the file is missing or differs from a fresh build",
    )
    parser.add_argument(
        "path",
        nargs="?",
        default=SCHEMA_PATH,
        help="the schema file to write or compare (default: the package's intent_map.schema.json)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the schema file; the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.path.startswith("-"):  # only reachable after `--`: a file named like an option is a slip
            parser.error(f"path {args.path!r} starts with '-': write ./{args.path} if you really mean that file")
    except SystemExit as exc:  # argparse printed the help, or the usage line and the error
        return int(exc.code or 0)
    path = args.path
    text = render_schema()
    if args.check:
        try:
            with open(path, encoding="utf-8") as handle:
                current = handle.read()
        except FileNotFoundError:
            current = None
        if current == text:
            return 0
        print(f"{path} is out of date with the intent map loader; run `python -m skill.schema`", file=sys.stderr)
        return 1
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
