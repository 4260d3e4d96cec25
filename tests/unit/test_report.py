"""The HTML report (``pipelines/report``) and ``storywire report``: built from the records ``read_sink`` gives,
self-contained (plotly.js inlined once, nothing from the network), escaped, and the same from the topics.

``contents()`` and ``write_sink()`` are shared with ``test_cli_stories.py`` and ``test_export.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from storywire.connectors.kafka import ConsumedMessage, KafkaConfig, TopicNames
from storywire.pipelines.cli.main import main
from storywire.pipelines.core.summary import SinkContents, read_sink
from storywire.pipelines.report import StoryFilter, build_report, contents_from_records, story_views
from storywire.pipelines.report import source as report_source
from storywire.pipelines.report.model import short_id, when
from storywire.schemas.codec import encode
from storywire.schemas.records import Article, Story, StoryEvent, StoryStatus

T0 = datetime(2023, 5, 3, 8, 0, tzinfo=timezone.utc)
KREMLIN = "s_1311d00a537a737b474b183d"
PORT = "s_8849b9e8e52b18d066332435"
STRIKE = "s_0000000000000000000000aa"
HOSTILE = '</script><script>alert("x")</script> & <img src=x onerror=alert(1)>'


def article(article_id: str, outlet: str, at: datetime, story_id: str, **changes: Any) -> Article:
    url = changes.pop("url", f"https://{outlet}/{article_id}")
    values: dict[str, Any] = {
        "article_id": article_id,
        "url": url,
        "canonical_url": url,
        "outlet": outlet,
        "feed_url": f"https://{outlet}/rss",
        "title": f"{story_id} article {article_id}",
        "summary": "",
        "text": "body",
        "authors": ("A. Writer",),
        "language": "en",
        "published_at": None,
        "first_seen_at": at,
        "captured_at": at,
        "revision": 1,
        "extraction_method": "test",
        "content_hash": "h" + article_id,
        "story_id": story_id,
    }
    values.update(changes)
    return Article(**values)


def story(
    story_id: str,
    headline: str,
    articles: list[Article],
    status: StoryStatus = "active",
    version: int = 3,
    merged_into: str | None = None,
    top_terms: tuple[str, ...] = (),
) -> Story:
    outlets = tuple(sorted({a.outlet for a in articles}))
    return Story(
        story_id=story_id,
        status=status,
        headline=headline,
        top_terms=top_terms,
        language="en",
        first_seen_at=min(a.first_seen_at for a in articles),
        last_seen_at=max(a.first_seen_at for a in articles),
        updated_at=max(a.first_seen_at for a in articles),
        article_count=len(articles),
        outlet_count=len(outlets),
        outlets=outlets,
        article_ids=tuple(a.article_id for a in articles),
        merged_into=merged_into,
        version=version,
    )


def event(event_id: str, kind: Any, story_id: str, at: datetime, **changes: Any) -> StoryEvent:
    values: dict[str, Any] = {
        "event_id": event_id,
        "event_type": kind,
        "story_id": story_id,
        "article_id": None,
        "event_time": at,
        "related_story_id": None,
        "article_count": 1,
        "outlet_count": 1,
        "detail": f"{kind} detail",
    }
    values.update(changes)
    return StoryEvent(**values)


def contents() -> SinkContents:
    """Three stories: a big one that resurfaced and absorbed a merged one, and a small one with a hostile
    headline and a ``javascript:`` article URL; one article has two revisions."""
    kremlin = [
        article("a_k1", "euronews.com", T0, KREMLIN, title="Russia accuses Ukraine of drone attack"),
        article("a_k2", "daily-meridian.example", T0 + timedelta(hours=2), KREMLIN),
        article("a_k3", "harbour-times.example", T0 + timedelta(days=4), KREMLIN, duplicate_of="a_k1"),
    ]
    strike = [article("a_s1", "northern-ledger.example", T0 + timedelta(hours=5), STRIKE)]
    port = [article("a_p1", "harbour-times.example", T0 - timedelta(days=5), PORT, title=HOSTILE, url="javascript:x()")]
    revised = article("a_k2", "daily-meridian.example", T0 + timedelta(hours=2), KREMLIN, revision=2, title="K2 v2")
    stories = [
        story(
            KREMLIN, "Russia accuses Ukraine of drone attack on the Kremlin", [*kremlin, *strike], top_terms=("drone",)
        ),
        story(STRIKE, "Strike story", strike, status="merged", merged_into=KREMLIN),
        story(PORT, HOSTILE, port, status="dormant"),
    ]
    events = [
        event("e1", "created", KREMLIN, T0),
        event("e2", "updated", KREMLIN, T0 + timedelta(hours=2)),
        event("e3", "merged", KREMLIN, T0 + timedelta(hours=6), related_story_id=STRIKE),
        event("e4", "resurfaced", KREMLIN, T0 + timedelta(days=4), detail="dormant for 90h", score=0.9),
        event("e5", "created", PORT, T0 - timedelta(days=5), detail=HOSTILE),
    ]
    return contents_from_records([*kremlin, revised, *strike, *port], stories, events)


def write_sink(directory: Path, data: SinkContents, prefix: str = "news") -> Path:
    """``data`` as a replay's file sink writes it (one JSON line per record)."""
    topics = TopicNames(prefix)
    directory.mkdir(parents=True, exist_ok=True)
    for name, records in (
        (topics.articles, data.articles),
        (topics.stories, data.stories),
        (topics.story_events, data.events),
        (topics.dead_letters, data.dead_letters),
    ):
        (directory / f"{name}.jsonl").write_bytes(b"".join(encode(r) + b"\n" for r in records))
    return directory


def test_story_views_put_the_most_covered_first_with_latest_revisions_and_listed_articles() -> None:
    views = story_views(contents())
    assert [v.story.story_id for v in views] == [KREMLIN, PORT, STRIKE]
    kremlin = views[0]
    # the survivor lists the merged story's article; a_k2 appears once, at its latest revision
    assert [a.article_id for a in kremlin.articles] == ["a_k1", "a_k2", "a_s1", "a_k3"]
    assert next(a for a in kremlin.articles if a.article_id == "a_k2").title == "K2 v2"
    assert [e.event_type for e in kremlin.notable_events] == ["created", "merged", "resurfaced"]
    assert kremlin.articles_per_outlet()["euronews.com"] == 1


def test_story_filter_by_words_dates_and_outlet() -> None:
    views = story_views(contents())

    def ids(**kwargs: Any) -> list[str]:
        return [v.story.story_id for v in StoryFilter(**kwargs).apply(views)]

    assert ids(text="Kremlin DRONE") == [KREMLIN]
    assert ids(text="kremlin missing-word") == []
    assert ids(text="a_s1") == [KREMLIN, STRIKE]  # an article title names its story id
    assert ids(outlet="euronews") == [KREMLIN]
    assert ids(since=date(2023, 5, 7)) == [KREMLIN]  # last seen 2023-05-07 08:00, the day counts
    assert ids(until=date(2023, 4, 28)) == [PORT]  # first seen 2023-04-28
    assert ids(since=date(2023, 5, 3), until=date(2023, 5, 3)) == [KREMLIN, STRIKE]


def test_contents_from_records_counts_what_a_topic_delivered_twice_once() -> None:
    data = contents()
    older = data.stories[0].replace(version=1, headline="old")
    again = contents_from_records(
        [*data.articles, *data.articles], [older, *data.stories, older], [*data.events, *data.events]
    )
    assert again == data


def test_the_report_is_one_offline_page_with_the_plots_the_list_and_the_articles() -> None:
    page = build_report(contents(), source="out/")
    assert page.startswith("<!DOCTYPE html>") and "<title>storywire report</title>" in page
    assert page.count("window.PlotlyConfig") == 1  # plotly.js inlined once
    assert not re.search(r"<script[^>]+src=", page) and not re.search(r"<link[^>]+href=", page)
    assert page.count('class="plotly-graph-div"') == 1 + 3  # the overview and one timeline per story
    assert 'id="story-filter"' in page and page.count("<tr data-search=") == 3
    assert "2023-05-03 08:00" in page  # dates carry their year
    assert "merged into s_1311d00a" in page and f'href="#{STRIKE}"' in page
    assert 'href="https://euronews.com/a_k1"' in page and "dormant for 90h (score 0.90)" in page


def test_the_report_escapes_what_the_records_say_and_links_only_web_urls() -> None:
    page = build_report(contents(), source="out/")
    assert "<script>alert" not in page and "<img src=x" not in page  # in the HTML and in the figures' JSON alike
    assert "&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)" in page
    assert "javascript:x()" not in page  # the article is listed without a link


def test_top_limits_the_sections_and_an_empty_sink_gives_a_page_without_plots() -> None:
    page = build_report(contents(), source="out/", top=1)
    assert page.count('class="plotly-graph-div"') == 2 and page.count("window.PlotlyConfig") == 1
    assert page.count("<tr data-search=") == 3
    empty = build_report(SinkContents((), (), (), ()), source="empty/")
    assert "0 articles from 0 outlets in 0 stories" in empty and "window.PlotlyConfig" not in empty


def test_storywire_report_writes_the_page_from_a_file_sink(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sink = write_sink(tmp_path / "out", contents())
    assert read_sink(str(sink), TopicNames()) == contents()
    output = tmp_path / "site" / "report.html"
    assert main(["report", str(sink), "-o", str(output), "--top", "2", "--title", "May 2023"]) == 0
    page = output.read_text(encoding="utf-8")
    assert "<title>May 2023</title>" in page and page.count('class="plotly-graph-div"') == 3
    assert f"report: {output}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "-o", "x.html"], "either a file sink DIRECTORY or --from-kafka"),
        (["report", "DIR", "--from-kafka", "kafka://h:1"], "either a file sink DIRECTORY or --from-kafka"),
        (["report", "missing-dir"], "not a directory: missing-dir"),
        (["report", "EMPTY"], "no news.*.v1.jsonl files in"),
        (["report", "DIR", "--top", "-1"], "--top must be >= 0"),
    ],
)
def test_storywire_report_usage_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    sink = write_sink(tmp_path / "out", contents())
    (tmp_path / "empty").mkdir()
    argv = [{"DIR": str(sink), "EMPTY": str(tmp_path / "empty")}.get(a, a) for a in argv]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def _messages(records: list[Any], topic: str) -> list[ConsumedMessage]:
    values = [encode(r) for r in records]
    return [ConsumedMessage(topic, 0, i, None, v, (), 0) for i, v in enumerate(values)]


def test_the_topics_are_read_until_quiet_and_give_what_the_file_sink_gives() -> None:
    data = contents()
    topics = TopicNames()
    by_topic = {
        topics.articles: _messages(list(data.articles) * 2, topics.articles),  # delivered twice
        topics.stories: [
            *_messages(list(data.stories), topics.stories),
            ConsumedMessage(topics.stories, 0, 9, b"k", None, (), 0),  # a tombstone
        ],
        topics.story_events: [
            *_messages(list(data.events), topics.story_events),
            ConsumedMessage(topics.story_events, 0, 9, None, b"not json", (), 0),
        ],
        topics.dead_letters: [],
    }
    calls: list[tuple[str, dict[str, Any]]] = []

    def reader(config: KafkaConfig, topic: str, **kwargs: Any) -> Iterator[ConsumedMessage]:
        calls.append((topic, kwargs))
        yield from by_topic[topic]

    read = report_source.read_topics(KafkaConfig("h:1"), topics, idle_timeout_s=1.5, reader=reader)
    assert read.contents == data
    assert read.messages[topics.articles] == 2 * len(data.articles) and read.undecodable == {topics.story_events: 1}
    assert sorted(topic for topic, _ in calls) == sorted(topics.all())
    assert all(kw == {"timeout_s": None, "idle_timeout_s": 1.5, "from_beginning": True} for _, kw in calls)


def test_storywire_report_from_kafka(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = contents()
    topics = TopicNames("staging")
    by_topic = {
        topics.articles: list(data.articles),
        topics.stories: list(data.stories),
        topics.story_events: list(data.events),
        topics.dead_letters: [],
    }
    seen: list[KafkaConfig] = []

    def fake_iter_topic(config: KafkaConfig, topic: str, **kwargs: Any) -> Iterator[ConsumedMessage]:
        seen.append(config)
        yield from _messages(by_topic[topic], topic)

    monkeypatch.setattr(report_source, "iter_topic", fake_iter_topic)
    output = tmp_path / "r.html"
    argv = ["report", "--from-kafka", "kafka://127.0.0.1:1", "--topic-prefix", "staging", "-o", str(output)]
    assert main([*argv, "--idle-timeout", "0.5"]) == 0
    assert {c.bootstrap_servers for c in seen} == {"127.0.0.1:1"}
    assert "kafka://127.0.0.1:1" in output.read_text(encoding="utf-8")
    assert "until each is quiet for 0.5s" in capsys.readouterr().out


def test_short_ids_and_times() -> None:
    assert short_id(KREMLIN) == "s_1311d00a"
    assert when(T0) == "2023-05-03 08:00" and when(None) == "-"
