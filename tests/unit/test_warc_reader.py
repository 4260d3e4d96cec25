from __future__ import annotations

import gzip
from datetime import datetime, timezone
from pathlib import Path

import pytest

from storywire.connectors.archives.warc_reader import ReadStats, classify, read_archive
from storywire.connectors.errors import SourceUnavailableError
from storywire.connectors.failures import Failure
from storywire.connectors.http_types import CapturedResponse
from tests.support.warc import RSS, Capture, page, rss, write_warc

T0 = datetime(2023, 5, 3, 8, 0, tzinfo=timezone.utc)


def _sample(tmp_path: Path) -> Path:
    return write_warc(
        tmp_path / "a.warc.gz",
        [
            Capture("https://a.example/rss.xml", T0, rss("A", "https://a.example", []), RSS),
            Capture("https://a.example/x", T0, page("X", ["hello"])),
            Capture("https://a.example/gone", T0, b"not here", "text/plain", status=404),
        ],
    )


def test_reads_responses_with_capture_time_status_and_reference(tmp_path: Path) -> None:
    stats = ReadStats()
    outcomes = list(read_archive(str(_sample(tmp_path)), stats=stats))
    assert [type(o) for o in outcomes] == [CapturedResponse] * 3
    feed, html, gone = outcomes
    assert isinstance(feed, CapturedResponse) and isinstance(html, CapturedResponse)
    assert feed.captured_at == T0 and feed.status == 200 and feed.body.startswith(b"<?xml")
    assert html.body.startswith(b"<!doctype html>")
    assert isinstance(gone, CapturedResponse) and gone.status == 404
    assert feed.source_ref == "a.warc.gz#offset=0" and html.source_ref != feed.source_ref
    assert (classify(feed), classify(html), classify(gone)) == ("feed", "page", "other")
    assert stats.responses == 3 and stats.failures == 0


def test_plain_uncompressed_warc_is_read(tmp_path: Path) -> None:
    path = write_warc(tmp_path / "a.warc", [Capture("https://a.example/x", T0, page("X", ["hi"]))], gzip=False)
    assert len([o for o in read_archive(str(path)) if isinstance(o, CapturedResponse)]) == 1


def test_oversized_body_becomes_a_failure_and_reading_goes_on(tmp_path: Path) -> None:
    path = write_warc(
        tmp_path / "big.warc.gz",
        [
            Capture("https://a.example/big", T0, b"<html>" + b"x" * 5000),
            Capture("https://a.example/small", T0, page("S", ["ok"])),
        ],
    )
    outcomes = list(read_archive(str(path), max_body_bytes=2048))
    assert isinstance(outcomes[0], Failure) and outcomes[0].error_type == "ArchiveRecordError"
    assert "2048-byte limit" in outcomes[0].message and outcomes[0].identity == "https://a.example/big"
    assert isinstance(outcomes[1], CapturedResponse)


def test_corrupt_tail_keeps_earlier_records_and_reports_the_offset(tmp_path: Path) -> None:
    good = _sample(tmp_path).read_bytes()
    broken = tmp_path / "broken.warc.gz"
    broken.write_bytes(good + gzip.compress(b"WARC/1.0\r\nthis is not a warc header block\r\n\r\n", mtime=0))
    outcomes = list(read_archive(str(broken)))
    assert sum(isinstance(o, CapturedResponse) for o in outcomes) == 3
    failures = [o for o in outcomes if isinstance(o, Failure)]
    assert len(failures) == 1 and failures[0].stage == "read-archive"
    assert failures[0].identity.startswith("broken.warc.gz#offset=")


def test_missing_archive_is_a_clear_start_up_error(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailableError, match=r"archive not found: .*nope\.warc\.gz"):
        list(read_archive(str(tmp_path / "nope.warc.gz")))
