"""The records of a report read from the Kafka topics instead of a file sink.

Each topic (articles, the compacted stories topic, story events, dead letters) is read from the beginning,
without a consumer group, with :func:`storywire.connectors.kafka.consumer.iter_topic`, until no message has
arrived for ``idle_timeout_s``: end offsets cannot be trusted (the local Tansu broker reports wrong ones, see
``deploy/README.md``), so "the end" is a quiet topic. A topic still being written to keeps the read going; on a
slow broker a longer idle timeout reads more surely. The four topics are read side by side. What a topic
delivered twice counts once (:func:`storywire.pipelines.report.model.contents_from_records`); tombstones are
skipped; a message that is not a valid record is counted and skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from storywire.connectors.kafka import ConsumedMessage, KafkaConfig, TopicNames, iter_topic
from storywire.pipelines.core.summary import SinkContents
from storywire.pipelines.report.model import contents_from_records
from storywire.schemas.codec import DecodeError, decode
from storywire.schemas.records import Article, DeadLetter, Story, StoryEvent, _Record

__all__ = ["DEFAULT_IDLE_TIMEOUT_S", "TopicRead", "read_topics"]

DEFAULT_IDLE_TIMEOUT_S = 3.0
_R = TypeVar("_R", bound=_Record)
Reader = Callable[..., Iterator[ConsumedMessage]]


@dataclass
class TopicRead:
    """What was read from the topics: the records, and per topic the messages read and those skipped."""

    contents: SinkContents
    messages: dict[str, int] = field(default_factory=dict)
    undecodable: dict[str, int] = field(default_factory=dict)


def _read(
    reader: Reader, config: KafkaConfig, topic: str, record_type: type[_R], idle_timeout_s: float
) -> tuple[list[_R], int, int]:
    records: list[_R] = []
    count = bad = 0
    for message in reader(config, topic, timeout_s=None, idle_timeout_s=idle_timeout_s, from_beginning=True):
        count += 1
        if message.value is None:
            continue
        try:
            records.append(decode(message.value, record_type))
        except DecodeError:
            bad += 1
    return records, count, bad


def read_topics(
    config: KafkaConfig,
    topics: TopicNames,
    *,
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
    reader: Reader | None = None,
) -> TopicRead:
    """Read the four topics to their quiet end (see the module's note); broker and missing-topic errors
    (``BrokerUnreachableError``, ``TopicSetupError``) propagate. ``reader``: ``iter_topic`` unless given."""
    read_with = reader or iter_topic
    wanted: list[tuple[str, type[Any]]] = [
        (topics.articles, Article),
        (topics.stories, Story),
        (topics.story_events, StoryEvent),
        (topics.dead_letters, DeadLetter),
    ]
    with ThreadPoolExecutor(max_workers=len(wanted), thread_name_prefix="report-read") as pool:
        futures = [pool.submit(_read, read_with, config, topic, kind, idle_timeout_s) for topic, kind in wanted]
        results = [future.result() for future in futures]
    (articles, stories, events, dead) = (result[0] for result in results)
    return TopicRead(
        contents=contents_from_records(articles, stories, events, dead),
        messages={topic: result[1] for (topic, _), result in zip(wanted, results, strict=True)},
        undecodable={topic: result[2] for (topic, _), result in zip(wanted, results, strict=True) if result[2]},
    )
