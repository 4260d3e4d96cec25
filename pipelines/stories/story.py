"""The live stories of one partition: each story's record (:class:`LiveStory`), the registry that finds a story
by article id or content hash (:class:`LiveStories`), and the read-only :class:`StoryView` given out.

A story's centroid is the sum of its articles' unit vectors, pruned to the ``centroid_terms`` heaviest terms
whenever it grows a quarter larger (so its size stays bounded however many articles join); its title centroid
is the sum of its articles' title vectors, pruned the same way to ``title_terms``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter, mul
from types import MappingProxyType

from storywire.pipelines.stories.neardup import SketchIndex
from storywire.pipelines.stories.vectors import ArticleVector, add_pruned
from storywire.schemas.records import Article, StoryStatus

__all__ = ["ARCHIVED_IDS", "TOP_TERMS", "LiveStories", "LiveStory", "StoryView", "add_to_centroid", "top_terms"]

TOP_TERMS = 10
"""Terms a snapshot shows (``Story.top_terms``): the heaviest of the centroid."""
_SECOND = itemgetter(1)
ARCHIVED_IDS = 5
"""Article ids an archived story keeps (its latest): what its snapshots show until new articles join."""


@dataclass(eq=False, slots=True)
class LiveStory:
    """Everything the core holds about one live story. Internal and mutable; pickled with the state (its class
    and field names are part of the pickled form, see :mod:`storywire.pipelines.stories.state`)."""

    seq: int  # creation order within the partition: the older story wins ties
    story_id: str
    language: str | None
    first_time: datetime
    last_time: datetime
    last_clock: datetime
    headline: str
    headline_article: str
    first_article: str  # the article of ``first_time`` (where a merge may find that the story resurfaced)
    recent_ids: deque[str]
    centroid: dict[str, float] = field(default_factory=dict)
    norm2: float = 0.0
    titles: dict[str, float] = field(default_factory=dict)
    titles_norm2: float = 0.0
    top_terms: tuple[str, ...] | None = None
    index_terms: dict[str, None] = field(default_factory=dict)
    article_ids: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    sketches: SketchIndex = field(default_factory=dict)
    outlets: dict[str, None] = field(default_factory=dict)
    outlets_sorted: tuple[str, ...] = ()
    article_count: int = 0
    version: int = 0
    status: StoryStatus = "active"
    recent: deque[tuple[datetime, str]] = field(default_factory=deque)  # new coverage in the trending window
    earlier: deque[datetime] = field(default_factory=deque)  # new coverage in the baseline span before it
    trending: bool = False
    merged_into: str | None = None


@dataclass(frozen=True)
class StoryView:
    """A read-only copy of one live story as the core holds it (for tests, benchmarks and diagnostics: what a
    snapshot does not show, such as the centroids). Taking one copies the story; the core never reads it back."""

    story_id: str
    status: StoryStatus
    language: str | None
    headline: str
    first_time: datetime
    """Article time of the story's earliest article."""
    last_time: datetime
    """Article time of its latest article."""
    first_article: str
    """The article of ``first_time``."""
    article_count: int
    outlets: tuple[str, ...]
    recent_article_ids: tuple[str, ...]
    """The ``max_article_ids`` most recent ids (what a snapshot's ``article_ids`` shows)."""
    centroid: Mapping[str, float]
    """The content centroid: term -> summed weight (unnormalised)."""
    title_centroid: Mapping[str, float]
    """The title centroid: term -> summed weight (unnormalised)."""
    trending: bool

    @classmethod
    def of(cls, story: LiveStory) -> StoryView:
        return cls(
            story_id=story.story_id,
            status=story.status,
            language=story.language,
            headline=story.headline,
            first_time=story.first_time,
            last_time=story.last_time,
            first_article=story.first_article,
            article_count=story.article_count,
            outlets=story.outlets_sorted,
            recent_article_ids=tuple(story.recent_ids),
            centroid=MappingProxyType(dict(story.centroid)),
            title_centroid=MappingProxyType(dict(story.titles)),
            trending=story.trending,
        )


def top_terms(story: LiveStory) -> tuple[str, ...]:
    """The :data:`TOP_TERMS` heaviest centroid terms (memoised until the centroid changes)."""
    if story.top_terms is None:
        top = sorted(story.centroid.items(), key=_SECOND, reverse=True)[:TOP_TERMS]
        story.top_terms = tuple(term for term, _ in top)
    return story.top_terms


def add_to_centroid(story: LiveStory, vec: ArticleVector, centroid_terms: int, title_terms: int) -> None:
    """Add an article's vector (and title vector) to the story's centroids."""
    centroid = story.centroid
    if not centroid:  # a new story: a copy in C (0.0 + w is w)
        story.centroid = centroid = dict(vec.weights)
    else:
        get = centroid.get
        for term, w in vec.weights.items():
            centroid[term] = get(term, 0.0) + w
    if len(centroid) > centroid_terms + centroid_terms // 4:
        kept = sorted(centroid.items(), key=_SECOND, reverse=True)[:centroid_terms]
        story.centroid = centroid = dict(kept)
        story.top_terms = tuple(term for term, _ in kept[:TOP_TERMS])  # (the same as top_terms() would give)
    else:
        story.top_terms = None
    values = list(centroid.values())
    story.norm2 = math.fsum(map(mul, values, values))
    if vec.title:
        story.titles, story.titles_norm2 = add_pruned(story.titles, vec.title, title_terms)


class LiveStories:
    """The live stories by creation order, and where each live article id and content hash is."""

    def __init__(self) -> None:
        self.last_seq = 0
        self.by_seq: dict[int, LiveStory] = {}
        self.article_story: dict[str, tuple[int, int, str | None]] = {}  # id -> (seq, revision, duplicate_of)
        self.hash_index: dict[str, tuple[str, int]] = {}  # content_hash -> (article_id, story seq)

    def __len__(self) -> int:
        return len(self.by_seq)

    def __iter__(self) -> Iterator[LiveStory]:
        """Oldest first."""
        return iter(self.by_seq.values())

    def find(self, story_id: str) -> LiveStory | None:
        """The live story of ``story_id`` (a scan: for callers outside the hot path)."""
        return next((story for story in self.by_seq.values() if story.story_id == story_id), None)

    def open(self, story_id: str, article: Article, t: datetime, clock: datetime, max_article_ids: int) -> LiveStory:
        """A new live story whose first article is ``article`` (not yet recorded: see :meth:`record`)."""
        self.last_seq += 1
        story = LiveStory(
            seq=self.last_seq,
            story_id=story_id,
            language=article.language,
            first_time=t,
            last_time=t,
            last_clock=clock,
            headline=article.title.strip(),
            headline_article=article.article_id,
            first_article=article.article_id,
            recent_ids=deque(maxlen=max_article_ids),
        )
        self.by_seq[story.seq] = story
        return story

    def record(self, story: LiveStory, article: Article, duplicate: str) -> None:
        """Count the article in the story and file its id and content hash (``duplicate``: the original's id, or
        "")."""
        article_id = article.article_id
        story.article_count += 1
        story.article_ids.append(article_id)
        story.recent_ids.append(article_id)
        if article.outlet not in story.outlets:
            story.outlets[article.outlet] = None
            story.outlets_sorted = tuple(sorted(story.outlets))
        self.article_story[article_id] = (story.seq, article.revision, duplicate or None)
        content_hash = article.content_hash
        if content_hash and content_hash not in self.hash_index:
            self.hash_index[content_hash] = (article_id, story.seq)
            story.hashes.append(content_hash)

    def forget(self, story: LiveStory) -> None:
        """Drop a story and every id and hash entry pointing to it."""
        del self.by_seq[story.seq]
        for article_id in story.article_ids:
            entry = self.article_story.get(article_id)
            if entry is not None and entry[0] == story.seq:
                del self.article_story[article_id]
        for content_hash in story.hashes:
            entry2 = self.hash_index.get(content_hash)
            if entry2 is not None and entry2[1] == story.seq:
                del self.hash_index[content_hash]

    def compact(self, story: LiveStory) -> None:
        """Shrink an archived story to what joining it needs: its centroids, index terms, dates, counts and outlets
        stay; its :data:`ARCHIVED_IDS` latest article ids stay filed (older ids and every content hash are
        forgotten, so a copy or revision of them is assigned like a new article); near-duplicate sketches and the
        trending counts (long past) are dropped."""
        kept = list(story.recent_ids)[-ARCHIVED_IDS:]
        keep = set(kept)
        article_story = self.article_story
        for article_id in story.article_ids:
            if article_id not in keep:
                entry = article_story.get(article_id)
                if entry is not None and entry[0] == story.seq:
                    del article_story[article_id]
        hash_index = self.hash_index
        for content_hash in story.hashes:
            entry2 = hash_index.get(content_hash)
            if entry2 is not None and entry2[1] == story.seq:
                del hash_index[content_hash]
        story.article_ids = kept
        story.recent_ids = deque(kept, maxlen=story.recent_ids.maxlen)
        story.hashes = []
        story.sketches = {}
        story.recent = deque()
        story.earlier = deque()
        story.trending = False

    def hand_over(self, absorbed: LiveStory, survivor: LiveStory) -> None:
        """Drop ``absorbed`` and point its ids and hashes at ``survivor`` (a merge)."""
        del self.by_seq[absorbed.seq]
        for article_id in absorbed.article_ids:
            entry = self.article_story.get(article_id)
            if entry is not None and entry[0] == absorbed.seq:
                self.article_story[article_id] = (survivor.seq, entry[1], entry[2])
        for content_hash in absorbed.hashes:
            entry2 = self.hash_index.get(content_hash)
            if entry2 is not None and entry2[1] == absorbed.seq:
                self.hash_index[content_hash] = (entry2[0], survivor.seq)
