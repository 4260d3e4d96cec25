"""Extract pages on several worker processes at once, giving the answers back in the order the pages came in.

:class:`ExtractionPool` owns ``workers`` :class:`~storywire.connectors.articles.worker.IsolatedWorker` processes,
each driven by one thread of the caller's process: the thread takes the next page from a shared queue, sends it to
its worker and waits for the answer under the per-page time limit (a page that runs over kills that worker only:
:class:`~storywire.connectors.errors.ExtractionTimeoutError`, and the thread starts a new worker for its next
page). The threads only wait on pipes, so the caller's own thread keeps the core it needs (Beam's work, feed
parsing) while the workers use the others; trafilatura itself never runs on a thread of the caller (it is not
thread-safe).

The whole page (:func:`extract_isolated`: decoding, trafilatura, the garbled-text check) runs in the worker, so
that work spreads over the cores; the per-page time limit covers all of it. An exception raised there comes back
as a :class:`RaisedError` (type name, message, whether it is an ``InputError``): some of storywire's exceptions
do not survive a pickle round trip (``HttpStatusError(status, url)``), and the dead letter only needs those three.

Answers are given back in submission order (:meth:`ExtractionPool.ready`, :meth:`ExtractionPool.next`), so a
pipeline emits its results in the order it received the pages, whatever the workers' timing: the output of a
replay does not depend on how many workers ran it. At most ``max_pending`` pages wait in the pool (submitted,
not yet taken back): :meth:`submit` callers take an answer back before submitting more (:meth:`full`), which
bounds the memory a long bundle holds.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storywire.connectors.articles.extract import ExtractedPage, extract_page
from storywire.connectors.articles.settings import ExtractionLimits
from storywire.connectors.articles.worker import IsolatedWorker
from storywire.connectors.errors import InputError
from storywire.connectors.http_types import CapturedResponse

if TYPE_CHECKING:
    from storywire.connectors.feeds.parse import ParsedFeed

PAGES_PER_WORKER = 16
"""Pages that may wait in the pool per worker (``max_pending`` = ``workers`` x this): enough to keep every
worker busy while the caller is away, few enough to bound memory (pages are at most ``max_html_bytes`` each)."""


def default_workers() -> int:
    """Extraction processes by default: one per core this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # macOS, Windows
        return max(os.cpu_count() or 1, 1)


@dataclass(frozen=True, slots=True)
class RaisedError:
    """An exception raised while extracting in a worker, in a form that always pickles."""

    error_type: str
    message: str
    input_error: bool


def extract_isolated(response: CapturedResponse, limits: ExtractionLimits) -> ExtractedPage | RaisedError:
    """Runs in a worker process: the whole extraction of one page (no nested worker), errors as values."""
    try:
        return extract_page(response, limits=limits)
    except Exception as exc:
        return RaisedError(type(exc).__name__, str(exc) or type(exc).__name__, isinstance(exc, InputError))


def parse_feed_isolated(body: bytes, url: str, seen_at: datetime, content_type: str | None) -> ParsedFeed | RaisedError:
    """Runs in a worker process: :func:`~storywire.connectors.feeds.parse.parse_feed`, errors as values (the replay
    parses feeds on the same pool of processes as pages)."""
    from storywire.connectors.feeds.parse import parse_feed

    try:
        return parse_feed(body, url, seen_at, content_type)
    except Exception as exc:
        return RaisedError(type(exc).__name__, str(exc) or type(exc).__name__, isinstance(exc, InputError))


def _no_call() -> None:  # the function of an answer given with put_done: never called
    return None


@dataclass(slots=True)
class _Job:
    function: Callable[..., Any]
    args: tuple[Any, ...]
    what: str
    done: bool = False
    ok: bool = False
    value: Any = None


_STOP = None
_TAKEN: tuple[_Job, Any] = (_Job(_no_call, (), "", done=True), None)


class ExtractionPool:
    """``workers`` worker processes fed from one queue; answers are taken back in submission order."""

    def __init__(
        self,
        workers: int,
        *,
        timeout_s: float,
        recycle_bytes: int | None = None,
        max_pending: int | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.max_pending = max_pending or workers * PAGES_PER_WORKER
        self._isolated = [IsolatedWorker(timeout_s=timeout_s, recycle_bytes=recycle_bytes) for _ in range(workers)]
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._order: list[tuple[_Job, Any]] = []  # (job, the caller's tag), in submission order
        self._head = 0
        self._done = threading.Condition()
        self._threads: list[threading.Thread] = []

    @property
    def restarts(self) -> int:
        """Workers replaced so far (timeouts, crashes, recycling), all workers together."""
        return sum(worker.restarts for worker in self._isolated)

    @property
    def pending(self) -> int:
        """Pages submitted and not taken back yet."""
        return len(self._order) - self._head

    def full(self) -> bool:
        return self.pending >= self.max_pending

    def start(self) -> None:
        """Start the threads (idempotent); each starts its worker process without making the caller wait: the
        first start of the fork server (importing and warming the extractor, about a second) overlaps with the
        caller's own work, and pages submitted meanwhile wait in the queue."""
        if self._threads:
            return
        for number, worker in enumerate(self._isolated):
            thread = threading.Thread(
                target=self._drive, args=(worker,), name=f"storywire-extract-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def submit(self, tag: Any, function: Callable[..., Any], *args: Any, what: str = "the call") -> None:
        """Queue ``function(*args)`` for a worker; ``tag`` comes back with its answer."""
        self.start()
        job = _Job(function, args, what)
        self._order.append((job, tag))
        self._queue.put(job)

    def put_done(self, tag: Any, ok: bool, value: Any) -> None:
        """An answer known without a worker (a refusal decided by the caller), given back in its place in the
        order like the others."""
        self._order.append((_Job(_no_call, (), "", done=True, ok=ok, value=value), tag))

    def ready(self) -> Iterator[tuple[Any, bool, Any]]:
        """The answers ready now, in submission order, as ``(tag, ok, value)`` (``value``: the exception when
        not ``ok``); stops at the first page still running."""
        while self._head < len(self._order) and self._order[self._head][0].done:
            yield self._take()

    def next(self) -> tuple[Any, bool, Any]:
        """The oldest answer, waiting for it."""
        if self._head >= len(self._order):
            raise LookupError("nothing submitted")
        job = self._order[self._head][0]
        with self._done:
            self._done.wait_for(lambda: job.done)
        return self._take()

    def drain(self) -> Iterator[tuple[Any, bool, Any]]:
        """Every answer still owed, in submission order, waiting for each."""
        while self._head < len(self._order):
            yield self.next()

    def close(self) -> None:
        """Stop the threads and the worker processes (idempotent); answers not taken back are dropped."""
        for _ in self._threads:
            self._queue.put(_STOP)
        for thread in self._threads:
            thread.join()
        self._threads = []
        for worker in self._isolated:
            worker.close()
        self._order, self._head = [], 0

    def _take(self) -> tuple[Any, bool, Any]:
        job, tag = self._order[self._head]
        self._order[self._head] = _TAKEN  # the page and its answer go now, not with the next trim of the list
        self._head += 1
        if self._head > 1024 and self._head * 2 > len(self._order):  # forget what was taken back
            del self._order[: self._head]
            self._head = 0
        return tag, job.ok, job.value

    def _drive(self, worker: IsolatedWorker) -> None:
        """One thread per worker: run queued jobs on it until told to stop."""
        with contextlib.suppress(Exception):  # the first call starts it again and reports the error with its page
            worker.start()
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            try:
                value, ok = worker.call(job.function, *job.args, what=job.what), True
            except Exception as exc:  # the time limit, a crash, or the function's own exception
                value, ok = exc, False
            with self._done:
                job.value, job.ok, job.done = value, ok, True
                self._done.notify_all()

    def __enter__(self) -> ExtractionPool:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
