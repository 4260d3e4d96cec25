"""What the assigner emits: story snapshots, story events, their deterministic ids, and :class:`Assignment`.

Snapshots: ``headline`` is the title of the story's first article that has one (a revision of that article
updates it; on a merge the survivor keeps its own); ``top_terms`` are the 10 heaviest centroid terms (stemmed,
lowercase); ``outlets`` is sorted; ``article_count`` counts every article including duplicates (not
revisions); ``article_ids`` holds the ``max_article_ids`` most recent ids; ``version`` increments with every
snapshot of the story. ``updated_at`` and ``event_time`` are the stream clock.

Ids: ``story_id`` = ``"s_"`` + the first 24 hex digits of sha256(first article_id); ``event_id`` = ``"e_"`` + 32
hex digits of sha256(story_id, event type, article_id, story version, event time). So the same input in the
same order gives the same ids in any process. An expired story's first article sent again later opens a story
with the same ``story_id`` (versions restart at 1); its event ids still differ (the time differs).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter

from storywire.pipelines.stories.story import LiveStory, top_terms
from storywire.schemas.records import Article, Story, StoryEvent, StoryEventType

__all__ = ["Assignment", "assigned", "duration", "event", "event_id_for", "merged_event", "snapshot", "story_id_for"]

_HOUR = 3600.0


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


_ARTICLE_FIELDS = tuple(f.name for f in dataclasses.fields(Article))
_ARTICLE_VALUES = attrgetter(*_ARTICLE_FIELDS)
_STORY_ID_AT = _ARTICLE_FIELDS.index("story_id")
_DUPLICATE_OF_AT = _ARTICLE_FIELDS.index("duplicate_of")


def assigned(article: Article, story_id: str, duplicate_of: str | None) -> Article:
    """``article.replace(story_id=..., duplicate_of=...)`` without the generic ``dataclasses.replace`` walk."""
    values = list(_ARTICLE_VALUES(article))
    values[_STORY_ID_AT] = story_id
    values[_DUPLICATE_OF_AT] = duplicate_of
    return Article(*values)


def duration(delta: timedelta) -> str:
    """``36h``, or ``5d`` from 72 hours on (event details)."""
    hours = delta.total_seconds() / _HOUR
    if hours >= 72:
        return f"{hours / 24:.0f}d"
    return f"{hours:.0f}h"


def snapshot(story: LiveStory, clock: datetime) -> Story:
    """The story's next snapshot (its version goes up by one)."""
    story.version += 1
    return Story(
        story_id=story.story_id,
        status=story.status,
        headline=story.headline,
        top_terms=top_terms(story),
        language=story.language,
        first_seen_at=story.first_time,
        last_seen_at=story.last_time,
        updated_at=clock,
        article_count=story.article_count,
        outlet_count=len(story.outlets),
        outlets=story.outlets_sorted,
        article_ids=tuple(story.recent_ids),
        merged_into=story.merged_into,
        version=story.version,
    )


def event(
    story: LiveStory,
    event_type: StoryEventType,
    article_id: str | None,
    detail: str,
    clock: datetime,
    score: float | None = None,
) -> StoryEvent:
    """An event of the story at its current version; ``score``: the joining score (similarity joins only)."""
    return StoryEvent(
        event_id=event_id_for(story.story_id, event_type, article_id, story.version, clock),
        event_type=event_type,
        story_id=story.story_id,
        article_id=article_id,
        event_time=clock,
        related_story_id=None,
        article_count=story.article_count,
        outlet_count=len(story.outlets),
        detail=detail,
        score=score,
    )


def merged_event(survivor: LiveStory, absorbed: LiveStory, clock: datetime) -> StoryEvent:
    """The survivor's ``merged`` event, naming the absorbed story."""
    return StoryEvent(
        event_id=event_id_for(survivor.story_id, "merged", absorbed.story_id, survivor.version, clock),
        event_type="merged",
        story_id=survivor.story_id,
        article_id=None,
        event_time=clock,
        related_story_id=absorbed.story_id,
        article_count=survivor.article_count,
        outlet_count=len(survivor.outlets),
        detail=f"absorbed {absorbed.story_id} ({absorbed.article_count} articles)",
    )
