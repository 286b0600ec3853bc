"""``python -m skill.schema [--check] [PATH]``: write the intent map's JSON Schema from the loader's tables.

``--check`` writes nothing and exits 1 when the file differs from what the loader's tables give.
"""

from __future__ import annotations

import sys

from . import SCHEMA_PATH, render_schema


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the schema file; the exit status."""
    args = sys.argv[1:] if argv is None else argv
    paths = [a for a in args if a != "--check"]
    path = paths[0] if paths else SCHEMA_PATH
    text = render_schema()
    if "--check" in args:
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
