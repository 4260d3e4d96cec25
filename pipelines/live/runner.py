"""Runs a :class:`~storywire.pipelines.live.engine.LiveEngine` on threads: a dispatcher and a set of fetch workers.

The dispatcher starts every job the engine allows (its host may be asked, a worker is free, the buffer has
room) and sleeps until the next one could start or a worker finishes. A worker fetches without the lock and
hands the result to the engine under it, so the engine's state (the poll core included) only ever changes
under one lock. The consumer (the Beam source) calls :meth:`LaneRunner.take_output`, which returns as soon as
results are buffered: an article never waits for other hosts' fetches.

Workers are daemon threads: a fetch a stop gave up on (a host trickling its headers) cannot keep the process
alive, and its job is already pending for the restart; the hard fetch deadline (``http.total_timeout``) ends it
anyway.

Use::

    runner = LaneRunner(engine)
    runner.start()
    while running:
        result = runner.take_output(timeout_s=0.2, limit=16)   # emit result.tasks / result.failures
        runner.call(lambda e: e.checkpoint())                   # once they are flushed
    runner.close()                                              # final checkpoint; threads released
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from storywire.pipelines.live import metrics
from storywire.pipelines.live.engine import LiveEngine, StepResult
from storywire.pipelines.live.lanes import FetchJob

log = logging.getLogger("storywire.live")

T = TypeVar("T")
# The dispatcher looks again at least this often, even with nothing scheduled (a cheap check).
_IDLE_WAIT_S = 1.0


class LaneRunner:
    """Threads around one engine; every engine call goes through its lock (see :meth:`call`)."""

    def __init__(self, engine: LiveEngine) -> None:
        self._engine = engine
        self._cond = threading.Condition()
        self._jobs: queue.SimpleQueue[FetchJob | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def start(self) -> None:
        for number in range(self._engine.max_parallel):
            worker = threading.Thread(target=self._work, name=f"storywire-fetch-{number}", daemon=True)
            worker.start()
            self._threads.append(worker)
        dispatcher = threading.Thread(target=self._dispatch, name="storywire-lanes", daemon=True)
        dispatcher.start()
        self._threads.append(dispatcher)

    def call(self, action: Callable[[LiveEngine], T]) -> T:
        """Run ``action(engine)`` under the lock (checkpoints, gauges) and wake the dispatcher afterwards."""
        with self._cond:
            try:
                return action(self._engine)
            finally:
                self._cond.notify_all()

    def take_output(
        self, timeout_s: float, limit: int | None = None, *, until: threading.Event | None = None
    ) -> StepResult:
        """Results as soon as there are some, waiting at most ``timeout_s`` (or until ``until`` is set)."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._cond:
            while not self._engine.has_output() and not (until is not None and until.is_set()):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            result = self._engine.take_output(limit)
            self._cond.notify_all()  # room in the buffer: the dispatcher may start jobs again
            return result

    def close(self) -> None:
        """Stop the threads (a running fetch is left to its deadline) and close the engine (final checkpoint)."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        for _ in range(self._engine.max_parallel):
            self._jobs.put(None)
        with self._cond:
            self._engine.close()

    # -- threads ----------------------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        with self._cond:
            while not self._closed:
                metrics.METRICS.beat()
                try:
                    for job in self._engine.start_jobs():
                        self._jobs.put(job)
                    wait = self._engine.next_event_in()
                except Exception:  # a bug here must not silently stop all fetching: say it, keep going
                    log.exception("live: the fetch dispatcher failed; trying again in %.0fs", _IDLE_WAIT_S)
                    wait = _IDLE_WAIT_S
                self._cond.wait(_IDLE_WAIT_S if wait is None else min(max(wait, 0.005), _IDLE_WAIT_S))

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            outcome = self._engine.fetch(job)
            with self._cond:
                if not self._closed:
                    self._engine.complete(job, outcome)  # turns its own surprises into dead letters
                self._cond.notify_all()
