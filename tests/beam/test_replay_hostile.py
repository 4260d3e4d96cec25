"""Hostile archives through the whole replay graph (issue 15): every case is a dead letter with its stage and
type or a counted skip, the replay finishes, the normal archives' stories are what they are without the hostile
records, and every balance holds; an input dropped anywhere breaks a balance."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from storywire.connectors.feeds.parse import FeedItem
from storywire.connectors.http_types import CapturedResponse
from storywire.connectors.kafka.topics import TopicNames
from storywire.pipelines.beam import archive as archive_step
from storywire.pipelines.beam.run_report import RunReport
from storywire.pipelines.config.replay import ReplayConfig
from storywire.pipelines.config.sinks import SinkSpec
from storywire.pipelines.core.summary import SinkContents, read_sink
from storywire.pipelines.graphs import replay as replay_graph
from tests.support.replay_archive import KREMLIN, RATES, T0, write_fixture_archives
from tests.support.warc import RSS, Capture, cut_last_record, page, rss, write_warc

NOW = datetime(2024, 1, 1, tzinfo=timezone.utc)
CAP = 5
HOUR = timedelta(hours=1)
# Topics of their own, so the hostile archive's articles join none of the normal archives' stories.
GARDEN = [
    "The city's botanical garden opened a new glasshouse for tropical orchids after three years of building work.",
    "Gardeners moved more than four thousand plants, some of them rare species collected a century ago.",
    "Visitors will be able to walk along a raised path under the canopy and watch the misting system at work.",
]
VOLCANO = [
    "A volcano on the island erupted before dawn, sending a column of ash several kilometres into the sky.",
    "Flights to the regional airport were cancelled and residents of two villages were told to stay indoors.",
    "Geologists said lava was flowing down the uninhabited northern slope and posed no immediate danger.",
]


def _date(at: datetime) -> str:
    return at.strftime("%a, %d %b %Y %H:%M:%S GMT")


def _hostile_captures() -> list[Capture]:
    many = [{"title": f"Item {i}", "link": f"https://h.example/gone/{i}", "date": _date(T0)} for i in range(12)]
    odd_items = [
        # A publication date in 9999: dropped to the capture time, the article kept.
        {"title": "Future", "link": "https://h.example/future-date", "date": "Fri, 31 Dec 9999 23:59:59 GMT"},
        # A link that is not a URL: the feed parser drops it, counted as an entry without a link.
        {"title": "Bad link", "link": "http://[::1/item", "guid": "bad-link", "date": _date(T0)},
        {"title": "Saved page", "link": "https://h.example/saved", "date": _date(T0)},
    ]
    text = page("Future dated", GARDEN)
    return [
        Capture("https://h.example/big.xml", T0, rss("Big", "https://h.example", many), RSS),
        Capture("https://h.example/odd.xml", T0, rss("Odd", "https://h.example", odd_items), RSS),
        Capture("https://h.example/future-date", T0 + HOUR, text),
        Capture("https://h.example/saved", T0 + HOUR, page("Saved", VOLCANO), record_type="resource"),
        Capture("https://h.example/no-uri", T0, text, target_uri=False),
        Capture("http://[::1/page", T0, text),
        Capture("https://h.example/hop", T0, b"", status=301, location="http://[::1/target"),
        Capture("https://h.example/year-one", T0, page("Year one", KREMLIN), warc_date="0001-01-01T00:00:00Z"),
        Capture("https://h.example/year-9999", T0, page("Far future", RATES), warc_date="9999-12-31T23:59:59Z"),
        Capture("https://h.example/x", T0, b"GET /x HTTP/1.1\r\n\r\n", "application/http", record_type="request"),
        Capture("https://h.example/x", T0, b"via: x\r\n", "application/warc-fields", record_type="metadata"),
        Capture("https://h.example/logo.png", T0, b"\x89PNG", "image/png", record_type="resource"),
    ]


def _run(archives: list[Path], out: Path) -> tuple[SinkContents, RunReport]:
    config = ReplayConfig(archives=tuple(str(a) for a in archives), sinks=(SinkSpec.parse(f"file://{out}"),))
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    replay_graph.build_replay(pipeline, config, max_items_per_feed=CAP, now=NOW)
    result = pipeline.run()
    result.wait_until_finish()
    return read_sink(str(out), TopicNames()), RunReport.from_result(result)


def _hostile_archives(directory: Path) -> list[Path]:
    hostile = write_warc(directory / "hostile.warc.gz", _hostile_captures())
    cut = write_warc(
        directory / "cut.warc",
        [Capture("https://h.example/cut", T0 + HOUR, page("Cut short", KREMLIN * 3))],
        gzip=False,
    )
    cut_last_record(cut, 256)
    empty = directory / "empty.warc.gz"
    empty.write_bytes(b"")
    return [hostile, cut, empty]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[SinkContents, RunReport]]:
    directory = tmp_path_factory.mktemp("hostile")
    normal = list(write_fixture_archives(directory))
    return {
        "normal": _run(normal, directory / "normal"),
        "hostile": _run(normal + _hostile_archives(directory), directory / "mixed"),
    }


def test_every_hostile_record_is_a_dead_letter_with_its_stage_and_type(
    runs: dict[str, tuple[SinkContents, RunReport]],
) -> None:
    normal = {(d.stage, d.error_type, d.identity) for d in runs["normal"][0].dead_letters}
    hostile = {(d.stage, d.error_type, d.identity, d.message) for d in runs["hostile"][0].dead_letters}
    added = {d for d in hostile if d[:3] not in normal}
    expected = {
        ("read-archive", "ArchiveRecordError", "hostile.warc.gz#offset=", "response record without WARC-Target-URI"),
        ("read-archive", "ArchiveRecordError", "http://[::1/page", "WARC-Target-URI is not a usable URL"),
        ("read-archive", "ArchiveRecordError", "https://h.example/hop", "redirect Location 'http://[::1/target'"),
        ("read-archive", "ArchiveRecordError", "https://h.example/year-one", "implausible WARC-Date '0001-01-01"),
        ("read-archive", "ArchiveRecordError", "https://h.example/year-9999", "implausible WARC-Date '9999-12-31"),
        ("read-archive", "ArchiveRecordError", "https://h.example/cut", "record cut short: 256 of"),
        ("read-archive", "ArchiveRecordError", "empty.warc.gz#offset=0", "no WARC record could be read"),
        *(("join-archive", "NotCapturedError", f"https://h.example/gone/{i}", "no page capture") for i in range(CAP)),
    }
    unmatched = [
        e for e in expected if not any(d[:2] == e[:2] and d[2].startswith(e[2]) and e[3] in d[3] for d in added)
    ]
    assert not unmatched and len(added) == len(expected), (unmatched, added)


def test_skips_and_the_per_feed_cap_are_counted(runs: dict[str, tuple[SinkContents, RunReport]]) -> None:
    report, normal = runs["hostile"][1], runs["normal"][1]
    assert report.get("archive.skipped.request") == 1 and report.get("archive.skipped.metadata") == 1
    assert report.get("archive.skipped.resource-other") == 1
    assert report.get("feeds.items_over_cap") == 12 - CAP
    assert report.get("feeds.entries_without_link") == normal.get("feeds.entries_without_link") + 1
    assert report.get("per_archive.hostile.warc.gz.records") == len(_hostile_captures())
    assert report.get("per_archive.empty.warc.gz.dead_letters") == 1


def test_resource_html_and_a_future_publication_date_give_articles(
    runs: dict[str, tuple[SinkContents, RunReport]],
) -> None:
    articles = {a.canonical_url: a for a in runs["hostile"][0].articles}
    saved = articles["https://h.example/saved"]
    assert saved.title == "Saved" and saved.feed_url == "https://h.example/odd.xml"
    future = articles["https://h.example/future-date"]
    assert future.published_at is None and future.first_seen_at == T0  # the 9999 date dropped to the sighting


def test_no_hostile_date_changes_the_other_stories(runs: dict[str, tuple[SinkContents, RunReport]]) -> None:
    """A record dated 9999 or 0001 among normal ones neither expires nor alters the normal articles' stories."""
    normal_contents, _ = runs["normal"]
    hostile_contents, _ = runs["hostile"]
    assert not [e for e in hostile_contents.events if e.event_type == "expired"]
    normal_ids = {a.article_id for a in normal_contents.articles}
    story_of = {a.article_id: a.story_id for a in hostile_contents.articles if a.article_id in normal_ids}
    assert story_of == {a.article_id: a.story_id for a in normal_contents.articles}
    assert max(a.first_seen_at for a in hostile_contents.articles) < NOW


def test_every_balance_holds(runs: dict[str, tuple[SinkContents, RunReport]]) -> None:
    for name in ("normal", "hostile"):
        report = runs[name][1]
        broken = [b.render(n) for n, b in report.balance_details().items() if not b.ok]
        assert not broken, (name, broken)
    report = runs["hostile"][1]
    assert set(report.archives()) == {"feeds.warc.gz", "pages.warc.gz", "hostile.warc.gz", "cut.warc", "empty.warc.gz"}
    assert report.get("archive.records") == sum(report.get(f"per_archive.{a}.records") for a in report.archives())


def test_an_item_link_that_is_not_a_url_is_a_join_dead_letter() -> None:
    item = FeedItem(
        item_key="k",
        link="http://[::1/item",
        title="t",
        summary="",
        authors=(),
        published_at=None,
        feed_url="https://h.example/odd.xml",
        feed_title="Odd",
        feed_language="en",
        seen_at=T0,
    )
    (output,) = list(replay_graph._key_item(item, {}))
    assert output.tag == "dead_letters"
    dead = output.value
    assert (dead.stage, dead.error_type, dead.identity) == ("join-archive", "InvalidUrlError", "http://[::1/item")
    assert "feed item link is not a URL" in dead.message and dead.payload_ref == "https://h.example/odd.xml"


# A loss anywhere breaks a balance: drop an input at one step, see which balance fails.


def _broken(tmp_path: Path) -> set[str]:
    _, report = _run(list(write_fixture_archives(tmp_path)), tmp_path / "out")
    return {name for name, balance in report.balance_details().items() if not balance.ok}


def test_a_response_lost_after_reading_breaks_the_archive_balances(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = archive_step.read_archive

    def losing(path: str, **kwargs: Any) -> Iterator[Any]:
        outcomes = list(real(path, **kwargs))
        dropped = next(i for i, o in enumerate(outcomes) if isinstance(o, CapturedResponse))
        yield from outcomes[:dropped] + outcomes[dropped + 1 :]

    monkeypatch.setattr(archive_step, "read_archive", losing)
    broken = _broken(tmp_path)
    assert "archive records -> used + skipped + dead letters" in broken
    assert {"archive feeds.warc.gz", "archive pages.warc.gz"} <= broken


def test_a_feed_item_lost_in_the_join_breaks_the_item_balance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = replay_graph._key_item

    def losing(item: Any, edges: Any) -> Iterator[Any]:
        if "missing" not in item.link:
            yield from real(item, edges)

    monkeypatch.setattr(replay_graph, "_key_item", losing)
    assert _broken(tmp_path) == {"feed items -> paired + not captured + repeats + over cap"}


def test_a_page_lost_in_the_join_breaks_the_page_balance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = replay_graph.pair_captures

    def losing(url_key: str, *args: Any) -> Iterator[Any]:
        if url_key != "https://a.example/video":
            yield from real(url_key, *args)

    monkeypatch.setattr(replay_graph, "pair_captures", losing)
    assert _broken(tmp_path) == {"page captures -> page tasks"}


def test_a_feed_lost_in_parsing_breaks_the_feed_balance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from storywire.pipelines.beam import feeds as feeds_step

    real = feeds_step._parse

    def losing(response: CapturedResponse, max_items: int) -> Iterator[Any]:
        if "c.example" not in response.url:  # the broken feed vanishes instead of becoming a dead letter
            yield from real(response, max_items)

    monkeypatch.setattr(feeds_step, "_parse", losing)
    assert _broken(tmp_path) == {"feed captures -> parsed + unusable"}


def test_a_mismatch_is_printed_as_such() -> None:
    report = RunReport({"archive.records": 3, "archive.used.page": 2})
    line = report.balance_details()["archive records -> used + skipped + dead letters"].render("records")
    assert line.startswith("balance records: 3 = 2 MISMATCH, +1 unaccounted (records = ")
