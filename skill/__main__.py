"""``python -m skill``: the same command line as the installed ``alexa-pushover`` command."""

from __future__ import annotations

from .cli import main, run

__all__ = ["main"]

if __name__ == "__main__":
    run()
