"""JSONL article dumps: lines read with bounds, each an article or a dead letter naming file and line."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest

from storywire.connectors.archives.article_dump import DumpLine, DumpStats, read_dump_lines
from storywire.connectors.errors import DumpRecordError
from storywire.connectors.failures import Failure, Stage
from storywire.connectors.urls import article_id_for, canonical_url
from storywire.pipelines.core.dumped import article_from_line
from storywire.pipelines.core.normalise import content_hash
from storywire.schemas.codec import encode
from tests.support.articles import make_article

WINDOW = (datetime(1990, 1, 1, tzinfo=timezone.utc), datetime(2026, 12, 3, tzinfo=timezone.utc))
TEXT = "Moscow said two drones targeted the Kremlin overnight and were disabled by air defence systems. " * 3


def _line(**fields: object) -> bytes:
    base: dict[str, object] = {
        "url": "https://www.example.com/news/kremlin?utm_source=rss",
        "title": "Drones over the Kremlin",
        "text": TEXT,
        "published_at": "2023-05-03T08:00:00Z",
    }
    base.update(fields)
    return orjson.dumps({k: v for k, v in base.items() if v is not ...})


def _article(line: bytes, min_chars: int = 50):  # type: ignore[no-untyped-def]
    return article_from_line(line, min_text_chars=min_chars, window=WINDOW)


def test_a_minimal_line_is_an_article_with_the_id_a_crawl_would_give() -> None:
    article = _article(_line())
    canonical = canonical_url("https://www.example.com/news/kremlin?utm_source=rss")
    assert article.article_id == article_id_for(canonical) and article.canonical_url == canonical
    assert article.outlet == "example.com" and article.extraction_method == "dump"
    assert article.published_at == article.first_seen_at == datetime(2023, 5, 3, 8, tzinfo=timezone.utc)
    assert article.summary.startswith("Moscow said") and article.language is None


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2023-05-03T10:00:00+02:00", datetime(2023, 5, 3, 8, tzinfo=timezone.utc)),
        ("2023-05-03T08:00:00", datetime(2023, 5, 3, 8, tzinfo=timezone.utc)),
        ("Wed, 03 May 2023 08:00:00 GMT", datetime(2023, 5, 3, 8, tzinfo=timezone.utc)),
    ],
)
def test_times_in_iso_8601_or_rfc_2822(when: str, expected: datetime) -> None:
    assert _article(_line(published_at=when)).first_seen_at == expected


def test_optional_fields_and_aliases() -> None:
    article = _article(
        _line(
            published_at=...,
            published="2023-05-03T07:00:00Z",
            first_seen_at="2023-05-03T07:30:00Z",
            outlet="Example News",
            lang="en-GB",
            authors="Ann Author",
        )
    )
    assert article.published_at == datetime(2023, 5, 3, 7, tzinfo=timezone.utc)
    assert article.first_seen_at == datetime(2023, 5, 3, 7, 30, tzinfo=timezone.utc)
    assert (article.outlet, article.language, article.authors) == ("Example News", "en-GB", ("Ann Author",))


def test_a_published_time_implausible_for_first_seen_is_dropped() -> None:
    article = _article(_line(published_at="2023-05-09T00:00:00Z", first_seen_at="2023-05-03T08:00:00Z"))
    assert article.published_at is None and article.first_seen_at == datetime(2023, 5, 3, 8, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object but a list"),
        (_line(text=...), "missing field(s): text"),
        (_line(url=..., title=...), "missing field(s): url, title"),
        (_line(published_at=...), "published_at (or first_seen_at)"),
        (_line(url="ftp://example.com/x"), "not an http(s) URL"),
        (_line(title=3), "field title is a int"),
        (_line(text="short"), "fewer than the 50"),
        (_line(published_at="yesterday"), "is not a time"),
        (_line(published_at="1970-01-01T00:00:00Z"), "outside the plausible range"),
        (_line(authors=[1]), "authors"),
    ],
)
def test_a_bad_line_says_what_is_wrong(line: bytes, says: str) -> None:
    with pytest.raises(DumpRecordError) as caught:
        _article(line)
    assert says in str(caught.value)


def test_storywire_s_own_article_records_read_back_as_a_dump() -> None:
    url = "https://example.com/news/kremlin"
    title = "Drones over the Kremlin"
    original = make_article(
        article_id_for(url), title, TEXT, url=url, content_hash=content_hash(title, TEXT), language="en"
    )
    again = _article(encode(original), min_chars=1)
    assert (again.article_id, again.title, again.text, again.outlet) == (
        original.article_id,
        original.title,
        original.text,
        original.outlet,
    )
    assert again.first_seen_at == original.first_seen_at and again.content_hash == original.content_hash


def test_lines_are_numbered_blank_ones_counted_and_long_ones_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"a": 1}\n\n  \n' + b'{"x": "' + b"y" * 200 + b'"}\n{"b": 2}'))
    stats = DumpStats()
    out = list(read_dump_lines(str(path), max_line_bytes=100, stats=stats, label="d.jsonl.gz"))
    assert [(o.number, o.data) for o in out if isinstance(o, DumpLine)] == [(1, b'{"a": 1}\n'), (5, b'{"b": 2}')]
    [failure] = [o for o in out if isinstance(o, Failure)]
    assert failure.identity == "d.jsonl.gz:4" and "longer than 100 bytes" in failure.message
    assert failure.stage is Stage.READ_INPUT and failure.payload_ref == f"{path}#line=4"
    assert (stats.lines, stats.blank, stats.failures) == (5, 2, 1)


def test_a_truncated_gzip_dump_ends_with_one_failure_after_what_could_be_read(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    whole = gzip.compress(b"".join(b'{"n": %d, "pad": "%s"}\n' % (n, b"z" * 50) for n in range(2000)))
    path.write_bytes(whole[: len(whole) // 2])
    stats = DumpStats()
    out = list(read_dump_lines(str(path), stats=stats))
    lines = [o for o in out if isinstance(o, DumpLine)]
    assert lines and isinstance(out[-1], Failure) and "cannot be read from this line on" in out[-1].message
    assert stats.lines == len(lines) + 1 and stats.failures == 1
