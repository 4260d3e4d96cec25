"""The joining score of an article and a story, and the choice of the story to join (or to merge).

The score is ``content cosine + title_similarity_weight x title cosine``, multiplied by a time factor:

- the content cosine compares the article's unit TF-IDF vector with the story's centroid;
- the title cosine compares the article's title vector with the story's title centroid: same-story coverage
  repeats the names of the event in its headlines, while look-alike stories of one topic share body vocabulary
  ("flight", "passenger", "launch") but rarely headline words;
- the time factor is 1 within ``time_grace`` of the story's time span, then ``exp(-excess / time_scale)``.

The best candidate scoring at least ``threshold`` is joined (ties: the older story). When a second candidate
also reaches ``threshold`` (the article would join either) and the two centroids have a cosine of at least
``merge_threshold``, the two stories are merged first (:mod:`storywire.pipelines.stories.merging`). Requiring
the joining score for both, not a lower bar for the second, is what keeps look-alike stories of one topic apart.
Stories whose language differs from the article's (both known) are never candidates.

Every sum that feeds a decision is a ``math.fsum``: exactly rounded, so the (hash-dependent) order of a set of
common terms cannot change a result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter, mul

from storywire.pipelines.stories.config import StoryConfig
from storywire.pipelines.stories.story import LiveStory
from storywire.pipelines.stories.vectors import ArticleVector

__all__ = ["Match", "centroid_cosine", "choose", "match", "time_factor"]

_SEQ = attrgetter("seq")


@dataclass(frozen=True)
class Match:
    """How an article scores against one live story (:meth:`StoryAssigner.score
    <storywire.pipelines.stories.StoryAssigner.score>`)."""

    story_id: str
    content: float
    """Cosine of the article's vector and the story's centroid."""
    title: float
    """Cosine of the article's title vector and the story's title centroid (0 when either is empty or
    ``title_similarity_weight`` is 0)."""
    time_factor: float
    """1 within ``time_grace`` of the story's span, then decaying with ``time_scale``."""
    score: float
    """``(content + title_similarity_weight * title) * time_factor``: what the assigner compares with
    ``threshold``."""
    candidate: bool
    """The candidate index retrieves this story for the article (only candidates can be joined or merged)."""


def _cosine(vec: dict[str, float], story: LiveStory) -> float:
    """Cosine of a unit article vector and a story centroid."""
    if story.norm2 <= 0.0:
        return 0.0
    centroid = story.centroid
    common = vec.keys() & centroid.keys()
    dot = math.fsum(map(mul, map(vec.__getitem__, common), map(centroid.__getitem__, common)))
    return dot / math.sqrt(story.norm2)


def _title_cosine(title: dict[str, float], story: LiveStory) -> float:
    """Cosine of a unit title vector and a story's title centroid (0 when either is empty)."""
    if not title or story.titles_norm2 <= 0.0:
        return 0.0
    titles = story.titles
    common = title.keys() & titles.keys()
    if not common:
        return 0.0
    dot = math.fsum(map(mul, map(title.__getitem__, common), map(titles.__getitem__, common)))
    return dot / math.sqrt(story.titles_norm2)


def centroid_cosine(a: LiveStory, b: LiveStory) -> float:
    """Cosine of two stories' centroids."""
    if a.norm2 <= 0.0 or b.norm2 <= 0.0:
        return 0.0
    common = a.centroid.keys() & b.centroid.keys()
    dot = math.fsum(map(mul, map(a.centroid.__getitem__, common), map(b.centroid.__getitem__, common)))
    return dot / math.sqrt(a.norm2 * b.norm2)


def time_factor(story: LiveStory, t: datetime, config: StoryConfig) -> float:
    """1 within ``time_grace`` of the story's span, then ``exp(-excess / time_scale)``."""
    if t < story.first_time:
        gap = story.first_time - t
    elif t > story.last_time:
        gap = t - story.last_time
    else:
        return 1.0
    excess = (gap - config.time_grace).total_seconds()
    if excess <= 0:
        return 1.0
    return math.exp(-excess / config.time_scale.total_seconds())


def match(vec: ArticleVector, story: LiveStory, t: datetime, config: StoryConfig, *, candidate: bool) -> Match:
    """The score of an article (its vector and time ``t``) against one story, with its parts."""
    content = _cosine(vec.weights, story)
    title = _title_cosine(vec.title, story)
    factor = time_factor(story, t, config)
    score = (content + config.title_similarity_weight * title) * factor
    return Match(story.story_id, content, title, factor, score, candidate)


def choose(
    vec: ArticleVector, t: datetime, language: str | None, candidates: list[LiveStory], config: StoryConfig
) -> tuple[LiveStory | None, float, LiveStory | None, list[LiveStory]]:
    """The best story to join (or None) and its score, when merging is on a second story to merge with it,
    and the candidates of the article's language (oldest first; whatever their score, for the near-duplicate
    check)."""
    scored: list[tuple[float, int, LiveStory]] = []
    matching: list[LiveStory] = []
    threshold = config.threshold
    title_weight = config.title_similarity_weight
    ceiling = 1.0 + title_weight  # the highest score a story can reach before the time factor
    weights = vec.weights
    title_vec = vec.title
    for story in candidates:
        if language and story.language and language != story.language:
            continue
        matching.append(story)
        factor = time_factor(story, t, config)
        if factor * ceiling < threshold:
            continue
        # (the same arithmetic as match(): a story's score does not depend on how it is asked for)
        score = (_cosine(weights, story) + title_weight * _title_cosine(title_vec, story)) * factor
        if score >= threshold:  # (a story to join, or to merge: both need the joining score)
            scored.append((score, story.seq, story))
    if len(matching) > 1:
        matching.sort(key=_SEQ)
    if not scored:
        return None, 0.0, None, matching
    scored.sort(key=lambda entry: (-entry[0], entry[1]))
    best_score, _, best = scored[0]
    merge = config.merge_threshold
    if merge is None or len(scored) < 2:
        return best, best_score, None, matching
    other = scored[1][2]
    if centroid_cosine(best, other) < merge:
        return best, best_score, None, matching
    return best, best_score, other, matching
