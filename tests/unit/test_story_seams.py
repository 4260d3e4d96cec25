"""The story core's public seams for tests, benchmarks and diagnostics: scoring without assigning, assigning with
the decision given (teacher forcing), and read-only views of the live stories."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from storywire.pipelines.stories import StoryAssigner, StoryConfig, story_id_for
from tests.support.articles import BRIDGING, ELECTION, QUAKE, T0, make_article, run, split_then_bridge, stream


def test_scoring_leaves_no_trace() -> None:
    articles = stream()
    plain = run(articles)
    assigner = StoryAssigner()
    looked = []
    for article in articles:
        assigner.advance(article.first_seen_at)
        assigner.score(article)
        assigner.score(article, [story.story_id for story in assigner.live_stories()])
        looked.append(assigner.assign(article))
    assert looked == plain


def test_score_gives_the_candidates_as_assign_sees_them() -> None:
    articles = stream()
    assigner = StoryAssigner()
    for article in articles[:2]:  # the quake story a1, the election story b1
        assigner.assign(article)
    a2 = articles[2]
    (candidate,) = assigner.score(a2)  # only the quake story shares a2's specific terms
    assert candidate.story_id == story_id_for("a1") and candidate.candidate
    config = assigner.config
    assert candidate.score == (candidate.content + config.title_similarity_weight * candidate.title) * (
        candidate.time_factor
    )
    assert candidate.score >= config.threshold and candidate.time_factor == 1.0
    # the joining score the event carries is that score
    assert assigner.assign(a2).events[-1].score == round(candidate.score, 4)


def test_score_of_named_stories_flags_the_candidates_and_skips_ids_not_live() -> None:
    assigner = StoryAssigner()
    for article in stream()[:2]:
        assigner.assign(article)
    named = assigner.score(stream()[2], [story_id_for("b1"), "s_not_live", story_id_for("a1")])
    assert [(m.story_id, m.candidate) for m in named] == [(story_id_for("b1"), False), (story_id_for("a1"), True)]
    assert named[0].score < named[1].score


def test_score_is_empty_when_assign_would_compare_nothing() -> None:
    assigner = StoryAssigner()
    first = stream()[0]
    assigner.assign(first)
    copy = make_article("copy", "Copy", QUAKE, at=T0 + timedelta(minutes=1), content_hash=first.content_hash)
    empty = make_article("empty", "!!!", "", at=T0 + timedelta(minutes=2))
    assert assigner.score(first) == ()  # a known article: a revision or redelivery keeps its story
    assert assigner.score(copy) == ()  # an exact duplicate joins its original's story
    assert assigner.score(empty) == ()  # no content terms
    assert assigner.score(stream()[2])  # a new article is compared


def test_assign_to_joins_the_story_given() -> None:
    assigner = StoryAssigner()
    for article in stream()[:2]:
        assigner.assign(article)
    # a quake article forced into the election story: it joins it, with no score
    forced = assigner.assign_to(stream()[2], story_id_for("b1"))
    assert forced.article.story_id == story_id_for("b1")
    assert [(e.event_type, e.score) for e in forced.events] == [("updated", None)]
    # None (or a story that is not live) opens a story of its own
    assert assigner.assign_to(stream()[3], None).article.story_id == story_id_for("c1")
    later = make_article("a9", "Hokkaido quake aftershock", "Aftershocks rattled Kushiro.", at=T0 + timedelta(hours=4))
    assert assigner.assign_to(later, "s_not_live").article.story_id == story_id_for("a9")


def test_assign_to_keeps_the_duplicate_rule_and_never_merges() -> None:
    assigner = StoryAssigner()
    first = stream()[0]
    assigner.assign(first)
    assigner.assign(stream()[1])
    copy = make_article("copy", "Copy", QUAKE, at=T0 + timedelta(minutes=40), content_hash=first.content_hash)
    result = assigner.assign_to(copy, story_id_for("b1"))
    assert result.article.story_id == story_id_for("a1") and result.article.duplicate_of == "a1"
    # the bridging article that merges two stories under assign only joins the story given
    articles = split_then_bridge(timedelta(minutes=5), timedelta(minutes=10))
    assert [e.event_type for e in run(articles, BRIDGING)[2].events] == ["merged", "updated"]
    bridged = StoryAssigner(BRIDGING)
    for article in articles[:2]:
        bridged.assign(article)
    assert [e.event_type for e in bridged.assign_to(articles[2], story_id_for("m2")).events] == ["updated"]
    assert len(bridged) == 2


def test_live_stories_are_read_only_copies_oldest_first() -> None:
    assigner = StoryAssigner()
    for article in stream()[:2]:
        assigner.assign(article)
    quake, election = assigner.live_stories()
    assert (quake.story_id, election.story_id) == (story_id_for("a1"), story_id_for("b1"))
    assert quake.first_article == "a1" and quake.recent_article_ids == ("a1",) and quake.status == "active"
    assert "hokkaido" in quake.centroid and "hokkaido" in quake.title_centroid
    with pytest.raises(dataclasses.FrozenInstanceError):
        quake.article_count = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        quake.centroid["hokkaido"] = 0.0  # type: ignore[index]
    assigner.assign(stream()[2])
    assert quake.article_count == 1  # a copy: the story went on without it
    now = assigner.story(story_id_for("a1"))
    assert now is not None and now.article_count == 2 and now.recent_article_ids == ("a1", "a2")
    assert assigner.story("s_not_live") is None


def test_a_merged_story_is_no_longer_live() -> None:
    assigner = StoryAssigner(BRIDGING)
    for article in split_then_bridge(timedelta(minutes=5), timedelta(minutes=10)):
        assigner.assign(article)
    assert [s.story_id for s in assigner.live_stories()] == [story_id_for("m1")]
    assert assigner.story(story_id_for("m2")) is None


def test_counted_terms_follow_the_document_frequencies() -> None:
    assigner = StoryAssigner(StoryConfig(prior_documents=0))
    assert assigner.counted_terms == 0
    assigner.assign(make_article("e1", "Chile votes", ELECTION))
    assert assigner.counted_terms == len(assigner.live_stories()[0].centroid)
