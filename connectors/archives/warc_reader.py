"""Read HTTP responses out of WARC files (plain or gzip per record) with warcio.

A reader yields :class:`~storywire.connectors.http_types.CapturedResponse` for every HTTP ``response`` record and a
:class:`~storywire.connectors.failures.Failure` for a record it cannot use. Records that carry no response
(``warcinfo``, ``request``, ``metadata``, ``revisit``) are skipped and counted, never silently lost.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import BinaryIO, Literal

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from storywire.connectors.errors import ArchiveRecordError, SourceUnavailableError
from storywire.connectors.failures import UNKNOWN_TIME, Failure, Stage
from storywire.connectors.http_types import CapturedResponse
from storywire.schemas.records import parse_time

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024

ResponseKind = Literal["feed", "page", "redirect", "other"]
_FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/xml",
        "text/xml",
    }
)
_WARC_TYPES = frozenset(
    {"warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion", "continuation"}
)
_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})


@dataclass
class ReadStats:
    """What one archive held: responses, skipped non-response records and failures."""

    responses: int = 0
    skipped: int = 0
    failures: int = 0
    skipped_types: dict[str, int] = field(default_factory=dict)


def check_readable(path: str) -> None:
    """Fail fast, before a pipeline starts, when an archive path cannot be read."""
    if not os.path.exists(path):
        raise SourceUnavailableError(f"archive not found: {path} (give the path of a .warc or .warc.gz file)")
    if not os.path.isfile(path):
        raise SourceUnavailableError(f"archive is not a file: {path}")
    if not os.access(path, os.R_OK):
        raise SourceUnavailableError(f"archive is not readable: {path} (check its permissions)")


def classify(response: CapturedResponse) -> ResponseKind:
    """Whether a response is a redirect hop, a feed, an article page, or neither (content type, then body)."""
    if 300 <= response.status < 400 and response.header("Location"):
        return "redirect"
    media_type = response.media_type
    if media_type in _FEED_TYPES or media_type.endswith(("+xml", "/xml")):
        return "feed"
    if media_type in _PAGE_TYPES:
        return "page"
    if not media_type:
        head = response.body[:512].lstrip().lower()
        if head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf")):
            return "feed"
        if head.startswith((b"<!doctype html", b"<html")):
            return "page"
    return "other"


def _open_local(path: str) -> BinaryIO:
    check_readable(path)
    return open(path, "rb")


def read_archive(
    path: str,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    stats: ReadStats | None = None,
    open_stream: Callable[[str], BinaryIO] = _open_local,
) -> Iterator[CapturedResponse | Failure]:
    """Yield every HTTP response of a WARC file, and a Failure for each record that cannot be used.

    A corrupt record ends the file (warcio cannot resynchronise): the Failure names the offset where reading
    stopped, and what came before is kept. ``open_stream`` opens other file systems (the Beam adapter passes
    one that reads ``gs://`` or ``s3://``); it must return the raw bytes, not gunzipped ones.
    """
    stats = stats if stats is not None else ReadStats()
    name = path.rstrip("/").rsplit("/", 1)[-1]
    with open_stream(path) as stream:
        iterator = ArchiveIterator(stream, arc2warc=True)
        offset = 0
        try:
            for record in iterator:
                # Read the body before asking for the offset: warcio's offset call consumes the record.
                build = _read_record(record, max_body_bytes)
                offset = iterator.get_record_offset()
                ref = f"{name}#offset={offset}"
                if build is None:
                    stats.skipped += 1
                    stats.skipped_types[record.rec_type] = stats.skipped_types.get(record.rec_type, 0) + 1
                    continue
                outcome = build(ref)
                if isinstance(outcome, Failure):
                    stats.failures += 1
                else:
                    stats.responses += 1
                yield outcome
        except (ArchiveLoadFailed, ValueError, OSError, EOFError) as exc:
            stats.failures += 1
            error = ArchiveRecordError(f"unreadable WARC data after offset {offset}: {exc}")
            yield Failure.from_exception(
                Stage.READ_ARCHIVE, f"{name}#offset={offset}", error, UNKNOWN_TIME, payload_ref=path
            )


def _read_record(record: object, max_body_bytes: int) -> Callable[[str], CapturedResponse | Failure] | None:
    """Read one record now; return a builder that takes its archive reference (known only after the read)."""
    rec_type = getattr(record, "rec_type", None)
    headers = record.rec_headers  # type: ignore[attr-defined]
    url = headers.get_header("WARC-Target-URI") or ""
    if rec_type not in _WARC_TYPES:
        # warcio yields garbage after a corrupt member as a record of no known type instead of raising.
        error = ArchiveRecordError(f"unreadable WARC record (type {rec_type!r}, header {headers.protocol!r})")
        # Without a target URI the record's place in the archive is its identity.
        return lambda ref: _failure(url or ref, error, UNKNOWN_TIME, ref)
    if rec_type != "response" or not url.startswith(("http://", "https://")):
        return None
    captured_at = _capture_time(headers.get_header("WARC-Date"))
    http_headers = record.http_headers  # type: ignore[attr-defined]
    if http_headers is None:
        error = ArchiveRecordError("response record without HTTP headers")
        return partial(_failure, url, error, captured_at or UNKNOWN_TIME)
    if captured_at is None:
        error = ArchiveRecordError(f"missing or invalid WARC-Date: {headers.get_header('WARC-Date')!r}")
        return partial(_failure, url, error, UNKNOWN_TIME)
    try:
        status = int((http_headers.get_statuscode() or "0").strip())
    except ValueError:
        error = ArchiveRecordError(f"invalid HTTP status line: {http_headers.statusline!r}")
        return partial(_failure, url, error, captured_at)
    body = record.content_stream().read(max_body_bytes + 1)  # type: ignore[attr-defined]
    if len(body) > max_body_bytes:
        error = ArchiveRecordError(f"body larger than the {max_body_bytes}-byte limit")
        return partial(_failure, url, error, captured_at)
    return partial(
        CapturedResponse,
        url,
        captured_at,
        status,
        tuple((str(k), str(v)) for k, v in http_headers.headers),
        bytes(body),
    )


def _failure(url: str, error: ArchiveRecordError, captured_at: datetime, ref: str) -> Failure:
    return Failure.from_exception(Stage.READ_ARCHIVE, url, error, captured_at, payload_ref=ref)


def _capture_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None
