"""Records -> Kafka/JSONL messages: topic, key, JSON value and CloudEvents headers (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storywire.connectors.kafka.envelope import cloudevent_headers
from storywire.connectors.kafka.topics import TopicNames
from storywire.schemas.codec import encode
from storywire.schemas.records import SCHEMA_VERSION, Article, DeadLetter, Story, StoryEvent, _Record

CE_SOURCE = "/storywire"

Header = tuple[str, bytes]


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


def message_for(record: _Record, topics: TopicNames, source: str = CE_SOURCE) -> OutboundMessage:
    """Route a record to its topic with its key; the message id is unique per distinct message."""
    topic, key, event_id, when = _routing(record, topics)
    headers = _headers(record.kind, source, event_id, when)
    return OutboundMessage(topic=topic, key=key.encode("utf-8"), value=encode(record), headers=headers)


def topic_for(record: _Record, topics: TopicNames) -> str:
    """The topic ``message_for`` routes ``record`` to, without building the message."""
    return _routing(record, topics)[0]


def _headers(kind: str, source: str, event_id: str, when: datetime) -> tuple[Header, ...]:
    """``cloudevent_headers(...)`` for one message, same names, order and bytes.

    The five attributes that depend only on the record kind and the source are built (and validated) once
    per (kind, source) by ``cloudevent_headers`` itself; per message only the id and the time are encoded.
    Anything the quick checks do not vouch for goes through ``cloudevent_headers``, which raises its usual
    ``InvalidEnvelopeError``.
    """
    static = _STATIC.get((kind, source))
    if static is None:
        static = _static_headers(kind, source)
    if type(event_id) is not str or not event_id or event_id.isspace() or when.utcoffset() is None:
        return _slow_headers(kind, source, event_id, when)
    specversion, ce_source, ce_type, content_type, schema_version = static
    return (
        specversion,
        ("ce_id", event_id.encode("utf-8")),
        ce_source,
        ce_type,
        ("ce_time", when.isoformat().replace("+00:00", "Z").encode("utf-8")),
        content_type,
        schema_version,
    )


def _slow_headers(kind: str, source: str, event_id: str, when: datetime) -> tuple[Header, ...]:
    return tuple(
        cloudevent_headers(
            event_type=f"dev.storywire.{kind}.v{SCHEMA_VERSION}",
            source=source,
            event_id=event_id,
            time_iso=when.isoformat().replace("+00:00", "Z"),
            schema_version=str(SCHEMA_VERSION),
        )
    )


_STATIC: dict[tuple[str, str], tuple[Header, Header, Header, Header, Header]] = {}
_ID_AND_TIME = ("ce_id", "ce_time")


def _static_headers(kind: str, source: str) -> tuple[Header, Header, Header, Header, Header]:
    """The per-kind headers, from a template event (validates ``source`` like every message would)."""
    template = _slow_headers(kind, source, "template", datetime.fromisoformat("2024-01-01T00:00:00+00:00"))
    static = tuple(header for header in template if header[0] not in _ID_AND_TIME)
    names = [name for name, _ in template]
    if len(static) != 5 or names[1] != "ce_id" or names[4] != "ce_time":  # the layout _headers rebuilds
        raise AssertionError(f"unexpected CloudEvents header layout: {names}")
    specversion, ce_source, ce_type, content_type, schema_version = static
    _STATIC[(kind, source)] = result = (specversion, ce_source, ce_type, content_type, schema_version)
    return result


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
