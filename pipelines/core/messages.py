"""Records -> Kafka/JSONL messages: topic, key, JSON value and CloudEvents headers (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from storywire.connectors.kafka.envelope import EventHeaders
from storywire.connectors.kafka.topics import TopicNames
from storywire.schemas.codec import encode
from storywire.schemas.records import SCHEMA_VERSION, Article, DeadLetter, Story, StoryEvent, _Record, record_time

CE_SOURCE = "/storywire"


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


def message_for(record: _Record, topics: TopicNames, source: str = CE_SOURCE) -> OutboundMessage:
    """Route a record to its topic with its key; the message id is unique per distinct message, ``ce_time`` is
    the record's time (:func:`~storywire.schemas.records.record_time`)."""
    topic, key, event_id = _routing(record, topics)
    headers = _event_headers(record.kind, source)(event_id, record_time(record))
    return OutboundMessage(topic=topic, key=key.encode("utf-8"), value=encode(record), headers=headers)


def topic_for(record: _Record, topics: TopicNames) -> str:
    """The topic ``message_for`` routes ``record`` to, without building the message."""
    return _routing(record, topics)[0]


_EVENT_HEADERS: dict[tuple[str, str], EventHeaders] = {}


def _event_headers(kind: str, source: str) -> EventHeaders:
    """The header builder of one record kind (``ce_type`` ``dev.storywire.<kind>.v1``) and source, made once."""
    builder = _EVENT_HEADERS.get((kind, source))
    if builder is None:
        builder = EventHeaders(f"dev.storywire.{kind}.v{SCHEMA_VERSION}", source, str(SCHEMA_VERSION))
        _EVENT_HEADERS[(kind, source)] = builder
    return builder


def _routing(record: _Record, topics: TopicNames) -> tuple[str, str, str]:
    """(topic, key, ``ce_id``) of a record."""
    if isinstance(record, Article):
        return topics.articles, record.article_id, f"{record.article_id}:{record.revision}"
    if isinstance(record, Story):
        return topics.stories, record.story_id, f"{record.story_id}:{record.version}"
    if isinstance(record, StoryEvent):
        return topics.story_events, record.story_id, record.event_id
    if isinstance(record, DeadLetter):
        return topics.dead_letters, record.identity, record.dead_letter_id
    raise TypeError(f"no topic for {type(record).__name__}")
