"""Counts the elements of a PCollection into the process's progress registry (:mod:`storywire.pipelines.core.
progress`), for the command line's live progress.

Use: insert it anywhere, it passes every element on unchanged (same element type, timestamp and window)::

    records = read | "CountRecords" >> ProgressTap(progress.RECORDS)

On the FnApiRunner the counts reach the command's progress display while the stage runs; on runners whose workers
are other processes they stay in the workers, unread (harmless).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PCollection

from storywire.pipelines.core import progress

FLUSH_EVERY = 200
"""Elements counted before the registry is told: a long bundle still moves the display, and the lock is taken
once per batch."""


class _TapFn(beam.DoFn):
    def __init__(self, name: str, flush_every: int) -> None:
        self._name = name
        self._flush_every = flush_every
        self._pending = 0

    def start_bundle(self) -> None:
        self._pending = 0

    def process(self, element: Any) -> Iterator[Any]:
        self._pending += 1
        if self._pending >= self._flush_every:
            progress.add(self._name, self._pending)
            self._pending = 0
        yield element

    def finish_bundle(self) -> None:
        if self._pending:
            progress.add(self._name, self._pending)
            self._pending = 0


class ProgressTap(beam.PTransform):
    """Pass every element on, adding 1 per element to the progress count ``name`` (e.g. ``progress.ARTICLES``),
    told every ``flush_every`` elements (1 for rare elements, such as new stories, to show at once)."""

    def __init__(self, name: str, flush_every: int = FLUSH_EVERY) -> None:
        super().__init__()
        self._name = name
        self._flush_every = flush_every

    def expand(self, pcoll: PCollection) -> PCollection:
        count = beam.ParDo(_TapFn(self._name, self._flush_every))
        if pcoll.element_type is not None:  # keep the input's type, so the coders downstream stay the same
            count = count.with_output_types(pcoll.element_type)
        return pcoll | "Count" >> count
