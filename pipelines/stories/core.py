"""Story assignment core: groups a stream of articles into stories, online, in event-time order.

Pure Python (no Beam). :class:`StoryAssigner` holds the state of one partition (e.g. one language); the Beam
transform feeds it the partition's articles sorted by ``(first_seen_at, article_id)`` and emits what it
returns.

How an article is assigned (:meth:`StoryAssigner.assign`)
-------------------------------------------------------
1. **Clock.** The stream clock is the largest ``first_seen_at`` seen so far. Each call first advances it to
   the article's ``first_seen_at`` and expires/dorms stories exactly like :meth:`StoryAssigner.advance` (those
   snapshots and events come first in the returned :class:`Assignment`). An *out-of-order* article
   (``first_seen_at`` older than the clock) is still assigned, against the current state, with the clock left
   where it is: its snapshots carry ``updated_at`` = the clock, and stories that expired meanwhile cannot be
   joined. Out-of-order input is therefore accepted but breaks the replay guarantee only for that article.
2. **Redelivery / revision.** An ``article_id`` already assigned to a live story keeps its story. A higher
   ``revision`` produces a new snapshot (headline refreshed if it was the headline article) and an ``updated``
   event; the same or a lower revision is a redelivery and changes nothing (no snapshot, no event).
3. **Exact duplicate.** A non-empty ``content_hash`` equal to an earlier live article's hash (another
   ``article_id``, e.g. a syndicated wire copy) joins that article's story with ``duplicate_of`` = the
   original ``article_id``. A duplicate adds its outlet to the outlet list and counts in ``article_count``,
   but it is not new coverage: it does not move the centroid, the document frequencies, or the trending
   counter.
4. **Similarity.** Otherwise the article's field-weighted TF-IDF vector (title weighted up, summary, the lead
   of the body) is compared by cosine to the centroids of the live stories that share one of its most specific
   terms (inverted index, so cost does not grow with the number of live stories), multiplied by a time factor
   (1 within ``time_grace`` of the story's time span, then ``exp(-excess / time_scale)``). The best story
   scoring at least ``threshold`` is joined; otherwise the article starts a new story. Stories whose language
   differs from the article's (both known) are never candidates. Document frequencies are updated online after
   each article; they are counted in two generations rotated every ``horizon`` of stream time, so the
   vocabulary held in memory stays bounded.

Times
-----
The *article time* used for clustering and dormancy is ``published_at`` when present and plausible, else
``first_seen_at``. Plausible means: not before 1990-01-01 (this catches the 1970 epoch of broken feeds) and
not later than ``first_seen_at + future_tolerance`` (a publisher cannot publish after we saw the item; a
little slack covers clock skew). Naive datetimes are taken as UTC. ``Story.first_seen_at``/``last_seen_at``
are the min/max article times of the story; ``updated_at`` is the stream clock when the snapshot was made.

Lifecycle
---------
- ``created``: an article starts a story (snapshot version 1).
- ``updated``: an article (new, duplicate or revision) joins a story.
- ``resurfaced``: *instead of* ``updated``, when the joining article's time is at least ``dormancy`` after the
  story's latest article time, or the story had been marked dormant. ``detail`` says how long it slept.
- ``trending``: after ``updated``/``resurfaced``, when the story has at least ``trending_min_articles``
  new-coverage articles from at least ``trending_min_outlets`` outlets within ``trending_window``; once per
  episode (re-armed when the window count drops below the threshold again).
- dormant: when no article joined for ``dormancy`` of stream time the story gets a snapshot with status
  ``dormant`` (the schema has no event type for it, so no event).
- ``expired``: after ``horizon`` of stream time without a new article, the story is dropped from memory with a
  final snapshot (status ``expired``) and an ``expired`` event. A later article can never join it again.

Ids
---
``story_id`` = ``"s_"`` + the first 24 hex digits of sha256(first article_id). ``event_id`` = ``"e_"`` + 32
hex digits of sha256(story_id, event type, article_id, story version, event time). Every iteration over
collections follows insertion or explicit sort order, so the same input sequence gives the same output in any
process (no dependence on ``PYTHONHASHSEED``). If an expired story's first article is re-sent later, the new
story gets the same ``story_id`` again (versions restart at 1); event ids stay distinct (the time differs).

Bad input (never raises for a well-typed :class:`~schemas.records.Article`)
-------------------------------------------------------------------------
- Empty or tiny text: the vector is built from whatever of title, summary and body is present; a title alone
  is enough to cluster.
- Nothing usable at all (no content token in title, summary or body, e.g. empty or pure punctuation): the
  article still gets a story of its own (every article carries a ``story_id``), unless its ``content_hash``
  makes it an exact duplicate. Such a story has no terms, so nothing else can join it by similarity.
- Missing, future (beyond ``future_tolerance``) or pre-1990 ``published_at``: ``first_seen_at`` is used
  instead.
- Non-English text: tokenised the same way (Unicode words; character bigrams for Chinese, Japanese and Thai);
  stop words and stemming are English-only, which only costs precision. Languages are never mixed in a story
  when both languages are known.
- Gigantic bodies: only the first ``max_text_chars`` characters and ``body_tokens`` tokens are read.
- Empty ``content_hash``: no exact-duplicate detection for that article.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from pipelines.stories import text as textmod
from schemas.records import Article, Story, StoryEvent, StoryEventType, StoryStatus

__all__ = ["Assignment", "StoryAssigner", "StoryConfig", "article_time", "event_id_for", "story_id_for"]

_MIN_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=timezone.utc)
_HOUR = 3600.0


@dataclass(frozen=True)
class StoryConfig:
    """Tuning of :class:`StoryAssigner`; validated on construction (``ValueError`` on nonsense).

    Defaults were chosen on the older half (by publication date) of the NewsCluster development set and
    checked on the newer half; see ``bench/stories.py``.
    """

    # lifecycle
    dormancy: timedelta = timedelta(hours=48)
    """Gap after which a new article makes the story ``resurfaced`` (and idle stories become ``dormant``)."""
    horizon: timedelta = timedelta(days=30)
    """Stories idle longer (stream time) are expired from memory; also the length of a document-frequency
    generation."""
    max_article_ids: int = 50
    """Cap of ``Story.article_ids`` (the most recent ids are kept)."""
    future_tolerance: timedelta = timedelta(hours=1)
    """``published_at`` later than ``first_seen_at`` by more than this is not trusted."""
    trending_window: timedelta = timedelta(hours=6)
    trending_min_articles: int = 5
    trending_min_outlets: int = 3

    # similarity
    threshold: float = 0.15
    """Minimum time-weighted cosine to join a story."""
    time_grace: timedelta = timedelta(hours=12)
    """No time penalty within this distance of the story's time span."""
    time_scale: timedelta = timedelta(days=30)
    """Beyond the grace, similarity is multiplied by ``exp(-excess / time_scale)``."""
    title_weight: float = 4.0
    summary_weight: float = 1.5
    lead_weight: float = 1.0
    body_weight: float = 0.5
    lead_tokens: int = 120
    """Tokens of the body counted at ``lead_weight``; the rest (up to ``body_tokens``) at ``body_weight``."""
    body_tokens: int = 600
    max_text_chars: int = 20_000
    """Characters of title/summary/body read at most (gigantic bodies are truncated for speed)."""

    # index / memory
    centroid_terms: int = 150
    """Terms kept per story centroid (pruned by weight when it grows 50% past this)."""
    query_terms: int = 12
    """Most specific terms of an article used to look up candidate stories."""
    max_candidates: int = 40
    """Candidates scored exactly, best by index overlap."""
    max_posting: int = 5_000
    """Index terms shared by more live stories than this are not used for lookup (too common to help)."""

    def __post_init__(self) -> None:
        for name in (
            "dormancy",
            "horizon",
            "trending_window",
            "time_grace",
            "time_scale",
            "future_tolerance",
        ):
            value = getattr(self, name)
            if not isinstance(value, timedelta):
                raise TypeError(f"{name} must be a timedelta, got {type(value).__name__}")
            if value < timedelta(0) or (name not in ("time_grace", "future_tolerance") and not value):
                raise ValueError(f"{name} must be positive, got {value}")
        if self.horizon < self.dormancy:
            raise ValueError(f"horizon ({self.horizon}) must not be shorter than dormancy ({self.dormancy})")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        for name in ("title_weight", "summary_weight", "lead_weight", "body_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in (
            "max_article_ids",
            "trending_min_articles",
            "trending_min_outlets",
            "lead_tokens",
            "centroid_terms",
            "query_terms",
            "max_candidates",
            "max_posting",
            "max_text_chars",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if self.body_tokens < self.lead_tokens:
            raise ValueError("body_tokens must be >= lead_tokens")


@dataclass(frozen=True)
class Assignment:
    """The result of assigning one article."""

    article: Article
    """The input with ``story_id`` and ``duplicate_of`` filled in."""
    stories: tuple[Story, ...]
    """New snapshots of every story this step changed (including dormant, merged and expired ones)."""
    events: tuple[StoryEvent, ...]
    """Lifecycle events this step caused, in order."""


def story_id_for(first_article_id: str) -> str:
    """Deterministic story id from the id of the story's first article."""
    return "s_" + hashlib.sha256(first_article_id.encode("utf-8")).hexdigest()[:24]


def event_id_for(story_id: str, event_type: str, article_id: str | None, version: int, event_time: datetime) -> str:
    """Deterministic event id."""
    key = f"{story_id}|{event_type}|{article_id or ''}|{version}|{event_time.isoformat()}"
    return "e_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def article_time(article: Article, future_tolerance: timedelta = timedelta(hours=1)) -> datetime:
    """The time used for clustering and dormancy: plausible ``published_at``, else ``first_seen_at``."""
    seen = _utc(article.first_seen_at)
    published = article.published_at
    if published is None:
        return seen
    published = _utc(published)
    if published < _MIN_PLAUSIBLE or published > seen + future_tolerance:
        return seen
    return published


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / _HOUR
    if hours >= 72:
        return f"{hours / 24:.0f}d"
    return f"{hours:.0f}h"


@dataclass
class _Features:
    """An article's term weights (sublinear, field-weighted, before IDF)."""

    weights: dict[str, float]


@dataclass(eq=False)
class _StoryState:
    seq: int
    story_id: str
    language: str | None
    first_time: datetime
    last_time: datetime
    last_clock: datetime
    headline: str
    headline_article: str
    centroid: dict[str, float] = field(default_factory=dict)
    norm: float = 0.0
    norm_dirty: bool = True
    recent_ids: deque[str] = field(default_factory=deque)
    article_ids: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    outlets: dict[str, None] = field(default_factory=dict)
    article_count: int = 0
    version: int = 0
    status: StoryStatus = "active"
    recent: deque[tuple[datetime, str]] = field(default_factory=deque)
    trending: bool = False
    merged_into: str | None = None


class StoryAssigner:
    """Online story clustering for one partition of the article stream. Not thread-safe."""

    def __init__(self, config: StoryConfig | None = None) -> None:
        self.config = config if config is not None else StoryConfig()
        self._clock: datetime | None = None
        self._seq = 0
        self._stories: dict[int, _StoryState] = {}
        # Live stories ordered by last activity (stream clock): active ones, then dormant ones.
        self._active: OrderedDict[int, None] = OrderedDict()
        self._dormant: OrderedDict[int, None] = OrderedDict()
        self._article_story: dict[str, tuple[int, int]] = {}  # article_id -> (story seq, revision)
        self._hash_index: dict[str, tuple[str, int]] = {}  # content_hash -> (article_id, story seq)
        self._postings: dict[str, dict[int, None]] = {}  # term -> story seqs whose centroid has it
        # Document frequencies in two generations (previous + current), rotated every horizon.
        self._df_prev: dict[str, int] = {}
        self._df_cur: dict[str, int] = {}
        self._n_prev = 0
        self._n_cur = 0
        self._generation_start: datetime | None = None

    def __len__(self) -> int:
        """Live stories held in memory (active and dormant)."""
        return len(self._stories)

    @property
    def indexed_articles(self) -> int:
        """Article ids of live stories held for revision and duplicate look-ups."""
        return len(self._article_story)

    @property
    def clock(self) -> datetime | None:
        """The stream clock: the largest ``first_seen_at`` (or ``advance`` time) seen so far."""
        return self._clock

    # ------------------------------------------------------------------ time

    def advance(self, now: datetime) -> tuple[tuple[Story, ...], tuple[StoryEvent, ...]]:
        """Move the stream clock to ``now`` (never backwards) and age stories.

        Stories idle past ``dormancy`` get a ``dormant`` snapshot; stories idle past ``horizon`` get an
        ``expired`` snapshot and event and are dropped from memory.
        """
        now = _utc(now)
        if self._clock is not None and now <= self._clock:
            return (), ()
        self._clock = now
        if self._generation_start is None:
            self._generation_start = now
        elif now - self._generation_start >= self.config.horizon:
            self._df_prev, self._df_cur = self._df_cur, {}
            self._n_prev, self._n_cur = self._n_cur, 0
            self._generation_start = now
        stories: list[Story] = []
        events: list[StoryEvent] = []
        dormant_before = now - self.config.dormancy
        while self._active:
            seq = next(iter(self._active))
            state = self._stories[seq]
            if state.last_clock > dormant_before:
                break
            del self._active[seq]
            self._dormant[seq] = None
            state.status = "dormant"
            stories.append(self._snapshot(state))
        expire_before = now - self.config.horizon
        while self._dormant:
            seq = next(iter(self._dormant))
            state = self._stories[seq]
            if state.last_clock > expire_before:
                break
            del self._dormant[seq]
            idle = now - state.last_clock
            state.status = "expired"
            stories.append(self._snapshot(state))
            events.append(self._event(state, "expired", None, f"idle for {_hours(idle)}"))
            self._drop(state)
        return tuple(stories), tuple(events)

    def _drop(self, state: _StoryState) -> None:
        """Forget an expired story and everything that points to it."""
        del self._stories[state.seq]
        for term in state.centroid:
            posting = self._postings.get(term)
            if posting is not None:
                posting.pop(state.seq, None)
                if not posting:
                    del self._postings[term]
        for article_id in state.article_ids:
            entry = self._article_story.get(article_id)
            if entry is not None and entry[0] == state.seq:
                del self._article_story[article_id]
        for content_hash in state.hashes:
            entry2 = self._hash_index.get(content_hash)
            if entry2 is not None and entry2[1] == state.seq:
                del self._hash_index[content_hash]

    # ------------------------------------------------------------------ assignment

    def assign(self, article: Article) -> Assignment:
        """Assign one article to a story (see the module docstring for the rules).

        Articles must be given in event-time order (``first_seen_at``, then ``article_id``); an out-of-order
        article is still assigned against the current state without moving the clock back.
        """
        cfg = self.config
        stories, events = self.advance(article.first_seen_at)
        out_stories = list(stories)
        out_events = list(events)
        assert self._clock is not None
        t = article_time(article, cfg.future_tolerance)

        # 1. redelivery or revision of a known article
        known = self._article_story.get(article.article_id)
        if known is not None:
            seq, revision = known
            state = self._stories[seq]
            result = article.replace(story_id=state.story_id)
            if article.revision <= revision:
                return Assignment(result, tuple(out_stories), tuple(out_events))
            self._article_story[article.article_id] = (seq, article.revision)
            if state.headline_article == article.article_id and article.title.strip():
                state.headline = article.title.strip()
            out_stories.append(self._snapshot(state))
            out_events.append(self._event(state, "updated", article.article_id, f"revision {article.revision}"))
            return Assignment(result, tuple(out_stories), tuple(out_events))

        # 2. exact duplicate
        content_hash = article.content_hash
        original = self._hash_index.get(content_hash) if content_hash else None
        if original is not None:
            original_id, seq = original
            state = self._stories[seq]
            self._join(state, article, t, None, duplicate=True, stories=out_stories, events=out_events)
            result = article.replace(story_id=state.story_id, duplicate_of=original_id)
            return Assignment(result, tuple(out_stories), tuple(out_events))

        # 3. similarity
        features = self._features(article)
        best: _StoryState | None = None
        if features.weights:
            best = self._best_story(features.weights, t, article.language)
        if best is None:
            state = self._create(article, t, features.weights)
            out_stories.append(self._snapshot(state))
            out_events.append(self._event(state, "created", article.article_id, "new story"))
        else:
            state = best
            self._join(state, article, t, features.weights, duplicate=False, stories=out_stories, events=out_events)
        self._count_document(features.weights)
        return Assignment(article.replace(story_id=state.story_id), tuple(out_stories), tuple(out_events))

    def _features(self, article: Article) -> _Features:
        cfg = self.config
        cap = cfg.max_text_chars
        weights: dict[str, float] = {}
        title = article.title[:cap] if article.title else ""
        summary = article.summary[:cap] if article.summary else ""
        body = article.text[:cap] if article.text else ""
        textmod.add_weighted(weights, textmod.tokens(title, 64), cfg.title_weight)
        textmod.add_weighted(weights, textmod.tokens(summary, 200), cfg.summary_weight)
        body_toks = textmod.tokens(body, cfg.body_tokens)
        textmod.add_weighted(weights, body_toks[: cfg.lead_tokens], cfg.lead_weight)
        if cfg.body_weight > 0 and len(body_toks) > cfg.lead_tokens:
            textmod.add_weighted(weights, body_toks[cfg.lead_tokens :], cfg.body_weight)
        return _Features(textmod.sublinear(weights))

    def _idf(self, term: str) -> float:
        n = self._n_prev + self._n_cur
        df = self._df_prev.get(term, 0) + self._df_cur.get(term, 0)
        return math.log((n + 1.0) / (df + 1.0)) + 1.0

    def _count_document(self, weights: dict[str, float]) -> None:
        df = self._df_cur
        get = df.get
        for term in weights:
            df[term] = get(term, 0) + 1
        self._n_cur += 1

    def _time_factor(self, state: _StoryState, t: datetime) -> float:
        if t < state.first_time:
            gap = state.first_time - t
        elif t > state.last_time:
            gap = t - state.last_time
        else:
            return 1.0
        excess = (gap - self.config.time_grace).total_seconds()
        if excess <= 0:
            return 1.0
        return math.exp(-excess / self.config.time_scale.total_seconds())

    def _centroid_norm(self, state: _StoryState) -> float:
        if state.norm_dirty:
            idf = self._idf
            state.norm = math.sqrt(sum((w * idf(term)) ** 2 for term, w in state.centroid.items()))
            state.norm_dirty = False
        return state.norm

    def _best_story(self, weights: dict[str, float], t: datetime, language: str | None) -> _StoryState | None:
        cfg = self.config
        idf = self._idf
        vec = {term: w * idf(term) for term, w in weights.items()}
        norm = math.sqrt(sum(v * v for v in vec.values()))
        if norm == 0.0:
            return None
        # candidate lookup on the most specific terms (sorted by weight, then term, for determinism)
        query = sorted(vec.items(), key=lambda kv: (-kv[1], kv[0]))[: cfg.query_terms]
        overlap: dict[int, float] = {}
        postings = self._postings
        for term, v in query:
            posting = postings.get(term)
            if posting is None or len(posting) > cfg.max_posting:
                continue
            for seq in posting:
                overlap[seq] = overlap.get(seq, 0.0) + v
        if not overlap:
            return None
        candidates = sorted(overlap.items(), key=lambda kv: (-kv[1], kv[0]))[: cfg.max_candidates]
        best: _StoryState | None = None
        best_score = cfg.threshold
        for seq, _ in candidates:
            state = self._stories[seq]
            if language and state.language and language != state.language:
                continue
            factor = self._time_factor(state, t)
            if factor * 1.0 < best_score:
                continue
            cnorm = self._centroid_norm(state)
            if cnorm == 0.0:
                continue
            centroid = state.centroid
            dot = 0.0
            for term, v in vec.items():
                c = centroid.get(term)
                if c is not None:
                    dot += v * c * idf(term)
            score = dot / (norm * cnorm) * factor
            if score >= best_score and (best is None or score > best_score):
                best, best_score = state, score
        return best

    # ------------------------------------------------------------------ story state

    def _create(self, article: Article, t: datetime, weights: dict[str, float]) -> _StoryState:
        assert self._clock is not None
        self._seq += 1
        seq = self._seq
        state = _StoryState(
            seq=seq,
            story_id=story_id_for(article.article_id),
            language=article.language,
            first_time=t,
            last_time=t,
            last_clock=self._clock,
            headline=article.title.strip(),
            headline_article=article.article_id,
            recent_ids=deque(maxlen=self.config.max_article_ids),
        )
        self._stories[seq] = state
        self._active[seq] = None
        self._add_article(state, article, t, weights, duplicate=False)
        return state

    def _join(
        self,
        state: _StoryState,
        article: Article,
        t: datetime,
        weights: dict[str, float] | None,
        *,
        duplicate: bool,
        stories: list[Story],
        events: list[StoryEvent],
    ) -> None:
        assert self._clock is not None
        gap = t - state.last_time
        resurfaced = gap >= self.config.dormancy or state.status == "dormant"
        self._dormant.pop(state.seq, None)
        self._active.pop(state.seq, None)
        self._active[state.seq] = None
        state.status = "active"
        state.last_clock = self._clock
        state.first_time = min(state.first_time, t)
        state.last_time = max(state.last_time, t)
        if not state.headline and article.title.strip():
            state.headline = article.title.strip()
            state.headline_article = article.article_id
        trending = self._add_article(state, article, t, weights, duplicate=duplicate)
        stories.append(self._snapshot(state))
        if resurfaced:
            slept = max(gap, timedelta(0))
            events.append(self._event(state, "resurfaced", article.article_id, f"dormant for {_hours(slept)}"))
        else:
            detail = "duplicate" if duplicate else "new article"
            events.append(self._event(state, "updated", article.article_id, detail))
        if trending:
            window = _hours(self.config.trending_window)
            events.append(
                self._event(
                    state,
                    "trending",
                    article.article_id,
                    f"{len(state.recent)} articles from {len({o for _, o in state.recent})} outlets in {window}",
                )
            )

    def _add_article(
        self,
        state: _StoryState,
        article: Article,
        t: datetime,
        weights: dict[str, float] | None,
        *,
        duplicate: bool,
    ) -> bool:
        """Record the article in the story; returns True when the story starts trending."""
        cfg = self.config
        state.article_count += 1
        state.article_ids.append(article.article_id)
        state.recent_ids.append(article.article_id)
        state.outlets[article.outlet] = None
        self._article_story[article.article_id] = (state.seq, article.revision)
        if article.content_hash and article.content_hash not in self._hash_index:
            self._hash_index[article.content_hash] = (article.article_id, state.seq)
            state.hashes.append(article.content_hash)
        if weights:
            self._add_to_centroid(state, weights)
        if duplicate:
            return False
        recent = state.recent
        recent.append((t, article.outlet))
        start = t - cfg.trending_window
        while recent and recent[0][0] < start:
            recent.popleft()
        hot = (
            len(recent) >= cfg.trending_min_articles
            and len({outlet for _, outlet in recent}) >= cfg.trending_min_outlets
        )
        if hot and not state.trending:
            state.trending = True
            return True
        if not hot and len(recent) < cfg.trending_min_articles:
            state.trending = False
        return False

    def _add_to_centroid(self, state: _StoryState, weights: dict[str, float]) -> None:
        norm = math.sqrt(sum(w * w for w in weights.values()))
        if norm == 0.0:
            return
        centroid = state.centroid
        postings = self._postings
        seq = state.seq
        for term, w in weights.items():
            if term in centroid:
                centroid[term] += w / norm
            else:
                centroid[term] = w / norm
                posting = postings.get(term)
                if posting is None:
                    postings[term] = {seq: None}
                else:
                    posting[seq] = None
        state.norm_dirty = True
        limit = self.config.centroid_terms
        if len(centroid) > limit + limit // 2:
            idf = self._idf
            ranked = sorted(centroid.items(), key=lambda kv: (-kv[1] * idf(kv[0]), kv[0]))
            for term, _ in ranked[limit:]:
                del centroid[term]
                posting = postings.get(term)
                if posting is not None:
                    posting.pop(seq, None)
                    if not posting:
                        del postings[term]

    def _top_terms(self, state: _StoryState, k: int = 10) -> tuple[str, ...]:
        idf = self._idf
        ranked = sorted(state.centroid.items(), key=lambda kv: (-kv[1] * idf(kv[0]), kv[0]))
        return tuple(term for term, _ in ranked[:k])

    def _snapshot(self, state: _StoryState) -> Story:
        assert self._clock is not None
        state.version += 1
        return Story(
            story_id=state.story_id,
            status=state.status,
            headline=state.headline,
            top_terms=self._top_terms(state),
            language=state.language,
            first_seen_at=state.first_time,
            last_seen_at=state.last_time,
            updated_at=self._clock,
            article_count=state.article_count,
            outlet_count=len(state.outlets),
            outlets=tuple(sorted(state.outlets)),
            article_ids=tuple(state.recent_ids),
            merged_into=state.merged_into,
            version=state.version,
        )

    def _event(self, state: _StoryState, event_type: StoryEventType, article_id: str | None, detail: str) -> StoryEvent:
        assert self._clock is not None
        return StoryEvent(
            event_id=event_id_for(state.story_id, event_type, article_id, state.version, self._clock),
            event_type=event_type,
            story_id=state.story_id,
            article_id=article_id,
            event_time=self._clock,
            related_story_id=None,
            article_count=state.article_count,
            outlet_count=len(state.outlets),
            detail=detail,
        )


def assign_all(assigner: StoryAssigner, articles: Iterable[Article]) -> list[Assignment]:
    """Convenience for tests and benches: assign every article in the given order."""
    return [assigner.assign(article) for article in articles]
