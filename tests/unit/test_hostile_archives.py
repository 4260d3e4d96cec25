"""Hostile and damaged archives (issue 15): each case ends as a read-archive dead letter, a counted skip, or a
start-up error naming the file (exit 2), never a crash and never a silent loss.

The archives are built here from ``tests/support/warc.py``; the same cases through the whole replay graph are in
``tests/beam/test_replay_hostile.py``, and ``tests/fixtures/hostile/build.py`` writes the corpus to a directory to
replay by hand.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from storywire.connectors.archives.warc_reader import ReadStats, probe_archive, read_archive
from storywire.connectors.errors import SourceUnavailableError
from storywire.connectors.failures import Failure
from storywire.connectors.http_types import CapturedResponse
from storywire.pipelines.cli.main import main
from storywire.pipelines.core.event_time import capture_window
from tests.support.warc import (
    Capture,
    cut_gzip_member,
    cut_last_record,
    damage_gzip_member,
    flip_body_byte,
    page,
    write_warc,
)

T0 = datetime(2023, 5, 3, 8, 0, tzinfo=timezone.utc)
NOW = datetime(2024, 1, 1, tzinfo=timezone.utc)
LONG = page("A long article", ["Every word of this paragraph counts for the article text. " * 12] * 10)
REQUEST = b"GET /x HTTP/1.1\r\nHost: a.example\r\n\r\n"
REVISIT = b"HTTP/1.1 304 Not Modified\r\n\r\n"
GOOD = Capture("https://a.example/good", T0, page("Good", ["fine"]))


def _read(path: Path) -> tuple[list[CapturedResponse | Failure], ReadStats]:
    stats = ReadStats()
    outcomes = list(read_archive(str(path), stats=stats, capture_window=capture_window(NOW)))
    # The accounting every archive satisfies, whatever its damage.
    assert stats.records == stats.responses + stats.skipped + stats.failures
    assert len(outcomes) == stats.responses + stats.failures
    return outcomes, stats


def _failures(outcomes: list[CapturedResponse | Failure]) -> list[Failure]:
    return [o for o in outcomes if isinstance(o, Failure)]


def _responses(outcomes: list[CapturedResponse | Failure]) -> list[CapturedResponse]:
    return [o for o in outcomes if isinstance(o, CapturedResponse)]


def _only_failure(outcomes: list[CapturedResponse | Failure], message: str) -> Failure:
    failures = _failures(outcomes)
    assert len(failures) == 1, failures
    failure = failures[0]
    assert failure.stage == "read-archive" and failure.error_type == "ArchiveRecordError"
    assert message in failure.message, failure.message
    return failure


# 1. A malformed record crashed the whole replay.


def test_response_without_target_uri_is_a_dead_letter_and_reading_goes_on(tmp_path: Path) -> None:
    path = write_warc(tmp_path / "a.warc.gz", [Capture("https://x.example/", T0, LONG, target_uri=False), GOOD])
    outcomes, _ = _read(path)
    failure = _only_failure(outcomes, "response record without WARC-Target-URI")
    assert failure.identity == "a.warc.gz#offset=0"
    assert [r.url for r in _responses(outcomes)] == [GOOD.url]


def test_target_uri_with_an_invalid_ipv6_literal_is_a_dead_letter(tmp_path: Path) -> None:
    path = write_warc(tmp_path / "a.warc.gz", [Capture("http://[::1/x", T0, LONG), GOOD])
    outcomes, _ = _read(path)
    failure = _only_failure(outcomes, "WARC-Target-URI is not a usable URL")
    assert failure.identity == "http://[::1/x" and len(_responses(outcomes)) == 1


@pytest.mark.parametrize(
    ("warc_date", "why"),
    [
        ("0001-01-01T00:00:00Z", "implausible WARC-Date"),
        ("9999-12-31T23:59:59Z", "implausible WARC-Date"),
        ("1989-12-31T23:59:59Z", "implausible WARC-Date"),
        ("2024-01-02T00:00:01Z", "implausible WARC-Date"),  # a day and a second after "now"
        ("yesterday", "missing or invalid WARC-Date"),
    ],
)
def test_capture_time_outside_the_window_is_refused(tmp_path: Path, warc_date: str, why: str) -> None:
    path = write_warc(tmp_path / "a.warc.gz", [Capture("https://a.example/x", T0, LONG, warc_date=warc_date), GOOD])
    outcomes, _ = _read(path)
    _only_failure(outcomes, why)
    assert len(_responses(outcomes)) == 1


def test_capture_time_at_the_window_edges_is_kept(tmp_path: Path) -> None:
    dates = ["1990-01-01T00:00:00Z", "2024-01-02T00:00:00Z"]
    path = write_warc(
        tmp_path / "a.warc.gz", [Capture(f"https://a.example/{i}", T0, LONG, warc_date=d) for i, d in enumerate(dates)]
    )
    outcomes, _ = _read(path)
    assert len(_responses(outcomes)) == 2


# 2. Losses nobody saw.


def test_record_cut_short_is_a_dead_letter_not_a_short_article(tmp_path: Path) -> None:
    path = write_warc(tmp_path / "a.warc", [GOOD, Capture("https://a.example/long", T0, LONG)], gzip=False)
    cut_last_record(path, 256)
    outcomes, _ = _read(path)
    failure = _only_failure(outcomes, "record cut short: 256 of")
    assert failure.identity == "https://a.example/long"
    assert [r.url for r in _responses(outcomes)] == [GOOD.url]


def test_truncated_gzip_member_is_a_dead_letter(tmp_path: Path) -> None:
    path = write_warc(tmp_path / "a.warc.gz", [GOOD, Capture("https://a.example/long", T0, LONG)])
    cut_gzip_member(path, 1)
    outcomes, _ = _read(path)
    failure = _only_failure(outcomes, "truncated or damaged gzip member")
    assert failure.identity.startswith("a.warc.gz#offset=") and len(_responses(outcomes)) == 1


def test_damaged_gzip_member_is_a_dead_letter(tmp_path: Path) -> None:
    captures = [GOOD, Capture("https://a.example/long", T0, LONG), Capture("https://a.example/z", T0, LONG)]
    path = damage_gzip_member(write_warc(tmp_path / "a.warc.gz", captures), 1)
    outcomes, _ = _read(path)
    failures = _failures(outcomes)
    assert len(failures) == 1 and "unreadable WARC data after offset" in failures[0].message
    assert [r.url for r in _responses(outcomes)] == [GOOD.url]


def test_damaged_member_read_as_an_arc_header_is_a_dead_letter_not_a_skip(tmp_path: Path) -> None:
    # warcio takes a first line of five fields for an ARC header: here its "URI" is binary garbage.
    path = write_warc(tmp_path / "a.warc.gz", [GOOD])
    junk = gzip.compress(b"\x8b\x08\xff\xfe 192.0.2.1 20230503080000 text/html 5\nhello\n", mtime=0)
    path.write_bytes(path.read_bytes() + junk)
    outcomes, stats = _read(path)
    _only_failure(outcomes, "garbled WARC-Target-URI")
    assert stats.skipped == 0 and len(_responses(outcomes)) == 1


def test_digest_mismatch_is_a_dead_letter(tmp_path: Path) -> None:
    path = write_warc(tmp_path / "a.warc", [Capture("https://a.example/long", T0, LONG), GOOD], gzip=False)
    flip_body_byte(path, b"Every word")
    outcomes, _ = _read(path)
    failure = _only_failure(outcomes, "digest mismatch")
    assert failure.identity == "https://a.example/long" and len(_responses(outcomes)) == 1


def test_payload_shorter_than_its_http_content_length_is_a_dead_letter(tmp_path: Path) -> None:
    short = Capture("https://a.example/long", T0, LONG[:256], http_headers=(("Content-Length", str(len(LONG))),))
    outcomes, _ = _read(write_warc(tmp_path / "a.warc.gz", [short, GOOD]))
    _only_failure(outcomes, f"payload cut short: 256 of the {len(LONG)} bytes")


def test_record_marked_truncated_by_the_crawler_is_a_dead_letter(tmp_path: Path) -> None:
    cut = Capture("https://a.example/long", T0, LONG[:256], warc_headers=(("WARC-Truncated", "length"),))
    outcomes, _ = _read(write_warc(tmp_path / "a.warc.gz", [cut, GOOD]))
    _only_failure(outcomes, "WARC-Truncated: length")


def test_encoded_payload_is_not_compared_with_its_content_length(tmp_path: Path) -> None:
    # The HTTP Content-Length of a chunked or compressed answer is not the decoded payload's length.
    chunked = Capture(
        "https://a.example/c",
        T0,
        b"5\r\nhello\r\n0\r\n\r\n",
        http_headers=(("Transfer-Encoding", "chunked"), ("Content-Length", "999")),
    )
    outcomes, _ = _read(write_warc(tmp_path / "a.warc.gz", [chunked]))
    assert [r.body for r in _responses(outcomes)] == [b"hello"]


@pytest.mark.parametrize(
    ("record_type", "url", "content_type", "body", "kind"),
    [
        ("request", "https://a.example/x", "application/http; msgtype=request", REQUEST, "request"),
        ("metadata", "https://a.example/x", "application/warc-fields", b"via: x\r\n", "metadata"),
        ("warcinfo", "", "application/warc-fields", b"software: x\r\n", "warcinfo"),
        ("revisit", "https://a.example/x", "application/http; msgtype=response", REVISIT, "revisit"),
        ("resource", "https://a.example/logo.png", "image/png", b"\x89PNG", "resource-other"),
        ("response", "dns:a.example", "text/dns", b"a.example. 300 IN A 192.0.2.1", "response-non-http"),
    ],
)
def test_records_without_a_usable_response_are_counted_skips(
    tmp_path: Path, record_type: str, url: str, content_type: str, body: bytes, kind: str
) -> None:
    skipped = Capture(url, T0, body, content_type, record_type=record_type)
    outcomes, stats = _read(write_warc(tmp_path / "a.warc.gz", [skipped, GOOD]))
    assert stats.records == 2 and stats.skipped_types == {kind: 1}
    assert [r.url for r in _responses(outcomes)] == [GOOD.url] and not _failures(outcomes)


def test_html_stored_as_a_resource_record_is_used_like_a_response(tmp_path: Path) -> None:
    resource = Capture("https://a.example/saved", T0, LONG, "text/html; charset=utf-8", record_type="resource")
    outcomes, stats = _read(write_warc(tmp_path / "a.warc.gz", [resource]))
    (response,) = _responses(outcomes)
    assert response.status == 200 and response.media_type == "text/html" and response.body == LONG
    assert stats.skipped == 0


def test_empty_file_is_a_dead_letter_when_read_and_an_error_at_start_up(tmp_path: Path) -> None:
    path = tmp_path / "empty.warc.gz"
    path.write_bytes(b"")
    outcomes, _ = _read(path)
    _only_failure(outcomes, "no WARC record could be read")
    with pytest.raises(SourceUnavailableError, match=r"archive is empty: .*empty\.warc\.gz"):
        probe_archive(str(path))


def test_text_file_is_an_error_at_start_up(tmp_path: Path) -> None:
    path = tmp_path / "notes.warc"
    path.write_text("these are my notes, not an archive\n")
    outcomes, _ = _read(path)
    _only_failure(outcomes, "unreadable WARC data after offset 0")
    with pytest.raises(SourceUnavailableError, match=r"no WARC record can be read from .*notes\.warc: not a WARC"):
        probe_archive(str(path))


def test_archive_damaged_after_its_first_record_passes_the_start_up_check(tmp_path: Path) -> None:
    path = cut_gzip_member(write_warc(tmp_path / "a.warc.gz", [GOOD, Capture("https://a.example/l", T0, LONG)]), 1)
    probe_archive(str(path))  # the damage is a dead letter at replay, not a refusal


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "{path} is empty (0 bytes after decompression); give WARC archives"),
        (b"hello, world\n", "{path} is neither a WARC archive (it would start with 'WARC/') nor a JSONL article"),
        (b"these are my notes, not an archive\n", "{path} is neither a WARC archive"),
        (b"WARC/1.0\r\nnonsense without colon\r\n\r\n", "no WARC record can be read from {path}: not a WARC file"),
    ],
)
def test_replay_of_an_unreadable_archive_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    path = tmp_path / "in.warc.gz"
    path.write_bytes(content)
    assert main(["replay", str(path), "--sink", f"file://{tmp_path}/out"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("storywire: error: " + message.format(path=path)) and err.count("\n") == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_start_up_refusal_is_one_line_on_stderr(tmp_path: Path) -> None:
    # In a real process: warcio's own warning about the text it took for an ARC header stays quiet.
    path = tmp_path / "notes.warc"
    path.write_text("these are my notes, not an archive\n")
    result = subprocess.run(
        [sys.executable, "-m", "storywire", "replay", str(path), "--sink", f"file://{tmp_path}/out"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"storywire: error: {path} is neither a WARC archive")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
