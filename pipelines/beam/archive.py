"""Read WARC archives into feed and page responses (replay's source)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.pvalue import PCollection

from storywire.connectors.archives.warc_reader import DEFAULT_MAX_BODY_BYTES, check_readable, classify, read_archive
from storywire.connectors.errors import UnsupportedContentError
from storywire.connectors.failures import Failure, Stage
from storywire.pipelines.beam.common import DEAD_LETTERS, counter, dead_letter

FEEDS = "feeds"
PAGES = "pages"
REDIRECTS = "redirects"


def _open_any(path: str) -> Any:
    """Open local paths directly and anything else (gs://, s3://...) through Beam's file systems, raw bytes."""
    if "://" not in path or path.startswith("file://"):
        local = path.removeprefix("file://")
        check_readable(local)
        return open(local, "rb")
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


class _ReadArchiveFn(beam.DoFn):
    def __init__(self, max_body_bytes: int) -> None:
        self._max_body_bytes = max_body_bytes

    def process(self, path: str) -> Iterator[Any]:
        for outcome in read_archive(path, max_body_bytes=self._max_body_bytes, open_stream=_open_any):
            if isinstance(outcome, Failure):
                yield dead_letter(outcome)
                continue
            kind = classify(outcome)
            counter(f"archive.responses.{kind}").inc()
            if kind == "feed":
                yield beam.pvalue.TaggedOutput(FEEDS, outcome)
            elif kind == "page":
                yield beam.pvalue.TaggedOutput(PAGES, outcome)
            elif kind == "redirect":
                yield beam.pvalue.TaggedOutput(REDIRECTS, outcome)
            else:
                # A response that is neither a feed nor a page (image, PDF...) is not silently dropped.
                error = UnsupportedContentError(
                    f"neither a feed nor an HTML page: {outcome.media_type or 'no content type'}"
                )
                yield dead_letter(
                    Failure.from_exception(
                        Stage.READ_ARCHIVE, outcome.url, error, outcome.captured_at, payload_ref=outcome.source_ref
                    )
                )


class ReadArchives(beam.PTransform):
    """paths -> tagged outputs ``feeds``, ``pages``, ``redirects`` (CapturedResponse) and ``dead_letters``."""

    def __init__(self, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        super().__init__()
        self._max_body_bytes = max_body_bytes

    def expand(self, paths: PCollection) -> beam.pvalue.DoOutputsTuple:
        return paths | "ReadWarc" >> beam.ParDo(_ReadArchiveFn(self._max_body_bytes)).with_outputs(
            FEEDS, PAGES, REDIRECTS, DEAD_LETTERS
        )
