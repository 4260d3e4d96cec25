"""Replay to the real local broker and to files at once: the topics hold what the files hold, every message
validates, keys and CloudEvents headers follow the contract, and a foreign client (librdkafka) reads it all."""

from __future__ import annotations

import time
from pathlib import Path

import apache_beam as beam
import orjson
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from storywire.connectors.kafka import KafkaConfig
from storywire.connectors.kafka.admin import ensure_topics
from storywire.connectors.kafka.consumer import ConsumedMessage, read_topic
from storywire.connectors.kafka.topics import TopicNames, default_topic_specs
from storywire.pipelines.config.replay import ReplayConfig
from storywire.pipelines.config.sinks import SinkSpec
from storywire.pipelines.core.summary import SinkContents, read_sink
from storywire.pipelines.graphs.replay import build_replay
from storywire.schemas.validation import validate
from tests.support.replay_archive import write_fixture_archives

pytestmark = pytest.mark.integration

KINDS = {"articles": "article", "stories": "story", "story_events": "story_event", "dead_letters": "dead_letter"}


@pytest.fixture
def replayed(tmp_path: Path, kafka_config: KafkaConfig) -> tuple[SinkContents, dict[str, list[ConsumedMessage]]]:
    archives = tuple(str(a) for a in write_fixture_archives(tmp_path))
    topics = TopicNames(kafka_config.topic_prefix)
    ensure_topics(kafka_config, default_topic_specs(topics, partitions=3))
    sinks = (
        SinkSpec(kind="kafka", target=kafka_config.bootstrap_servers, kafka=kafka_config),
        SinkSpec.parse(f"file://{tmp_path / 'out'}"),
    )
    config = ReplayConfig(archives=archives, sinks=sinks, topic_prefix=kafka_config.topic_prefix)
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    build_replay(pipeline, config)
    pipeline.run().wait_until_finish()
    files = read_sink(str(tmp_path / "out"), topics)
    expected = {
        "articles": len(files.articles),
        "stories": len((tmp_path / "out" / f"{topics.stories}.jsonl").read_bytes().splitlines()),
        "story_events": len(files.events),
        "dead_letters": len(files.dead_letters),
    }
    consumed = {
        field: read_topic(kafka_config, getattr(topics, field), expected_count=count, timeout_s=20)
        for field, count in expected.items()
    }
    for field, count in expected.items():
        assert len(consumed[field]) == count, field
    return files, consumed


def test_topics_hold_the_same_articles_as_the_files(
    replayed: tuple[SinkContents, dict[str, list[ConsumedMessage]]],
) -> None:
    files, consumed = replayed
    from_kafka = sorted((m.key, orjson.loads(m.value)["revision"]) for m in consumed["articles"])
    from_files = sorted((a.article_id.encode(), a.revision) for a in files.articles)
    assert from_kafka == from_files and from_kafka


def test_every_message_validates_and_is_keyed_with_cloudevents_headers(
    replayed: tuple[SinkContents, dict[str, list[ConsumedMessage]]],
) -> None:
    _, consumed = replayed
    key_field = {
        "articles": "article_id",
        "stories": "story_id",
        "story_events": "story_id",
        "dead_letters": "identity",
    }
    for field, messages in consumed.items():
        for message in messages:
            body = orjson.loads(message.value)
            validate(KINDS[field], body)
            assert message.key == body[key_field[field]].encode()
            headers = dict(message.headers)
            assert headers["ce_specversion"] == b"1.0"
            assert headers["ce_type"] == f"dev.storywire.{KINDS[field]}.v1".encode()
            assert headers["content-type"] == b"application/json"
            assert headers["ce_id"] and headers["ce_time"].endswith(b"Z")


def test_story_snapshots_per_key_arrive_in_version_order(
    replayed: tuple[SinkContents, dict[str, list[ConsumedMessage]]],
) -> None:
    _, consumed = replayed
    versions: dict[bytes, list[int]] = {}
    for message in sorted(consumed["stories"], key=lambda m: (m.partition, m.offset)):
        assert message.key is not None
        versions.setdefault(message.key, []).append(orjson.loads(message.value)["version"])
    assert versions and all(v == sorted(v) for v in versions.values())


def test_a_foreign_client_reads_every_article(
    replayed: tuple[SinkContents, dict[str, list[ConsumedMessage]]], kafka_config: KafkaConfig
) -> None:
    confluent_kafka = pytest.importorskip("confluent_kafka", reason="confluent-kafka is a dev dependency")
    files, _ = replayed
    topic = TopicNames(kafka_config.topic_prefix).articles
    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": kafka_config.bootstrap_servers,
            "group.id": f"foreign-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    # Assign the partitions directly: no consumer-group join to wait for.
    consumer.assign([confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in range(3)])
    seen: list[bytes] = []
    try:
        deadline = time.monotonic() + 40
        while len(seen) < len(files.articles) and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            validate("article", orjson.loads(message.value()))
            seen.append(message.key())
    finally:
        consumer.close()
    assert sorted(seen) == sorted(a.article_id.encode() for a in files.articles)
