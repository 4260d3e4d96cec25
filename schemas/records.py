"""Typed records for every message storywire emits, one per JSON Schema in ``schemas/v1``.

Field names are the schema's property names. Timestamps are timezone-aware UTC ``datetime`` objects in Python
and ISO 8601 strings with a ``Z`` suffix on the wire (see :mod:`storywire.schemas.codec`). Sequences are tuples so the
records stay hashable and immutable.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar, Literal, TypeVar

SCHEMA_VERSION = 1

StoryStatus = Literal["active", "dormant", "merged", "expired"]
StoryEventType = Literal["created", "updated", "resurfaced", "trending", "merged", "expired"]

_R = TypeVar("_R", bound="_Record")


def parse_time(value: str) -> datetime:
    """Parse an ISO 8601 timestamp into an aware UTC datetime (naive input is taken as UTC)."""
    # Python 3.10's fromisoformat does not accept a trailing Z (nor does any version a lower-case z).
    parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


class _Record:
    """Shared dict conversion; subclasses are frozen dataclasses."""

    kind: ClassVar[str]
    time_field: ClassVar[str]
    """The field holding the record's time (see :func:`record_time`)."""
    _time_fields: ClassVar[frozenset[str]] = frozenset()
    _tuple_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def from_dict(cls: type[_R], data: dict[str, Any]) -> _R:
        """Build a record from decoded JSON, ignoring unknown fields (forward compatibility)."""
        kwargs: dict[str, Any] = {}
        for field in dataclasses.fields(cls):  # type: ignore[arg-type]
            if field.name not in data:
                continue
            value = data[field.name]
            if field.name in cls._time_fields and isinstance(value, str):
                value = parse_time(value)
            elif field.name in cls._tuple_fields and isinstance(value, list):
                value = tuple(value)
            kwargs[field.name] = value
        return cls(**kwargs)

    def replace(self: _R, **changes: Any) -> _R:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True, slots=True)
class Article(_Record):
    """One extracted article revision; key ``article_id`` on ``news.articles.v1``."""

    kind: ClassVar[str] = "article"
    time_field: ClassVar[str] = "captured_at"
    _time_fields: ClassVar[frozenset[str]] = frozenset({"published_at", "first_seen_at", "captured_at"})
    _tuple_fields: ClassVar[frozenset[str]] = frozenset({"authors"})

    article_id: str
    url: str
    canonical_url: str
    outlet: str
    feed_url: str | None
    title: str
    summary: str
    text: str
    authors: tuple[str, ...]
    language: str | None
    published_at: datetime | None
    first_seen_at: datetime
    captured_at: datetime
    revision: int
    extraction_method: str
    content_hash: str
    story_id: str | None = None
    duplicate_of: str | None = None
    schema_version: int = SCHEMA_VERSION
    # Added in v1.1 (optional, default false): ``text`` is not the whole article, cut at extraction (markup or text
    # over its size limit, connectors/articles/settings.py) or by the Kafka sink to fit the message size limit.
    text_truncated: bool = False

    @property
    def event_time(self) -> datetime:
        """The time the article entered the stream: the first feed sighting (its record time is the capture's)."""
        return self.first_seen_at


@dataclass(frozen=True, slots=True)
class Story(_Record):
    """Snapshot of one story; key ``story_id`` on the compacted ``news.stories.v1``."""

    kind: ClassVar[str] = "story"
    time_field: ClassVar[str] = "updated_at"
    _time_fields: ClassVar[frozenset[str]] = frozenset({"first_seen_at", "last_seen_at", "updated_at"})
    _tuple_fields: ClassVar[frozenset[str]] = frozenset({"top_terms", "outlets", "article_ids"})

    story_id: str
    status: StoryStatus
    headline: str
    top_terms: tuple[str, ...]
    language: str | None
    first_seen_at: datetime
    last_seen_at: datetime
    updated_at: datetime
    article_count: int
    outlet_count: int
    outlets: tuple[str, ...]
    article_ids: tuple[str, ...]
    merged_into: str | None
    version: int
    schema_version: int = SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class StoryEvent(_Record):
    """A lifecycle event of a story; key ``story_id`` on ``news.story-events.v1``."""

    kind: ClassVar[str] = "story_event"
    time_field: ClassVar[str] = "event_time"
    _time_fields: ClassVar[frozenset[str]] = frozenset({"event_time"})

    event_id: str
    event_type: StoryEventType
    story_id: str
    article_id: str | None
    event_time: datetime
    related_story_id: str | None
    article_count: int
    outlet_count: int
    detail: str
    schema_version: int = SCHEMA_VERSION
    score: float | None = None  # (after schema_version: added within v1, so positional construction keeps working)


@dataclass(frozen=True, slots=True)
class DeadLetter(_Record):
    """An input that produced no result, with enough context to find and replay it."""

    kind: ClassVar[str] = "dead_letter"
    time_field: ClassVar[str] = "occurred_at"
    _time_fields: ClassVar[frozenset[str]] = frozenset({"occurred_at"})

    dead_letter_id: str
    stage: str
    identity: str
    error_type: str
    message: str
    payload_ref: str | None
    payload: str | None
    occurred_at: datetime
    schema_version: int = SCHEMA_VERSION


def record_time(record: _Record) -> datetime:
    """The time of a record, the one its message carries as ``ce_time``: an article revision's capture, a story
    snapshot's update, a story event's time, a dead letter's failing input's time (each class's ``time_field``)."""
    value: datetime = getattr(record, record.time_field)
    return value


RECORD_TYPES: dict[str, type[_Record]] = {cls.kind: cls for cls in (Article, Story, StoryEvent, DeadLetter)}
