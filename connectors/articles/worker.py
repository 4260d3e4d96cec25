"""Run a function in a worker process with a time limit: a call that runs over is stopped by killing the worker.

trafilatura cannot be interrupted from inside (pure Python and lxml loops, no cancellation) and is not thread-safe;
a process is the only unit that can be stopped, and it isolates the extractor's memory too. One
:class:`IsolatedWorker` serves one caller at a time; a Beam DoFn instance owns one (``workers=1``) or a pool of
them, one per core (:mod:`storywire.connectors.articles.pool`), from ``setup`` to ``teardown``.

- Start: ``forkserver`` where the platform has it (Linux, macOS), ``spawn`` elsewhere; never ``fork``, which is
  unsafe in a process with threads (Beam's runners have many). The fork server preloads the extractor, so a
  replacement worker starts in milliseconds instead of importing trafilatura again (about a second).
- A call sends ``(function, args)`` over a pipe (the function is pickled by reference: a module-level function)
  and waits up to ``timeout_s`` for the answer; past it the worker is killed (SIGKILL: nothing inside can delay
  it), a new one is started at the next call, and :class:`~storywire.connectors.errors.ExtractionTimeoutError`
  is raised. A worker that dies during a call (a crash, the kernel's OOM killer) gives
  :class:`~storywire.connectors.errors.ExtractorCrashedError`.
- An exception raised by the function comes back and is raised in the caller.
- After each call the worker reports its peak memory; past ``recycle_bytes`` it is replaced, giving the memory
  of an unusually heavy page back to the system.
- A worker whose caller went away exits at the end of its pipe (and is a daemon process besides).

As with any ``forkserver``/``spawn`` use, the program's main module must be importable without side effects (its
work under ``if __name__ == "__main__":``): the ``storywire`` command, ``python -m storywire``, pytest and Beam's
workers are. ``ExtractArticles(timeout_s=None)`` runs the extractor in-process instead, without a time limit.

Cost, measured on the bundled sample (46 pages, 2-core runner): a round trip is 0.04-0.1 ms, a page 0.1-0.8 ms more
than in-process once the worker is warm; the fork server's start (importing and warming the extractor) is paid once
per process, in parallel with the pipeline's own start, and the replay's wall time did not change measurably
(3.4-5.1 s either way, on a loaded machine). A replacement worker, forked from the warm server, starts in
milliseconds.
"""

from __future__ import annotations

import multiprocessing
import resource
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from storywire.connectors.errors import ExtractionTimeoutError, ExtractorCrashedError

# Imports the extractor and runs it once; the pool's functions and the feed parser (replay parses feeds on the
# pool too) are imported once here rather than in each worker.
_PRELOAD = [
    "storywire.connectors.articles.warm",
    "storywire.connectors.articles.pool",
    "storywire.connectors.feeds.parse",
]
_KB = 1024


def _context() -> Any:  # a ForkServerContext or a SpawnContext
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def start_fork_server() -> None:
    """Start the workers' fork server now (where the platform has one; idempotent). It imports and warms the
    extractor in its own process, about half a second: a command that will extract pages calls this first thing,
    so that the warm-up overlaps with the command's own start (imports, building the graph) instead of delaying
    its first worker."""
    context = _context()
    if context.get_start_method() == "forkserver":
        import multiprocessing.forkserver

        multiprocessing.forkserver.ensure_running()


def _peak_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * _KB  # bytes on macOS, KiB on Linux


def _serve(connection: Connection) -> None:
    """The worker's loop: run each request, answer ``(ok, value, peak_bytes)``; exit when the pipe closes."""
    # A terminal's Ctrl-C reaches the whole process group: the parent stops the run and closes the pipe, which
    # ends this loop; an interrupt here would only print a worker's traceback under the parent's one line.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            function, args = connection.recv()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[bool, Any, int] = (True, function(*args), _peak_bytes())
        except Exception as exc:
            answer = (False, exc, _peak_bytes())
        try:
            connection.send(answer)
        except Exception as exc:  # the exception (or value) does not pickle: say so in a form that does
            connection.send((False, RuntimeError(f"{type(exc).__name__}: {exc}"), _peak_bytes()))


class IsolatedWorker:
    """One worker process, started at the first call and replaced after a timeout, a crash or heavy use."""

    def __init__(self, *, timeout_s: float, recycle_bytes: int | None = None) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self._timeout_s = timeout_s
        self._recycle_bytes = recycle_bytes
        self._process: Any = None
        self._connection: Connection | None = None
        self.restarts = 0
        """Workers replaced so far (timeouts, crashes, recycling)."""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the worker now (else the first call does)."""
        if self._process is not None and self._process.is_alive():
            return
        context = _context()
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child,), name="storywire-extract", daemon=True)
        process.start()
        child.close()
        self._process, self._connection = process, parent

    def call(self, function: Callable[..., Any], *args: Any, what: str = "the call") -> Any:
        """``function(*args)`` in the worker; raises ExtractionTimeoutError past the time limit."""
        self.start()
        connection = self._connection
        assert connection is not None
        started = time.monotonic()
        try:
            connection.send((function, args))
            ready = connection.poll(self._timeout_s)
            answer = connection.recv() if ready else None
        except (EOFError, OSError, BrokenPipeError) as exc:
            self._replace()
            raise ExtractorCrashedError(
                f"the extraction worker died during {what}: {exc or type(exc).__name__}"
            ) from exc
        if answer is None:
            self._replace()
            raise ExtractionTimeoutError(
                f"{what} ran past the {self._timeout_s:g} s extraction time limit (stopped after "
                f"{time.monotonic() - started:.1f} s)"
            )
        ok, value, peak = answer
        if self._recycle_bytes is not None and peak > self._recycle_bytes:
            self._replace()
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """Stop the worker (idempotent)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._process is not None:
            self._process.join(timeout=1.0)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
            self._process = None

    def _replace(self) -> None:
        """Kill the worker; the next call starts a new one."""
        if self._process is not None:
            self._process.kill()
            self._process.join()
        if self._connection is not None:
            self._connection.close()
        self._process, self._connection = None, None
        self.restarts += 1

    def __enter__(self) -> IsolatedWorker:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
