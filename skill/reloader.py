"""The map holder: the current intent map (with the service and skill built on it) behind one reference.

The web service reads ``holder.current`` once per request, so a request runs on one map from start to
end; ``reload()`` builds the next generation beside the current one and swaps the reference only when
the new map loads cleanly. A bad edit keeps the last good map serving and leaves its problems in
``holder.status`` (shown by ``/healthz``) until a good edit replaces it.

``MapWatcher`` polls the file (size, mtime and a hash of its bytes; polling works the same for editors
that write in place, editors that rename a temporary file over it, and bind-mounted container volumes)
and reloads on a change, or at once when ``request()`` is called (``serve`` calls it on SIGHUP).
Lambda never reloads: its map is in the bundle.

No Flask here: ``web`` owns the watcher's life.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from .errors import ConfigError, Problem
from .intent_map import IntentMap
from .phrases import counted

logger = logging.getLogger(__name__)

#: How often the watcher looks at the file.
DEFAULT_POLL_S: Final = 1.0


@dataclass(frozen=True)
class Generation:
    """One loaded map and what was built on it; never changed after it is made."""

    number: int
    intent_map: IntentMap
    service: Any
    skill: Any
    fingerprint: str = ""


@dataclass(frozen=True)
class ReloadStatus:
    """The last (re)load: when, whether it was taken, and every problem of a refused edit."""

    ok: bool
    at: float
    generation: int
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    model_changed: bool = False

    def as_dict(self) -> dict[str, Any]:
        """For /healthz and the dashboard."""
        return {
            "ok": self.ok,
            "at": round(self.at, 3),
            "generation": self.generation,
            "problems": list(self.problems),
            "warnings": list(self.warnings),
            "model_changed": self.model_changed,
        }


def fingerprint_file(path: str) -> str:
    """A hash of the file's bytes, or "" when it cannot be read (the reload then names the reason)."""
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return ""


def model_texts(imap: IntentMap) -> dict[str, str]:
    """The interaction model files the map gives (what must be uploaded to Alexa), per locale."""
    from .model import generate_models  # only when a reload happens

    try:
        return generate_models(imap).texts
    except Exception:  # a map the generator cannot handle is check's business, not the reload's
        logger.debug("cannot generate the interaction model of %s", imap.path, exc_info=True)
        return {}


@dataclass
class MapHolder:
    """The current generation behind one reference; ``reload()`` swaps it only for a map that loads cleanly.

    ``load`` turns a path into an IntentMap (raising ConfigError), the same function the service starts
    with, so a reload refuses exactly what a start would refuse. ``build`` makes the service and skill
    for a map, given the generation it replaces.
    """

    path: str
    load: Callable[[str], IntentMap]
    build: Callable[[IntentMap, Generation | None], tuple[Any, Any]]
    current: Generation = field(init=False)
    status: ReloadStatus = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _seen: str = field(default="", init=False, repr=False)

    def __post_init__(self) -> None:
        fingerprint = fingerprint_file(self.path)
        imap = self.load(self.path)  # a bad map at start is the caller's ConfigError
        service, skill = self.build(imap, None)
        self.current = Generation(1, imap, service, skill, fingerprint)
        self.status = ReloadStatus(True, time.time(), 1, warnings=tuple(str(w) for w in imap.warnings))
        self._seen = fingerprint

    @classmethod
    def of(cls, imap: IntentMap, service: Any, skill: Any) -> MapHolder:
        """A holder around what was built elsewhere (tests, a service passed in); it can still reload."""
        holder = cls.__new__(cls)
        holder.path = imap.path
        holder.load = _refuse_reload
        holder.build = lambda m, g: (service, skill)
        holder._lock = threading.Lock()
        holder.current = Generation(1, imap, service, skill, fingerprint_file(imap.path))
        holder.status = ReloadStatus(True, time.time(), 1)
        holder._seen = holder.current.fingerprint
        return holder

    def changed(self) -> bool:
        """True when the file's bytes differ from those of the last load attempt (good or refused)."""
        return fingerprint_file(self.path) != self._seen

    def reload(self) -> ReloadStatus:
        """Load the file again; swap it in when it is good, keep the current map when it is not."""
        with self._lock:
            old = self.current
            self._seen = fingerprint = fingerprint_file(self.path)
            try:
                imap = self.load(self.path)
                service, skill = self.build(imap, old)
            except ConfigError as err:
                problems = tuple(str(p) for p in err.problems)
                for line in problems:
                    logger.error("reload refused, still serving the previous map: %s", line)
                self.status = ReloadStatus(False, time.time(), old.number, problems)
                return self.status
            except Exception as err:  # a bug in building must not take the running map down
                logger.error("reload failed, still serving the previous map", exc_info=err)
                self.status = ReloadStatus(False, time.time(), old.number, (f"{self.path}: {type(err).__name__}",))
                return self.status
            new = Generation(old.number + 1, imap, service, skill, fingerprint)
            self.current = new  # one reference: a request holds either the old or the new generation
            model_changed = model_texts(old.intent_map) != model_texts(imap)
            warnings = tuple(str(w) for w in imap.warnings)
            self.status = ReloadStatus(True, time.time(), new.number, warnings=warnings, model_changed=model_changed)
        for line in warnings:
            logger.warning("%s", line)
        logger.info("reloaded %s: %s (generation %d)", self.path, counted(len(imap.intents), "intent"), new.number)
        if model_changed:
            logger.warning(
                "the edit changes intents, samples, slots or the invocation name: regenerate the interaction "
                "model (python -m skill model) and upload it in the Alexa developer console (or ask deploy)"
            )
        return self.status


def _refuse_reload(path: str) -> IntentMap:
    raise ConfigError([Problem(path, 0, 0, "this map was given to the service directly and cannot be reloaded")])


class MapWatcher:
    """A daemon thread that reloads ``holder`` when its file changes or ``request()`` is called."""

    def __init__(self, holder: MapHolder, *, poll_s: float = DEFAULT_POLL_S) -> None:
        self.holder = holder
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._forced = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="map-watcher", daemon=True)
            self._thread.start()

    def request(self) -> None:
        """Reload now (SIGHUP); safe from a signal handler."""
        self._forced = True
        self._wake.set()

    def stop(self) -> None:
        """Stop watching; waits for a reload in progress."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            forced, self._forced = self._forced, False
            try:
                if forced or self.holder.changed():
                    self.holder.reload()
            except Exception:  # the watcher must outlive any one bad reload
                logger.exception("watching %s failed", self.holder.path)
