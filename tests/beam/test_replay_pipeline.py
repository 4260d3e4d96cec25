"""The replay graph on the FnApiRunner against a small archive with known contents."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from storywire.connectors.kafka.topics import TopicNames
from storywire.pipelines.beam.run_report import RunReport
from storywire.pipelines.cli.main import main
from storywire.pipelines.config.replay import ReplayConfig
from storywire.pipelines.config.sinks import SinkSpec
from storywire.pipelines.core.summary import SinkContents, read_sink
from storywire.pipelines.graphs.replay import build_replay
from storywire.schemas.validation import validate
from tests.support.replay_archive import write_fixture_archives


def _run(archives: tuple[str, ...], out: Path, *extra: str) -> tuple[SinkContents, RunReport]:
    config = ReplayConfig(archives=archives, sinks=(SinkSpec.parse(f"file://{out}"),))
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner", *extra]))
    build_replay(pipeline, config)
    result = pipeline.run()
    result.wait_until_finish()
    return read_sink(str(out), TopicNames()), RunReport.from_result(result)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> tuple[SinkContents, RunReport, tuple[Path, Path]]:
    directory = tmp_path_factory.mktemp("replay")
    archives = write_fixture_archives(directory)
    contents, report = _run(tuple(str(a) for a in archives), directory / "out")
    return contents, report, archives


def test_articles_revisions_and_repeats(replayed: tuple[SinkContents, RunReport, tuple[Path, Path]]) -> None:
    contents, report, _ = replayed
    by_url = {}
    for article in contents.articles:
        by_url.setdefault(article.canonical_url, []).append(article)
    assert sorted(by_url) == [
        "https://a.example/kremlin",
        "https://a.example/rates",
        "https://b.example/drones",
        "https://d.example/rates",
    ]
    rates = sorted(by_url["https://a.example/rates"], key=lambda a: a.revision)
    assert [a.revision for a in rates] == [1, 2] and rates[1].title == "Rates up by a quarter point"
    assert len({a.article_id for a in rates}) == 1
    assert len(by_url["https://b.example/drones"]) == 1  # the repeat capture was dropped
    assert report.get("articles.exact_repeats") == 1
    kremlin = by_url["https://a.example/kremlin"][0]
    assert kremlin.url == "https://a.example/kremlin?utm_source=rss" and kremlin.feed_url == "https://a.example/rss.xml"
    assert kremlin.first_seen_at.isoformat() == "2023-05-03T08:00:00+00:00"


def test_stories_group_outlets_and_keep_unrelated_apart(
    replayed: tuple[SinkContents, RunReport, tuple[Path, Path]],
) -> None:
    contents, _, _ = replayed
    story_of = {a.canonical_url: a.story_id for a in contents.articles}
    assert story_of["https://a.example/kremlin"] == story_of["https://b.example/drones"]
    assert story_of["https://a.example/rates"] != story_of["https://a.example/kremlin"]
    assert story_of["https://a.example/rates"] == story_of["https://d.example/rates"]
    kremlin = next(s for s in contents.stories if s.story_id == story_of["https://a.example/kremlin"])
    assert kremlin.outlets == ("a.example", "b.example") and kremlin.article_count == 2
    created = [e for e in contents.events if e.event_type == "created"]
    assert {e.story_id for e in created} == {s.story_id for s in contents.stories}


def test_every_bad_input_is_a_dead_letter_and_counts_balance(
    replayed: tuple[SinkContents, RunReport, tuple[Path, Path]],
) -> None:
    contents, report, _ = replayed
    dead = {(d.stage, d.error_type, d.identity) for d in contents.dead_letters}
    assert dead == {
        ("parse-feed", "FeedParseError", "https://c.example/rss.xml"),
        ("parse-feed", "MalformedFeedError", "https://d.example/rss.xml"),
        ("join-archive", "NotCapturedError", "https://a.example/missing"),
        ("extract-article", "EmptyExtractionError", "https://a.example/video"),
        ("extract-article", "HttpStatusError", "https://a.example/gone"),
    }
    # in = out + dropped + dead letters, stage by stage
    for name, (count_in, count_out) in report.balances().items():
        assert count_in == count_out, name
    page_captures = 8
    assert report.get("pages.tasks") == page_captures
    assert len(contents.articles) + report.get("articles.exact_repeats") + 2 == page_captures


def test_every_message_validates(replayed: tuple[SinkContents, RunReport, tuple[Path, Path]]) -> None:
    contents, _, _ = replayed
    for kind, records in (
        ("article", contents.articles),
        ("story", contents.stories),
        ("story_event", contents.events),
        ("dead_letter", contents.dead_letters),
    ):
        assert records, kind
        for record in records:
            validate(kind, record)


def test_replay_is_deterministic_whatever_the_archive_order_and_bundling(
    replayed: tuple[SinkContents, RunReport, tuple[Path, Path]], tmp_path: Path
) -> None:
    first, _, (feeds, pages) = replayed
    again, _ = _run((str(pages), str(feeds)), tmp_path / "again", "--direct_num_workers=2")
    assert again == first


def test_replay_takes_the_story_settings_of_a_live_config(
    replayed: tuple[SinkContents, RunReport, tuple[Path, Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``storywire replay --config LIVE.yaml`` runs the live run's story settings: here a 1 h dormancy turns the
    fixture's later same-story article into a resurfacing."""
    default, _, archives = replayed
    live = tmp_path / "live.yaml"
    live.write_text(
        "feeds: [https://harbour-times.example/rss]\n"
        'http: {user_agent: "storywire-test/1.0 (+https://storywire.example/test)"}\n'
        "stories: {dormancy: 1h, horizon: 30d, merging: false}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    argv = ["replay", *map(str, archives), "--sink", f"file://{out}", "--no-summary", "--config", str(live)]
    assert main(argv) == 0
    assert f"story settings from {live}: dormancy 1h, horizon 30d, merging off" in capsys.readouterr().out
    replayed_live = read_sink(str(out), TopicNames())
    assert "resurfaced" not in {e.event_type for e in default.events}
    resurfaced = [e for e in replayed_live.events if e.event_type == "resurfaced"]
    assert len(resurfaced) == 1
    assert replayed_live.articles == default.articles  # the same articles and stories; only the events differ
