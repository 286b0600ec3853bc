"""One deadline per Alexa request, and the calls that run inside it.

Alexa gives up on an answer after about 8 s. Every request is answered within
``const.ANSWER_DEADLINE_S`` (6.5 s) of arriving, whatever Pushover does: the host (the web
service, Lambda) makes a :class:`Deadline` when the request arrives, and the service runs the
request's Pushover calls — device checks, attachment downloads, sends — as :class:`Call`\\ s,
each in a daemon worker thread of a :class:`CallPool`, all at once, and waits for them until the
deadline. What has not finished by then is *handed over*:

- a call that has not started (every worker of the :class:`CallPool` busy) never starts;
- a call that is running goes on in its thread; what happens when it ends is the business of
  the ``on_late`` callback given to :meth:`Call.hand_over` (the service settles or releases
  the outbox row it wrote for it).

The threads are daemons: a call in flight never holds up the process's exit (the outbox row
written for it is retried after a restart).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from . import const

if TYPE_CHECKING:
    from queue import SimpleQueue

logger = logging.getLogger(__name__)

T = TypeVar("T")
K = TypeVar("K")

#: Of the 6.5 s, this much is kept for what follows the wait: writing to the outbox and answering.
ANSWER_RESERVE_S: Final = 1.0
#: How long the service waits for its calls when nobody says otherwise.
DEFAULT_WORK_S: Final = const.ANSWER_DEADLINE_S - ANSWER_RESERVE_S
#: Calls that may run at once in one process; more wait for a slot (and are handed over unstarted).
MAX_CALLS: Final = 128
#: A worker thread with nothing to do for this long ends.
WORKER_IDLE_S: Final = 60.0

DONE: Final = "done"
ABANDONED: Final = "abandoned"
HANDED_OVER: Final = "handed over"
_WAITING: Final = "waiting"
_RUNNING: Final = "running"


class Deadline:
    """The moment (on ``time.perf_counter``) by which a request's calls must be done."""

    def __init__(self, at: float) -> None:
        self.at = at

    @classmethod
    def after(cls, seconds: float, *, start: float | None = None) -> Deadline:
        """``seconds`` after ``start`` (a ``time.perf_counter()`` reading; default: now)."""
        return cls((time.perf_counter() if start is None else start) + seconds)

    @classmethod
    def for_request(cls, arrived: float | None = None) -> Deadline:
        """For a request that arrived at ``arrived`` (perf_counter; default now): 6.5 s less the reserve."""
        return cls.after(DEFAULT_WORK_S, start=arrived)

    def remaining(self) -> float:
        """Seconds left, never below zero."""
        return max(0.0, self.at - time.perf_counter())

    def __repr__(self) -> str:
        return f"Deadline(in {self.at - time.perf_counter():.3f} s)"


class Call(Generic[T]):
    """One piece of blocking work in a daemon thread; see the module docstring."""

    def __init__(self, work: Callable[[Call[T]], T], name: str) -> None:
        self._work = work
        self.name = name
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._state = _WAITING
        self._result: T | None = None
        self._error: BaseException | None = None
        self._handed_over_at: float | None = None
        self._on_late: Callable[[Call[T], Any], None] | None = None
        self._kept: Any = None

    def result(self) -> T:
        """What the work returned; raises what it raised. Only after it has ended."""
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]

    @property
    def kept(self) -> Any:
        """What ``keep()`` returned when the call was handed over (None before)."""
        return self._kept

    def late_by(self) -> float | None:
        """Seconds since the call was handed over, or None while someone still waits for it."""
        with self._lock:
            at = self._handed_over_at
        return None if at is None else time.perf_counter() - at

    def hand_over(
        self, keep: Callable[[], K] | None = None, on_late: Callable[[Call[T], K], None] | None = None
    ) -> str:
        """At the deadline: ``DONE`` (the result is there), ``ABANDONED`` (it never starts) or ``HANDED_OVER``.

        ``HANDED_OVER``: ``keep()`` runs now, under the call's lock, so that ``on_late(call, kept)``,
        which the call's thread runs when the work ends, always sees what it returned.
        """
        with self._lock:
            if self._state == DONE:
                return DONE
            if self._state in (_WAITING, ABANDONED):
                self._state = ABANDONED
                return ABANDONED
            self._state = HANDED_OVER
            self._handed_over_at = time.perf_counter()
            self._on_late = on_late
            if keep is not None:
                self._kept = keep()
            return HANDED_OVER

    def _run(self, deadline: Deadline) -> None:
        """Run the work in the calling (worker) thread, unless it was not started by its deadline."""
        with self._lock:
            if self._state != _WAITING or deadline.remaining() <= 0.0:
                self._state = ABANDONED  # not started by the deadline: it never starts
                return
            self._state = _RUNNING
        try:
            self._result = self._work(self)
        except BaseException as err:  # handed to whoever reads result()
            self._error = err
        with self._lock:
            if self._state == _RUNNING:
                self._state = DONE
                self._done.set()
                return
            on_late, kept = self._on_late, self._kept
        if on_late is not None:
            try:
                on_late(self, kept)
            except Exception:  # a thread's exception would otherwise go to bare stderr
                logger.exception("%s: handling the late end failed", self.name)


class CallPool:
    """Runs calls in daemon worker threads that are kept for the next call, at most ``limit`` at once.

    A thread is started only when no worker is idle, and a worker idle for ``idle_s`` ends. Starting
    a thread per call cost about 1.4 ms of CPU per request (``python -m bench.profile breakdown``);
    handing a call to a waiting worker costs a fraction of that. Calls beyond ``limit`` wait in order
    for a worker; one still waiting at its deadline never starts.

    Each waiting worker has an inbox of its own, and every hand-over happens under one lock: a
    call goes into an idle worker's inbox, to a new worker, or (at the limit) into the backlog, which
    a worker empties before it waits again. So no worker is counted idle while it runs a call, and no
    call waits in a pool whose workers have all ended.
    """

    def __init__(self, limit: int = MAX_CALLS, idle_s: float = WORKER_IDLE_S) -> None:
        self._limit = limit
        self._idle_s = idle_s
        self._lock = threading.Lock()
        self._workers = 0
        #: The inboxes of the workers waiting for a call, the one that waited least last.
        self._idle: list[SimpleQueue[tuple[Call[Any], Deadline]]] = []
        #: Calls that came while ``limit`` workers were busy, oldest first.
        self._backlog: deque[tuple[Call[Any], Deadline]] = deque()

    @property
    def workers(self) -> int:
        """Worker threads alive now (busy or idle)."""
        with self._lock:
            return self._workers

    def start(self, work: Callable[[Call[T]], T], deadline: Deadline, name: str = "call") -> Call[T]:
        """Start ``work(call)`` in a worker now (or as soon as one is free, if before ``deadline``)."""
        call: Call[T] = Call(work, name)
        with self._lock:
            if self._idle:
                self._idle.pop().put((call, deadline))  # the worker that waited least: older ones may end
                return call
            if self._workers >= self._limit:
                self._backlog.append((call, deadline))  # the first worker to come free takes it
                return call
            self._workers += 1
        threading.Thread(target=self._serve, args=(call, deadline), name="skill-call", daemon=True).start()
        return call

    def _serve(self, call: Call[Any], deadline: Deadline) -> None:
        from queue import Empty, SimpleQueue  # here: a request that sends nothing never loads queue

        inbox: SimpleQueue[tuple[Call[Any], Deadline]] = SimpleQueue()
        while True:
            call._run(deadline)
            with self._lock:
                if self._backlog:
                    call, deadline = self._backlog.popleft()
                    continue
                self._idle.append(inbox)
            try:
                call, deadline = inbox.get(timeout=self._idle_s)
            except Empty:
                with self._lock:
                    if inbox in self._idle:  # nobody handed it a call: it ends
                        self._idle.remove(inbox)
                        self._workers -= 1
                        return
                call, deadline = inbox.get()  # handed one just as it timed out

    @staticmethod
    def wait(calls: Iterable[Call[Any]], deadline: Deadline) -> None:
        """Wait until every call has ended or the deadline has come."""
        for call in calls:
            if not call._done.wait(deadline.remaining()):
                return
