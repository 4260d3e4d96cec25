"""The title channel of the story core's joining score: content cosine + weight x title cosine."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from storywire.pipelines.stories import StoryAssigner, StoryConfig, story_id_for
from tests.support.articles import T0, make_article

# Two airline stories that share no title word; a newcomer has story A's body and story B's title.
ROUTE_BODY = (
    "Airlines flying between Los Angeles and Tokyo have added seats this winter. The Los Angeles to Tokyo "
    "route is one of the busiest across the Pacific, and carriers serving Tokyo from Los Angeles report full "
    "cabins, higher fares and new lounges at both Los Angeles International and Tokyo Haneda airports."
)
OTHER_BODY = (
    "The aircraft returned to the gate after the crew discovered that one traveller had boarded without a "
    "valid booking; the captain decided to turn back over the ocean and the airline apologised for the delay."
)


def _stories() -> list:  # type: ignore[type-arg]
    return [
        make_article("a1", "Pacific route sees record winter demand", ROUTE_BODY, outlet="a.com"),
        make_article(
            "b1",
            "Passenger jet turned back over missing ticket",
            OTHER_BODY,
            at=T0 + timedelta(minutes=5),
            outlet="b.com",
        ),
    ]


def _newcomer():  # type: ignore[no-untyped-def]
    # its body is story A's, its title story B's
    return make_article(
        "c1", "Passenger jet turned back over missing ticket, again", ROUTE_BODY, at=T0 + timedelta(minutes=10)
    )


def _assign_all(config: StoryConfig) -> str | None:
    assigner = StoryAssigner(config)
    for article in _stories():
        assigner.assign(article)
    return assigner.assign(_newcomer()).article.story_id


def test_title_channel_moves_the_decision_towards_the_matching_titles() -> None:
    base = StoryConfig(near_duplicate_jaccard=None)
    assert _assign_all(replace(base, title_similarity_weight=0.0)) == story_id_for("a1")  # content alone
    assert _assign_all(replace(base, title_similarity_weight=4.0)) == story_id_for("b1")


def test_title_alone_can_reach_the_threshold() -> None:
    """Two articles sharing only their title (no body): the title counts in both channels."""
    cfg = StoryConfig()
    first = make_article("t1", "Cincinnati zoo kills gorilla Harambe", "")
    second = make_article("t2", "Cincinnati zoo kills gorilla Harambe", "", at=T0 + timedelta(hours=1), content_hash="")
    assigner = StoryAssigner(cfg)
    assigner.assign(first)
    assert assigner.assign(second).article.story_id == story_id_for("t1")


def test_story_title_centroid_is_bounded() -> None:
    cfg = StoryConfig(title_terms=4, threshold=0.05, near_duplicate_jaccard=None)
    assigner = StoryAssigner(cfg)
    titles = ["alpha beta", "gamma delta", "epsilon zeta", "eta theta", "iota kappa", "lambda omicron"]
    for i, words in enumerate(titles):
        # one shared body keeps them in one story; every title adds new terms
        assigner.assign(make_article(f"x{i}", f"Quake {words}", ROUTE_BODY, at=T0 + timedelta(minutes=i)))
    assert len(assigner) == 1
    (story,) = assigner.live_stories()
    assert 0 < len(story.title_centroid) <= cfg.title_terms + cfg.title_terms // 4


@pytest.mark.parametrize(
    "kwargs",
    [
        {"title_similarity_weight": -0.5},
        {"title_similarity_weight": 5.0},
        {"title_similarity_weight": True},
        {"title_terms": 0},
    ],
)
def test_title_settings_are_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        StoryConfig(**kwargs)  # type: ignore[arg-type]


def test_title_channel_works_without_a_title_field_weight() -> None:
    """With ``title_weight`` 0 the title terms are not in the content vector; the title channel still sees them."""
    cfg = StoryConfig(title_weight=0.0, near_duplicate_jaccard=None)
    assigner = StoryAssigner(cfg)
    assigner.assign(make_article("w1", "Harambe gorilla shot", ROUTE_BODY))
    # a one-article story's centroids are that article's content and title vectors
    (story,) = assigner.live_stories()
    assert set(story.title_centroid) == {"harambe", "gorilla", "shot"}
    assert "harambe" not in story.centroid
    assert sum(w * w for w in story.title_centroid.values()) == pytest.approx(1.0)
    # and the title channel scores a newcomer with the same title and another body
    newcomer = make_article("w2", "Harambe gorilla shot", "Cincinnati zoo", at=T0 + timedelta(hours=1))
    (match,) = assigner.score(newcomer, [story.story_id])
    assert match.title == pytest.approx(1.0)
