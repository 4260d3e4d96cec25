"""The story core's candidate index (does it find what an exhaustive search finds?) and its IDF prior."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from bench.stories import load
from storywire.pipelines.stories import Match, StoryAssigner, StoryConfig
from storywire.pipelines.stories.idf_prior import document_share, word_frequencies
from storywire.schemas.records import Article
from tests.support.articles import make_article
from tests.support.datasets import NEWSCLUSTER


def index_misses(config: StoryConfig, articles: list[Article]) -> int:
    """Articles for which the indexed candidate search misses the story an exhaustive search would join."""
    assigner = StoryAssigner(config)
    misses = 0
    for article in articles:
        assigner.advance(article.first_seen_at)
        # exhaustive: every live story (oldest first, archived ones too), by the joining score against its bar
        # (``threshold``; ``resurface_threshold`` for a quiet story); indexed: the candidates the core scores
        everyone = assigner.score(article, [story.story_id for story in assigner.live_stories()])
        best_id, found = (_best(matches) for matches in (everyone, assigner.score(article)))
        if best_id is not None and found != best_id:
            misses += 1
        assigner.assign(article)
    return misses


def _best(matches: tuple[Match, ...]) -> str | None:
    """The story the core would join among ``matches`` (the best score reaching its bar; ties: the older)."""
    best_id, best_score = None, 0.0
    for match in matches:
        if match.score >= match.required and (best_id is None or match.score > best_score):
            best_id, best_score = match.story_id, match.score
    return best_id


@pytest.mark.skipif(not NEWSCLUSTER.exists(), reason="needs ../shared/datasets/newscluster (development data)")
def test_index_finds_what_an_exhaustive_search_finds_on_newscluster() -> None:
    articles = [row.article for row in load(NEWSCLUSTER)]
    # the index is an approximation (the ten most specific terms, two exact cosines): at most 1% may miss
    assert index_misses(StoryConfig(), articles) <= len(articles) // 100
    # and the check can tell a poor index from a good one
    assert index_misses(replace(StoryConfig(), query_terms=1, max_candidates=1), articles) > len(articles) // 100


def test_word_frequencies_are_available_offline_for_english_only_known_languages() -> None:
    english = word_frequencies("en")
    assert english["the"] > english["flight"] > 1e-5
    assert "tiangong" not in english  # the small list: words rarer than 1e-6 are left out
    assert word_frequencies("xx") == {}
    assert word_frequencies(None) == {}
    for junk in ("", "EN", "en-US", "x" * 10_000, "../../etc/passwd", "\x00"):
        assert word_frequencies(junk) == {}
    assert word_frequencies("de")["und"] > 0.01


def test_document_share_grows_with_frequency_and_stays_below_one() -> None:
    assert document_share(0.0, 400) == 0.0
    shares = [document_share(p, 400) for p in (1e-6, 1e-4, 1e-2, 0.5)]
    assert shares == sorted(shares)
    assert 0.0 < shares[0] < 0.001 and shares[-1] <= 1.0
    assert math.isclose(document_share(1e-3, 400), 1 - math.exp(-0.4))


def test_the_prior_makes_a_common_word_weigh_less_than_a_name_from_the_first_article() -> None:
    # "flight" and "tiangong" appear equally often: without a prior they weigh the same (ties keep the
    # title order), with it the general word weighs less than the name
    article = make_article("a1", "Flight Tiangong", "The flight of Tiangong ended. Tiangong flight data came later.")
    with_prior = StoryAssigner().assign(article).stories[0]
    without = StoryAssigner(StoryConfig(prior_documents=0)).assign(article).stories[0]
    assert without.top_terms[:2] == ("flight", "tiangong")
    assert with_prior.top_terms[:2] == ("tiangong", "flight")


def test_an_unknown_language_gets_no_prior() -> None:
    article = make_article("a1", "Flight Tiangong", "The flight of Tiangong ended.", language="xx")
    assert StoryAssigner().assign(article).stories[0].top_terms[:2] == ("flight", "tiangong")


@pytest.mark.parametrize("value", [-1, True, 1.5])
def test_prior_documents_is_validated(value: object) -> None:
    with pytest.raises(ValueError, match="prior_documents"):
        StoryConfig(prior_documents=value)  # type: ignore[arg-type]
