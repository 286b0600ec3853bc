"""What every command shares: the usage error and the one-line error message."""

from __future__ import annotations

import sys


class UsageError(Exception):
    """A mistake in how the command was called (exit status 2)."""


def error(message: str) -> None:
    """Print one ``error: …`` line to stderr."""
    print(f"error: {message}", file=sys.stderr)
