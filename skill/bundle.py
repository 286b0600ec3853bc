"""The pre-validated intent map of the Lambda bundle: checked at build time, loaded at cold start as is.

``make build-SkillFunction`` runs ``python -m skill.bundle intents.yaml`` in the bundle. That
validates the map with every check ``load_intent_map`` makes and writes ``intents.yaml.validated``
beside it: one JSON header line with a checksum of the YAML and one of the skill's source files,
then the loaded ``IntentMap``, pickled (its templates without their compiled code: each is
compiled on its first render).

At cold start :func:`load_bundled_map` uses that file only when both checksums match what is
there now; a missing, stale or unreadable one is logged and the YAML is validated as usual.
The header is read before anything is unpickled, so a stale file is never unpickled.

The checksums are CRC-32 (with the sizes), not SHA-256: they catch a map or code changed since
the build, which is an accident, not an attack (whoever can change the bundle can change the
code), and ``zlib`` loads at a cold start in a fraction of the time ``hashlib`` and its OpenSSL take.

Trust: unpickling runs code. The file sits beside the map in the bundle (read-only on Lambda),
is written by the build from that same map, and is as trusted as the code beside it. Nothing
a request carries reaches it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from .errors import ConfigError

if TYPE_CHECKING:
    from .intent_map import IntentMap

logger = logging.getLogger(__name__)

#: Appended to the map's path to name the pre-validated file.
SUFFIX: Final = ".validated"
#: Bumped when the file's layout changes (2: CRC-32 checksums instead of SHA-256).
FORMAT: Final = 2
_PACKAGE: Final = os.path.dirname(os.path.realpath(__file__))


def artifact_path(path: str | os.PathLike[str]) -> str:
    """Where the pre-validated map of the map at ``path`` is written."""
    return os.fspath(path) + SUFFIX


def checksum(data: bytes) -> str:
    """The size and CRC-32 of ``data``: ``"1234:0badf00d"``."""
    return f"{len(data)}:{zlib.crc32(data):08x}"


def source_digest(package: str | os.PathLike[str] = _PACKAGE) -> str:
    """A checksum over the names, sizes and bytes of the skill's source files: other code validates again."""
    root = os.fspath(package)
    files: list[str] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        where = folder[len(root) + 1 :].replace(os.sep, "/")
        files += [f"{where}/{name}" if where else name for name in names if name.endswith(".py")]
    files.sort()
    crc, size = 0, 0
    for name in files:
        with open(os.path.join(root, *name.split("/")), "rb") as handle:
            data = handle.read()
        crc = zlib.crc32(data, zlib.crc32(f"{name}\0{len(data)}\0".encode(), crc))
        size += len(data)
    return f"{len(files)}:{size}:{crc:08x}"


def write_prevalidated(path: str | os.PathLike[str]) -> str:
    """Validate the map at ``path`` and write the pre-validated file beside it; ConfigError if it is not valid."""
    import pickle

    from .intent_map import load_intent_map

    with open(path, "rb") as handle:
        text = handle.read()
    imap = load_intent_map(path)
    header = {"format": FORMAT, "yaml": checksum(text), "source": source_digest()}
    target = artifact_path(path)
    with open(target + ".tmp", "wb") as handle:
        handle.write(json.dumps(header).encode() + b"\n" + pickle.dumps(imap, protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(target + ".tmp", target)
    return target


def load_bundled_map(path: str | os.PathLike[str]) -> IntentMap:
    """The map at ``path``: from its pre-validated file when that is current, else validated now."""
    imap = _load_prevalidated(os.fspath(path))
    if imap is not None:
        return imap
    from .intent_map import load_intent_map

    return load_intent_map(path)


def _load_prevalidated(path: str) -> IntentMap | None:
    target, name = artifact_path(path), os.path.basename(path)
    try:
        with open(target, "rb") as handle:
            header = json.loads(handle.readline())
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                logger.warning("%s: not a pre-validated map of this version; validating %s", target, name)
                return None
            with open(path, "rb") as yaml_file:
                text = yaml_file.read()
            if header.get("yaml") != checksum(text):
                logger.warning("%s is stale (the map changed since the build); validating %s", target, name)
                return None
            if header.get("source") != source_digest():
                logger.warning("%s was made by other code; validating %s", target, name)
                return None
            import pickle

            imap = pickle.load(handle)  # noqa: S301 (written by the build; see the module docstring)
    except FileNotFoundError:
        logger.info("no pre-validated map at %s; validating %s", target, name)
        return None
    except Exception as err:  # a truncated or foreign file: the YAML is still there
        logger.warning("cannot read %s (%s); validating %s", target, type(err).__name__, name)
        return None
    imap.path = path
    return imap


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m skill.bundle MAP``: write ``MAP.validated`` (exit 1 with the problems if the map is invalid)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m skill.bundle INTENT_MAP", file=sys.stderr)
        return 2
    try:
        target = write_prevalidated(args[0])
    except ConfigError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return 1
    except OSError as err:
        print(f"{args[0]}: cannot read or write: {err.strerror or err}", file=sys.stderr)
        return 1
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
