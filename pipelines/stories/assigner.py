"""Story assignment: groups a stream of articles into stories, online, in event-time order.

:class:`StoryAssigner` holds the state of one partition (e.g. one language); the Beam transform feeds it the
partition's articles sorted by ``(first_seen_at, article_id)`` and emits what it returns. How an article is
assigned (:meth:`StoryAssigner.assign`):

1. **Clock.** The stream clock is the largest ``first_seen_at`` seen so far. Each call first advances it to
   the article's ``first_seen_at`` and ages stories like :meth:`StoryAssigner.advance` (those snapshots and
   events come first in the returned :class:`Assignment`). An out-of-order article (older than the clock) is
   still assigned, against the current state, and the clock stays where it is. ``first_seen_at`` is set by
   storywire itself, so it is trusted as the clock (a far-future ``first_seen_at`` would expire everything).
2. **Redelivery or revision.** An ``article_id`` already in a live story keeps its story. A higher
   ``revision`` gives a new snapshot (headline refreshed if it was the headline article) and an ``updated``
   event; the same or a lower revision is a redelivery and changes nothing.
3. **Exact duplicate.** A non-empty ``content_hash`` equal to that of an earlier live article of the same
   language (a syndicated wire copy under another URL) joins that article's story with ``duplicate_of`` set.
4. **Near duplicate.** Otherwise the word 3-shingles of the body (of title + summary + body when the body is
   short) get a MinHash sketch (:mod:`~storywire.pipelines.stories.neardup`). After the candidate search of
   step 5, an estimated Jaccard similarity of at least ``near_duplicate_jaccard`` with an original (a
   non-duplicate article) of a candidate story makes the article a duplicate of the most similar one, and it
   joins that story without a merge. Duplicates (exact or near) add their outlet and count in
   ``article_count`` but are not new coverage: they do not count towards trending. A near duplicate's text is
   added to the centroid and the document frequencies; an exact duplicate's is not (the same text twice).
5. **Similarity.** Otherwise the article's TF-IDF vector (:mod:`~storywire.pipelines.stories.vectors`) is
   scored against the candidate stories of the inverted index (:mod:`~storywire.pipelines.stories.index`)
   with the joining score of :mod:`~storywire.pipelines.stories.similarity`; the best story reaching its bar
   (``threshold``; for a quiet story, a resurfacing claim, ``resurface_threshold`` after a discount for names
   the story has never held) is joined, or the article starts a new story.
6. **Merge.** When a second candidate would be joined too and the two centroids are alike, the two stories
   are merged first (:mod:`~storywire.pipelines.stories.merging`).

Stories idle past ``horizon`` are archived in a compact form and stay joinable until ``memory`` (or the cap
``max_archived_stories``) expires them. Lifecycle events (created, updated, resurfaced, trending, merged,
expired) follow
:mod:`~storywire.pipelines.stories.lifecycle`; snapshots, events and ids :mod:`~storywire.pipelines.stories.events`.
The time of an article is :func:`~storywire.pipelines.core.event_time.article_time` (a plausible
``published_at``, else ``first_seen_at``).

Bad input never raises for a well-typed :class:`~storywire.schemas.records.Article`: the rules for each kind
(empty text, bad dates, other languages, huge bodies, no content hash) are in ``docs/stories.md``.

Determinism: every iteration follows insertion or explicit sort order, hashing is sha256/crc32 (never Python's
salted ``hash`` of strings), and float sums that feed a decision use ``math.fsum``, so the same input sequence
gives the same output in any process.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import cast

from storywire.pipelines.core.event_time import article_time, as_utc
from storywire.pipelines.stories.config import StoryConfig
from storywire.pipelines.stories.entities import entity_terms
from storywire.pipelines.stories.events import (
    Assignment,
    assigned,
    duration,
    event,
    snapshot,
    story_id_for,
)
from storywire.pipelines.stories.index import CandidateIndex
from storywire.pipelines.stories.lifecycle import Lifecycle, TrendingRule
from storywire.pipelines.stories.merging import merge
from storywire.pipelines.stories.neardup import find_near_duplicate, index_original, sketch
from storywire.pipelines.stories.similarity import Entities, Match, choose, match, rank_weight
from storywire.pipelines.stories.state import STATE_FORMAT, restore
from storywire.pipelines.stories.story import LiveStories, LiveStory, StoryView, add_to_centroid
from storywire.pipelines.stories.vectors import ArticleVector, DocumentFrequencies, Vectoriser, article_tokens
from storywire.schemas.records import Article, Story, StoryEvent

__all__ = ["StoryAssigner"]

_SHORT_BODY = 32
"""Content tokens below which a body is sketched with the title and summary."""
_DECIDE = object()
"""``_assign``'s marker for "the similarity step decides" (as opposed to a story given by the caller)."""


def _names(article: Article, config: StoryConfig) -> Entities:
    """The article's name terms (:func:`~storywire.pipelines.stories.entities.entity_terms`), computed on first
    call."""
    found: list[tuple[str, ...]] = []

    def names() -> tuple[str, ...]:
        if not found:
            head = config.head_chars
            found.append(
                entity_terms(article.title[:head], article.summary[:head], article.text[:head], article.language)
            )
        return found[0]

    return names


class StoryAssigner:
    """Online story clustering for one partition of the article stream (see the module docstring). Not
    thread-safe; picklable (:mod:`storywire.pipelines.stories.state`)."""

    def __init__(self, config: StoryConfig | None = None) -> None:
        self.config = config if config is not None else StoryConfig()
        self._clock: datetime | None = None
        self._stories = LiveStories()
        self._frequencies = DocumentFrequencies()
        self._index = CandidateIndex()
        self._lifecycle = Lifecycle()
        self._derive_settings()

    def _derive_settings(self) -> None:
        """The collaborators derived from ``self.config`` (at construction, on restore and by reconfigure)."""
        self._vectoriser = Vectoriser(self.config, self._frequencies)
        self._trending = TrendingRule(self.config)

    def __len__(self) -> int:
        """Live stories held in memory (active, dormant and archived: every story that can still be joined)."""
        return len(self._stories)

    @property
    def archived_stories(self) -> int:
        """Of :func:`len`, the stories archived (idle past ``horizon``, held in compact form)."""
        return len(self._lifecycle.archived)

    def __getstate__(self) -> dict[str, object]:
        return {
            "config": self.config,
            "clock": self._clock,
            "stories": self._stories,
            "frequencies": self._frequencies,
            "index": self._index,
            "lifecycle": self._lifecycle,
            "state_format": STATE_FORMAT,
        }

    def __setstate__(self, pickled: dict[str, object]) -> None:
        state = restore(pickled)
        self.config = cast("StoryConfig", state["config"])
        self._clock = cast("datetime | None", state["clock"])
        self._stories = cast("LiveStories", state["stories"])
        self._frequencies = cast("DocumentFrequencies", state["frequencies"])
        self._index = cast("CandidateIndex", state["index"])
        self._lifecycle = cast("Lifecycle", state["lifecycle"])
        self._derive_settings()

    def reconfigure(self, config: StoryConfig) -> None:
        """Apply ``config`` from now on (e.g. the deployment's configuration to state restored from a savepoint).

        Decisions (thresholds, dormancy, horizon, trending, merging) follow the new values at once; settings
        that shape vectors and sketches (field weights, token caps, ``sketch_size``) apply to articles assigned
        from now on: stored centroids keep what they were built with.
        """
        if config == self.config:
            return
        self.config = config
        self._derive_settings()
        self._frequencies.memo = {}  # the prior may have changed
        for story in self._stories:
            if story.recent_ids.maxlen != config.max_article_ids:
                story.recent_ids = deque(story.recent_ids, maxlen=config.max_article_ids)

    @property
    def indexed_articles(self) -> int:
        """Article ids of live stories held for revision and duplicate look-ups."""
        return len(self._stories.article_story)

    @property
    def counted_terms(self) -> int:
        """Entries of the document-frequency counts (both generations): bounded by the horizon."""
        return self._frequencies.counted_terms

    @property
    def clock(self) -> datetime | None:
        """The stream clock: the largest ``first_seen_at`` (or ``advance`` time) seen so far."""
        return self._clock

    def live_stories(self) -> tuple[StoryView, ...]:
        """A read-only copy of every live story (active, dormant and archived), oldest first."""
        return tuple(StoryView.of(story) for story in self._stories)

    def story(self, story_id: str) -> StoryView | None:
        """A read-only copy of the live story ``story_id``, or None when it is not live (never was, expired or
        merged into another)."""
        found = self._stories.find(story_id)
        return None if found is None else StoryView.of(found)

    # ------------------------------------------------------------------ time

    def advance(self, now: datetime) -> tuple[tuple[Story, ...], tuple[StoryEvent, ...]]:
        """Move the stream clock to ``now`` (never backwards) and age stories.

        Stories idle past ``dormancy`` get a ``dormant`` snapshot; stories idle past ``horizon`` are archived
        (compacted, still joinable, no snapshot); archived stories idle past ``memory``, and the longest idle
        beyond ``max_archived_stories``, get an ``expired`` snapshot and event and are dropped from memory.
        """
        now = as_utc(now)
        if self._clock is not None and now <= self._clock:
            return (), ()
        self._clock = now
        cfg = self.config
        self._frequencies.advance(now, cfg.horizon)
        lifecycle = self._lifecycle
        stories = [snapshot(story, now) for story in lifecycle.make_dormant(now, self._stories, cfg.dormancy)]
        events: list[StoryEvent] = []
        archived = lifecycle.archive(now, self._stories, cfg.horizon)
        for story, over_cap in lifecycle.expire(now, self._stories, cfg.memory, cfg.max_archived_stories):
            stories.append(snapshot(story, now))
            detail = f"idle for {duration(now - story.last_clock)}"
            if over_cap:
                detail += f" (more than {cfg.max_archived_stories} stories archived)"
            events.append(event(story, "expired", None, detail, now))
            self._stories.forget(story)
            self._index.remove(story)
        for story in archived:
            if story.status != "expired":  # (compacted after the expiries: an expiring story's last snapshot is whole)
                self._stories.compact(story)
        return tuple(stories), tuple(events)

    # ------------------------------------------------------------------ assignment

    def assign(self, article: Article) -> Assignment:
        """Assign one article to a story (see the module docstring for the rules).

        Articles must be given in event-time order (``first_seen_at``, then ``article_id``); an out-of-order
        article is still assigned against the current state without moving the clock back.
        """
        return self._assign(article, _DECIDE)

    def assign_to(self, article: Article, story_id: str | None) -> Assignment:
        """Assign one article with the similarity decision given: it joins the live story ``story_id`` (None, or
        a story that is not live: it opens a new story).

        Everything else is as in :meth:`assign`: the clock advances, a known article keeps its story, exact and
        near duplicates join their original's story, and an article without content terms opens a story of its
        own; stories are never merged and the join carries no score. For teacher-forced fits of the joining rule
        (``bench/story_fit.py``) and for replaying a clustering decided elsewhere.
        """
        return self._assign(article, story_id)

    def score(self, article: Article, stories: Iterable[str] | None = None) -> tuple[Match, ...]:
        """How ``article`` scores against live stories, without assigning it or changing any state.

        ``stories`` None: the candidates :meth:`assign` would score (those the index retrieves, of the article's
        language, oldest first); else the named live stories in that order (ids not live are skipped), each
        flagged whether it is a candidate. Empty when :meth:`assign` would not compare the article with stories
        at all: a known article id, an exact duplicate, or no content terms.

        The state is read as it is: :meth:`assign` first advances the clock to the article's ``first_seen_at``
        (which can expire stories and rotate document frequencies), so call :meth:`advance` with it first to
        see exactly what :meth:`assign` would.
        """
        cfg = self.config
        registry = self._stories
        if article.article_id in registry.article_story or self._exact_original(article) is not None:
            return ()
        title, summary, body = article_tokens(article, cfg)
        vec = self._vectoriser.vector(title, summary, body, article.language, memoise=False)
        if not vec.weights:
            return ()
        t = article_time(article)
        entities = _names(article, cfg)
        _, _, _, candidates = choose(vec, t, article.language, self._candidates(vec, t), cfg, entities)
        if stories is None:
            return tuple(match(vec, story, t, cfg, entities, candidate=True) for story in candidates)
        live = {story.story_id: story for story in registry}
        named = [live[story_id] for story_id in stories if story_id in live]
        return tuple(match(vec, story, t, cfg, entities, candidate=story in candidates) for story in named)

    def _exact_original(self, article: Article) -> tuple[str, int] | None:
        """(original article id, story seq) of a live article of the same language with the same content hash."""
        content_hash = article.content_hash
        exact = self._stories.hash_index.get(content_hash) if content_hash else None
        if exact is None:
            return None
        other = self._stories.by_seq[exact[1]].language
        language = article.language
        return exact if not language or not other or language == other else None

    def _candidates(self, vec: ArticleVector, t: datetime) -> list[LiveStory]:
        by_seq = self._stories.by_seq
        cfg = self.config

        def weight(seq: int) -> float:
            return rank_weight(by_seq[seq], t, cfg)

        return [by_seq[seq] for seq in self._index.candidates(vec, cfg.max_posting, cfg.max_candidates, weight)]

    def _assign(self, article: Article, forced: object) -> Assignment:
        """:meth:`assign` (``forced`` is ``_DECIDE``) or :meth:`assign_to` (``forced``: the story id or None)."""
        cfg = self.config
        aged_stories, aged_events = self.advance(article.first_seen_at)
        clock = cast("datetime", self._clock)
        stories = list(aged_stories)
        events = list(aged_events)
        t = article_time(article)
        registry = self._stories

        # 1. redelivery or revision of a known article
        known = registry.article_story.get(article.article_id)
        if known is not None:
            seq, revision, duplicate_of = known
            story = registry.by_seq[seq]
            result = assigned(article, story.story_id, duplicate_of)
            if article.revision > revision:
                registry.article_story[article.article_id] = (seq, article.revision, duplicate_of)
                title = article.title.strip()
                if story.headline_article == article.article_id and title:
                    story.headline = title
                stories.append(snapshot(story, clock))
                events.append(event(story, "updated", article.article_id, f"revision {article.revision}", clock))
            return Assignment(result, tuple(stories), tuple(events))

        # 2. exact duplicate
        exact = self._exact_original(article)
        if exact is not None:
            original_id, seq = exact
            story = registry.by_seq[seq]
            self._join(story, article, t, None, (), duplicate=original_id, stories=stories, events=events)
            return Assignment(assigned(article, story.story_id, original_id), tuple(stories), tuple(events))

        title_toks, summary_toks, body_toks = article_tokens(article, cfg)
        shingled = body_toks if len(body_toks) >= _SHORT_BODY else title_toks + summary_toks + body_toks
        article_sketch = sketch(shingled, cfg.sketch_size) if cfg.near_duplicate_jaccard is not None else ()
        vec = self._vectoriser.vector(title_toks, summary_toks, body_toks, article.language)
        best: LiveStory | None = None
        score: float | None = 0.0
        if vec.weights:
            candidates = self._candidates(vec, t)
            best, score, second, candidates = choose(vec, t, article.language, candidates, cfg, _names(article, cfg))
            if forced is not _DECIDE:
                best = None if forced is None else registry.find(cast("str", forced))
                score, second = None, None
            # 3. near duplicate of an original of a candidate story
            near = self._near_duplicate(article_sketch, candidates) if article_sketch and candidates else None
            if near is not None:
                story, original_id = near
                self._join(story, article, t, vec, (), duplicate=original_id, stories=stories, events=events)
                self._frequencies.count(vec)
                return Assignment(assigned(article, story.story_id, original_id), tuple(stories), tuple(events))
            # 4. similarity (and 5. merge)
            if best is not None and second is not None:
                best = merge(
                    best,
                    second,
                    stories=registry,
                    index=self._index,
                    lifecycle=self._lifecycle,
                    config=cfg,
                    clock=clock,
                    snapshots=stories,
                    events=events,
                )
        if best is None:
            story = self._create(article, t, vec, article_sketch, clock)
            stories.append(snapshot(story, clock))
            events.append(event(story, "created", article.article_id, "new story", clock))
        else:
            story = best
            self._join(
                story, article, t, vec, article_sketch, duplicate="", stories=stories, events=events, score=score
            )
        self._frequencies.count(vec)
        return Assignment(assigned(article, story.story_id, None), tuple(stories), tuple(events))

    def _near_duplicate(
        self, article_sketch: tuple[int, ...], candidates: list[LiveStory]
    ) -> tuple[LiveStory, str] | None:
        """The candidate story and original the sketch is a near duplicate of, if any."""
        threshold = self.config.near_duplicate_jaccard
        assert threshold is not None
        indexes = [story.sketches for story in candidates]
        found = find_near_duplicate(article_sketch, indexes, threshold, self.config.sketch_size)
        return None if found is None else (candidates[found[0]], found[1])

    # ------------------------------------------------------------------ story state

    def _create(
        self, article: Article, t: datetime, vec: ArticleVector, article_sketch: tuple[int, ...], clock: datetime
    ) -> LiveStory:
        story = self._stories.open(story_id_for(article.article_id), article, t, clock, self.config.max_article_ids)
        self._lifecycle.start(story)
        self._add_article(story, article, t, vec, article_sketch, duplicate="")
        return story

    def _join(
        self,
        story: LiveStory,
        article: Article,
        t: datetime,
        vec: ArticleVector | None,
        article_sketch: tuple[int, ...],
        *,
        duplicate: str,
        stories: list[Story],
        events: list[StoryEvent],
        score: float | None = None,
    ) -> None:
        """Add the article to ``story`` and report it; ``score`` is its joining score (similarity joins only)."""
        clock = cast("datetime", self._clock)
        gap = t - story.last_time
        resurfaced = gap >= self.config.dormancy  # the story's own articles were silent that long
        archived = " (archived)" if self._lifecycle.is_archived(story) else ""
        self._lifecycle.touch(story, clock)
        if t < story.first_time:
            story.first_time, story.first_article = t, article.article_id
        story.last_time = max(story.last_time, t)
        title = article.title.strip()
        if not story.headline and title:
            story.headline = title
            story.headline_article = article.article_id
        new_outlet = f", new outlet {article.outlet}" if article.outlet not in story.outlets else ""
        trending = self._add_article(story, article, t, vec, article_sketch, duplicate=duplicate)
        stories.append(snapshot(story, clock))
        rounded = None if score is None else round(score, 4)
        if resurfaced:
            detail = f"dormant for {duration(max(gap, timedelta(0)))}{archived}{new_outlet}"
            events.append(event(story, "resurfaced", article.article_id, detail, clock, rounded))
        else:
            detail = f"duplicate of {duplicate}" if duplicate else "new article"
            events.append(event(story, "updated", article.article_id, detail + new_outlet, clock, rounded))
        if trending:
            events.append(event(story, "trending", article.article_id, self._trending.detail(story), clock))

    def _add_article(
        self,
        story: LiveStory,
        article: Article,
        t: datetime,
        vec: ArticleVector | None,
        article_sketch: tuple[int, ...],
        *,
        duplicate: str,
    ) -> bool:
        """Record the article (``duplicate``: the original's id, or "") in the story; True when it starts
        trending."""
        cfg = self.config
        self._stories.record(story, article, duplicate)
        if article_sketch and not duplicate:
            index_original(story.sketches, article.article_id, article_sketch)
        if vec is not None and vec.weights:
            add_to_centroid(story, vec, cfg.centroid_terms, cfg.title_terms)
            self._index.add(story, vec.top, cfg.index_terms)
        if duplicate:
            return False
        return self._trending.add(story, t, article.outlet)
