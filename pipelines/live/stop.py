"""A process-wide stop signal for the live run, and the deadline by which it must be out.

The event lives in an importable module (not ``__main__``) because Beam pickles DoFns by value with
cloudpickle: a module-level Event defined here is referenced, not copied, so the SIGTERM handler, the running
source and the sinks see the same object on the FnApiRunner.

Every part that may wait (the source for fetches in flight, a Kafka sink for an unreachable broker) asks
:func:`seconds_left` how much of the stop grace remains, so the whole stop fits in it.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType

STOP = threading.Event()


class _StopTimes:
    """When the stop was asked for, and how long it may take (module state, shared like ``STOP``)."""

    requested_at: float | None = None
    grace_s: float = 10.0


def set_grace(seconds: float) -> None:
    """How long a stop may take, from the signal to the exit (``run.stop_grace``)."""
    _StopTimes.grace_s = max(0.0, float(seconds))


def request_stop(*_: object) -> None:
    """Ask the live run to finish: the source stops taking work, emits what is done, checkpoints the rest."""
    if _StopTimes.requested_at is None:
        _StopTimes.requested_at = time.monotonic()
    STOP.set()


def reset() -> None:
    """Clear a previous stop (a new run in the same process: tests, the CLI)."""
    _StopTimes.requested_at = None
    STOP.clear()


def seconds_left(*, now: float | None = None) -> float | None:
    """Seconds of the stop grace still left (never negative); None while no stop was asked for."""
    requested = _StopTimes.requested_at
    if requested is None or not STOP.is_set():
        return None
    current = time.monotonic() if now is None else now
    return max(0.0, requested + _StopTimes.grace_s - current)


def install_signal_handlers() -> None:
    """Route SIGTERM and SIGINT to :func:`request_stop` (the FnApiRunner ignores SIGINT otherwise)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        request_stop(signum, frame)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
