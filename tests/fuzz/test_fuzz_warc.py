"""The WARC reader on damaged input: records built by tests/support/warc.py and members of the bundled sample,
with bytes flipped, cut, inserted or repeated, and plain random bytes. Every outcome is a response or a dead
letter (a Failure with ArchiveRecordError); no exception leaves read_archive, and the read stats balance."""

from __future__ import annotations

import gzip
import io
import zlib
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storywire.connectors.archives.warc_reader import ReadStats, read_archive
from storywire.connectors.failures import Failure
from storywire.connectors.http_types import CapturedResponse
from tests.fuzz.support import examples, mutated
from tests.support.warc import RSS, Capture, page, rss, write_warc

pytestmark = pytest.mark.fuzz

SAMPLE = Path(__file__).resolve().parents[2] / "pipelines" / "bundled" / "storywire-sample.warc.gz"
T = datetime(2024, 3, 1, 8, 0, tzinfo=timezone.utc)
SAMPLE_MEMBERS = 40  # the first records of the sample (of 363): enough kinds, small enough to read often


def _captures() -> list[Capture]:
    feed = rss(
        "Example",
        "https://news.example/",
        [{"title": "Port strike", "link": "https://news.example/a/1", "date": "Fri, 01 Mar 2024 08:00:00 GMT"}],
    )
    return [
        Capture("https://news.example/feed.xml", T, feed, content_type=RSS),
        Capture("https://news.example/a/1", T, page("Port strike", ["Cranes stopped.", "Ships wait."])),
        Capture("https://news.example/old", T, b"", status=301, location="https://news.example/a/1"),
        Capture("https://news.example/r", T, page("Resource", ["Kept."]), record_type="resource"),
        Capture("https://news.example/i", T, b"note", record_type="metadata", content_type="text/plain"),
    ]


@cache
def built(gzipped: bool) -> bytes:
    """A small archive written by the test builders, gzip per record or plain."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = write_warc(Path(tmp) / "built.warc", _captures(), gzip=gzipped)
        return path.read_bytes()


@cache
def sample_members() -> tuple[bytes, ...]:
    """The sample's first gzip members, each one record."""
    data = SAMPLE.read_bytes()
    members: list[bytes] = []
    at = 0
    while at < len(data) and len(members) < SAMPLE_MEMBERS:
        decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
        decompressor.decompress(data[at:])
        end = len(data) - len(decompressor.unused_data)
        members.append(data[at:end])
        at = end
    return tuple(members)


def _member_runs(plain: bool) -> st.SearchStrategy[bytes]:
    """A run of consecutive sample members, as they are (gzip) or decompressed (a plain WARC)."""

    def join(span: tuple[int, int]) -> bytes:
        chosen = sample_members()[span[0] : span[0] + span[1]]
        return b"".join(gzip.decompress(m) for m in chosen) if plain else b"".join(chosen)

    return st.tuples(st.integers(0, SAMPLE_MEMBERS - 1), st.integers(1, 6)).map(join)


def read_all(data: bytes) -> tuple[list[CapturedResponse | Failure], ReadStats]:
    def open_stream(_path: str) -> BinaryIO:
        return io.BytesIO(data)

    stats = ReadStats()
    outcomes = list(read_archive("fuzz.warc.gz", open_stream=open_stream, stats=stats))
    return outcomes, stats


def check(data: bytes) -> None:
    outcomes, stats = read_all(data)
    for outcome in outcomes:
        assert isinstance(outcome, (CapturedResponse, Failure)), outcome
        if isinstance(outcome, Failure):
            assert outcome.error_type == "ArchiveRecordError", outcome
    responses = sum(isinstance(o, CapturedResponse) for o in outcomes)
    assert stats.responses == responses
    assert stats.failures == len(outcomes) - responses
    assert stats.records == stats.responses + stats.skipped + stats.failures, stats


def test_the_seeds_read_cleanly() -> None:
    """The undamaged inputs give responses and no dead letter (else the properties below prove little)."""
    for data in (built(True), built(False), b"".join(sample_members())):
        outcomes, _ = read_all(data)
        assert outcomes
        assert not [o for o in outcomes if isinstance(o, Failure)]


@settings(max_examples=examples(100))
@given(mutated(st.sampled_from([True, False]).map(built), max_steps=4))
def test_reader_on_damaged_built_archives(data: bytes) -> None:
    check(data)


@settings(max_examples=examples(60))
@given(mutated(_member_runs(plain=False), max_steps=3))
def test_reader_on_damaged_sample_members(data: bytes) -> None:
    check(data)


@settings(max_examples=examples(60))
@given(mutated(_member_runs(plain=True), max_steps=5))
def test_reader_on_damaged_sample_records_uncompressed(data: bytes) -> None:
    """Damage to the WARC and HTTP headers themselves (in a gzip member most edits only break the compression)."""
    check(data)


@settings(max_examples=examples(60))
@given(_member_runs(plain=True).flatmap(lambda plain: mutated(st.just(plain), max_steps=3)).map(gzip.compress))
def test_reader_on_damaged_records_recompressed(data: bytes) -> None:
    """Damaged headers inside a valid gzip stream: warcio reads them through the decompressor."""
    check(data)


@settings(max_examples=examples(60))
@given(st.binary(max_size=2048))
def test_reader_on_random_bytes(data: bytes) -> None:
    check(data)
