"""Stories seen with their articles and events: the one view behind the HTML report, ``storywire stories`` and
``storywire export``, built from the records :func:`storywire.pipelines.core.summary.read_sink` reads (or from
the topics, :mod:`storywire.pipelines.report.source`). Pure Python, no Beam."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from storywire.pipelines.core.event_time import article_time
from storywire.pipelines.core.summary import SinkContents
from storywire.schemas.records import Article, DeadLetter, Story, StoryEvent

__all__ = [
    "NOTABLE_EVENTS",
    "StoryFilter",
    "StoryView",
    "article_time",
    "contents_from_records",
    "latest_articles",
    "short_id",
    "story_views",
    "when",
]

NOTABLE_EVENTS = ("created", "resurfaced", "merged", "trending", "expired")
"""Event types marked on a story's timeline (``updated``, one per article, is the timeline itself)."""


def when(value: datetime | None) -> str:
    """``2023-05-03 11:50`` in UTC (records are UTC; the year always shows), ``-`` for none."""
    if value is None:
        return "-"
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")


def short_id(story_id: str) -> str:
    """The first 8 hex digits after the prefix (``s_1311d00a``): unique enough to tell stories apart by eye."""
    return story_id[:10]


def latest_articles(articles: Iterable[Article]) -> list[Article]:
    """The newest revision of each article, in the order articles entered the stream."""
    latest: dict[str, Article] = {}
    for article in articles:
        current = latest.get(article.article_id)
        if current is None or article.revision > current.revision:
            latest[article.article_id] = article
    return sorted(latest.values(), key=lambda a: (a.first_seen_at, a.article_id))


@dataclass(frozen=True)
class StoryView:
    """A story's latest snapshot, the newest revision of each of its articles (in the order of their time for
    stories, :func:`article_time`: the plausible publication time, else the first feed sighting) and its events
    (in time order)."""

    story: Story
    articles: tuple[Article, ...]
    events: tuple[StoryEvent, ...]

    @property
    def search_text(self) -> str:
        """Lower-case text the filters match: headline, story id, top terms, outlets and article titles."""
        parts = [self.story.headline, self.story.story_id, *self.story.top_terms, *self.story.outlets]
        parts.extend(article.title for article in self.articles)
        return " ".join(parts).lower()

    @property
    def notable_events(self) -> tuple[StoryEvent, ...]:
        return tuple(e for e in self.events if e.event_type in NOTABLE_EVENTS)

    def articles_per_outlet(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for article in self.articles:
            counts[article.outlet] += 1
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _top_order(view: StoryView) -> tuple[int, int, datetime, str]:
    story = view.story
    return (-story.outlet_count, -story.article_count, story.first_seen_at, story.story_id)


def story_views(contents: SinkContents) -> list[StoryView]:
    """Every story, most covered first (outlets, then articles, then the earliest): the report's order.

    A story's articles are those its snapshot lists (a merge's survivor lists the absorbed story's too) and those
    that name it; a merged story keeps its own."""
    articles = latest_articles(contents.articles)
    by_id = {article.article_id: article for article in articles}
    naming: dict[str, list[Article]] = defaultdict(list)
    for article in articles:
        if article.story_id:
            naming[article.story_id].append(article)
    events: dict[str, list[StoryEvent]] = defaultdict(list)
    for event in sorted(contents.events, key=lambda e: (e.event_time, e.event_id)):
        events[event.story_id].append(event)
    views = []
    for story in contents.stories:
        chosen = {i: by_id[i] for i in story.article_ids if i in by_id}
        chosen.update((a.article_id, a) for a in naming.get(story.story_id, ()))
        ordered = sorted(chosen.values(), key=lambda a: (article_time(a), a.article_id))
        views.append(StoryView(story, tuple(ordered), tuple(events.get(story.story_id, ()))))
    return sorted(views, key=_top_order)


@dataclass(frozen=True)
class StoryFilter:
    """Which stories to show. ``text``: every word in the headline, id, top terms, outlets or article titles
    (case-insensitive); ``since``/``until``: dates (UTC, both inclusive) the story was seen on, i.e. its span
    overlaps them; ``outlet``: one of its outlets contains this text (``euronews`` matches ``euronews.com``)."""

    text: str | None = None
    since: date | None = None
    until: date | None = None
    outlet: str | None = None

    def matches(self, view: StoryView) -> bool:
        story = view.story
        if self.text:
            haystack = view.search_text
            if not all(word in haystack for word in self.text.lower().split()):
                return False
        if self.since is not None and story.last_seen_at < _start_of(self.since):
            return False
        if self.until is not None and story.first_seen_at >= _start_of(self.until, next_day=True):
            return False
        if self.outlet:
            wanted = self.outlet.lower()
            if not any(wanted in outlet.lower() for outlet in story.outlets):
                return False
        return True

    def apply(self, views: Sequence[StoryView]) -> list[StoryView]:
        return [view for view in views if self.matches(view)]


def _start_of(day: date, *, next_day: bool = False) -> datetime:
    start = datetime.combine(day, time(0, 0), tzinfo=timezone.utc)
    return start + timedelta(days=1) if next_day else start


def contents_from_records(
    articles: Iterable[Article],
    stories: Iterable[Story],
    events: Iterable[StoryEvent],
    dead_letters: Iterable[DeadLetter] = (),
) -> SinkContents:
    """What ``read_sink`` gives for a file sink, from records read anywhere else (a topic delivers at least once:
    a repeated article revision, event or dead letter counts once; the newest snapshot of each story wins)."""
    unique_articles = {(a.article_id, a.revision): a for a in articles}
    latest: dict[str, Story] = {}
    for story in stories:
        current = latest.get(story.story_id)
        if current is None or story.version > current.version:
            latest[story.story_id] = story
    unique_events = {e.event_id: e for e in events}
    unique_dead = {d.dead_letter_id: d for d in dead_letters}
    return SinkContents(
        articles=tuple(sorted(unique_articles.values(), key=lambda a: (a.first_seen_at, a.article_id, a.revision))),
        stories=tuple(sorted(latest.values(), key=lambda s: (s.first_seen_at, s.story_id))),
        events=tuple(sorted(unique_events.values(), key=lambda e: (e.event_time, e.event_id))),
        dead_letters=tuple(sorted(unique_dead.values(), key=lambda d: (d.occurred_at, d.dead_letter_id))),
    )
