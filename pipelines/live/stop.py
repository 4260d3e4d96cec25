"""A process-wide stop signal for the live source.

The event lives in an importable module (not ``__main__``) because Beam pickles DoFns by value with
cloudpickle: a module-level Event defined here is referenced, not copied, so the SIGTERM handler and the
running source see the same object on the FnApiRunner.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

STOP = threading.Event()


def request_stop(*_: object) -> None:
    """Ask the live source to finish: it stops polling, drains what it holds and returns."""
    STOP.set()


def install_signal_handlers() -> None:
    """Route SIGTERM and SIGINT to :func:`request_stop` (the FnApiRunner ignores SIGINT otherwise)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        request_stop(signum, frame)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
