"""The settings of the story core, :class:`StoryConfig`, validated when constructed.

The defaults are what production runs; ``docs/stories.md`` says how each was set. The live YAML's ``stories:``
section maps onto a few of these fields (``storywire.pipelines.config``); benchmarks replace any of them with
``--set NAME=VALUE`` (``bench/config_override.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta

from storywire.connectors.errors import InvalidSettingError
from storywire.pipelines.stories.neardup import INDEXED_HASHES

__all__ = ["FIELD_WEIGHT_RANGE", "TRENDING_RATIO_RANGE", "StoryConfig"]

TRENDING_RATIO_RANGE = (1.0, 1_000.0)
"""Allowed ``StoryConfig.trending_ratio`` values (inclusive); the live YAML checks against the same bounds."""
FIELD_WEIGHT_RANGE = (0.0, 1_000.0)
"""Allowed field weights (inclusive); the bound only keeps weighted term counts far from float overflow."""

_DURATIONS = ("dormancy", "horizon", "memory", "trending_window", "trending_baseline", "time_grace", "time_scale")
_MAY_BE_ZERO = ("time_grace",)
_FIELD_WEIGHTS = ("title_weight", "summary_weight", "lead_weight", "body_weight")
_COUNTS = (
    "max_article_ids",
    "trending_min_articles",
    "trending_min_outlets",
    "lead_tokens",
    "body_chars",
    "head_chars",
    "article_terms",
    "sketch_size",
    "centroid_terms",
    "title_terms",
    "query_terms",
    "index_terms",
    "max_candidates",
    "max_posting",
    "prior_document_tokens",
)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class StoryConfig:
    """Tuning of :class:`~storywire.pipelines.stories.StoryAssigner`; validated on construction
    (``ValueError``/``TypeError``)."""

    # lifecycle
    dormancy: timedelta = timedelta(hours=48)
    """Gap after which a new article makes the story ``resurfaced`` (and idle stories become ``dormant``)."""
    horizon: timedelta = timedelta(days=30)
    """Stories idle longer (stream time) are archived: kept in a compact form (centroids, index terms, dates, a
    few ids), still joinable; also one document-frequency generation."""
    memory: timedelta = timedelta(days=365)
    """Archived stories idle longer (stream time) are expired: they leave memory for good (``expired`` snapshot
    and event). Equal to ``horizon``: nothing stays archived (stories expire after ``horizon``)."""
    max_archived_stories: int = 10_000
    """Cap of the archived stories held; beyond it the longest idle are expired first (0: none are kept)."""
    max_article_ids: int = 50
    """Cap of ``Story.article_ids`` (the most recent ids are kept)."""
    trending_window: timedelta = timedelta(hours=6)
    """The recent span whose article rate is compared with the story's own earlier rate."""
    trending_baseline: timedelta = timedelta(hours=72)
    """The span before ``trending_window`` that gives the story's own recent rate."""
    trending_ratio: float = 3.0
    """How many times its recent rate the window's rate must be for the story to trend."""
    trending_min_articles: int = 5
    """New-coverage articles the window must hold (duplicates do not count)."""
    trending_min_outlets: int = 3
    """Distinct outlets among them."""

    # similarity
    threshold: float = 0.27
    """Minimum time-weighted score (content cosine + ``title_similarity_weight`` x title cosine) to join a
    story."""
    resurface_threshold: float = 0.35
    """Minimum score to join a quiet story (its latest article at least ``dormancy`` before the article's time: a
    resurfacing claim), in place of ``threshold`` (the larger of the two applies)."""
    novelty_weight: float = 0.5
    """Joining a quiet story, the score is multiplied by ``1 - novelty_weight x novelty``, where novelty is the
    share (by article term weight) of the names among the article's most specific terms that the story has never
    held (:mod:`~storywire.pipelines.stories.entities`): names new to the story are evidence of a new event."""
    time_floor: float = 0.5
    """The time factor never falls below this (0: no floor): a strong match still joins a story idle for months."""
    title_similarity_weight: float = 0.5
    """Weight of the cosine between the article's title and the story's titles in the joining score (0: the
    content cosine alone)."""
    title_terms: int = 40
    """Terms kept per story title centroid (pruned to this when it grows a quarter larger)."""
    time_grace: timedelta = timedelta(hours=48)
    """No time penalty within this distance of the story's time span."""
    time_scale: timedelta = timedelta(days=90)
    """Beyond the grace, similarity is multiplied by ``exp(-excess / time_scale)``."""
    title_weight: float = 3.0
    """Field weights (any number in :data:`FIELD_WEIGHT_RANGE`; 0 leaves the field out of the content vector):
    an occurrence of a term in the field adds this much to the term's count before sublinear damping."""
    summary_weight: float = 1.5
    lead_weight: float = 1.0
    body_weight: float = 0.5
    lead_tokens: int = 120
    """Body tokens counted at ``lead_weight``; the rest of the body (within ``body_chars``) at ``body_weight``."""
    body_chars: int = 6_000
    """Characters of the body read at most (gigantic bodies cost no more than this)."""
    head_chars: int = 2_000
    """Characters of the title and of the summary read at most."""
    article_terms: int = 100
    """Strongest terms kept in an article vector."""
    merge_threshold: float | None = 0.2
    """Centroid cosine from which two stories that an article would join either of are merged (None: never
    merge)."""
    near_duplicate_jaccard: float | None = 0.7
    """Estimated shingle Jaccard similarity that makes an article a near duplicate (None: off)."""
    sketch_size: int = 32
    """Hashes kept in the bottom-k MinHash sketch of an article (higher: finer Jaccard estimates; the standard
    deviation of an estimate is about ``sqrt(J * (1 - J) / sketch_size)``)."""

    # index / memory
    centroid_terms: int = 100
    """Terms kept per story centroid (pruned to this when it grows a quarter larger)."""
    query_terms: int = 10
    """Most specific terms of an article used to look up candidate stories (and indexed for its story)."""
    index_terms: int = 60
    """Most index terms a story contributes to the inverted index."""
    max_candidates: int = 2
    """Candidates scored exactly, best by the summed article weight of the index terms they share."""
    max_posting: int = 2_000
    """Index terms shared by more live stories than this are not used for look-up (too common to help)."""

    # document-frequency prior (storywire.pipelines.stories.idf_prior)
    prior_documents: int = 10_000
    """Pseudo-documents drawn from general word frequencies of the article's language (0: no prior)."""
    prior_document_tokens: int = 400
    """Content tokens of a pseudo-document."""

    def __post_init__(self) -> None:
        for name in _DURATIONS:
            value = getattr(self, name)
            if not isinstance(value, timedelta):
                raise InvalidSettingError(f"{name} must be a timedelta, got {type(value).__name__}")
            if value < timedelta(0) or (name not in _MAY_BE_ZERO and not value):
                raise InvalidSettingError(f"{name} must be positive, got {value}")
        if self.horizon < self.dormancy:
            raise InvalidSettingError(f"horizon ({self.horizon}) must not be shorter than dormancy ({self.dormancy})")
        if self.memory < self.horizon:
            raise InvalidSettingError(f"memory ({self.memory}) must not be shorter than horizon ({self.horizon})")
        for name in ("threshold", "resurface_threshold", "merge_threshold", "near_duplicate_jaccard"):
            value = getattr(self, name)
            if value is None and name != "threshold":
                continue
            if not isinstance(value, (int, float)) or not 0.0 < value <= 1.0:
                raise InvalidSettingError(f"{name} must be in (0, 1], got {value!r}")
        low, high = FIELD_WEIGHT_RANGE
        for name in _FIELD_WEIGHTS:
            value = getattr(self, name)
            if not _is_number(value) or not low <= value <= high:
                raise InvalidSettingError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}")
        if not self.title_weight + self.summary_weight + self.lead_weight + self.body_weight:
            raise InvalidSettingError("at least one field weight must be positive")
        value = self.trending_ratio
        low, high = TRENDING_RATIO_RANGE
        if not _is_number(value) or not low <= value <= high:
            raise InvalidSettingError(f"trending_ratio must be in [{low:g}, {high:g}], got {value!r}")
        for name in ("novelty_weight", "time_floor"):
            value = getattr(self, name)
            if not _is_number(value) or not 0.0 <= value <= 1.0:
                raise InvalidSettingError(f"{name} must be in [0, 1], got {value!r}")
        value = self.title_similarity_weight
        if not _is_number(value) or not 0.0 <= value <= 4.0:
            raise InvalidSettingError(f"title_similarity_weight must be in [0, 4], got {value!r}")
        for name in _COUNTS:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidSettingError(f"{name} must be an int >= 1, got {value!r}")
        for name in ("prior_documents", "max_archived_stories"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidSettingError(f"{name} must be an int >= 0, got {value!r}")
        if self.sketch_size < INDEXED_HASHES:
            raise InvalidSettingError(f"sketch_size must be >= {INDEXED_HASHES}")

    def __setstate__(self, state: dict[str, object]) -> None:
        """Restore a pickled config (live story state holds one): a field added since it was pickled takes its
        default, a field since removed is dropped (``future_tolerance``, replaced by the one publication-time
        rule of :mod:`storywire.pipelines.core.event_time`)."""
        for item in dataclasses.fields(self):
            object.__setattr__(self, item.name, state.get(item.name, item.default))
