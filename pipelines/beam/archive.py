"""Read WARC archives into feed and page responses (replay's source).

Every record is accounted for, per archive, in counters the run report balances
(:meth:`storywire.pipelines.beam.run_report.RunReport.balances`): ``archive.records`` (read, by the reader) must
equal the responses used (``archive.used.feed|page|redirect``), plus the records skipped by kind
(``archive.skipped.<kind>``), plus the ``read-archive`` dead letters; ``per_archive.<file>.*`` hold the same per
archive file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.pvalue import PCollection

from storywire.connectors.archives.warc_reader import (
    DEFAULT_MAX_BODY_BYTES,
    ReadStats,
    check_readable,
    classify,
    read_archive,
    read_response_at,
    record_offset,
)
from storywire.connectors.errors import ArchiveRecordError, UnsupportedContentError
from storywire.connectors.failures import Failure, Stage
from storywire.connectors.http_types import CapturedResponse
from storywire.pipelines.beam.common import DEAD_LETTERS, counter, dead_letter
from storywire.pipelines.core import progress
from storywire.pipelines.core.event_time import capture_window
from storywire.pipelines.core.normalise import PageTask
from storywire.pipelines.core.pairing import redirect_edge

FEEDS = "feeds"
PAGES = "pages"
REDIRECTS = "redirects"
PER_ARCHIVE = "per_archive."
_PROGRESS_EVERY = 100
_USED = {"feed": FEEDS, "page": PAGES, "redirect": REDIRECTS}


def archive_name(path: str) -> str:
    """The file name an archive's counters and dead-letter references use."""
    return path.rstrip("/").rsplit("/", 1)[-1]


def open_any(path: str) -> Any:
    """Open local paths directly and anything else (gs://, s3://...) through Beam's file systems, raw bytes."""
    if "://" not in path or path.startswith("file://"):
        local = path.removeprefix("file://")
        check_readable(local)
        return open(local, "rb")
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def _refusal(outcome: CapturedResponse, kind: str) -> Failure | None:
    """Why a response the reader accepted cannot be used downstream, or None."""
    if kind == "other":
        # A response that is neither a feed nor a page (image, PDF...) is not silently dropped.
        return Failure.from_exception(
            Stage.READ_ARCHIVE,
            outcome.url,
            UnsupportedContentError(f"neither a feed nor an HTML page: {outcome.media_type or 'no content type'}"),
            outcome.captured_at,
            payload_ref=outcome.source_ref,
        )
    if kind == "redirect":
        try:
            redirect_edge(outcome)
        except ValueError as exc:  # e.g. Location: http://[::1/x
            error = ArchiveRecordError(f"redirect Location {outcome.header('Location')!r} is not a URL: {exc}")
            return Failure.from_exception(
                Stage.READ_ARCHIVE, outcome.url, error, outcome.captured_at, payload_ref=outcome.source_ref
            )
    return None


class _ReadArchiveFn(beam.DoFn):
    def __init__(self, max_body_bytes: int, window: tuple[datetime, datetime]) -> None:
        self._max_body_bytes = max_body_bytes
        self._window = window

    def process(self, path: str) -> Iterator[Any]:
        stats = ReadStats()
        per_archive = f"{PER_ARCHIVE}{archive_name(path)}."
        used = dead = told = pages = 0
        outcomes = read_archive(
            path, max_body_bytes=self._max_body_bytes, open_stream=open_any, capture_window=self._window, stats=stats
        )
        for outcome in outcomes:
            if stats.records - told >= _PROGRESS_EVERY:
                progress.add(progress.RECORDS, stats.records - told)
                progress.add_total(progress.PAGES, pages)
                told, pages = stats.records, 0
            if isinstance(outcome, Failure):
                dead += 1
                yield dead_letter(outcome)
                continue
            kind = classify(outcome)
            counter(f"archive.responses.{kind}").inc()
            refusal = _refusal(outcome, kind)
            if refusal is not None:
                dead += 1
                yield dead_letter(refusal)
                continue
            used += 1
            counter(f"archive.used.{kind}").inc()
            if kind == "page":
                pages += 1
                # The join holds every page until the last archive is read: without its body a page is small,
                # and memory stays flat in the archive's size. LoadBodies reads the body again before extraction.
                location = (path, record_offset(outcome.source_ref))
                yield beam.pvalue.TaggedOutput(PAGES, replace(outcome, body=b"", body_location=location))
                continue
            yield beam.pvalue.TaggedOutput(_USED[kind], outcome)
        progress.add(progress.RECORDS, stats.records - told)
        progress.add_total(progress.PAGES, pages)  # the extraction's total: one page task per page capture
        counter("archive.records").inc(stats.records)
        counter(f"{per_archive}records").inc(stats.records)
        counter(f"{per_archive}used").inc(used)
        counter(f"{per_archive}dead_letters").inc(dead)
        counter(f"{per_archive}skipped").inc(stats.skipped)
        for skipped_kind, count in sorted(stats.skipped_types.items()):
            counter(f"archive.skipped.{skipped_kind}").inc(count)


def _load_body(task: PageTask, max_body_bytes: int, window: tuple[datetime, datetime]) -> Iterator[Any]:
    """The task with its page's body read again from the archive; an ``extract-article`` dead letter (counted
    with the page tasks) when it cannot be."""
    location = task.response.body_location
    if location is None:
        yield task
        return
    path, offset = location
    again = read_response_at(path, offset, max_body_bytes=max_body_bytes, open_stream=open_any, capture_window=window)
    if isinstance(again, Failure):
        yield dead_letter(replace(again, stage=Stage.EXTRACT_ARTICLE, identity=task.response.url))
        return
    yield replace(task, response=again)


class LoadBodies(beam.PTransform):
    """Page tasks whose body was left behind at reading (:class:`ReadArchives`) -> the same tasks with it, and
    ``dead_letters`` for a record that cannot be read again (the archive changed during the replay)."""

    def __init__(self, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, now: datetime | None = None) -> None:
        super().__init__()
        self._max_body_bytes = max_body_bytes
        self._window = capture_window(now or datetime.now(timezone.utc))

    def expand(self, tasks: PCollection) -> beam.pvalue.DoOutputsTuple:
        return tasks | "ReadBodiesAgain" >> beam.FlatMap(
            _load_body, max_body_bytes=self._max_body_bytes, window=self._window
        ).with_outputs(DEAD_LETTERS, main="tasks")


class ReadArchives(beam.PTransform):
    """paths -> tagged outputs ``feeds``, ``pages``, ``redirects`` (CapturedResponse) and ``dead_letters``. A
    page comes without its body (``body_location`` says where it is): :class:`LoadBodies` reads it again.

    ``now`` (default: the wall clock when the graph is built) bounds plausible capture times
    (:func:`storywire.pipelines.core.event_time.capture_window`)."""

    def __init__(self, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, now: datetime | None = None) -> None:
        super().__init__()
        self._max_body_bytes = max_body_bytes
        self._window = capture_window(now or datetime.now(timezone.utc))

    def expand(self, paths: PCollection) -> beam.pvalue.DoOutputsTuple:
        return paths | "ReadWarc" >> beam.ParDo(_ReadArchiveFn(self._max_body_bytes, self._window)).with_outputs(
            FEEDS, PAGES, REDIRECTS, DEAD_LETTERS
        )
