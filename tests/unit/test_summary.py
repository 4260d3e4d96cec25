"""The text summary of a replay (``storywire summary``, ``storywire demo``): dates with the year, and under each
story covered by several outlets its articles (time, outlet, title, URL) in time order."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from storywire.pipelines.core.summary import SinkContents, render
from storywire.schemas.records import Article, Story, StoryEvent
from tests.support.articles import make_article

T = datetime(2023, 5, 3, 11, 50, tzinfo=timezone.utc)


def _story(
    story_id: str, articles: list[Article], outlets: tuple[str, ...], headline: str = "Drone over Kremlin"
) -> Story:
    return Story(
        story_id=story_id,
        status="active",
        headline=headline,
        top_terms=("kremlin", "drone"),
        language="en",
        first_seen_at=min(a.first_seen_at for a in articles),
        last_seen_at=max(a.first_seen_at for a in articles),
        updated_at=max(a.first_seen_at for a in articles),
        article_count=len({a.article_id for a in articles}),
        outlet_count=len(outlets),
        outlets=outlets,
        article_ids=tuple(dict.fromkeys(a.article_id for a in articles)),
        merged_into=None,
        version=1,
    )


def _named(article: Article, story_id: str) -> Article:
    return replace(article, story_id=story_id)


def _contents(articles: list[Article], stories: list[Story], events: tuple[StoryEvent, ...] = ()) -> SinkContents:
    return SinkContents(articles=tuple(articles), stories=tuple(stories), events=events, dead_letters=())


def test_a_storys_articles_are_listed_with_year_outlet_title_and_url_in_time_order() -> None:
    late = _named(make_article("a2", "Peskov vows response", at=T + timedelta(hours=8), outlet="b.example"), "s_1")
    # published two hours before it was first seen: the publication time is the one shown and ordered on
    early = _named(
        make_article(
            "a1",
            "Russia accuses Ukraine of drone attack",
            at=T + timedelta(hours=9),
            outlet="a.example",
            published=T - timedelta(hours=2),
            url="https://a.example/world/2023/05/03/kremlin",
        ),
        "s_1",
    )
    created = StoryEvent("e1", "created", "s_1", "a1", T, None, 1, 1, "new story")
    text = render(_contents([late, early], [_story("s_1", [late, early], ("a.example", "b.example"))], (created,)))

    lines = text.splitlines()
    first = lines.index(
        "        2023-05-03 09:50  a.example  Russia accuses Ukraine of drone attack  "
        "https://a.example/world/2023/05/03/kremlin"
    )
    second = lines.index("        2023-05-03 19:50  b.example  Peskov vows response  https://b.example/a2")
    assert first < second
    assert "      first seen 2023-05-03 19:50, last seen 2023-05-03 20:50 (UTC)" in lines
    assert "      created    2023-05-03 11:50  new story" in lines


def test_the_newest_revision_gives_the_title_and_long_stories_are_cut_with_a_count() -> None:
    articles = [
        _named(make_article(f"a{n:02}", f"Report {n}", at=T + timedelta(minutes=n), outlet=f"o{n % 3}.example"), "s_1")
        for n in range(13)
    ]
    revised = _named(make_article("a00", "Report 0, updated", at=T, outlet="o0.example", revision=2), "s_1")
    story = _story("s_1", articles, ("o0.example", "o1.example", "o2.example"))

    text = render(_contents([*articles, revised], [story]), max_articles=10)

    article_lines = [line for line in text.splitlines() if line.startswith("        2023-")]
    assert len(article_lines) == 10
    assert article_lines[0] == "        2023-05-03 11:50  o0.example  Report 0, updated  https://o0.example/a00"
    assert "        ... and 3 more" in text.splitlines()


def test_single_outlet_stories_stay_one_line_each() -> None:
    one = _named(make_article("b1", "Local fair opens", at=T, outlet="c.example"), "s_2")
    other = _named(make_article("b2", "Local fair closes", at=T + timedelta(days=1), outlet="c.example"), "s_2")

    text = render(_contents([one, other], [_story("s_2", [one, other], ("c.example",), "Local fair")]))

    assert "  - Local fair (c.example, 2)" in text.splitlines()
    assert "https://c.example/b1" not in text
