"""Records -> Kafka/JSONL messages: topic, key, JSON value and CloudEvents headers (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from connectors.kafka.envelope import cloudevent_headers
from connectors.kafka.topics import TopicNames
from schemas.codec import encode
from schemas.records import SCHEMA_VERSION, Article, DeadLetter, Story, StoryEvent, _Record

CE_SOURCE = "/storywire"


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


def message_for(record: _Record, topics: TopicNames, source: str = CE_SOURCE) -> OutboundMessage:
    """Route a record to its topic with its key; the message id is unique per distinct message."""
    topic, key, event_id, when = _routing(record, topics)
    headers = cloudevent_headers(
        event_type=f"dev.storywire.{record.kind}.v{SCHEMA_VERSION}",
        source=source,
        event_id=event_id,
        time_iso=when.isoformat().replace("+00:00", "Z"),
        schema_version=str(SCHEMA_VERSION),
    )
    return OutboundMessage(topic=topic, key=key.encode("utf-8"), value=encode(record), headers=tuple(headers))


def _routing(record: _Record, topics: TopicNames) -> tuple[str, str, str, datetime]:
    if isinstance(record, Article):
        return (
            topics.articles,
            record.article_id,
            f"{record.article_id}:{record.revision}",
            record.captured_at,
        )
    if isinstance(record, Story):
        return topics.stories, record.story_id, f"{record.story_id}:{record.version}", record.updated_at
    if isinstance(record, StoryEvent):
        return topics.story_events, record.story_id, record.event_id, record.event_time
    if isinstance(record, DeadLetter):
        return topics.dead_letters, record.identity, record.dead_letter_id, record.occurred_at
    raise TypeError(f"no topic for {type(record).__name__}")
