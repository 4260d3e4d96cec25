"""Every documented compression codec end to end against the local broker (Tansu): written by storywire's writer
from a ``kafka://...?compression=CODEC`` sink URL, read back by storywire's reader and by a foreign client
(confluent-kafka, librdkafka's own codecs), so the batches are real Kafka-format compressed batches."""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

import orjson
import pytest

from storywire.connectors.kafka import (
    KafkaMessageWriter,
    TopicNames,
    TopicSpec,
    cloudevent_headers,
    ensure_topics,
    read_topic,
)
from storywire.pipelines.config.sinks import SinkSpec

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
COUNT = 40
FAST = "request_timeout_ms=10000&bootstrap_timeout_ms=5000&delivery_timeout_ms=20000&max_block_ms=10000"


def _records() -> list[tuple[bytes, bytes]]:
    """Keyed JSON values, repetitive enough that every codec really compresses them."""
    return [
        (f"article-{n % 7}".encode(), orjson.dumps({"seq": n, "body": "Kafka codecs in storywire. " * (20 + n)}))
        for n in range(COUNT)
    ]


def _confluent_values(confluent_kafka: ModuleType, bootstrap: str, topic: str, partitions: int) -> list[bytes]:
    consumer = confluent_kafka.Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "storywire-tests-unused", "enable.auto.commit": False}
    )
    try:
        consumer.assign(
            [confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in range(partitions)]
        )
        values: list[bytes] = []
        deadline = time.monotonic() + 30
        while len(values) < COUNT and time.monotonic() < deadline:
            record = consumer.poll(0.5)
            if record is None:
                continue
            assert record.error() is None, record.error()
            values.append(record.value())
        return values
    finally:
        consumer.close()


@pytest.mark.parametrize("codec", CODECS)
def test_each_codec_round_trips_through_the_broker(kafka_broker: Any, topic_prefix: str, codec: str) -> None:
    sink = SinkSpec.parse(f"{kafka_broker.url}?compression={codec}&client_id=codec-{codec}&{FAST}", topic_prefix)
    config = sink.kafka
    assert config is not None
    assert config.producer_kwargs()["compression_type"] == (None if codec == "none" else codec)
    topic = TopicNames.from_config(config).articles
    ensure_topics(config, [TopicSpec(topic, partitions=2)])
    sent = _records()

    with KafkaMessageWriter(config) as writer:
        for n, (key, value) in enumerate(sent):
            headers = cloudevent_headers(
                "dev.storywire.article.v1", "urn:storywire:tests", f"evt-{n}", "2024-05-01T12:00:00Z", "1"
            )
            writer.send(topic, key, value, headers)
        assert writer.flush() == COUNT
    received = read_topic(config, topic, expected_count=COUNT, timeout_s=30)

    assert sorted((m.key or b"", m.value or b"") for m in received) == sorted(sent)
    confluent_kafka = pytest.importorskip("confluent_kafka")
    foreign = _confluent_values(confluent_kafka, config.bootstrap_servers, topic, 2)
    assert sorted(foreign) == sorted(value for _, value in sent)
