"""What a live run is doing, said while it runs: a periodic progress line and per-feed poll events (pure Python).

Use: the live source creates one :class:`ProgressReporter` beside its :class:`~storywire.pipelines.live.engine.
LiveEngine`, calls :meth:`ProgressReporter.add` with the counts of each batch it takes from the engine and
:meth:`ProgressReporter.report` after each batch and while it waits; the reporter logs at most one line per
``interval`` (``progress.interval`` in the live config, default 60 s; 0 turns it off) on the ``storywire.live``
logger at INFO::

    live: 12 polls (83% unchanged), 7 new items, 7 pages, 0 dead letters in 60s; 2 pages pending retry, lag 0s;
    since start 340 polls (91% unchanged), 120 new items, 118 pages, 3 dead letters in 1h05m

(one line). Why: between start and stop a run otherwise says nothing, and Beam's counters only appear at the
end. Rare counts (failed polls, edited items, retried pages, held-back items, turnovers) appear only when not
zero; "lag" is how long the oldest work that is due has been waiting (0 when the engine keeps up).

:func:`log_poll` writes one structured event per poll outcome on ``storywire.live.feeds`` at INFO (``storywire
run`` shows it only with ``-v``): feed URL, outcome, new and edited items and the next due time, in the message
and as ``extra`` attributes for structured log handlers.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

from storywire.connectors.feeds.poll import SUCCESS_STATUSES
from storywire.pipelines.core.progress import format_duration

PROGRESS_LOGGER = "storywire.live"
FEEDS_LOGGER = "storywire.live.feeds"
DEFAULT_INTERVAL = timedelta(seconds=60)
_UNCHANGED = frozenset({"polls.not_modified", "polls.unchanged_body"})

log = logging.getLogger(PROGRESS_LOGGER)
feeds_log = logging.getLogger(FEEDS_LOGGER)


@dataclass(frozen=True, slots=True)
class Backlog:
    """The engine's work in hand when a line is written: gauges, not sums."""

    pending_pages: int = 0
    """Page fetches waiting for a retry."""
    lag: timedelta | None = None
    """How long the oldest due work (a feed poll past its time, a page in its host's lane) has waited; None: not
    known."""
    queued_pages: int = 0
    """Pages in their host's lane or being fetched."""
    paused: bool = False
    """Intake paused: the buffer of fetched pages is full (the sinks are behind)."""
    buffered_pages: int = 0
    """Fetched pages waiting for the pipeline."""
    feeds_broken: int = 0
    """Feeds marked broken."""


class PollLike(Protocol):
    """What :func:`log_poll` reads of a :class:`~storywire.connectors.feeds.poll.PollOutcome`."""

    @property
    def feed_url(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def next_poll_at(self) -> datetime: ...

    @property
    def new_items(self) -> tuple[object, ...]: ...

    @property
    def updated_items(self) -> tuple[object, ...]: ...


class ProgressReporter:
    """Sums the engine's per-round counts and logs a progress line at most once per ``interval``.

    ``clock`` returns seconds on a monotonic scale (``time.monotonic`` in a run; a fake in tests); the first
    line comes one interval after the reporter is created. An interval of 0 (or less) disables it: nothing is
    summed and nothing is logged. :meth:`report` returns the line it logged (None when it logged nothing), so
    callers and tests can see it without a log handler.
    """

    def __init__(
        self,
        interval: timedelta = DEFAULT_INTERVAL,
        clock: Callable[[], float] | None = None,
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        self._interval_s = interval.total_seconds()
        self._clock = clock or time.monotonic
        self._log = logger or log
        self._started = self._last = self._clock()
        self._window: Counter[str] = Counter()
        self._total: Counter[str] = Counter()

    @property
    def enabled(self) -> bool:
        return self._interval_s > 0

    def add(self, counts: Mapping[str, int], *, dead_letters: int = 0) -> None:
        """Add one batch: its counts (``StepResult.counts``) and how many dead letters it emitted."""
        if not self.enabled:
            return
        for name, value in counts.items():
            self._window[name] += value
            self._total[name] += value
        self._window["dead_letters"] += dead_letters
        self._total["dead_letters"] += dead_letters

    def due(self) -> bool:
        """Whether :meth:`report` would write a line now (so a caller can skip gathering the backlog)."""
        return self.enabled and self._clock() - self._last >= self._interval_s

    def report(self, backlog: Backlog | None = None) -> str | None:
        """Log the line when an interval has passed since the last one (or the start); else do nothing."""
        if not self.enabled:
            return None
        now = self._clock()
        if now - self._last < self._interval_s:
            return None
        line = (
            f"live: {_summary(self._window)} in {format_duration(now - self._last)}; {_backlog(backlog or Backlog())}; "
            f"since start {_summary(self._total)} in {format_duration(now - self._started)}"
        )
        self._last = now
        self._window.clear()
        self._log.info("%s", line)
        return line


def _summary(counts: Counter[str]) -> str:
    polls = sum(v for k, v in counts.items() if k.startswith("polls."))
    unchanged = sum(counts[k] for k in _UNCHANGED)
    failed = sum(v for k, v in counts.items() if k.startswith("polls.") and k[6:] not in SUCCESS_STATUSES)
    detail = [f"{round(100 * unchanged / polls)}% unchanged"] if polls else []
    if failed:
        detail.append(f"{failed} failed")
    parts = [f"{polls} polls" + (f" ({', '.join(detail)})" if detail else "")]
    parts.append(f"{counts['items.new']} new items")
    if counts["items.updated"]:
        parts.append(f"{counts['items.updated']} edited")
    parts.append(f"{counts['pages.fetched']} pages")
    if counts["pages.retried"]:
        parts.append(f"{counts['pages.retried']} retried")
    parts.append(f"{counts['dead_letters']} dead letters")
    if counts["items.held_back"]:
        parts.append(f"{counts['items.held_back']} held back")
    if counts["feeds.turnover"]:
        parts.append(f"{counts['feeds.turnover']} turnovers")
    return ", ".join(parts)


def _backlog(backlog: Backlog) -> str:
    text = f"{backlog.pending_pages} pages pending retry"
    if backlog.queued_pages:
        text += f", {backlog.queued_pages} queued"
    if backlog.paused:
        text += ", intake paused"
    if backlog.lag is not None:
        text += f", lag {format_duration(backlog.lag.total_seconds())}"
    return text


def log_poll(poll: PollLike) -> None:
    """One event per poll outcome on ``storywire.live.feeds`` (INFO): what was polled, what came of it, what next."""
    if not feeds_log.isEnabledFor(logging.INFO):
        return
    next_due = poll.next_poll_at.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    new, edited = len(poll.new_items), len(poll.updated_items)
    feeds_log.info(
        "feed %s: %s, %d new, %d edited, next poll %s",
        poll.feed_url,
        poll.status,
        new,
        edited,
        next_due,
        extra={
            "feed_url": poll.feed_url,
            "outcome": poll.status,
            "new_items": new,
            "edited_items": edited,
            "next_poll_at": next_due,
        },
    )
