"""`storywire replay` over many inputs at once: directories, patterns, JSONL dumps, files it cannot read, and the
filters; every input is a result or a dead letter, and the balances hold."""

from __future__ import annotations

import filecmp
import gzip
import re
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from storywire.connectors.kafka.topics import TopicNames
from storywire.pipelines.cli.main import main
from storywire.pipelines.core.event_time import article_time
from storywire.pipelines.core.summary import SinkContents, read_sink
from tests.support.replay_archive import T0, write_fixture_archives
from tests.support.warc import Capture, page, write_warc

TEXT = "Officials in Lisbon opened the new metro line on Monday after six years of construction work. " * 3
NAMES = TopicNames()


def _replay(capsys: pytest.CaptureFixture[str], out: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["replay", *argv, "--sink", f"file://{out}", "--no-progress", "--log-format", "text"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _balances_hold(stdout: str) -> None:
    lines = [line for line in stdout.splitlines() if line.startswith("balance ")]
    assert lines and all(re.search(r": (\d+) = \1 ok", line) for line in lines), "\n".join(lines)


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("crawl")
    (directory / "warc" / "2023-05").mkdir(parents=True)
    write_fixture_archives(directory / "warc" / "2023-05")
    return directory


def _dump(path: Path, lines: list[bytes]) -> Path:
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def _metro(n: int, **fields: object) -> bytes:
    record = {
        "url": f"https://lisbon.example/metro-{n}",
        "title": f"Lisbon metro line opens ({n})",
        "text": TEXT + f" Update {n}.",
        "published_at": "2023-05-03T09:00:00Z",
        "language": "pt",
    }
    record.update(fields)
    return orjson.dumps(record)


def test_directories_patterns_dumps_and_unreadable_files_in_one_replay(
    crawl: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (crawl / "notes.txt").write_text("not an archive", encoding="utf-8")
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    _dump(dumps / "a.jsonl.gz", [_metro(1), b"{not json", b"", _metro(2, title=7)])
    (tmp_path / "empty").mkdir()
    code, out, err = _replay(
        capsys, tmp_path / "out", str(crawl), str(dumps / "*.jsonl.gz"), str(tmp_path / "empty"), "/nowhere/*.warc"
    )
    assert code == 0, err
    assert "2 archive(s), 1 article dump(s), 3 input(s) skipped" in out
    for named in ("notes.txt", str(tmp_path / "empty"), "/nowhere/*.warc"):
        assert f"skipped input: {named}" in err or named in err
    _balances_hold(out)
    contents = read_sink(str(tmp_path / "out"), NAMES)
    read_input = {(d.identity, d.error_type) for d in contents.dead_letters if d.stage == "read-input"}
    assert read_input == {
        (str(crawl / "notes.txt"), "UnknownInputError"),
        (str(tmp_path / "empty"), "UnknownInputError"),
        ("/nowhere/*.warc", "UnknownInputError"),
        ("a.jsonl.gz:2", "DumpRecordError"),
        ("a.jsonl.gz:4", "DumpRecordError"),
    }
    urls = {a.canonical_url for a in contents.articles}
    assert "https://lisbon.example/metro-1" in urls and "https://a.example/kremlin" in urls
    metro = next(a for a in contents.articles if a.canonical_url.endswith("metro-1"))
    assert metro.extraction_method == "dump" and metro.story_id is not None


def test_nothing_readable_is_exit_2_naming_every_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01\x02")
    code, _, err = _replay(capsys, tmp_path / "out", str(junk), str(tmp_path / "missing.warc.gz"))
    assert code == 2
    assert err.startswith("storywire: error: nothing to replay:") and str(junk) in err and "missing.warc.gz" in err
    assert not (tmp_path / "out").exists()


def test_a_replay_of_its_own_articles_file_gives_the_same_stories(
    crawl: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The articles a replay wrote, read back as a JSONL dump, give the same stories and story events: a dump is
    an input like a crawl, through the same dedupe and story steps."""
    assert _replay(capsys, tmp_path / "first", str(crawl / "warc"))[0] == 0
    code, out, _ = _replay(capsys, tmp_path / "again", str(tmp_path / "first" / f"{NAMES.articles}.jsonl"))
    assert code == 0
    _balances_hold(out)
    for name in (NAMES.stories, NAMES.story_events):
        assert filecmp.cmp(tmp_path / "first" / f"{name}.jsonl", tmp_path / "again" / f"{name}.jsonl", shallow=False)


def _kept(contents: SinkContents) -> set[str]:
    return {a.canonical_url for a in contents.articles}


def test_filters_keep_a_slice_and_the_balances_count_what_was_left_out(
    crawl: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dump = _dump(tmp_path / "d.jsonl", [_metro(1), _metro(2, language="en-GB", outlet="news.example.org")])
    assert _replay(capsys, tmp_path / "all", str(crawl / "warc"), str(dump))[0] == 0
    everything = read_sink(str(tmp_path / "all"), NAMES)

    code, out, _ = _replay(capsys, tmp_path / "en", str(crawl / "warc"), str(dump), "--lang", "en")
    assert code == 0 and "keeping articles: languages en" in out
    _balances_hold(out)
    english = read_sink(str(tmp_path / "en"), NAMES)
    assert _kept(english) == {a.canonical_url for a in everything.articles if (a.language or "").startswith("en")}
    assert "https://lisbon.example/metro-2" in _kept(english) and "https://lisbon.example/metro-1" not in _kept(english)

    code, out, _ = _replay(capsys, tmp_path / "org", str(dump), "--outlet", "example.org")
    assert code == 0 and _kept(read_sink(str(tmp_path / "org"), NAMES)) == {"https://lisbon.example/metro-2"}

    crawled = [a for a in everything.articles if a.extraction_method != "dump"]
    since = max(article_time(a) for a in crawled)
    code, out, _ = _replay(
        capsys, tmp_path / "late", str(crawl / "warc"), "--since", since.isoformat(), "--until", "2030-01-01"
    )
    assert code == 0
    _balances_hold(out)
    late = read_sink(str(tmp_path / "late"), NAMES)
    assert late.articles and all(article_time(a) >= since for a in late.articles)
    assert len(late.articles) < len(crawled)
    story_articles = {article_id for story in late.stories for article_id in story.article_ids}
    assert story_articles <= {a.article_id for a in late.articles}  # stories only from what was kept


def test_a_feedless_crawl_in_the_cc_news_layout_replays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Another crawler's WARC (the CC-NEWS layout: warcinfo, then request, response and metadata records of
    article pages, no feeds): every page is an article, first seen at its capture; the other records are counted
    as skipped."""
    quake = [
        "A strong earthquake struck off the coast of Hokkaido on Tuesday, shaking buildings in Sapporo.",
        "The meteorological agency issued a tsunami advisory for the Pacific coast and urged residents to move.",
        "Railway operators halted bullet trains while engineers inspected the tracks for damage after the tremor.",
    ]
    captures = [
        Capture(
            "", T0, b"software: crawler/1.0\r\n", "application/warc-fields", record_type="warcinfo", target_uri=False
        )
    ]
    for n, host in enumerate(("a.example", "b.example", "c.example")):
        url = f"https://www.{host}/news/quake-{n}"
        at = T0 + timedelta(minutes=10 * n)
        captures += [
            Capture(
                url,
                at,
                b"GET /news HTTP/1.1\r\nHost: x\r\n\r\n",
                "application/http; msgtype=request",
                record_type="request",
            ),
            Capture(url, at, page(f"Earthquake hits Hokkaido ({host})", quake)),
            Capture(url, at, b"fetchTimeMs: 120\r\n", "application/warc-fields", record_type="metadata"),
        ]
    archive = write_warc(tmp_path / "CC-NEWS-20230503080000-00001.warc.gz", captures)
    code, out, err = _replay(capsys, tmp_path / "out", str(archive))
    assert code == 0, err
    _balances_hold(out)
    assert "skipped: metadata 3, request 3, warcinfo 1" in out
    contents = read_sink(str(tmp_path / "out"), NAMES)
    assert sorted(a.outlet for a in contents.articles) == ["a.example", "b.example", "c.example"]
    assert all(a.feed_url is None and a.first_seen_at == a.captured_at for a in contents.articles)
    assert len({a.story_id for a in contents.articles}) == 1  # one story across the three outlets
