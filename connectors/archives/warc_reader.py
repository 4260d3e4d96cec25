"""Read HTTP responses out of WARC files (plain or gzip per record) with warcio.

A reader yields :class:`~storywire.connectors.http_types.CapturedResponse` for every HTTP ``response`` record (and
every ``resource`` record holding an HTML page or a feed) and a :class:`~storywire.connectors.failures.Failure`
for a record it cannot use. Records that carry no response (``warcinfo``, ``request``, ``metadata``,
``revisit``, a ``resource`` of another type, a response to a non-HTTP URI) are skipped and counted by kind in
:class:`ReadStats`, never silently lost: ``records == responses + skipped + failures`` for every archive.

Hostile or damaged input never stops a replay; each of these becomes a Failure (``ArchiveRecordError``):

- a record cut short (fewer bytes than its ``Content-Length`` before the file ends), a payload shorter than its
  HTTP ``Content-Length``, a record marked ``WARC-Truncated``, a ``WARC-Block-Digest`` or ``WARC-Payload-Digest``
  that does not match the bytes;
- bytes after the last readable record (a damaged or truncated gzip member, a corrupt header): warcio cannot
  resynchronise, so reading stops there, the Failure names the offset, and what came before is kept;
- a response without ``WARC-Target-URI``, with a target URI that is not a URL (``http://[::1/x``), without a
  valid ``WARC-Date`` or with one outside the plausible capture window the caller gives (``capture_window``).

:func:`probe_archive` is the start-up check: an empty file or one whose first record cannot be read is not an
archive, and the command line refuses it with a message naming it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, BinaryIO, Literal

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecordLoader

from storywire.connectors.errors import ArchiveRecordError, SourceUnavailableError
from storywire.connectors.failures import UNKNOWN_TIME, Failure, Stage
from storywire.connectors.http_types import CapturedResponse
from storywire.connectors.urls import canonical_url
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
# Bytes a plain (uncompressed) WARC may hold after its last record: the record separator, CRLF CRLF.
_TRAILING_SLACK = 4
_URI_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[!-~]*\Z")
_ENCODED_HEADERS = ("content-encoding", "transfer-encoding")

SKIP_RESOURCE_OTHER = "resource-other"
"""Skip kind of a ``resource`` record that is neither an HTML page nor a feed (an image, a PDF, a screenshot)."""
SKIP_NON_HTTP = "response-non-http"
"""Skip kind of a ``response`` record whose target is not http(s) (``dns:``, ``ftp:``...)."""
CaptureWindow = tuple[datetime, datetime]
"""(earliest, latest) plausible capture time, inclusive; a WARC-Date outside it is refused."""


@dataclass
class ReadStats:
    """What one archive held. ``records`` counts every record read (and, as one, unreadable data that ended the
    file); each is a response, a skipped record (``skipped_types`` by kind) or a failure."""

    records: int = 0
    responses: int = 0
    skipped: int = 0
    failures: int = 0
    skipped_types: dict[str, int] = field(default_factory=dict)

    def skip(self, kind: str) -> None:
        self.skipped += 1
        self.skipped_types[kind] = self.skipped_types.get(kind, 0) + 1


def check_readable(path: str) -> None:
    """Fail fast, before a pipeline starts, when an archive path cannot be read."""
    if not os.path.exists(path):
        raise SourceUnavailableError(f"archive not found: {path} (give the path of a .warc or .warc.gz file)")
    if not os.path.isfile(path):
        raise SourceUnavailableError(f"archive is not a file: {path}")
    if not os.access(path, os.R_OK):
        raise SourceUnavailableError(f"archive is not readable: {path} (check its permissions)")


def probe_archive(path: str, open_stream: Callable[[str], BinaryIO] | None = None) -> None:
    """Fail fast when nothing can be read from an archive: an empty file, or one whose first record is not a
    WARC (or ARC) record. A damaged record further on is a dead letter at replay, not an error here."""
    opener = open_stream or _open_local
    with opener(path) as stream:
        head = stream.read(64)
    if not head:
        raise SourceUnavailableError(
            f"archive is empty: {path} (0 bytes; give a .warc or .warc.gz file holding records, e.g. one a "
            "crawler or `storywire run` with archive.dir wrote)"
        )
    for outcome in read_archive(path, open_stream=opener, max_records=1):
        if isinstance(outcome, Failure) and outcome.identity.endswith("#offset=0") and "unreadable" in outcome.message:
            shown = head[:16].decode("latin-1").encode("unicode_escape").decode("ascii")
            raise SourceUnavailableError(
                f"no WARC record can be read from {path}: not a WARC file, or damaged from its first record (it "
                f"starts with '{shown}'); give a .warc or .warc.gz file (gzip per record or plain)"
            )


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


class _CountingStream:
    """Counts the raw bytes read from the archive, so the reader knows how many it never understood."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._stream.read(size)
        self.bytes_read += len(data)
        return data

    def tell(self) -> int:
        return self.bytes_read

    def drain(self) -> int:
        """Read to the end; the total size of the stream."""
        while self.read(1 << 20):
            pass
        return self.bytes_read


class _Loader(ArcWarcRecordLoader):  # type: ignore[misc]
    """warcio's loader, except that a response without ``WARC-Target-URI`` is read without HTTP headers instead
    of raising AttributeError (which ended the whole file)."""

    def load_http_headers(self, rec_type: Any, uri: Any, stream: Any, length: Any) -> Any:
        if uri is None:
            return None
        return super().load_http_headers(rec_type, uri, stream, length)


def read_archive(
    path: str,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    stats: ReadStats | None = None,
    open_stream: Callable[[str], BinaryIO] = _open_local,
    capture_window: CaptureWindow | None = None,
    max_records: int | None = None,
) -> Iterator[CapturedResponse | Failure]:
    """Yield every HTTP response of a WARC file, and a Failure for each record that cannot be used.

    A corrupt record ends the file (warcio cannot resynchronise): the Failure names the offset where reading
    stopped, and what came before is kept. ``open_stream`` opens other file systems (the Beam adapter passes
    one that reads ``gs://`` or ``s3://``); it must return the raw bytes, not gunzipped ones. ``capture_window``
    refuses a WARC-Date outside it (see :mod:`storywire.pipelines.core.event_time`).
    """
    stats = stats if stats is not None else ReadStats()
    name = path.rstrip("/").rsplit("/", 1)[-1]
    with open_stream(path) as raw:
        stream = _CountingStream(raw)
        iterator = ArchiveIterator(stream, arc2warc=True, check_digests=True)
        iterator.loader = _Loader(verify_http=False, arc2warc=True)
        offset = 0
        end = 0  # where the last record read ended
        in_record = False  # an exception raised while a record (already counted) is being read
        try:
            for record in iterator:
                stats.records += 1
                in_record = True
                # Read the body before asking for the offset: warcio's offset call consumes the record.
                build = _read_record(record, max_body_bytes, capture_window)
                offset = iterator.get_record_offset()
                end = offset + iterator.get_record_length()
                ref = f"{name}#offset={offset}"
                if isinstance(build, str):
                    stats.skip(build)
                else:
                    outcome = build(ref)
                    if isinstance(outcome, Failure):
                        stats.failures += 1
                    else:
                        stats.responses += 1
                    yield outcome
                in_record = False
                if max_records is not None and stats.records >= max_records:
                    return
        except Exception as exc:  # warcio raises many types on damaged data (ArchiveLoadFailed, zlib.error...)
            stats.records += 0 if in_record else 1
            stats.failures += 1
            reason = str(exc) if isinstance(exc, ArchiveRecordError) else f"{type(exc).__name__}: {str(exc)[:160]}"
            error = ArchiveRecordError(f"unreadable WARC data after offset {end}: {reason}")
            yield Failure.from_exception(Stage.READ_ARCHIVE, f"{name}#offset={end}", error, UNKNOWN_TIME, path)
            return
        size = stream.drain()
        if size == 0 or size - end > _TRAILING_SLACK:
            stats.records += 1
            stats.failures += 1
            what = "no WARC record could be read" if stats.records == 1 else f"{size - end} bytes after offset {end}"
            error = ArchiveRecordError(
                f"unreadable WARC data: {what} (a truncated or damaged gzip member, or not a WARC file)"
            )
            yield Failure.from_exception(Stage.READ_ARCHIVE, f"{name}#offset={end}", error, UNKNOWN_TIME, path)


def read_response_at(
    path: str,
    offset: int,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    open_stream: Callable[[str], BinaryIO] = _open_local,
    capture_window: CaptureWindow | None = None,
) -> CapturedResponse | Failure:
    """The response of the record at ``offset`` of an archive, read again (the same as :func:`read_archive` gave
    for it), or a Failure when it is no longer there or no longer the same kind of record."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    ref = f"{name}#offset={offset}"
    try:
        with open_stream(path) as raw:
            raw.seek(offset)
            iterator = ArchiveIterator(raw, arc2warc=True, check_digests=True)
            iterator.loader = _Loader(verify_http=False, arc2warc=True)
            for record in iterator:
                build = _read_record(record, max_body_bytes, capture_window)
                if isinstance(build, str):
                    break
                return build(ref)
    except Exception as exc:  # the file changed or went away since it was read
        error = ArchiveRecordError(f"the record at {ref} cannot be read again: {type(exc).__name__}: {exc}")
        return Failure.from_exception(Stage.READ_ARCHIVE, ref, error, UNKNOWN_TIME, path)
    error = ArchiveRecordError(f"the record at {ref} is no longer a response (the archive changed during the replay)")
    return Failure.from_exception(Stage.READ_ARCHIVE, ref, error, UNKNOWN_TIME, path)


def record_offset(source_ref: str) -> int:
    """The record offset in a response's ``source_ref`` (``NAME#offset=N``)."""
    return int(source_ref.rsplit("#offset=", 1)[1])


def _read_record(
    record: Any, max_body_bytes: int, window: CaptureWindow | None
) -> Callable[[str], CapturedResponse | Failure] | str:
    """Read one record now; return a builder that takes its archive reference (known only after the read), or
    the kind of a skipped record."""
    rec_type = getattr(record, "rec_type", None)
    headers = record.rec_headers
    url = headers.get_header("WARC-Target-URI") or ""
    if rec_type not in _WARC_TYPES:
        # warcio yields garbage after a corrupt member as a record of no known type instead of raising.
        error = ArchiveRecordError(f"unreadable WARC record (type {rec_type!r}, header {headers.protocol!r})")
        # Without a target URI the record's place in the archive is its identity.
        return lambda ref: _failure(url or ref, error, UNKNOWN_TIME, ref)
    if rec_type not in ("response", "resource"):
        return str(rec_type)
    if not url:
        error = ArchiveRecordError(f"{rec_type} record without WARC-Target-URI")
        return lambda ref: _failure(ref, error, UNKNOWN_TIME, ref)
    if not url.startswith(("http://", "https://")):
        if not _URI_SHAPE.match(url):
            # The bytes of a damaged gzip member read as a header: what follows cannot be trusted either.
            raise ArchiveRecordError(f"garbled WARC-Target-URI {url[:40]!r}, the rest of the file is not read")
        return SKIP_NON_HTTP if rec_type == "response" else SKIP_RESOURCE_OTHER
    if rec_type == "resource" and _resource_kind(record) == "other":
        return SKIP_RESOURCE_OTHER
    try:
        canonical_url(url)
    except ValueError as exc:
        error = ArchiveRecordError(f"WARC-Target-URI is not a usable URL: {exc}")
        return partial(_failure, url, error, UNKNOWN_TIME)
    date = headers.get_header("WARC-Date")
    captured_at = _capture_time(date)
    if captured_at is None:
        error = ArchiveRecordError(f"missing or invalid WARC-Date: {date!r}")
        return partial(_failure, url, error, UNKNOWN_TIME)
    if window is not None and not window[0] <= captured_at <= window[1]:
        error = ArchiveRecordError(
            f"implausible WARC-Date {date!r}: outside {window[0]:%Y-%m-%d} .. {window[1]:%Y-%m-%d %H:%M} UTC"
        )
        return partial(_failure, url, error, UNKNOWN_TIME)
    if rec_type == "resource":
        status, http_fields = 200, [("Content-Type", record.content_type or "")]
    else:
        http_headers = record.http_headers
        if http_headers is None:
            error = ArchiveRecordError("response record without HTTP headers")
            return partial(_failure, url, error, captured_at)
        try:
            status = int((http_headers.get_statuscode() or "0").strip())
        except ValueError:
            error = ArchiveRecordError(f"invalid HTTP status line: {http_headers.statusline!r}")
            return partial(_failure, url, error, captured_at)
        http_fields = [(str(k), str(v)) for k, v in http_headers.headers]
    body = record.content_stream().read(max_body_bytes + 1)
    if len(body) > max_body_bytes:
        error = ArchiveRecordError(f"body larger than the {max_body_bytes}-byte limit")
        return partial(_failure, url, error, captured_at)
    damage = _damage(record, http_fields, len(body))
    if damage is not None:
        return partial(_failure, url, ArchiveRecordError(damage), captured_at)
    return partial(CapturedResponse, url, captured_at, status, tuple(http_fields), bytes(body))


def _resource_kind(record: Any) -> ResponseKind:
    media_type = (record.content_type or "").split(";", 1)[0].strip().lower()
    probe = CapturedResponse("", UNKNOWN_TIME, 200, (("Content-Type", media_type),), b"", "")
    return classify(probe) if media_type else "other"


def _damage(record: Any, http_fields: list[tuple[str, str]], body_length: int) -> str | None:
    """Why a fully read record cannot be trusted to be complete, or None."""
    raw = record.raw_stream
    while raw.read(1 << 16):  # the rest of the block (a decoder may stop early); lets the digests be checked
        pass
    missing = getattr(raw, "limit", 0)
    if missing > 0:
        declared = record.length or 0
        return (
            f"record cut short: {declared - missing} of {declared} declared bytes before the end of the file "
            "(a truncated archive)"
        )
    truncated = record.rec_headers.get_header("WARC-Truncated")
    if truncated:
        return f"record truncated by the crawler (WARC-Truncated: {truncated}): the page is incomplete"
    problems = list(getattr(record.digest_checker, "problems", None) or ())
    if problems:
        return f"digest mismatch, the record's bytes are damaged: {'; '.join(str(p) for p in problems)}"
    fields = {k.lower(): v for k, v in http_fields}
    if not any(h in fields for h in _ENCODED_HEADERS):
        try:
            expected = int(fields.get("content-length", "").strip())
        except ValueError:
            return None
        if body_length < expected:
            return f"payload cut short: {body_length} of the {expected} bytes its HTTP Content-Length declares"
    return None


def _failure(url: str, error: ArchiveRecordError, captured_at: datetime, ref: str) -> Failure:
    return Failure.from_exception(Stage.READ_ARCHIVE, url, error, captured_at, payload_ref=ref)


def _capture_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_time(value)
    except (ValueError, OverflowError):
        return None
