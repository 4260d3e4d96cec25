"""Ctrl-C while a command runs: noticed even when Beam wraps it, and told in one line saying what is left behind."""

from __future__ import annotations

import signal
import threading
from collections import defaultdict
from typing import Any

_INTERRUPTED_REPLAY = (
    "the replay stopped before it finished, so its sinks are incomplete (files may be partial; Kafka topics "
    "hold what was delivered). Run the same replay again to complete them: ids are stable, so a re-run only "
    "repeats messages"
)
INTERRUPTED = defaultdict(
    lambda: "stopped before it finished", {"replay": _INTERRUPTED_REPLAY, "demo": _INTERRUPTED_REPLAY}
)
"""What an interrupted command leaves behind, by command."""


class InterruptWatch:
    """Notes a SIGINT (Ctrl-C) while a pipeline runs, and lets it interrupt as usual: Beam turns the
    KeyboardInterrupt raised inside a bundle into a RuntimeError, which ``seen`` tells apart from a failure."""

    def __init__(self) -> None:
        self.seen = False
        self._previous: Any = None

    def __enter__(self) -> InterruptWatch:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _on_interrupt(self, signum: int, frame: Any) -> None:
        self.seen = True
        raise KeyboardInterrupt
