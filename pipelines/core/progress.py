"""How far a replay has got, while it runs: process-global counts the graph bumps and the line that reads them
(pure Python).

Use: the graph bumps named counts as elements pass (:class:`~storywire.pipelines.beam.progress_tap.ProgressTap`
calls :func:`add`); the command line reads :func:`snapshot` from another thread and turns two snapshots into a
:class:`ProgressView` (:func:`view`), whose :meth:`~ProgressView.line` is the log line::

    replay: 12,340 records read, 3,100/9,800 articles extracted, 512 stories, extracting at 41 articles/s, ETA 2m43s

Why process-global: on the FnApiRunner the DoFns run in the command's own process, and Beam's counters only
appear when the pipeline ends. On runners whose workers are other processes the counts stay in the workers and
nobody reads them (harmless).

The phase in progress is read from the counts, because the FnApiRunner runs the stages one after the other: records
are read (and feeds parsed) first, then pages extracted, then stories assigned. Its ETA needs a total: known
totals are given with :func:`set_total` (or directly to :func:`view`); the story phase's total is the articles
counted before it (all of them: a GroupByKey sits in between), the count of :data:`DISTINCT` when it is bumped.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "ARTICLES",
    "DEAD",
    "DISTINCT",
    "PAGES",
    "RECORDS",
    "STORIES",
    "STORIES_ASSIGNED",
    "Phase",
    "ProgressView",
    "add",
    "add_total",
    "format_count",
    "format_duration",
    "reset",
    "set_total",
    "set_value",
    "snapshot",
    "totals",
    "view",
]

RECORDS: Final = "records"
"""Input records read: WARC records and JSONL lines."""
PAGES: Final = "pages"
"""Page tasks to extract, counted when the join emits them."""
ARTICLES: Final = "articles"
"""Articles extracted from pages, or read from a JSONL dump."""
DISTINCT: Final = "distinct"
"""Articles left after dropping repeats: the input of story assignment (optional; its total when bumped)."""
STORIES_ASSIGNED: Final = "assigned"
"""Articles that went through story assignment."""
STORIES: Final = "stories"
"""Distinct stories so far (set with :func:`set_value` or bumped)."""
DEAD: Final = "dead_letters"
"""Dead letters of every stage."""

_lock = threading.Lock()
_counts: dict[str, int] = {}
_totals: dict[str, int] = {}


def add(name: str, n: int = 1) -> None:
    """Add ``n`` to the count ``name`` (0 when never bumped). Thread-safe; batch where elements are many
    (one call per ~200 elements costs nothing measurable)."""
    with _lock:
        _counts[name] = _counts.get(name, 0) + n


def set_value(name: str, n: int) -> None:
    """Set the count ``name`` to ``n`` (a gauge, e.g. :data:`STORIES`)."""
    with _lock:
        _counts[name] = n


def set_total(name: str, n: int) -> None:
    """Declare that the count ``name`` will reach ``n`` (e.g. :data:`PAGES` once the join has emitted every page):
    the ETA of its phase."""
    with _lock:
        _totals[name] = n


def add_total(name: str, n: int) -> None:
    """Add ``n`` (may be negative) to the total the count ``name`` will reach: for totals learnt piece by piece
    (the page captures each archive holds, less those a filter leaves out before extraction)."""
    with _lock:
        _totals[name] = _totals.get(name, 0) + n


def snapshot() -> dict[str, int]:
    """A copy of every count now."""
    with _lock:
        return dict(_counts)


def totals() -> dict[str, int]:
    """A copy of the totals declared with :func:`set_total`."""
    with _lock:
        return dict(_totals)


def reset() -> None:
    """Forget every count and total (at the start of a run: the registry outlives pipelines in one process)."""
    with _lock:
        _counts.clear()
        _totals.clear()


@dataclass(frozen=True, slots=True)
class Phase:
    """What a phase counts: ``done`` of ``total`` (None: not known yet), at ``rate`` per second."""

    name: str
    """``starting``, ``reading``, ``extracting`` or ``assigning``."""
    unit: str
    """What ``done`` counts, for the rate: ``records`` or ``articles``."""
    done: int
    total: int | None
    rate: float

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the current rate; None when the total is not known or nothing moves."""
        if self.total is None:
            return None
        remaining = max(self.total - self.done, 0)
        if remaining == 0:
            return 0.0
        return remaining / self.rate if self.rate > 0 else None


@dataclass(frozen=True, slots=True)
class ProgressView:
    """The counts now, their totals and the phase in progress; build it with :func:`view`."""

    counts: Mapping[str, int]
    totals: Mapping[str, int]
    phase: Phase

    def count(self, name: str) -> int:
        return self.counts.get(name, 0)

    def line(self, prefix: str = "replay") -> str:
        """The one-line summary (see the module's docstring)."""
        records, pages, articles = self.count(RECORDS), self.count(PAGES), self.count(ARTICLES)
        parts = [f"{format_count(records, self.totals.get(RECORDS))} records read"]
        if pages == 0 and articles:  # a JSONL dump: its articles are read, not extracted
            parts.append(f"{articles:,} articles")
        elif PAGES in self.totals:
            parts.append(f"{articles:,}/{self.totals[PAGES]:,} articles extracted")
        elif pages and self.phase.name == "extracting":
            parts.append(f"{articles:,} articles extracted ({pages:,} pages so far)")
        elif pages:
            parts.append(f"{articles:,} articles extracted from {pages:,} pages")
        else:
            parts.append("0 articles extracted")
        stories = f"{self.count(STORIES):,} stories"
        if self.phase.name == "assigning":
            stories += f" ({format_count(self.phase.done, self.phase.total)} articles assigned)"
        parts.append(stories)
        if dead := self.count(DEAD):
            parts.append(f"{dead:,} dead letters")
        if self.phase.name != "starting":
            parts.append(f"{self.phase.name} at {self.phase.rate:,.0f} {self.phase.unit}/s")
            eta = self.phase.eta_s
            parts.append(f"ETA {'unknown' if eta is None else format_duration(eta)}")
        return f"{prefix}: " + ", ".join(parts)


def view(
    previous: Mapping[str, int],
    current: Mapping[str, int],
    elapsed_s: float,
    totals: Mapping[str, int] | None = None,
) -> ProgressView:
    """The progress at ``current``; the rate is the phase's count from ``previous`` (a snapshot taken ``elapsed_s``
    seconds before) to ``current``. ``totals`` are the known totals by count name (see :func:`set_total`)."""
    totals = totals or {}
    name, unit, counted = _phase_of(current)
    if counted is None:
        return ProgressView(dict(current), dict(totals), Phase(name, unit, 0, None, 0.0))
    done = current.get(counted, 0)
    rate = max(done - previous.get(counted, 0), 0) / elapsed_s if elapsed_s > 0 else 0.0
    total: int | None
    if counted == STORIES_ASSIGNED:
        # the articles were all counted before assignment began: a GroupByKey sits in between
        total = current.get(DISTINCT) or current.get(ARTICLES, 0)
    elif counted == ARTICLES:
        total = totals.get(PAGES)
    else:
        total = totals.get(RECORDS)
    return ProgressView(dict(current), dict(totals), Phase(name, unit, done, total, rate))


def _phase_of(counts: Mapping[str, int]) -> tuple[str, str, str | None]:
    if counts.get(STORIES_ASSIGNED, 0):
        return "assigning", "articles", STORIES_ASSIGNED
    if counts.get(ARTICLES, 0) or counts.get(PAGES, 0):
        return "extracting", "articles", ARTICLES
    if counts.get(RECORDS, 0):
        return "reading", "records", RECORDS
    return "starting", "records", None


def format_count(done: int, total: int | None) -> str:
    """``3,100/9,800``, or ``3,100`` when the total is not known."""
    return f"{done:,}" if total is None else f"{done:,}/{total:,}"


def format_duration(seconds: float) -> str:
    """A duration for people, whole seconds cut down: 45s, 2m43s, 3h02m (the live progress line's too)."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
