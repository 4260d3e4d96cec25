"""Merging two stories that one article bridges: the rule, what the stream says, and the resurfacing a merge
reveals."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from storywire.pipelines.stories import StoryAssigner, StoryConfig, story_id_for
from storywire.schemas.records import Article
from tests.support.articles import BRIDGING, QUAKE, T0, make_article, run, split_then_bridge


def _scores(config: StoryConfig, articles: list[Article]) -> list[float]:
    """The bridging article's score against each live story (merging off, any score kept)."""
    assigner = StoryAssigner(replace(config, merge_threshold=None))
    for article in articles[:-1]:
        assigner.assign(article)
    live = [story.story_id for story in assigner.live_stories()]
    return sorted((match.score for match in assigner.score(articles[-1], live)), reverse=True)


def test_second_story_must_reach_the_joining_threshold() -> None:
    config = replace(BRIDGING, title_similarity_weight=0.0)  # scores are then cosines (<= 1, as thresholds)
    articles = split_then_bridge(timedelta(minutes=5), timedelta(minutes=10))
    best, second = _scores(config, articles)
    assert best > second > config.merge_threshold  # type: ignore[operator]
    below = run(articles, replace(config, threshold=(best + second) / 2))
    assert [e.event_type for e in below[2].events] == ["updated"]  # joins the best story only
    assert below[2].article.story_id == story_id_for("m1")
    at = run(articles, replace(config, threshold=second * 0.999))
    assert [e.event_type for e in at[2].events] == ["merged", "updated"]


def test_merge_needs_similar_centroids() -> None:
    articles = split_then_bridge(timedelta(minutes=5), timedelta(minutes=10))
    result = run(articles, replace(BRIDGING, merge_threshold=1.0))  # the two centroids are not identical
    assert [e.event_type for e in result[2].events] == ["updated"]


def test_merge_of_a_story_that_began_after_the_other_went_quiet_reports_the_resurfacing() -> None:
    result = run(split_then_bridge(timedelta(hours=60), timedelta(hours=61)), BRIDGING)
    assert [e.event_type for e in result[1].events] == ["created"]  # the split: m2 opened a story of its own
    events = result[2].events
    assert [e.event_type for e in events] == ["merged", "resurfaced", "updated"]
    resurfaced = events[1]
    assert resurfaced.story_id == story_id_for("m1")
    assert resurfaced.article_id == "m2"  # the article that ended the silence, not the bridging one
    assert resurfaced.detail == f"dormant for 60h (found by merging {story_id_for('m2')})"
    assert events[2].article_id == "m3"  # an hour after m2 in the merged story: an update
    assert resurfaced.score is None and events[0].score is None  # a merge finds it: no joining score
    assert events[2].score is not None and events[2].score >= BRIDGING.threshold


def test_merge_into_the_later_larger_story_reports_its_first_article() -> None:
    articles = [
        *split_then_bridge(timedelta(hours=60), timedelta(hours=60, minutes=30))[:2],
        make_article("m2b", "Tsunami warning tsunami alert lifted", QUAKE, at=T0 + timedelta(hours=60, minutes=20)),
        make_article("m3", "Hokkaido tsunami", QUAKE, at=T0 + timedelta(hours=61), outlet="c.jp"),
    ]
    result = run(articles, BRIDGING)
    assert result[2].article.story_id == story_id_for("m2")
    events = result[3].events
    assert [e.event_type for e in events] == ["merged", "resurfaced", "updated"]
    assert events[0].story_id == story_id_for("m2")  # the larger story survives, though it is the younger
    assert events[0].related_story_id == story_id_for("m1")
    assert events[1].article_id == "m2"


@pytest.mark.parametrize("second_at", [timedelta(minutes=5), timedelta(hours=47)])
def test_no_resurfacing_when_the_spans_are_closer_than_dormancy(second_at: timedelta) -> None:
    result = run(split_then_bridge(second_at, second_at + timedelta(minutes=5)), BRIDGING)
    assert [e.event_type for e in result[2].events] == ["merged", "updated"]
