"""The joining score of an article and a story, and the choice of the story to join (or to merge).

The score is ``content cosine + title_similarity_weight x title cosine``, multiplied by a time factor:

- the content cosine compares the article's unit TF-IDF vector with the story's centroid;
- the title cosine compares the article's title vector with the story's title centroid: same-story coverage
  repeats the names of the event in its headlines, while look-alike stories of one topic share body vocabulary
  ("flight", "passenger", "launch") but rarely headline words;
- the time factor is 1 within ``time_grace`` of the story's time span, then ``exp(-excess / time_scale)``, never
  below ``time_floor``.

Joining a *quiet* story (its latest article at least ``dormancy`` before the article's time: dormant or archived)
claims that it resurfaced, and needs more evidence: the score is also multiplied by ``1 - novelty_weight x
novelty`` (the share of the article's names the story has never held, :mod:`~storywire.pipelines.stories.entities`)
and must reach ``resurface_threshold`` (when higher than ``threshold``). The best candidate reaching its bar is
joined (ties: the older story). When a second candidate also reaches its bar (the article would join either) and
the two centroids have a cosine of at least ``merge_threshold``, the two stories are merged first
(:mod:`storywire.pipelines.stories.merging`). Requiring the joining score for both, not a lower bar for the second,
is what keeps look-alike stories of one topic apart.
Stories whose language differs from the article's (both known) are never candidates.

Every sum that feeds a decision is a ``math.fsum``: exactly rounded, so the (hash-dependent) order of a set of
common terms cannot change a result.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter, mul

from storywire.pipelines.stories.config import StoryConfig
from storywire.pipelines.stories.entities import novelty
from storywire.pipelines.stories.story import LiveStory
from storywire.pipelines.stories.vectors import ArticleVector

__all__ = [
    "Entities",
    "Match",
    "centroid_cosine",
    "choose",
    "match",
    "quiet",
    "rank_weight",
    "required",
    "time_factor",
]

Entities = Callable[[], tuple[str, ...]]
"""The article's name terms, computed on first call (only a quiet candidate needs them)."""

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
    """``(content + title_similarity_weight * title) * time_factor``, times ``1 - novelty_weight * novelty`` for a
    quiet story: what the assigner compares with ``required``."""
    candidate: bool
    """The candidate index retrieves this story for the article (only candidates can be joined or merged)."""
    quiet: bool = False
    """The story's latest article is at least ``dormancy`` before the article: joining it is a resurfacing."""
    novelty: float = 0.0
    """Share of the article's names the story has never held (computed for quiet stories only)."""
    required: float = 0.0
    """The score needed to join: ``threshold``, for a quiet story the larger of it and ``resurface_threshold``."""


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
    return max(config.time_floor, math.exp(-excess / config.time_scale.total_seconds()))


def quiet(story: LiveStory, t: datetime, config: StoryConfig) -> bool:
    """Whether joining ``story`` at article time ``t`` is a resurfacing (its latest article ``dormancy`` before)."""
    return t - story.last_time >= config.dormancy


def required(story: LiveStory, t: datetime, config: StoryConfig) -> float:
    """The score needed to join ``story``: ``threshold``, or for a quiet story the larger of it and
    ``resurface_threshold``."""
    if quiet(story, t, config):
        return max(config.threshold, config.resurface_threshold)
    return config.threshold


def rank_weight(story: LiveStory, t: datetime, config: StoryConfig) -> float:
    """What the candidate index multiplies a story's shared article weight by to rank it: the time factor, over
    the bar the story's score must reach relative to ``threshold`` (so an old look-alike, or a quiet story that
    needs more evidence, does not take the slot of a live story sharing as much)."""
    return time_factor(story, t, config) * config.threshold / required(story, t, config)


def match(
    vec: ArticleVector, story: LiveStory, t: datetime, config: StoryConfig, entities: Entities, *, candidate: bool
) -> Match:
    """The score of an article (its vector, time ``t`` and names) against one story, with its parts."""
    content = _cosine(vec.weights, story)
    title = _title_cosine(vec.title, story)
    factor = time_factor(story, t, config)
    score = (content + config.title_similarity_weight * title) * factor
    is_quiet = quiet(story, t, config)
    new = 0.0
    if is_quiet:
        new = novelty(entities(), vec, story)
        score *= 1.0 - config.novelty_weight * new
    bar = required(story, t, config)
    return Match(story.story_id, content, title, factor, score, candidate, is_quiet, new, bar)


def choose(
    vec: ArticleVector,
    t: datetime,
    language: str | None,
    candidates: list[LiveStory],
    config: StoryConfig,
    entities: Entities,
) -> tuple[LiveStory | None, float, LiveStory | None, list[LiveStory]]:
    """The best story to join (or None) and its score, when merging is on a second story to merge with it,
    and the candidates of the article's language (oldest first; whatever their score, for the near-duplicate
    check)."""
    scored: list[tuple[float, int, LiveStory]] = []
    matching: list[LiveStory] = []
    title_weight = config.title_similarity_weight
    novelty_weight = config.novelty_weight
    ceiling = 1.0 + title_weight  # the highest score a story can reach before the time factor
    weights = vec.weights
    title_vec = vec.title
    for story in candidates:
        if language and story.language and language != story.language:
            continue
        matching.append(story)
        is_quiet = quiet(story, t, config)
        bar = required(story, t, config)
        factor = time_factor(story, t, config)
        if factor * ceiling < bar:
            continue
        # (the same arithmetic as match(): a story's score does not depend on how it is asked for)
        score = (_cosine(weights, story) + title_weight * _title_cosine(title_vec, story)) * factor
        if is_quiet and score >= bar:  # (names are looked at only when they can decide)
            score *= 1.0 - novelty_weight * novelty(entities(), vec, story)
        if score >= bar:  # (a story to join, or to merge: both need their joining score)
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
