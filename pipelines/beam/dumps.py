"""Read JSONL article dumps into articles (replay's second source, beside WARC archives).

Counted for the run report's balance ``dump lines -> articles + blank + dead letters``: ``dump.lines`` (every line
read), ``dump.articles``, ``dump.blank`` and ``dump.dead_letters`` (``read-input`` dead letters of lines).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PCollection

from storywire.connectors.archives.article_dump import DumpLine, DumpStats, dump_failure, read_dump_lines
from storywire.connectors.errors import DumpRecordError
from storywire.pipelines.beam.archive import archive_name, open_any
from storywire.pipelines.beam.common import DEAD_LETTERS, counter, dead_letter
from storywire.pipelines.core import progress
from storywire.pipelines.core.dumped import article_from_line

ARTICLES = "articles"


class _ReadDumpFn(beam.DoFn):
    def __init__(self, min_text_chars: int, window: tuple[datetime, datetime]) -> None:
        self._min_text_chars = min_text_chars
        self._window = window

    def process(self, path: str) -> Iterator[Any]:
        stats = DumpStats()
        label = archive_name(path)
        told = 0
        for line in read_dump_lines(path, open_stream=open_any, stats=stats, label=label):
            if stats.lines - told >= 100:
                progress.add(progress.RECORDS, stats.lines - told)
                told = stats.lines
            if not isinstance(line, DumpLine):
                yield dead_letter(line)
                continue
            try:
                article = article_from_line(line.data, min_text_chars=self._min_text_chars, window=self._window)
            except DumpRecordError as exc:
                stats.failures += 1
                yield dead_letter(dump_failure(label, line.number, path, str(exc)))
                continue
            stats.articles += 1
            progress.add(progress.ARTICLES)
            yield article
        progress.add(progress.RECORDS, stats.lines - told)
        counter("dump.lines").inc(stats.lines)
        counter("dump.articles").inc(stats.articles)
        counter("dump.blank").inc(stats.blank)
        counter("dump.dead_letters").inc(stats.failures)


class ReadArticleDumps(beam.PTransform):
    """paths of JSONL dumps -> articles (main output) and ``dead_letters``; ``window`` is the (earliest, latest)
    plausible article time (:func:`~storywire.pipelines.core.event_time.capture_window`)."""

    def __init__(self, min_text_chars: int, window: tuple[datetime, datetime]) -> None:
        super().__init__()
        self._min_text_chars = min_text_chars
        self._window = window

    def expand(self, paths: PCollection) -> beam.pvalue.DoOutputsTuple:
        return paths | "ReadJsonl" >> beam.ParDo(_ReadDumpFn(self._min_text_chars, self._window)).with_outputs(
            DEAD_LETTERS, main=ARTICLES
        )
